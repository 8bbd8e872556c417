"""A research lake (features and labels) built from the demo archive with the plain pipeline code, no Dagster:
the input the model tests and the model benchmark train on."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

from hyperliquid_assets.clean_tables import clean_l2_hour, clean_trades_day
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour, store_trades_day
from hyperliquid_assets.research_tables import book_features_day, joined_features_day, labels_day, trade_flow_features_day
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET
from hyperliquid_assets.sources.object_sources import LocalMirror

# Small enough to build a day in a few seconds, dense enough that every feature is defined most of the day.
FAST_MARKET = {"snapshot_gap_s": 5.0, "trades_per_hour": 600.0}


def build_research_lake(
    root: Path,
    coins: Sequence[str],
    start: date,
    days: int,
    params: DemoMarketParams = DemoMarketParams(**FAST_MARKET),
    seed: int = 7,
    bar: str = "1s",
    missing: Sequence[tuple[str, str]] = (),
) -> Lake:
    """Demo archive -> raw -> clean -> book / trade-flow / joined features and labels for every coin-day of
    [start, start + days), written under `root` (mirror in root/mirror, lake in root/lake)."""
    mirror, lake = Path(root) / "mirror", Lake(Path(root) / "lake")
    write_demo_archive(mirror, list(coins), start, days, DEFAULT_LISTINGS, params, seed=seed, missing=missing)
    l2_source, trade_source = LocalMirror(mirror / HYPERLIQUID_BUCKET), LocalMirror(mirror / BINANCE_HOST)
    day_list = [start + timedelta(days=i) for i in range(days)]
    for coin in coins:
        listing = DEFAULT_LISTINGS[coin]
        for day in day_list:
            for h in range(24):
                hour = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=h)
                store_l2_hour(l2_source, lake, coin, hour)
                clean_l2_hour(lake, coin, hour)
            store_trades_day(trade_source, lake, listing, day)
            clean_trades_day(lake, coin, listing, day)
        for day in day_list:
            book_features_day(lake, coin, day, bar)
            trade_flow_features_day(lake, coin, day, bar)
            joined_features_day(lake, coin, day, bar)
        for day in day_list:  # after every day's book features, so each day's last bars get their labels
            labels_day(lake, coin, day, bar)
    return lake


DEMO_START = date(2026, 1, 1)
_built: dict[tuple, Lake] = {}


def shared_research_lake(strength: float = 0.5, seed: int = 7, days: int = 3, coins: tuple[str, ...] = ("BTC",),
                         fast: bool = True) -> Lake:
    """A demo research lake built once per test session and parameter set (several test modules train on the
    same days), in a temp directory removed when the session's process exits. `fast`: the FAST_MARKET
    snapshot and trade rates; otherwise the demo market's own defaults."""
    key = (strength, seed, days, coins, fast)
    if key not in _built:
        root = Path(tempfile.mkdtemp(prefix="hl-model-lake-"))
        atexit.register(shutil.rmtree, root, True)
        params = DemoMarketParams(signal_strength=strength, **(FAST_MARKET if fast else {}))
        _built[key] = build_research_lake(root, coins, DEMO_START, days, params, seed=seed)
    return _built[key]
