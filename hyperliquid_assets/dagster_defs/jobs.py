"""Jobs over the ingest assets, one per partitioning, and the schedules that keep them current."""

from __future__ import annotations

import os

import dagster as dg

from hyperliquid_assets.dagster_defs.ingest_assets import binance_trades, binance_trades_raw, hyperliquid_l2_raw, l2_book

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
