"""Jobs over the ingest assets, one per partitioning, and the schedules that keep them current."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import dagster as dg

from hyperliquid_assets.dagster_defs.ingest_assets import binance_trades, binance_trades_raw, hyperliquid_l2_raw, l2_book
from hyperliquid_assets.dagster_defs.partitions import SETTINGS
from hyperliquid_assets.dagster_defs.research_assets import (
    book_features,
    features,
    labels,
    lake_warehouse,
    trade_flow_features,
)

hyperliquid_l2_job = dg.define_asset_job(
    "hyperliquid_l2_job",
    selection=dg.AssetSelection.assets(hyperliquid_l2_raw, l2_book),
    description="Fetch and clean Hyperliquid L2 archive hours.",
)
binance_trades_job = dg.define_asset_job(
    "binance_trades_job",
    selection=dg.AssetSelection.assets(binance_trades_raw, binance_trades),
    description="Fetch, verify and clean Binance daily trade files.",
)
research_tables_job = dg.define_asset_job(
    "research_tables_job",
    selection=dg.AssetSelection.assets(book_features, trade_flow_features, features, labels),
    description="Feature and label tables for coin-days whose clean inputs are in.",
)
lake_warehouse_job = dg.define_asset_job(
    "lake_warehouse_job", selection=dg.AssetSelection.assets(lake_warehouse), description="Refresh the DuckDB views."
)

# Schedules run by default only against the real upstreams; on the offline mirror they would only record gaps.
_FIRST_PARTITION = datetime.combine(SETTINGS.start_date, datetime.min.time(), tzinfo=timezone.utc)
_default_status = (
    dg.DefaultScheduleStatus.RUNNING if os.environ.get("HL_SOURCE") == "remote" else dg.DefaultScheduleStatus.STOPPED
)


def _recent_window_schedule(
    job: dg.UnresolvedAssetJobDefinition, cron: str, step: timedelta, lags: tuple[int, int], key_format: str
) -> dg.ScheduleDefinition:
    """Each tick requests, per coin, one run over the partitions `lags` steps back (e.g. (2, 1): the two last
    complete days). Revisiting a recent window is cheap (stored objects are not fetched again, tables are
    rebuilt idempotently) and is what picks up an object published late and gives the previous day's labels
    their next-day bars."""

    @dg.schedule(name=f"{job.name}_schedule", job=job, cron_schedule=cron, execution_timezone="UTC",
                 default_status=_default_status)
    def recent_window(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time.astimezone(timezone.utc)
        origin = tick.replace(minute=0, second=0, microsecond=0)
        if step >= timedelta(days=1):
            origin = origin.replace(hour=0)
        first = max(origin - lags[0] * step, _FIRST_PARTITION)
        last = origin - lags[1] * step
        if last < first:
            return dg.SkipReason(f"the window before {origin:%Y-%m-%d %H:%M} starts before the first partition")
        for coin in SETTINGS.coins:
            start_key, end_key = f"{coin}|{first:{key_format}}", f"{coin}|{last:{key_format}}"
            yield dg.RunRequest(
                run_key=f"{start_key}..{end_key}",
                tags={"dagster/asset_partition_range_start": start_key, "dagster/asset_partition_range_end": end_key},
            )

    return recent_window

# The archive lands an hour's object some minutes after the hour: revisit the last 3 hours at :30.
hyperliquid_l2_hourly_schedule = _recent_window_schedule(
    hyperliquid_l2_job, "30 * * * *", timedelta(hours=1), (3, 1), "%Y-%m-%d-%H:%M"
)
# Binance publishes a day's file the next morning: revisit the last 2 days at 10:00.
binance_trades_daily_schedule = _recent_window_schedule(
    binance_trades_job, "0 10 * * *", timedelta(days=1), (2, 1), "%Y-%m-%d"
)
# Day D-1's tables, and D-2's again so its labels reach into D-1's first bars.
research_tables_daily_schedule = _recent_window_schedule(
    research_tables_job, "0 11 * * *", timedelta(days=1), (2, 1), "%Y-%m-%d"
)
lake_warehouse_daily_schedule = dg.ScheduleDefinition(
    job=lake_warehouse_job, cron_schedule="30 11 * * *", execution_timezone="UTC", default_status=_default_status
)
