"""The `hyperliquid_assets` code location."""

import dagster as dg

from hyperliquid_assets.defs.automation import asset_automation_sensor
from hyperliquid_assets.defs.backtests import assets as backtest_assets
from hyperliquid_assets.defs.ingest import assets as ingest_assets
from hyperliquid_assets.defs.ingest.jobs import upstream_inventory_job
from hyperliquid_assets.defs.ingest.sensors import upstream_sensor
from hyperliquid_assets.defs.models import assets as model_assets
from hyperliquid_assets.defs.models.sensors import end_mlflow_runs_of_failed_runs
from hyperliquid_assets.defs.partitions import SETTINGS
from hyperliquid_assets.defs.research import assets as research_assets
from hyperliquid_assets.defs.resources import resources_from_settings
from hyperliquid_assets.defs.warehouse import lake_warehouse

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([ingest_assets, research_assets, model_assets, backtest_assets]),
            lake_warehouse],
    jobs=[upstream_inventory_job],
    sensors=[upstream_sensor, asset_automation_sensor, end_mlflow_runs_of_failed_runs],
    resources=resources_from_settings(SETTINGS),
    # One process per run and no subprocess per step: each step already batches a whole partition window.
    executor=dg.in_process_executor,
)
