"""What the two upstreams have published for a coin-day: which of the Hyperliquid archive's L2 hour objects exist
(from a requester-pays listing) and whether Binance has the day's trades file (its CHECKSUM).

The inventory is the root of the asset graph: the raw assets fetch only what it lists, so an hour the archive has
not published costs no request, and the sensor refreshes it when an upstream publishes something new. It records
what is published, not how big it is (a stored object is never fetched again, and a copy fixed in place upstream
must not make the lake differ), so taking it twice over the same upstreams writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hyperliquid_assets.lake import Lake, write_bytes_atomic
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets.sources.layout import binance_trades_key, checksum_key
from hyperliquid_assets.sources.listing import archive_hours
from hyperliquid_assets.sources.object_sources import ObjectSource


@dataclass(frozen=True)
class Inventory:
    coin: str
    day: date
    archive_hours: tuple[int, ...] = ()  # the hours (0-23) whose object the archive holds, ascending
    binance_file: str = ""  # the day's zip key under the Binance host
    binance_checksum: str | None = None  # the CHECKSUM file's text, when the day is published

    @property
    def binance_published(self) -> bool:
        return self.binance_checksum is not None

    def fingerprint(self) -> str:
        """A short digest of what is published: changes exactly when an upstream publishes (or replaces) an object."""
        return hashlib.sha256(self.to_json()).hexdigest()[:16]

    def to_json(self) -> bytes:
        return json.dumps(
            {"coin": self.coin, "date": self.day.isoformat(),
             "archive_hours": list(self.archive_hours),
             "binance_file": self.binance_file, "binance_checksum": self.binance_checksum},
            indent=1, sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, text: bytes) -> Inventory:
        data = json.loads(text)
        return cls(data["coin"], date.fromisoformat(data["date"]), tuple(data["archive_hours"]),
                   data["binance_file"], data["binance_checksum"])


def take_inventories(archive: ObjectSource, binance: ObjectSource, listings: dict[str, BinanceListing],
                     day: date) -> dict[str, Inventory]:
    """The day's inventory of every coin in `listings` (one archive listing for the day, one CHECKSUM probe per
    coin)."""
    hours = archive_hours(archive, day, set(listings))
    inventories = {}
    for coin, listing in listings.items():
        key = binance_trades_key(listing, day)
        checksum = binance.fetch(checksum_key(key))
        inventories[coin] = Inventory(coin, day, tuple(sorted(hours[coin])), key,
                                      None if checksum is None else checksum.decode("ascii", errors="replace"))
    return inventories


def inventory_path(lake: Lake, coin: str, day: date) -> Path:
    return lake.root / "raw" / "inventory" / f"coin={coin}" / f"date={day:%Y-%m-%d}" / "inventory.json"


def write_inventory(lake: Lake, inventory: Inventory) -> Path:
    path = inventory_path(lake, inventory.coin, inventory.day)
    write_bytes_atomic(path, inventory.to_json())
    return path


def read_inventory(lake: Lake, coin: str, day: date) -> Inventory | None:
    """The stored inventory of the coin-day, or None when it has not been taken (then the raw assets just fetch)."""
    path = inventory_path(lake, coin, day)
    return Inventory.from_json(path.read_bytes()) if path.exists() else None
