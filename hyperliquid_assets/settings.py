"""Pipeline settings: the coin universe, the partition start date and each coin's Binance listing.

Read once from the environment so that Dagster partitions, the CLI and the demo agree. Every value has an
offline default; see the README for the variables.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, Mapping

Market = Literal["spot", "usdm", "coinm"]
TradeKind = Literal["trades", "aggTrades"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BinanceListing:
    """Where a coin trades on Binance and which daily file of it we take.

    contract_size is the USD face value of one COIN-M contract (100 for BTC, 10 for the others); it turns a
    COIN-M quantity in contracts into a base-asset quantity. Unused for spot and USD-M.
    """

    symbol: str
    market: Market = "spot"
    kind: TradeKind = "trades"
    contract_size: float | None = None

    def __post_init__(self) -> None:
        if self.market not in ("spot", "usdm", "coinm"):
            raise ValueError(f"Binance market for {self.symbol} must be spot, usdm or coinm, not {self.market!r}")
        if self.kind not in ("trades", "aggTrades"):
            raise ValueError(f"Binance kind for {self.symbol} must be trades or aggTrades, not {self.kind!r}")
        if self.market == "coinm" and not self.contract_size:
            raise ValueError(f"COIN-M listing {self.symbol} needs contract_size (USD per contract)")


DEFAULT_LISTINGS: Mapping[str, BinanceListing] = {
    "BTC": BinanceListing("BTCUSDT", "spot", "trades"),
    "ETH": BinanceListing("ETHUSDT", "spot", "trades"),
    "SOL": BinanceListing("SOLUSDT", "spot", "trades"),
}


@dataclass(frozen=True)
class Settings:
    coins: tuple[str, ...] = ("BTC", "ETH")
    start_date: date = date(2026, 1, 1)
    listings: Mapping[str, BinanceListing] = field(default_factory=lambda: dict(DEFAULT_LISTINGS))
    lake_root: Path = PROJECT_ROOT / "data"
    feature_bar: str = "1s"  # bar of every feature and label table: "1s" or "1m"

    def listing(self, coin: str) -> BinanceListing:
        try:
            return self.listings[coin]
        except KeyError:
            raise KeyError(f"coin {coin} has no Binance listing; set it in HL_BINANCE_LISTINGS") from None

    @property
    def mirror_root(self) -> Path:
        return self.lake_root / "mirror"


def _parse_listings(text: str) -> dict[str, BinanceListing]:
    """HL_BINANCE_LISTINGS is JSON: {"BTC": {"symbol": "BTCUSD_PERP", "market": "coinm", "kind": "aggTrades",
    "contract_size": 100}, ...}; coins not named keep their default listing."""
    listings = dict(DEFAULT_LISTINGS)
    for coin, spec in json.loads(text).items():
        listings[coin] = BinanceListing(**spec)
    return listings


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    coins = tuple(c.strip() for c in env.get("HL_COINS", "BTC,ETH").split(",") if c.strip())
    for coin in coins:
        if not coin.isalnum():
            raise ValueError(f"HL_COINS entry {coin!r} must be alphanumeric (it becomes a partition key)")
    listings = _parse_listings(env["HL_BINANCE_LISTINGS"]) if env.get("HL_BINANCE_LISTINGS") else dict(DEFAULT_LISTINGS)
    missing = [c for c in coins if c not in listings]
    if missing:
        raise ValueError(f"coins {missing} have no Binance listing; add them to HL_BINANCE_LISTINGS")
    return Settings(
        coins=coins,
        start_date=date.fromisoformat(env.get("HL_START_DATE", "2026-01-01")),
        listings=listings,
        lake_root=Path(env.get("HL_LAKE_ROOT", str(PROJECT_ROOT / "data"))).resolve(),
        feature_bar=env.get("HL_FEATURE_BAR", "1s"),
    )
