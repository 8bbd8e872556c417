"""Feature, label and warehouse assets (day x coin), each over its whole partition window in one run."""

from typing import Callable

import dagster as dg
import polars as pl

from hyperliquid_assets.dagster_defs.ingest_assets import binance_trades, l2_book
from hyperliquid_assets.dagster_defs.partition_windows import for_each_partition
from hyperliquid_assets.dagster_defs.partitions import (
    SETTINGS,
    coin_and_day,
    coin_day_partitions,
    day_and_day_after,
    day_and_day_before,
    hours_of_day_and_day_before,
)
from hyperliquid_assets.dagster_defs.resources import LakeResource
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.research_tables import (
    TableOutcome,
    book_features_day,
    joined_features_day,
    labels_day,
    trade_flow_features_day,
)
from hyperliquid_assets.warehouse import refresh_warehouse

_DTYPE_NAMES = {pl.Float64: "float64", pl.Int8: "int8", pl.Int32: "int32", pl.Int64: "int64", pl.Boolean: "bool"}


def _column_schema(path) -> dg.TableSchema:
    schema = pl.read_parquet_schema(path)
    return dg.TableSchema(columns=[dg.TableColumn(name, _DTYPE_NAMES.get(dtype, str(dtype))) for name, dtype in schema.items()])


def _materialize_days(
    context: dg.AssetExecutionContext, lake: Lake, step: Callable[[Lake, str, object, str], TableOutcome]
) -> dg.MaterializeResult:
    """Run `step` for every coin-day of the window; per-partition rows, coverage, null shares and notes go to
    that partition's metadata."""
    bar = SETTINGS.feature_bar
    outcomes = for_each_partition(context, lambda partition_key: step(lake, *coin_and_day(partition_key), bar))
    missing = [k for k, o in outcomes.items() if o.quality is None]
    for partition_key, outcome in outcomes.items():
        facts: dict = {"status": outcome.status, "path": str(outcome.path), "bar": bar, **outcome.notes}
        if outcome.quality is not None:
            q = outcome.quality
            facts |= {"dagster/row_count": q.rows, **{f"coverage_{k}": round(v, 4) for k, v in q.coverage.items()},
                      **q.counts, "max_null_share": round(max(q.null_share.values(), default=0.0), 4),
                      "null_share": dg.MetadataValue.json({k: round(v, 4) for k, v in q.null_share.items()})}
        context.add_asset_metadata(facts, partition_key=partition_key)
    if missing:
        context.log.warning("no input for %s: left as coverage gaps", ", ".join(missing))
    written = [o.path for o in outcomes.values() if o.quality is not None]
    metadata: dict = {"window_written": len(written), "window_missing": len(missing),
                      "window_missing_partitions": ", ".join(missing)}
    if written:
        metadata["dagster/column_schema"] = _column_schema(written[-1])
    return dg.MaterializeResult(metadata=metadata)


_COMMON = dict(
    partitions_def=coin_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"parquet", "polars"},
)


@dg.asset(
    **_COMMON,
    group_name="features",
    deps=[dg.AssetDep(l2_book, partition_mapping=hours_of_day_and_day_before)],
)
def book_features(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Order-book features on the day's bar grid (HL_FEATURE_BAR, default 1 s; bars labelled by their END time,
    each holding only what was known by then), from the day's 24 clean L2 hours plus the previous day's last hour
    as warm-up: mid, spread (bps), imbalance at depth 1/5/10, microprice and its offset, weighted mid, depth within
    5/10/25 bps, Cont-Kukanov-Stoikov order-flow imbalance, book slope, lagged returns, realized volatility, and a
    staleness flag for bars without a fresh snapshot. Formulas: hyperliquid_assets/features/book_features.py."""
    return _materialize_days(context, lake.lake(), book_features_day)


@dg.asset(
    **_COMMON,
    group_name="features",
    deps=[dg.AssetDep(binance_trades, partition_mapping=day_and_day_before)],
)
def trade_flow_features(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Binance trade-flow features on the same bar grid: OHLCV, VWAP, buy/sell volume, trade count and intensity,
    signed volume imbalance, VPIN over volume buckets (bucket size = previous day's notional / 50, fixed before
    the day), rolling Kyle's lambda, return autocorrelation. Formulas:
    hyperliquid_assets/features/trade_flow_features.py."""
    return _materialize_days(context, lake.lake(), trade_flow_features_day)


@dg.asset(
    **_COMMON,
    group_name="features",
    deps=[
        dg.AssetDep(book_features, partition_mapping=day_and_day_before),
        dg.AssetDep(trade_flow_features, partition_mapping=day_and_day_before),
    ],
)
def features(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """The research feature table: book (`book_*`) and trade-flow (`flow_*`) features as-of joined on bar time
    (a book bar takes the latest flow bar ending at or before it, never a later one), plus cross-venue features
    (`xv_*`: Binance basis, lagged Binance returns and flow against the Hyperliquid mid). No column looks ahead.
    Formulas: hyperliquid_assets/features/joined_features.py."""
    return _materialize_days(context, lake.lake(), joined_features_day)


@dg.asset(
    **_COMMON,
    group_name="labels",
    deps=[dg.AssetDep(book_features, partition_mapping=day_and_day_after)],
)
def labels(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Targets, kept apart from features: forward Hyperliquid mid return (bps) over each horizon
    (`label_ret_bps_<h>`) and a three-class direction {-1, 0, 1} beyond a threshold in bps (`label_dir_<h>`).
    A day's last bars use the next day's first bars when those book features exist; otherwise they are left null,
    never guessed, and counted in `unlabelled_no_future_<h>`. Formulas: hyperliquid_assets/features/labels.py."""
    return _materialize_days(context, lake.lake(), labels_day)


@dg.asset(
    group_name="warehouse",
    kinds={"duckdb"},
    deps=[l2_book, binance_trades, book_features, trade_flow_features, features, labels],
)
def lake_warehouse(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """`data/warehouse.duckdb`: a view per lake table (l2_book, trades, book_features, trade_flow_features,
    features, labels) over its Parquet files, hive-partitioned by coin and date, e.g.
    `SELECT ... FROM features WHERE coin = 'BTC' AND date BETWEEN '2026-01-01' AND '2026-01-02'` from the duckdb
    CLI, Python, or `hl-assets sql "..."`. Views read files at query time; rebuilt by temp file and rename."""
    store = lake.lake()
    counts = refresh_warehouse(store)
    return dg.MaterializeResult(
        metadata={"path": str(store.warehouse_path), "views": ", ".join(counts),
                  **{f"rows_{name}": n for name, n in counts.items()}}
    )
