"""Raw objects -> clean Parquet, refusing to write anything that fails a corrupting quality check."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path

from hyperliquid_assets import __version__
from hyperliquid_assets.formats.binance_trades import parse_trades_zip, verify_checksum
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
from hyperliquid_assets.lake import Lake, write_parquet_atomic
from hyperliquid_assets.quality import Quality, l2_book_quality, trades_quality
from hyperliquid_assets.settings import BinanceListing


@dataclass(frozen=True)
class CleanOutcome:
    status: str  # "written", "missing" (no raw object: a coverage gap), or "rejected" (corrupt; nothing written)
    path: Path
    quality: Quality | None = None
    bytes: int = 0


def _provenance(lake: Lake, raw_path: Path, blob: bytes) -> dict[str, str]:
    # Paths relative to the lake root: a lake's bytes do not depend on where it is.
    return {
        "hyperliquid_assets.version": __version__,
        "hyperliquid_assets.source": raw_path.relative_to(lake.root).as_posix(),
        "hyperliquid_assets.source_sha256": hashlib.sha256(blob).hexdigest(),
    }


def clean_l2_hour(lake: Lake, coin: str, hour: datetime) -> CleanOutcome:
    """One stored archive hour -> clean/l2_book/coin=/date=/HH.parquet."""
    raw_path, path = lake.raw_l2_path(coin, hour), lake.clean_l2_path(coin, hour)
    if not raw_path.exists():
        return CleanOutcome("missing", path)
    blob = raw_path.read_bytes()
    book = parse_l2_book(blob, str(raw_path), coin)
    quality = l2_book_quality(book, hour)
    if quality.corrupt:
        return CleanOutcome("rejected", path, quality)
    size = write_parquet_atomic(book, path, _provenance(lake, raw_path, blob))
    return CleanOutcome("written", path, quality, size)


def clean_trades_day(lake: Lake, coin: str, listing: BinanceListing, day: date) -> CleanOutcome:
    """One stored Binance day zip (re-verified against its CHECKSUM) -> clean/trades/coin=/date=/trades.parquet."""
    raw_path, path = lake.raw_trades_path(listing, day), lake.clean_trades_path(coin, day)
    checksum_path = lake.raw_trades_checksum_path(listing, day)
    if not (raw_path.exists() and checksum_path.exists()):
        return CleanOutcome("missing", path)
    blob = raw_path.read_bytes()
    verify_checksum(blob, checksum_path.read_bytes(), str(raw_path))
    trades = parse_trades_zip(blob, listing, str(raw_path))
    quality = trades_quality(trades, datetime.combine(day, time(), timezone.utc))
    if quality.corrupt:
        return CleanOutcome("rejected", path, quality)
    # zstd level 1: a trades day writes ~1.5x faster than at the default level for a ~7% larger file.
    size = write_parquet_atomic(trades, path, _provenance(lake, raw_path, blob), compression_level=1)
    return CleanOutcome("written", path, quality, size)
