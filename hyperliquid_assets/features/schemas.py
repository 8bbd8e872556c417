"""The column schema of every research table at a bar size, declared once: column names come from each table's
config (so they follow its lags and windows), dtypes from the rules below. The writer refuses a frame that differs
from its declaration, the Dagster assets show it before any run, and a blocking check compares written files
against it."""

from __future__ import annotations

import polars as pl

from hyperliquid_assets.features.bars import BAR_TIME, BAR_TIME_DTYPE
from hyperliquid_assets.features.book_features import BookFeatureConfig
from hyperliquid_assets.features.joined_features import CrossVenueConfig
from hyperliquid_assets.features.labels import LabelConfig
from hyperliquid_assets.features.trade_flow_features import TradeFlowConfig

# Every column not named here (and not a label direction) is a Float64 measurement.
_EXACT_DTYPES: dict[str, pl.DataType] = {
    BAR_TIME: BAR_TIME_DTYPE,
    "book_stale": pl.Boolean(),
    "book_snapshots": pl.Int32(),
    "flow_trade_count": pl.Int32(),
}


def _dtype(column: str) -> pl.DataType:
    if column in _EXACT_DTYPES:
        return _EXACT_DTYPES[column]
    if column.startswith("label_dir_"):
        return pl.Int8()  # direction class in {-1, 0, 1}
    return pl.Float64()


def _schema(columns: list[str]) -> pl.Schema:
    return pl.Schema([(name, _dtype(name)) for name in columns])


def research_table_schema(table: str, bar: str) -> pl.Schema:
    """The declared schema of `table` (book_features, trade_flow_features, features, labels) at `bar`."""
    book = BookFeatureConfig.for_bar(bar).columns()
    flow = TradeFlowConfig.for_bar(bar).columns()
    if table == "book_features":
        return _schema(book)
    if table == "trade_flow_features":
        return _schema(flow)
    if table == "features":
        return _schema([BAR_TIME, *book[1:], *flow[1:], *CrossVenueConfig.for_bar(bar).columns()])
    if table == "labels":
        return _schema(LabelConfig.for_bar(bar).columns())
    raise ValueError(f"no declared schema for table {table!r}")


RESEARCH_TABLES = ("book_features", "trade_flow_features", "features", "labels")

# Null whenever the bar holds no trade (a quiet second has no open, close or VWAP): not a data gap.
NULL_WITHOUT_TRADES = frozenset({"flow_open", "flow_high", "flow_low", "flow_close", "flow_vwap", "flow_imbalance"})


# Null throughout a day without the day before: the trailing day's volatility, and VPIN (its volume bucket is sized
# from the previous day's notional; without it a default bucket may never fill).
NEEDS_PREVIOUS_DAY = frozenset({"book_rv_bps_1d", "flow_vpin"})
