"""Raw and clean assets of both upstreams. One step fetches, stores and cleans each partition of its window, so a
backfill of months is a handful of runs; stored objects are never fetched again, so reruns are cheap and
idempotent. Each partition is recorded as what it is: written, not published yet (left unmaterialized), or
failed (named, with what is wrong)."""


from collections import Counter
from typing import Callable, Iterable

import dagster as dg

from hyperliquid_assets.defs.automation import fetches_when_published
from hyperliquid_assets.defs.partition_outcomes import PartitionOutcome, WindowReport, emit
from hyperliquid_assets.defs.partitions import (
    BACKFILL_POLICY,
    LISTINGS_IDENTITY,
    SETTINGS,
    coin_and_day,
    coin_and_hour,
    coin_day_partitions,
    coin_hour_partitions,
    day_of_hour,
    same_day,
)
from hyperliquid_assets.defs.resources import BinanceVision, HyperliquidArchive, LakeResource
from hyperliquid_assets.ingest import IngestResult, ingest_l2_item, ingest_trades_item
from hyperliquid_assets.inventory import take_inventories, write_inventory
from hyperliquid_assets.worker_pool import DEFAULT_PRELOAD, map_in_workers, start_fork_server

# What the worker processes import once in the fork server rather than each on its first partition.
_PRELOAD = (*DEFAULT_PRELOAD, "hyperliquid_assets.ingest")

MIN_MINUTE_COVERAGE = 0.95
# Transient source failures are retried inside each fetch (backoff with jitter); a step retry covers a source that
# stayed down for minutes. Bad data is never retried (see partition_outcomes).
SOURCE_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL)

_BLOCKING_CHECKS = {
    "times_monotonic": "Times never go backwards (and trade ids always increase).",
    "positive_prices_and_sizes": "Every price, size and order count is a finite number > 0.",
}
_L2_BLOCKING_CHECKS = {**_BLOCKING_CHECKS, "book_not_crossed": "Best bid < best ask in every snapshot."}
_COVERAGE_CHECK = "minute_coverage"


def _check_specs(asset: str, blocking: dict[str, str]) -> list[dg.AssetCheckSpec]:
    specs = [dg.AssetCheckSpec(name, asset=asset, blocking=True, description=text) for name, text in blocking.items()]
    specs.append(dg.AssetCheckSpec(
        _COVERAGE_CHECK, asset=asset,
        description=f"Share of minutes with data, per partition; warns below {MIN_MINUTE_COVERAGE:.0%}.",
    ))
    return specs


def _raw_metadata(result: IngestResult) -> dict:
    raw = result.raw
    return {"status": raw.status, "source_uri": raw.source_uri, "path": str(raw.path), **raw.facts}


def _clean_metadata(result: IngestResult) -> dict:
    clean, q = result.clean, result.clean.quality
    return {"status": "written", "path": str(clean.path), "dagster/row_count": q.rows, "bytes": clean.bytes,
            "minute_coverage": round(q.coverage, 4), "times_monotonic": q.times_monotonic,
            "crossed_books": q.crossed_books, "nonpositive_values": q.nonpositive_values,
            "nonfinite_values": q.nonfinite_values}


def _outcome(partition_key: str, result: IngestResult, raw_key: str, clean_key: str, keys: set[str]) -> PartitionOutcome:
    outcome = PartitionOutcome(partition_key)
    if result.raw is not None and result.raw.status != "missing":
        outcome.written[raw_key] = _raw_metadata(result)
    if result.clean is not None and result.clean.status == "written":
        outcome.written[clean_key] = _clean_metadata(result)
    if result.error:
        outcome.failure, outcome.retryable = result.error, result.retryable
    elif result.not_published:
        reason = f"not published upstream yet: {result.raw.source_uri}"
        outcome.unavailable = {key: reason for key in keys}
    elif clean_key in keys and clean_key not in outcome.written:
        outcome.unavailable[clean_key] = f"no stored raw object to clean; materialize {raw_key} first"
    return outcome


def _window_report(results: dict[str, IngestResult], raw_key: str, clean_key: str, keys: set[str],
                   blocking: Iterable[str]) -> WindowReport:
    statuses = Counter(r.raw.status for r in results.values() if r.raw is not None)
    metadata = {raw_key: {"window_partitions": len(results), "window_fetched": statuses["stored"],
                          "window_already_stored": statuses["already_stored"], "window_not_published": statuses["missing"]}}
    if clean_key not in keys:
        return WindowReport(metadata)
    # Quality figures of every partition the clean step looked at, rejected ones included.
    checked = {k: r.clean.quality for k, r in results.items() if r.clean is not None and r.clean.quality is not None}
    failing = {
        "times_monotonic": [k for k, q in checked.items() if not q.times_monotonic],
        "book_not_crossed": [k for k, q in checked.items() if q.crossed_books],
        "positive_prices_and_sizes": [k for k, q in checked.items() if q.nonpositive_values or q.nonfinite_values],
    }
    checks = [
        dg.AssetCheckResult(check_name=name, passed=not failing[name],
                            metadata={"partitions_checked": len(checked), "failing_partitions": ", ".join(failing[name])},
                            description="Failing partitions were not written." if failing[name] else None)
        for name in blocking
    ]
    thin = sorted(k for k, q in checked.items() if q.coverage < MIN_MINUTE_COVERAGE)
    coverage = [q.coverage for q in checked.values()]
    checks.append(dg.AssetCheckResult(
        check_name=_COVERAGE_CHECK, passed=not thin, severity=dg.AssetCheckSeverity.WARN,
        metadata={"min_coverage": round(min(coverage), 4) if coverage else 0.0,
                  "mean_coverage": round(sum(coverage) / len(coverage), 4) if coverage else 0.0,
                  "partitions_below_threshold": ", ".join(thin)},
    ))
    written = [r.clean.quality for r in results.values() if r.clean is not None and r.clean.status == "written"]
    metadata[clean_key] = {"window_written": len(written), "window_rows": sum(q.rows for q in written)}
    return WindowReport(metadata, {clean_key: checks})


class IngestConfig(dg.Config):
    """How a run spreads its window over processes (the data does not depend on it)."""

    workers: int = 2  # worker processes; 1 runs the window in the run's own process
    threads_per_worker: int = 1  # polars/Arrow threads in each worker (bench/bench_ingest.py measures the best)


def _call(work: Callable[[tuple], IngestResult], item: tuple) -> IngestResult | Exception:
    try:
        return work(item)
    except Exception as exc:  # noqa: BLE001 - reported on its partition, as the worker pool does
        return exc


def _ingest_window(context: dg.AssetExecutionContext, config: IngestConfig,
                   step: Callable[[str, bool, bool], tuple], work: Callable[[tuple], IngestResult],
                   raw_key: str, clean_key: str, blocking: Iterable[str]):
    """Run `work(step(partition_key, fetch, clean))` for each partition of the window, in worker processes when
    the window has several partitions, and report each partition as it is."""
    keys = {k.to_user_string() for k in context.selected_asset_keys}
    fetch, clean = raw_key in keys, clean_key in keys
    partition_keys = context.partition_keys
    items = {partition_key: step(partition_key, fetch, clean) for partition_key in partition_keys}
    results: dict[str, IngestResult] = {}
    if config.workers > 1 and len(items) >= 3:
        # `work` is a plain module's function: unpickling it in a worker imports nothing of Dagster.
        key_of = {id(item): partition_key for partition_key, item in items.items()}
        outcomes = ((key_of[id(item)], r) for item, r in map_in_workers(
            work, list(items.values()), config.workers, config.threads_per_worker, preload=_PRELOAD))
    else:
        outcomes = ((k, _call(work, item)) for k, item in items.items())
    for done, (partition_key, result) in enumerate(outcomes, 1):
        results[partition_key] = result if isinstance(result, IngestResult) else IngestResult(
            None, None, f"{type(result).__name__}: {result}")
        if done % 24 == 0 or done == len(partition_keys):
            context.log.info("%s: %d of %d partitions done", raw_key if fetch else clean_key, done, len(partition_keys))
    results = {k: results[k] for k in partition_keys}  # back in partition order
    outcomes = [_outcome(k, r, raw_key, clean_key, keys) for k, r in results.items()]
    ordered = [key for key in (raw_key, clean_key) if key in keys]  # raw before clean: Dagster wants lineage order
    yield from emit(context, outcomes, ordered, _window_report(results, raw_key, clean_key, keys, blocking))


_FETCH = fetches_when_published(SETTINGS.archive_lookback_days)


@dg.asset(
    partitions_def=coin_day_partitions,
    backfill_policy=BACKFILL_POLICY,
    group_name="raw",
    kinds={"s3", "https"},
    code_version=f"1|listings={LISTINGS_IDENTITY}",
    retry_policy=SOURCE_RETRY,
)
def upstream_inventory(
    context: dg.AssetExecutionContext, hyperliquid_archive: HyperliquidArchive, binance_vision: BinanceVision,
    lake: LakeResource,
) -> dg.MaterializeResult:
    """What the upstreams have published for each coin-day: the Hyperliquid archive's L2 hour objects of the day
    (from a requester-pays listing of `market_data/YYYYMMDD/`) and whether Binance has the day's trade
    file (its CHECKSUM). At `raw/inventory/coin=COIN/date=YYYY-MM-DD/inventory.json`.

    The root of the graph: the raw assets fetch only what it lists (an hour not published costs no request), and
    upstream_sensor re-takes it when an upstream publishes something new, which sets the rest of the graph moving.
    Per partition: `archive_hours` (published hours of 24), `missing_hours`, `binance_published`, `fingerprint`."""
    archive, binance, store = hyperliquid_archive.spec().build(), binance_vision.spec().build(), lake.lake()
    by_day: dict = {}
    for partition_key in context.partition_keys:
        coin, day = coin_and_day(partition_key)
        by_day.setdefault(day, []).append((partition_key, coin))
    for day, keys in sorted(by_day.items()):
        inventories = take_inventories(archive, binance, {coin: SETTINGS.listing(coin) for _, coin in keys}, day)
        for partition_key, coin in keys:
            inventory = inventories[coin]
            path = write_inventory(store, inventory)
            missing = sorted(set(range(24)) - set(inventory.archive_hours))
            context.add_asset_metadata(
                {"path": str(path), "archive_hours": len(inventory.archive_hours),
                 "missing_hours": ", ".join(f"{h:02d}" for h in missing), "binance_published": inventory.binance_published,
                 "fingerprint": inventory.fingerprint()},
                partition_key=partition_key,
            )
    return dg.MaterializeResult(metadata={"window_partitions": len(context.partition_keys)})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "hyperliquid_l2_raw", partitions_def=coin_hour_partitions, group_name="raw", kinds={"s3", "lz4"},
            skippable=True, deps=[dg.AssetDep("upstream_inventory", partition_mapping=day_of_hour)],
            automation_condition=_FETCH,
            description="""Hyperliquid L2 book archive objects, one per coin-hour, stored byte for byte as
published at `market_data/YYYYMMDD/H/l2Book/COIN.lz4` (requester-pays S3, or the local mirror).

Each object is checked to be a complete LZ4 frame of snapshot lines before it is stored. An hour the archive has
not published yet (not in the day's upstream_inventory) is not requested and stays unmaterialized, with an
observation saying so; when the sensor finds it published, automation fetches it. Per partition: `status` (stored, already_stored), `source_uri`, `bytes`, `sha256`, `snapshots`, and the
first and last snapshot's receive time.""",
        ),
        dg.AssetSpec(
            "l2_book", partitions_def=coin_hour_partitions, group_name="clean", kinds={"parquet", "polars"},
            deps=["hyperliquid_l2_raw"], skippable=True, automation_condition=_FETCH,
            description="""The Hyperliquid L2 book, one row per snapshot, one Parquet file per coin-hour at
`clean/l2_book/coin=COIN/date=YYYY-MM-DD/HH.parquet`.

Columns (hyperliquid_assets/formats/schemas.py, L2_BOOK_SCHEMA): `received_time` (archive receive time, ns, UTC),
`exchange_time` (exchange book time, ms, UTC), `ver_num`, and per side list columns of every level, best first:
`bid_px`, `bid_sz`, `bid_n`, `ask_px`, `ask_sz`, `ask_n`. Lossless: values equal the archive's. A corrupt object
(malformed line, crossed book, a price or size that is not a finite positive number, times going back) is never
written: its partition fails, naming the object and what is wrong.""",
        ),
    ],
    check_specs=_check_specs("l2_book", _L2_BLOCKING_CHECKS),
    can_subset=True,
    backfill_policy=BACKFILL_POLICY,
    pool="hyperliquid_archive",
    retry_policy=SOURCE_RETRY,
)
def hyperliquid_l2(context: dg.AssetExecutionContext, config: IngestConfig, hyperliquid_archive: HyperliquidArchive,
                   lake: LakeResource):
    """Fetch, store and clean the archive's hour objects of the window."""
    if config.workers > 1:
        start_fork_server(config.threads_per_worker, _PRELOAD)  # its imports overlap what follows
    source, store = hyperliquid_archive.spec(), lake.lake()

    def step(partition_key: str, fetch: bool, clean: bool) -> tuple:
        coin, hour = coin_and_hour(partition_key)
        return source, store, coin, hour, fetch, clean

    yield from _ingest_window(context, config, step, ingest_l2_item, "hyperliquid_l2_raw", "l2_book",
                              _L2_BLOCKING_CHECKS)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "binance_trades_raw", partitions_def=coin_day_partitions, group_name="raw", kinds={"zip", "https"},
            skippable=True, deps=[dg.AssetDep("upstream_inventory", partition_mapping=same_day)],
            automation_condition=_FETCH, code_version=f"1|listings={LISTINGS_IDENTITY}",
            description="""Binance daily trade zips with their `.CHECKSUM` files, one per coin-day, stored as
published. Which symbol, market (spot, USD-M, COIN-M) and kind (trades, aggTrades) a coin maps to is set in
HL_BINANCELISTINGS_IDENTITY.

The zip's sha256 is verified against the CHECKSUM before either file is stored. A day Binance has not published
yet stays unmaterialized, with an observation saying so. Per partition: `status`, `source_uri`, `bytes`,
`sha256`.""",
        ),
        dg.AssetSpec(
            "binance_trades", partitions_def=coin_day_partitions, group_name="clean", kinds={"parquet", "polars"},
            deps=["binance_trades_raw"], skippable=True, automation_condition=_FETCH,
            description="""Binance trades in one schema across spot and futures, trades and aggTrades, one Parquet
file per coin-day at `clean/trades/listing=LISTING/coin=COIN/date=YYYY-MM-DD/trades.parquet` (the listing, e.g.
`spot-trades-BTCUSDT`, is part of the path so another listing never overwrites it).

Columns (TRADES_SCHEMA): `time` (us, UTC; ms or us files normalized by magnitude), `trade_id`, `first_trade_id`,
`last_trade_id`, `price`, `qty` (base asset), `quote_qty`, `is_buyer_maker`, `side` (+1 buyer-initiated, -1
seller-initiated), `is_best_match` (spot only). The stored zip is re-verified against its CHECKSUM before it is
read.""",
            code_version=f"1|listings={LISTINGS_IDENTITY}",
        ),
    ],
    check_specs=_check_specs("binance_trades", _BLOCKING_CHECKS),
    can_subset=True,
    backfill_policy=BACKFILL_POLICY,
    pool="binance_vision",
    retry_policy=SOURCE_RETRY,
)
def binance_daily_trades(context: dg.AssetExecutionContext, config: IngestConfig, binance_vision: BinanceVision,
                         lake: LakeResource):
    """Fetch, verify, store and clean the Binance trade days of the window."""
    source, store = binance_vision.spec(), lake.lake()

    def step(partition_key: str, fetch: bool, clean: bool) -> tuple:
        coin, day = coin_and_day(partition_key)
        return source, store, coin, SETTINGS.listing(coin), day, fetch, clean

    yield from _ingest_window(context, config, step, ingest_trades_item, "binance_trades_raw", "binance_trades",
                              _BLOCKING_CHECKS)
