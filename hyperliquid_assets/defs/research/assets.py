"""Feature and label assets (day x coin), each over its whole partition window in one run, with their checks."""


from typing import Callable

import dagster as dg
import polars as pl

from hyperliquid_assets.defs.automation import follows_inputs
from hyperliquid_assets.defs.partition_outcomes import PartitionOutcome, WindowReport, emit
from hyperliquid_assets.defs.partitions import (
    BACKFILL_POLICY,
    LISTINGS_IDENTITY,
    SETTINGS,
    coin_and_day,
    coin_day_partitions,
    day_and_day_before,
    hours_of_day_and_day_before,
    same_day,
)
from hyperliquid_assets.defs.resources import LakeResource
from hyperliquid_assets.features.schemas import research_table_schema
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.research_tables import (
    TableOutcome,
    book_features_day,
    joined_features_day,
    labels_day,
    trade_flow_features_day,
)
from hyperliquid_assets.table_checks import (
    MAX_NULL_SHARE,
    bar_grid_problem,
    null_shares_above,
    schema_problem,
    shared_columns_problem,
)

BAR = SETTINGS.feature_bar

_CHECKS = {
    "schema_matches_declaration": (True, "Every written file has exactly the declared columns and dtypes."),
    "rows_equal_bar_grid": (True, f"One row per {BAR} bar of the day, in order, no gap and no extra."),
    "null_share": (False, f"No column is null in more than {MAX_NULL_SHARE:.0%} of the bars (warning), but those null "
                          "by definition: bar prices with no trade, and trailing-day windows on a day without the "
                          "day before."),
}
_LABEL_CHECKS = {**_CHECKS, "no_column_in_features": (
    True, "Labels share no column but bar_time with the features table: nothing forward-looking leaks in.")}

# What a day's step needs when it has nothing to read, said in the observation left on the partition.
_NO_INPUT = {
    "book_features": "no clean L2 hour of the day in the lake",
    "trade_flow_features": "no clean Binance trades for the day in the lake",
    "features": "no book features for the day in the lake",
    "labels": "no book features for the day in the lake",
}


def _column_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in
                                   research_table_schema(table, BAR).items()])


def _partition_facts(outcome: TableOutcome) -> dict:
    q = outcome.quality
    return {"status": "written", "path": str(outcome.path), "bar": BAR, "dagster/row_count": q.rows, **outcome.notes,
            **{f"coverage_{k}": round(v, 4) for k, v in q.coverage.items()}, **q.counts,
            "max_null_share": round(max(q.null_share.values(), default=0.0), 4),
            "null_share": dg.MetadataValue.json({k: round(v, 4) for k, v in q.null_share.items()})}


def _materialize_days(context: dg.AssetExecutionContext, lake: Lake, table: str,
                      step: Callable[[Lake, str, object, str], TableOutcome]):
    """Run `step` for every coin-day of the window; check what it wrote; report each partition as it is."""
    checks = _LABEL_CHECKS if table == "labels" else _CHECKS
    outcomes: list[PartitionOutcome] = []
    failing: dict[str, list[str]] = {name: [] for name in checks}
    evaluated: dict[str, int] = {name: 0 for name in checks}
    for partition_key in context.partition_keys:
        coin, day = coin_and_day(partition_key)
        outcome = PartitionOutcome(partition_key)
        outcomes.append(outcome)
        try:
            written = step(lake, coin, day, BAR)
        except Exception as exc:  # noqa: BLE001 - reported per partition, the window goes on
            outcome.failure = f"{type(exc).__name__}: {exc}"
            continue
        if written.quality is None:
            outcome.unavailable[table] = _NO_INPUT[table]
            continue
        problems = {
            "schema_matches_declaration": schema_problem(written.path, table, BAR),
            "rows_equal_bar_grid": bar_grid_problem(written.path, day, BAR),
        }
        if table == "labels":
            problems["no_column_in_features"] = shared_columns_problem(written.path, research_table_schema("features", BAR))
        # Each table notes whether it had the day before: book features their warm-up hours, trade flow where its
        # VPIN bucket size came from, the joined table its history days (labels need no day before).
        notes = written.notes
        has_previous_day = (notes.get("warm_up_hours", 1) > 0 and notes.get("history_days", 1) > 0
                            and notes.get("vpin_bucket_source", "previous day") == "previous day")
        wide = null_shares_above(written.quality.null_share, has_previous_day)
        if wide:
            failing["null_share"].append(f"{partition_key} ({', '.join(sorted(wide))})")
        for name in (*problems, "null_share"):
            evaluated[name] += 1
        for name, problem in problems.items():
            if problem:
                failing[name].append(partition_key)
        blocking = [f"{name}: {problem}" for name, problem in problems.items() if problem]
        if blocking:
            outcome.failure = "; ".join(blocking)
        else:
            outcome.written[table] = _partition_facts(written)
    results = [
        dg.AssetCheckResult(
            check_name=name, passed=not failing[name],
            severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            metadata={"partitions_checked": evaluated[name], "failing_partitions": ", ".join(failing[name])},
        )
        for name, (blocking, _) in checks.items()
    ]
    written = [o for o in outcomes if o.written]
    report = WindowReport({table: {"window_written": len(written),
                                   "window_unavailable": sum(1 for o in outcomes if o.unavailable)}},
                          {table: results})
    yield from emit(context, outcomes, [table], report)


def _research_asset(table: str, group: str, deps: list[dg.AssetDep], code_version: str, description: str,
                    step: Callable[[Lake, str, object, str], TableOutcome]) -> dg.AssetsDefinition:
    checks = _LABEL_CHECKS if table == "labels" else _CHECKS

    @dg.asset(
        name=table,
        partitions_def=coin_day_partitions,
        backfill_policy=BACKFILL_POLICY,
        group_name=group,
        kinds={"parquet", "polars"},
        deps=deps,
        code_version=code_version,
        output_required=False,
        automation_condition=follows_inputs(SETTINGS.archive_lookback_days),
        check_specs=[dg.AssetCheckSpec(name, asset=table, blocking=blocking, description=text)
                     for name, (blocking, text) in checks.items()],
        metadata={"dagster/column_schema": _column_schema(table), "bar": BAR},
        description=description,
    )
    def research_table(context: dg.AssetExecutionContext, lake: LakeResource):
        yield from _materialize_days(context, lake.lake(), table, step)

    return research_table


book_features = _research_asset(
    "book_features", "features",
    [dg.AssetDep("l2_book", partition_mapping=hours_of_day_and_day_before)],
    f"1|bar={BAR}",
    f"""Order-book features on the day's {BAR} bar grid (bars labelled by their END time, each holding only what
was known by then), from the day's 24 clean L2 hours plus the previous day's 24 as history: mid, spread (bps),
imbalance at depth 1/5/10, microprice and its offset, weighted mid, depth within 5/10/25 bps, Cont-Kukanov-Stoikov
order-flow imbalance, book slope, lagged returns, realized volatility up to the trailing day's, and a staleness
flag for bars without a fresh snapshot. At `features/book_features/bar={BAR}/coin=COIN/date=DATE/`. Formulas:
hyperliquid_assets/features/book_features.py.""",
    book_features_day,
)

trade_flow_features = _research_asset(
    "trade_flow_features", "features",
    [dg.AssetDep("binance_trades", partition_mapping=day_and_day_before)],
    f"1|bar={BAR}|listings={LISTINGS_IDENTITY}",
    f"""Binance trade-flow features on the same {BAR} grid: OHLCV, VWAP, buy/sell volume, trade count and
intensity, signed volume imbalance, VPIN over volume buckets (bucket size = previous day's notional / 50, fixed
before the day), rolling Kyle's lambda, return autocorrelation. At
`features/trade_flow_features/bar={BAR}/listing=LISTING/coin=COIN/date=DATE/`. Formulas:
hyperliquid_assets/features/trade_flow_features.py.""",
    trade_flow_features_day,
)

features = _research_asset(
    "features", "features",
    [dg.AssetDep("book_features", partition_mapping=day_and_day_before),
     dg.AssetDep("trade_flow_features", partition_mapping=day_and_day_before)],
    f"1|bar={BAR}|listings={LISTINGS_IDENTITY}",
    """The research feature table: book (`book_*`) and trade-flow (`flow_*`) features as-of joined on bar time (a
book bar takes the latest flow bar ending at or before it, never a later one), plus cross-venue features (`xv_*`:
Binance basis, lagged Binance returns and flow against the Hyperliquid mid); the previous day's rows are history
for the lags. No column looks ahead. Formulas: hyperliquid_assets/features/joined_features.py.""",
    joined_features_day,
)

labels = _research_asset(
    "labels", "labels",
    [dg.AssetDep("book_features", partition_mapping=same_day)],
    f"2|bar={BAR}",
    """Targets, kept apart from features: forward Hyperliquid mid return (bps) over each horizon
(`label_ret_bps_<h>`) and a three-class direction {-1, 0, 1} beyond a threshold in bps (`label_dir_<h>`), from the
day's own book features. Labels never look past the day's end: its last h bars are null, never guessed, and
counted in `unlabelled_no_future_<h>`; so a day's labels are final once its book is in, and a model for day D is
trained only on labels that ended before D. Formulas: hyperliquid_assets/features/labels.py.""",
    labels_day,
)
