"""Pipeline settings: the coin universe, the partition start date, each coin's Binance listing, the bar of the
research tables, the sources and the model window.

Read once from the environment (the scripts also source an optional `.env` at the project root) so that Dagster
partitions, the CLI and the demo agree, and validated there: a bad value is refused when the code location loads
or the CLI starts, with a message naming the variable. Every value has an offline default; see the README.

Settings that change the data (the bar, a coin's listing, the model window) are part of each table's identity:
they appear in its lake path (`bar=1s`, `listing=spot-trades-BTCUSDT`) and in the asset's code version, so a 1 min
table never overwrites a 1 s one and the warehouse never mixes them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Literal, Mapping
from urllib.parse import urlsplit

Market = Literal["spot", "usdm", "coinm"]
TradeKind = Literal["trades", "aggTrades"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FEATURE_BARS = ("1s", "1m")
_SYMBOL = re.compile(r"^[A-Z0-9_]+$")
_COIN = re.compile(r"^[A-Za-z0-9]+$")


class SettingsError(ValueError):
    """A setting that cannot be used; the message starts with the variable's name."""


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
        # The symbol becomes part of lake paths and upstream keys: anything but [A-Z0-9_] could leave the lake.
        if not isinstance(self.symbol, str) or not _SYMBOL.match(self.symbol):
            raise ValueError(f"Binance symbol {self.symbol!r} must be non-empty and made of A-Z, 0-9 and _")
        if self.market not in ("spot", "usdm", "coinm"):
            raise ValueError(f"Binance market for {self.symbol} must be spot, usdm or coinm, not {self.market!r}")
        if self.kind not in ("trades", "aggTrades"):
            raise ValueError(f"Binance kind for {self.symbol} must be trades or aggTrades, not {self.kind!r}")
        if self.contract_size is not None and not (
            isinstance(self.contract_size, (int, float)) and self.contract_size > 0
        ):
            raise ValueError(f"contract_size of {self.symbol} must be a positive number, not {self.contract_size!r}")
        if self.market == "coinm" and not self.contract_size:
            raise ValueError(f"COIN-M listing {self.symbol} needs contract_size (USD per contract)")

    @property
    def listing_id(self) -> str:
        """`<market>-<kind>-<SYMBOL>`, the listing's name in lake paths (e.g. spot-trades-BTCUSDT)."""
        return f"{self.market}-{self.kind}-{self.symbol}"


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
    source: Literal["local", "remote"] = "local"  # remote: the real S3 archive and data.binance.vision
    s3_region: str = "ap-northeast-1"
    s3_endpoint_url: str | None = None
    binance_base_url: str = "https://data.binance.vision"
    archive_lookback_days: int = 45  # how far back the sensor and automation look for newly published objects
    sensor_interval_s: int = 120  # seconds between the upstream sensor's ticks
    automation: bool = True  # whether the sensors start running (off: materialize by hand or backfill only)
    backfill_policy: Literal["single_run", "per_partition"] = "single_run"  # runs a backfill makes of a window
    model_window_days: int = 7  # days of features and labels each daily model is trained on (2 on the demo mirror)
    model_stride: int = 1  # train on every k-th bar (overlapping 1 s labels are heavily autocorrelated; 5 on the demo)

    def listing(self, coin: str) -> BinanceListing:
        try:
            return self.listings[coin]
        except KeyError:
            raise KeyError(f"coin {coin} has no Binance listing; set it in HL_BINANCE_LISTINGS") from None

    @property
    def mirror_root(self) -> Path:
        return self.lake_root / "mirror"


def _fail(variable: str, problem: str) -> SettingsError:
    return SettingsError(f"{variable}: {problem}")


def _parse_listings(text: str) -> dict[str, BinanceListing]:
    """HL_BINANCE_LISTINGS is a JSON object: {"BTC": {"symbol": "BTCUSD_PERP", "market": "coinm", "kind":
    "aggTrades", "contract_size": 100}, ...}; coins not named keep their default listing."""
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail("HL_BINANCE_LISTINGS", f"not valid JSON ({exc})") from None
    if not isinstance(spec, dict):
        raise _fail("HL_BINANCE_LISTINGS", f"must be a JSON object of coin -> listing, not {type(spec).__name__}")
    listings = dict(DEFAULT_LISTINGS)
    for coin, fields in spec.items():
        if not isinstance(fields, dict):
            raise _fail("HL_BINANCE_LISTINGS", f"listing of {coin} must be an object, not {fields!r}")
        unknown = set(fields) - {"symbol", "market", "kind", "contract_size"}
        if unknown:
            raise _fail("HL_BINANCE_LISTINGS", f"listing of {coin} has unknown fields {sorted(unknown)}")
        if "symbol" not in fields:
            raise _fail("HL_BINANCE_LISTINGS", f"listing of {coin} needs a symbol")
        try:
            listings[coin] = BinanceListing(**fields)
        except ValueError as exc:
            raise _fail("HL_BINANCE_LISTINGS", str(exc)) from None
    return listings


def _positive_int(env: Mapping[str, str], variable: str, default: int) -> int:
    text = env.get(variable, "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _fail(variable, f"must be a whole number, not {text!r}") from None
    if value <= 0:
        raise _fail(variable, f"must be positive, not {value}")
    return value


def _url(env: Mapping[str, str], variable: str, default: str | None) -> str | None:
    text = env.get(variable) or default
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(variable, "must be an http(s) URL with a host")
    return text.rstrip("/")


def load_settings(env: Mapping[str, str] = os.environ, today: date | None = None) -> Settings:
    """The settings from the environment, validated; raises SettingsError naming the variable."""
    coins = tuple(c.strip() for c in env.get("HL_COINS", "BTC,ETH").split(",") if c.strip())
    if not coins:
        raise _fail("HL_COINS", "names no coin (e.g. HL_COINS=BTC,ETH)")
    for coin in coins:
        if not _COIN.match(coin):
            raise _fail("HL_COINS", f"entry {coin!r} must be alphanumeric (it becomes a partition key and a path)")
    if len(set(coins)) != len(coins):
        raise _fail("HL_COINS", f"names a coin twice: {list(coins)}")
    listings = _parse_listings(env["HL_BINANCE_LISTINGS"]) if env.get("HL_BINANCE_LISTINGS") else dict(DEFAULT_LISTINGS)
    missing = [c for c in coins if c not in listings]
    if missing:
        raise _fail("HL_BINANCE_LISTINGS", f"coins {missing} have no Binance listing")

    start_text = env.get("HL_START_DATE", "2026-01-01")
    try:
        start_date = date.fromisoformat(start_text)
    except ValueError:
        raise _fail("HL_START_DATE", f"must be a date like 2026-01-01, not {start_text!r}") from None
    today = today or datetime.now(timezone.utc).date()
    if start_date >= today:
        raise _fail("HL_START_DATE", f"{start_date} is not in the past (today is {today} UTC): no day is complete yet")

    bar = env.get("HL_FEATURE_BAR", "1s")
    if bar not in FEATURE_BARS:
        raise _fail("HL_FEATURE_BAR", f"must be one of {', '.join(FEATURE_BARS)}, not {bar!r}")
    source = env.get("HL_SOURCE", "local")
    if source not in ("local", "remote"):
        raise _fail("HL_SOURCE", f"must be local or remote, not {source!r}")
    automation = env.get("HL_AUTOMATION", "on")
    if automation not in ("on", "off"):
        raise _fail("HL_AUTOMATION", f"must be on or off, not {automation!r}")
    backfill_policy = env.get("HL_BACKFILL_POLICY", "single_run")
    if backfill_policy not in ("single_run", "per_partition"):
        raise _fail("HL_BACKFILL_POLICY", f"must be single_run or per_partition, not {backfill_policy!r}")
    return Settings(
        automation=automation == "on",
        backfill_policy=backfill_policy,  # type: ignore[arg-type]
        coins=coins,
        start_date=start_date,
        listings=listings,
        lake_root=Path(env.get("HL_LAKE_ROOT") or str(PROJECT_ROOT / "data")).resolve(),
        feature_bar=bar,
        source=source,  # type: ignore[arg-type]
        s3_region=env.get("HL_S3_REGION") or "ap-northeast-1",
        s3_endpoint_url=_url(env, "HL_S3_ENDPOINT_URL", None),
        binance_base_url=_url(env, "HL_BINANCE_BASE_URL", "https://data.binance.vision") or "",
        archive_lookback_days=_positive_int(env, "HL_ARCHIVE_LOOKBACK_DAYS", 45),
        sensor_interval_s=_positive_int(env, "HL_SENSOR_INTERVAL_S", 120),
        # Research defaults on the real upstreams: a week of every bar. On the offline demo mirror a 2-day window
        # at every 5th bar, so that the demo's few days give each coin and spec comparable model days in minutes.
        model_window_days=_positive_int(env, "HL_MODEL_WINDOW_DAYS", 7 if source == "remote" else 2),
        model_stride=_positive_int(env, "HL_MODEL_STRIDE", 1 if source == "remote" else 5),
    )
