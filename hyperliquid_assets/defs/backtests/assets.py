"""Backtests of each spec's out-of-sample predictions against the day's real book (coin x day), and the
walk-forward summary of every backtested day (per coin and spec)."""

import time
from dataclasses import replace

import dagster as dg
import polars as pl

from hyperliquid_assets.defs.automation import follows_any_input, follows_inputs
from hyperliquid_assets.defs.lineage import data_version
from hyperliquid_assets.defs.models.assets import MLFLOW_POOL, SPECS, model_key, predictions_key, read_model_record
from hyperliquid_assets.defs.partition_outcomes import PartitionOutcome, WindowReport, emit
from hyperliquid_assets.defs.partitions import (
    BACKFILL_POLICY,
    SETTINGS,
    coin_and_day,
    coin_model_day_partitions,
    hours_of_day,
    same_day,
)
from hyperliquid_assets.defs.resources import LakeResource, MlflowTracking
from hyperliquid_assets.modeling.specs import ModelSpec

# The headline numbers each backtest partition shows in Dagster (all of them go to the model's MLflow run).
HEADLINE = ("model.net_pnl", "model.gross_pnl", "model.fees", "model.trades", "model.hit_rate", "model.sharpe",
            "model.max_drawdown", "model.turnover", "model.avg_slippage_bps", "model.exposure", "flat.net_pnl",
            "buy_and_hold.net_pnl", "feature_rule.net_pnl", "random.net_pnl", "model.excess_net_pnl_vs_random",
            "signal.ic_spearman")


def backtest_key(spec: ModelSpec) -> str:
    return f"backtest_{spec.name}"


def backtest_config(spec: ModelSpec):
    """The backtest's rules for a spec: positions held for the spec's target horizon, scored against it."""
    from hyperliquid_assets.backtesting.backtest import BacktestConfig

    config = BacktestConfig(bar=SETTINGS.feature_bar, label_horizon=spec.target.horizon_label)
    return replace(config, rules=replace(config.rules, holding=spec.target.horizon_label))


def _data_versions(context: dg.AssetExecutionContext, inputs: dict[str, str]) -> dict[str, str]:
    return {f"{asset}/{partition}": data_version(context.instance, asset, partition) for asset, partition in inputs.items()}


@dg.multi_asset(
    specs=[dg.AssetSpec(
        backtest_key(spec), partitions_def=coin_model_day_partitions, group_name="backtests", skippable=True,
        kinds={"html", "parquet"},
        deps=[predictions_key(spec), model_key(spec), dg.AssetDep("l2_book", partition_mapping=hours_of_day),
              dg.AssetDep("features", partition_mapping=same_day), dg.AssetDep("labels", partition_mapping=same_day)],
        automation_condition=follows_inputs(SETTINGS.archive_lookback_days),
        description=f"""Day D's out-of-sample backtest of the {spec.name} predictions against D's real L2 book:
market orders walk the book level by level at the first snapshot received at or after signal + latency (200 ms),
taker fees 4.5 bps (Hyperliquid base tier), no fill on a stale or crossed book, an order beyond the visible levels
refused; positions held for the target horizon ({spec.target.horizon_label}) with a probability threshold, cap and
cooldown. Baselines under the same costs: flat, buy and hold, the sign of top-of-book imbalance, and random entries
with the model's turnover. Funding is not modelled. A self-contained report (`report.html`, offline) with PNGs,
and the tables behind every number, at `backtests/{spec.name}/bar=BAR/listing=LISTING/coin=COIN/date=D/`; the
same report and metrics are logged to the model's MLflow run. Code: hyperliquid_assets/backtesting/.""",
    ) for spec in SPECS],
    can_subset=True,
    backfill_policy=BACKFILL_POLICY,
    pool=MLFLOW_POOL,  # logs the report and metrics to the model's run
)
def backtests(context: dg.AssetExecutionContext, lake: LakeResource, mlflow: MlflowTracking):
    """Backtest each selected spec's predictions of the window's days, reading each day's book once."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    from hyperliquid_assets.backtesting.backtest import BacktestInputError
    from hyperliquid_assets.backtesting.inputs import read_backtest_inputs
    from hyperliquid_assets.backtesting.partition import backtest_partition
    from hyperliquid_assets.tracking.code_version import git_code_version

    store, tracking = lake.lake(), mlflow.config()
    selected = [s for s in SPECS if backtest_key(s) in {k.to_user_string() for k in context.selected_asset_keys}]
    client = MlflowClient(tracking.tracking_uri)
    code = str(git_code_version())
    outcomes = []
    for partition_key in context.partition_keys:
        coin, day = coin_and_day(partition_key)
        outcome = PartitionOutcome(partition_key)
        outcomes.append(outcome)
        inputs_by_horizon: dict = {}  # the day's book, features and labels, read once per target horizon
        for spec in selected:
            key = backtest_key(spec)
            predictions = store.predictions_path(spec.name, coin, day)
            if not predictions.exists():
                outcome.unavailable[key] = f"no {predictions_key(spec)} for {coin} {day} (no model for the day)"
                continue
            config = backtest_config(spec)
            try:
                if config.label_horizon not in inputs_by_horizon:
                    inputs_by_horizon[config.label_horizon] = read_backtest_inputs(store, coin, day, config)
            except BacktestInputError as exc:
                outcome.unavailable[key] = str(exc)
                continue
            record = read_model_record(store, spec, coin, day)
            provenance = {
                "dagster_run_id": context.run_id, "asset_key": key, "partition": partition_key,
                "inputs": _data_versions(context, {predictions_key(spec): partition_key, "features": partition_key,
                                                   "labels": partition_key}),
                "model_name": record["registered_model"], "model_version": record["version"],
                "mlflow_run_id": record["mlflow_run_id"], "mlflow_run_url": record["mlflow_run_url"],
                "code_version": code,
            }
            outcome_dir = store.backtest_dir(spec.name, coin, day)
            importance = store.importance_path(spec.name, coin, day)  # written with the model (the report's plot)
            result = backtest_partition(store, coin, day, pl.read_parquet(predictions), outcome_dir, provenance,
                                        pl.read_parquet(importance) if importance.exists() else None, config,
                                        inputs_by_horizon[config.label_horizon])
            # The report and every metric go to the model's own MLflow run, where the UI renders report.html.
            client.log_artifacts(record["mlflow_run_id"], str(outcome_dir), artifact_path="backtest")
            logged_at = int(time.time() * 1000)
            client.log_batch(record["mlflow_run_id"], metrics=[
                Metric(f"bt_{k}", v, logged_at, 0) for k, v in sorted(result.metrics.items())])
            outcome.written[key] = {
                **{k: float(result.metrics[k]) for k in HEADLINE if k in result.metrics},
                "report": dg.MetadataValue.path(str(result.report.html)),
                "mlflow_run": dg.MetadataValue.url(record["mlflow_run_url"]),
                "model_version": int(record["version"]), "missing_book_hours": len(result.missing_hours),
                "orders_refused_beyond_book": int(result.metrics.get("model.refused_beyond_book", 0)),
            }
    yield from emit(context, outcomes, [backtest_key(s) for s in selected], WindowReport())


@dg.asset(
    group_name="backtests",
    kinds={"html", "parquet"},
    deps=[backtest_key(s) for s in SPECS],
    automation_condition=follows_any_input(),
)
def backtest_summaries(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """The walk-forward history per coin and spec: daily net PnL and cumulative performance of the model against
    the baselines over every backtested day (a table and a plot, in a self-contained `summary.html`), at
    `reports/SPEC/bar=BAR/listing=LISTING/coin=COIN/`. Refreshed whenever a backtest partition lands."""
    from hyperliquid_assets.backtesting.partition import DAILY_ROWS, summary_partition

    store = lake.lake()
    metadata: dict = {}
    for spec in SPECS:
        for coin in SETTINGS.coins:
            days = sorted(store.spec_dir("backtests", spec.name, coin).glob(f"date=*/{DAILY_ROWS}"))
            if not days:
                continue
            summary = summary_partition(days, store.summary_dir(spec.name, coin),
                                        {"dagster_run_id": context.run_id, "asset_key": "backtest_summaries",
                                         "inputs": {backtest_key(spec): f"{coin}, {len(days)} days"}})
            by_strategy = {row["strategy"]: row for row in summary.table.iter_rows(named=True)}
            name = f"{spec.name}_{coin}"
            metadata[f"{name}_days"] = len(days)
            for strategy, row in by_strategy.items():
                metadata[f"{name}_{strategy}_total_net_pnl"] = float(row["total_net_pnl"])
            metadata[f"{name}_report"] = dg.MetadataValue.path(str(summary.report.html))
    return dg.MaterializeResult(metadata=metadata)
