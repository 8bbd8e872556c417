"""Clean tables of one coin-day -> its feature and label tables on the lake's bar grid.

Each step reads only what was known by the bars it writes, plus declared neighbours: the previous day as
history for lags and rolling windows (and to size VPIN buckets before the day starts). Labels read their own day
only: they are the one table that looks forward, and never past the day's end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import polars as pl

from hyperliquid_assets import __version__
from hyperliquid_assets.features.bars import BarGrid, TableQuality, exact_sum
from hyperliquid_assets.features.book_features import BookFeatureConfig, book_feature_table
from hyperliquid_assets.features.joined_features import CrossVenueConfig, joined_feature_table
from hyperliquid_assets.features.labels import LabelConfig, label_table
from hyperliquid_assets.features.schemas import research_table_schema
from hyperliquid_assets.features.trade_flow_features import (
    TradeFlowConfig,
    trade_flow_feature_table,
    trade_flow_features,
)
from hyperliquid_assets.formats.schemas import TRADES_SCHEMA
from hyperliquid_assets.lake import Lake, write_parquet_atomic

BOOK_FEATURES, TRADE_FLOW_FEATURES, JOINED_FEATURES = "book_features", "trade_flow_features", "features"
VPIN_BUCKETS_PER_DAY = 50


def warm_up_hours(bar: str) -> int:
    """Whole hours before the day the longest book lag or window needs: 24 (the trailing-day volatility), which is
    exactly the previous day that the book features' partition mapping declares."""
    grid = BarGrid.for_day(date(2026, 1, 1), bar)
    return max(1, math.ceil(BookFeatureConfig.for_bar(bar).lookback_bars(grid) * grid.every / timedelta(hours=1)))


@dataclass(frozen=True)
class TableOutcome:
    status: str  # "written", or "missing" when the day has no input rows (a coverage gap upstream)
    path: Path
    quality: TableQuality | None = None
    notes: dict[str, str | int | float] = field(default_factory=dict)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def _provenance(lake: Lake, inputs: list[Path], bar: str) -> dict[str, str]:
    # Paths relative to the lake root: a lake's bytes do not depend on where it is.
    return {"hyperliquid_assets.version": __version__, "hyperliquid_assets.bar": bar,
            "hyperliquid_assets.inputs": "\n".join(p.relative_to(lake.root).as_posix() for p in inputs)}


def _same_bar(lake: Lake, bar: str) -> None:
    """The lake's paths carry its bar; computing another bar's table into them would mix variants."""
    if lake.bar != bar:
        raise ValueError(f"lake at {lake.root} is set up for {lake.bar} bars, not {bar}: build Lake(root, bar={bar!r})")


def _write(lake: Lake, table: str, frame: pl.DataFrame, quality: TableQuality, path: Path, inputs: list[Path], bar: str,
           notes: dict | None = None) -> TableOutcome:
    declared = research_table_schema(table, bar)
    if frame.schema != declared:
        differences = [f"{name}: {frame.schema.get(name)} (declared {declared.get(name)})"
                       for name in dict.fromkeys([*declared, *frame.schema]) if frame.schema.get(name) != declared.get(name)]
        raise ValueError(f"{table} table for {path.parent} differs from its declared schema: {'; '.join(differences)}")
    write_parquet_atomic(frame, path, _provenance(lake, inputs, bar))
    return TableOutcome("written", path, quality, notes or {})


def book_features_day(lake: Lake, coin: str, day: date, bar: str) -> TableOutcome:
    """The day's 24 clean hours plus the previous day's 24 (history for the lags and windows, the longest being
    the trailing day's volatility) -> book features."""
    _same_bar(lake, bar)
    path = lake.feature_path(BOOK_FEATURES, coin, day)
    hours = [_day_start(day) + timedelta(hours=h) for h in range(-warm_up_hours(bar), 24)]
    files = [p for p in (lake.clean_l2_path(coin, h) for h in hours) if p.exists()]
    own = [p for p in files if f"date={day:%Y-%m-%d}" in p.as_posix()]
    if not own:
        return TableOutcome("missing", path)
    table, quality = book_feature_table(pl.scan_parquet(files), BarGrid.for_day(day, bar), BookFeatureConfig.for_bar(bar))
    return _write(lake, BOOK_FEATURES, table, quality, path, files, bar, {"hours_present": len(own), "warm_up_hours": len(files) - len(own)})


def trade_flow_features_day(lake: Lake, coin: str, day: date, bar: str) -> TableOutcome:
    """The day's clean trades (plus the previous day's, which also size the VPIN buckets) -> trade-flow features."""
    _same_bar(lake, bar)
    path = lake.feature_path(TRADE_FLOW_FEATURES, coin, day)
    today, yesterday = lake.clean_trades_path(coin, day), lake.clean_trades_path(coin, day - timedelta(days=1))
    if not today.exists():
        return TableOutcome("missing", path)
    config = TradeFlowConfig.for_bar(bar)
    inputs, notes = [today], {"vpin_bucket_source": "default"}
    if yesterday.exists():
        # Bucket size fixed before the day starts: yesterday's notional / 50, never today's own volume.
        notional = exact_sum(pl.read_parquet(yesterday, columns=["quote_qty"])["quote_qty"])
        if notional and notional > 0:
            config = TradeFlowConfig.for_bar(bar, vpin_bucket_notional=notional / VPIN_BUCKETS_PER_DAY)
            notes["vpin_bucket_source"] = "previous day"
        inputs = [yesterday, today]
    notes["vpin_bucket_notional"] = config.vpin_bucket_notional
    table, quality = trade_flow_feature_table(pl.scan_parquet(inputs), BarGrid.for_day(day, bar), config)
    return _write(lake, TRADE_FLOW_FEATURES, table, quality, path, inputs, bar, notes)


def joined_features_day(lake: Lake, coin: str, day: date, bar: str) -> TableOutcome:
    """Book and trade-flow features as-of joined on bar time, plus cross-venue features; the previous day's
    feature rows, where present, are the history for the cross-venue lags and windows."""
    _same_bar(lake, bar)
    path = lake.feature_path(JOINED_FEATURES, coin, day)
    book, flow = lake.feature_path(BOOK_FEATURES, coin, day), lake.feature_path(TRADE_FLOW_FEATURES, coin, day)
    if not book.exists():
        return TableOutcome("missing", path)
    grid = BarGrid.for_day(day, bar)
    yesterday = day - timedelta(days=1)
    books = [p for p in (lake.feature_path(BOOK_FEATURES, coin, yesterday), book) if p.exists()]
    flows = [p for p in (lake.feature_path(TRADE_FLOW_FEATURES, coin, yesterday), flow) if p.exists()]
    if flow.exists():
        flow_frame = pl.scan_parquet(flows)
    else:  # no Binance day: the flow columns are null, which coverage_bars_with_trades reports
        flow_frame, flows = _empty_flow(grid, bar), []
    table, quality = joined_feature_table(pl.scan_parquet(books), flow_frame, grid, CrossVenueConfig.for_bar(bar))
    notes = {"trade_flow_present": int(flow.exists()), "history_days": int(len(books) > 1)}
    return _write(lake, JOINED_FEATURES, table, quality, path, books + flows, bar, notes)


def labels_day(lake: Lake, coin: str, day: date, bar: str) -> TableOutcome:
    """Forward mid returns and direction classes from the day's own book features. Labels never cross the day's
    end: the last h bars of each horizon are null (counted in unlabelled_no_future_<h>), so a day's labels are
    final once its book is in, nothing of day D waits for D + 1, and a model for day D is trained only on labels
    that ended before D."""
    _same_bar(lake, bar)
    path = lake.labels_path(coin, day)
    book = lake.feature_path(BOOK_FEATURES, coin, day)
    if not book.exists():
        return TableOutcome("missing", path)
    table, quality = label_table(pl.scan_parquet(book), BarGrid.for_day(day, bar), None, LabelConfig.for_bar(bar))
    return _write(lake, "labels", table, quality, path, [book], bar)


def _empty_flow(grid: BarGrid, bar: str) -> pl.LazyFrame:
    return trade_flow_features(pl.DataFrame(schema=TRADES_SCHEMA), grid, TradeFlowConfig.for_bar(bar)).lazy()
