"""The `hyperliquid_assets` code location."""

import dagster as dg

from hyperliquid_assets.dagster_defs import ingest_assets, research_assets
from hyperliquid_assets.dagster_defs.jobs import (
    binance_trades_daily_schedule,
    binance_trades_job,
    hyperliquid_l2_hourly_schedule,
    hyperliquid_l2_job,
    lake_warehouse_daily_schedule,
    lake_warehouse_job,
    research_tables_daily_schedule,
    research_tables_job,
)
from hyperliquid_assets.dagster_defs.partitions import SETTINGS
from hyperliquid_assets.dagster_defs.resources import resources_from_env

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest_assets, research_assets]),
    jobs=[hyperliquid_l2_job, binance_trades_job, research_tables_job, lake_warehouse_job],
    schedules=[
        hyperliquid_l2_hourly_schedule,
        binance_trades_daily_schedule,
        research_tables_daily_schedule,
        lake_warehouse_daily_schedule,
    ],
    resources=resources_from_env(SETTINGS),
    # One process per run, no subprocess per step: the assets batch whole partition windows themselves.
    executor=dg.in_process_executor,
)
