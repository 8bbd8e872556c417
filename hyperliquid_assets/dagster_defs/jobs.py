"""Jobs over the ingest assets, one per partitioning, and the schedules that keep them current."""

from __future__ import annotations

import os

import dagster as dg

from hyperliquid_assets.dagster_defs.ingest_assets import binance_trades, binance_trades_raw, hyperliquid_l2_raw, l2_book
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
_default_status = (
    dg.DefaultScheduleStatus.RUNNING if os.environ.get("HL_SOURCE") == "remote" else dg.DefaultScheduleStatus.STOPPED
)
# The archive lands an hour's object some minutes after the hour; Binance publishes a day's file the next morning.
hyperliquid_l2_hourly_schedule = dg.build_schedule_from_partitioned_job(
    hyperliquid_l2_job, minute_of_hour=30, default_status=_default_status
)
binance_trades_daily_schedule = dg.build_schedule_from_partitioned_job(
    binance_trades_job, hour_of_day=10, minute_of_hour=0, default_status=_default_status
)
# After Binance's daily file; the previous day's labels get their next-day bars on the following run's backfill.
research_tables_daily_schedule = dg.build_schedule_from_partitioned_job(
    research_tables_job, hour_of_day=11, minute_of_hour=0, default_status=_default_status
)
lake_warehouse_daily_schedule = dg.ScheduleDefinition(
    job=lake_warehouse_job, cron_schedule="30 11 * * *", default_status=_default_status
)
