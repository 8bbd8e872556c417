"""Raw and clean assets for both upstreams. Each works on its whole partition window in one run, so a backfill
of months is a handful of runs, and each is idempotent over that window."""


from collections import Counter
from typing import Iterable

import dagster as dg

from hyperliquid_assets.clean_tables import CleanOutcome, clean_l2_hour, clean_trades_day
from hyperliquid_assets.dagster_defs.partition_windows import for_each_partition
from hyperliquid_assets.dagster_defs.partitions import (
    SETTINGS,
    coin_and_day,
    coin_and_hour,
    coin_day_partitions,
    coin_hour_partitions,
)
from hyperliquid_assets.dagster_defs.resources import BinanceVision, HyperliquidArchive, LakeResource
from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.raw_objects import RawOutcome, store_l2_hour, store_trades_day
from hyperliquid_assets.sources.errors import SourceError

MIN_MINUTE_COVERAGE = 0.95
_BLOCKING_CHECKS = {
    "times_monotonic": "Times never go backwards (and trade ids always increase).",
    "positive_prices_and_sizes": "Every price, size and order count is > 0.",
}
_L2_BLOCKING_CHECKS = {**_BLOCKING_CHECKS, "book_not_crossed": "Best bid < best ask in every snapshot."}
_COVERAGE_CHECK = "minute_coverage"


def _check_specs(asset: str, blocking: dict[str, str]) -> list[dg.AssetCheckSpec]:
    specs = [dg.AssetCheckSpec(name, asset=asset, blocking=True, description=text) for name, text in blocking.items()]
    specs.append(
        dg.AssetCheckSpec(
            _COVERAGE_CHECK,
            asset=asset,
            description=f"Share of minutes with data, per partition; warns below {MIN_MINUTE_COVERAGE:.0%} "
            "(a missing upstream object shows here as 0).",
        )
    )
    return specs


def _raw_result(context: dg.AssetExecutionContext, outcomes: dict[str, RawOutcome]) -> dg.MaterializeResult:
    for partition_key, outcome in outcomes.items():
        context.add_asset_metadata(
            {"status": outcome.status, "source_uri": outcome.source_uri, "path": str(outcome.path), **outcome.facts},
            partition_key=partition_key,
        )
    statuses = Counter(o.status for o in outcomes.values())
    missing = sorted(k for k, o in outcomes.items() if o.status == "missing")
    if missing:
        context.log.warning("upstream has no object for %d partitions: %s", len(missing), ", ".join(missing))
    return dg.MaterializeResult(
        metadata={
            "window_partitions": len(outcomes),
            "window_fetched": statuses["stored"],
            "window_already_stored": statuses["already_stored"],
            "window_missing": statuses["missing"],
            "window_missing_partitions": ", ".join(missing),
        }
    )


def _clean_result(
    context: dg.AssetExecutionContext, outcomes: dict[str, CleanOutcome], blocking: Iterable[str]
) -> dg.MaterializeResult:
    checked = {k: o for k, o in outcomes.items() if o.quality is not None}
    for partition_key, outcome in outcomes.items():
        facts: dict = {"status": outcome.status, "path": str(outcome.path)}
        if outcome.quality is not None:
            q = outcome.quality
            facts |= {"dagster/row_count": q.rows, "bytes": outcome.bytes, "minute_coverage": round(q.coverage, 4),
                      "times_monotonic": q.times_monotonic, "crossed_books": q.crossed_books,
                      "nonpositive_values": q.nonpositive_values}
        else:
            facts["minute_coverage"] = 0.0
        context.add_asset_metadata(facts, partition_key=partition_key)
    failing = {
        "times_monotonic": [k for k, o in checked.items() if not o.quality.times_monotonic],
        "book_not_crossed": [k for k, o in checked.items() if o.quality.crossed_books],
        "positive_prices_and_sizes": [k for k, o in checked.items() if o.quality.nonpositive_values],
    }
    results = [
        dg.AssetCheckResult(
            check_name=name,
            passed=not failing[name],
            metadata={"partitions_checked": len(checked), "failing_partitions": ", ".join(failing[name])},
            description="Corrupt partitions were not written." if failing[name] else None,
        )
        for name in blocking
    ]
    coverage = {k: (o.quality.coverage if o.quality else 0.0) for k, o in outcomes.items()}
    thin = sorted(k for k, c in coverage.items() if c < MIN_MINUTE_COVERAGE)
    results.append(
        dg.AssetCheckResult(
            check_name=_COVERAGE_CHECK,
            passed=not thin,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "min_coverage": round(min(coverage.values()), 4) if coverage else 0.0,
                "mean_coverage": round(sum(coverage.values()) / len(coverage), 4) if coverage else 0.0,
                "partitions_below_threshold": ", ".join(thin),
                "missing_partitions": ", ".join(sorted(k for k, o in outcomes.items() if o.status == "missing")),
            },
        )
    )
    statuses = Counter(o.status for o in outcomes.values())
    return dg.MaterializeResult(
        # Dagster copies run-level metadata onto every partition of the window, hence the window_ prefix.
        metadata={
            "window_partitions": len(outcomes),
            "window_written": statuses["written"],
            "window_missing": statuses["missing"],
            "window_rejected": statuses["rejected"],
            "window_rows": sum(o.quality.rows for o in checked.values()),
        },
        check_results=results,
    )


@dg.asset(
    partitions_def=coin_hour_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="raw",
    kinds={"s3", "lz4"},
    pool="hyperliquid_archive",
)
def hyperliquid_l2_raw(
    context: dg.AssetExecutionContext, hyperliquid_archive: HyperliquidArchive, lake: LakeResource
) -> dg.MaterializeResult:
    """Hyperliquid L2 book archive objects, one per coin-hour, stored byte for byte as published at
    `market_data/YYYYMMDD/H/l2Book/COIN.lz4`.

    Each object is checked to be a complete LZ4 frame before it is stored. Per partition: `status` (stored,
    already_stored, or missing when the archive has a gap), `source_uri`, `bytes`, `sha256`, `snapshots`, and
    the first and last snapshot's receive time.
    """
    source, store = hyperliquid_archive.source(), lake.lake()

    def step(partition_key: str) -> RawOutcome:
        coin, hour = coin_and_hour(partition_key)
        return store_l2_hour(source, store, coin, hour)

    return _raw_result(context, for_each_partition(context, step, (SourceError, CorruptObjectError)))


@dg.asset(
    partitions_def=coin_hour_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="clean",
    kinds={"parquet", "polars"},
    deps=[hyperliquid_l2_raw],
    check_specs=_check_specs("l2_book", _L2_BLOCKING_CHECKS),
)
def l2_book(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """The Hyperliquid L2 book, one row per snapshot, one Parquet file per coin-hour at
    `clean/l2_book/coin=COIN/date=YYYY-MM-DD/HH.parquet`.

    Columns (hyperliquid_assets/formats/schemas.py, L2_BOOK_SCHEMA): `received_time` (archive receive time, ns,
    UTC), `exchange_time` (exchange book time, ms, UTC), `ver_num`, and per side list columns of every level,
    best first: `bid_px`, `bid_sz`, `bid_n`, `ask_px`, `ask_sz`, `ask_n`. Lossless: values equal the archive's.
    Identical consecutive books are kept. A partition whose raw object is missing is a coverage gap, not an
    error; a corrupt one (malformed line, crossed or non-positive book, times going back) is never written.
    """
    store = lake.lake()

    def step(partition_key: str) -> CleanOutcome:
        coin, hour = coin_and_hour(partition_key)
        return clean_l2_hour(store, coin, hour)

    return _clean_result(context, for_each_partition(context, step, (SourceError, CorruptObjectError)), _L2_BLOCKING_CHECKS)


@dg.asset(
    partitions_def=coin_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="raw",
    kinds={"zip", "https"},
    pool="binance_vision",
)
def binance_trades_raw(
    context: dg.AssetExecutionContext, binance_vision: BinanceVision, lake: LakeResource
) -> dg.MaterializeResult:
    """Binance daily trade zips with their `.CHECKSUM` files, one per coin-day, stored as published. Which
    symbol, market (spot, USD-M, COIN-M) and kind (trades, aggTrades) a coin maps to is set in
    HL_BINANCE_LISTINGS.

    The zip's sha256 is verified against the CHECKSUM before either file is stored. Per partition: `status`
    (stored, already_stored, or missing: Binance publishes a day late), `source_uri`, `bytes`, `sha256`.
    """
    source, store = binance_vision.source(), lake.lake()

    def step(partition_key: str) -> RawOutcome:
        coin, day = coin_and_day(partition_key)
        return store_trades_day(source, store, SETTINGS.listing(coin), day)

    return _raw_result(context, for_each_partition(context, step, (SourceError, CorruptObjectError)))


@dg.asset(
    partitions_def=coin_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="clean",
    kinds={"parquet", "polars"},
    deps=[binance_trades_raw],
    check_specs=_check_specs("binance_trades", _BLOCKING_CHECKS),
)
def binance_trades(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Binance trades in one schema across spot and futures, trades and aggTrades, one Parquet file per coin-day
    at `clean/trades/coin=COIN/date=YYYY-MM-DD/trades.parquet`.

    Columns (TRADES_SCHEMA): `time` (us, UTC; ms or us files normalized by magnitude), `trade_id`,
    `first_trade_id`, `last_trade_id`, `price`, `qty` (base asset), `quote_qty`, `is_buyer_maker`, `side`
    (+1 buyer-initiated, -1 seller-initiated, from is_buyer_maker), `is_best_match` (spot only). The stored zip
    is re-verified against its CHECKSUM before it is read.
    """
    store = lake.lake()

    def step(partition_key: str) -> CleanOutcome:
        coin, day = coin_and_day(partition_key)
        return clean_trades_day(store, coin, SETTINGS.listing(coin), day)

    return _clean_result(context, for_each_partition(context, step, (SourceError, CorruptObjectError)), _BLOCKING_CHECKS)
