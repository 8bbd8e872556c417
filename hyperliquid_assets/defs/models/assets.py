"""Walk-forward models (coin x day, one asset per spec), their out-of-sample predictions, and the registry's champion.

The model for day D is trained on the features and labels of the HL_MODEL_WINDOW_DAYS days before D (rows whose
label reaches into D purged), then scored out of sample on D. Both specs train in one step, reading each input
once (bench/bench_models.py: the overhead around the fits stays under a quarter of the time only that way). Each
model is one MLflow run with its lineage, registered as a new version of `hl_<spec>_<COIN>` with alias
`challenger`; the champion assets decide, day by day, whether it replaces the champion.
"""

import json
from datetime import date

import dagster as dg
import polars as pl

from hyperliquid_assets.defs.automation import follows_inputs
from hyperliquid_assets.defs.lineage import data_version
from hyperliquid_assets.defs.partition_outcomes import PartitionOutcome, WindowReport, emit
from hyperliquid_assets.defs.partitions import (
    BACKFILL_POLICY,
    LISTINGS_IDENTITY,
    SETTINGS,
    coin_and_day,
    coin_model_day_partitions,
    model_days,
)
from hyperliquid_assets.defs.resources import LakeResource, MlflowTracking
from hyperliquid_assets.formats.schemas import PREDICTIONS_SCHEMA
from hyperliquid_assets.lake import Lake, write_bytes_atomic, write_parquet_atomic
from hyperliquid_assets.modeling.inputs import TrainingDataError
from hyperliquid_assets.modeling.leakage import LeakageError
from hyperliquid_assets.modeling.specs import DEFAULT_SPECS, ModelSpec, TrainingWindow

SPECS: tuple[ModelSpec, ...] = tuple(DEFAULT_SPECS.values())
MLFLOW_POOL = "mlflow_store"
WINDOW = TrainingWindow(days=SETTINGS.model_window_days, stride=SETTINGS.model_stride)
_IDENTITY = f"1|bar={SETTINGS.feature_bar}|listings={LISTINGS_IDENTITY}|window={WINDOW.days}|stride={WINDOW.stride}"


def model_key(spec: ModelSpec) -> str:
    return f"model_{spec.name}"


def predictions_key(spec: ModelSpec) -> str:
    return f"predictions_{spec.name}"


def champion_key(spec: ModelSpec) -> str:
    return f"champion_{spec.name}"


def read_model_record(lake: Lake, spec: ModelSpec, coin: str, day: date) -> dict:
    """What the model asset recorded for (spec, coin, day): the exact model version later stages use."""
    path = lake.model_record_path(spec.name, coin, day)
    if not path.exists():
        raise FileNotFoundError(f"no {model_key(spec)} for {coin} {day} in the lake ({path})")
    return json.loads(path.read_bytes())


def _input_data_versions(context: dg.AssetExecutionContext, inputs) -> dict[str, str]:
    """`features/BTC|2026-01-02` -> the Dagster data version of that input's latest materialization (or, when
    Dagster recorded none, the file's content digest)."""
    from hyperliquid_assets.tracking.lineage import input_data_version_key

    return {input_data_version_key(item.table, item.coin, f"{item.day:%Y-%m-%d}"): data_version(
        context.instance, item.table, f"{item.coin}|{item.day:%Y-%m-%d}", fallback=f"sha256:{item.digest}")
        for item in inputs}


def _model_specs() -> list[dg.AssetSpec]:
    window = f"the {WINDOW.days} days before it"
    specs = []
    for spec in SPECS:
        specs.append(dg.AssetSpec(
            model_key(spec), partitions_def=coin_model_day_partitions, group_name="models", skippable=True,
            kinds={"mlflow", "sklearn" if spec.kind == "logreg" else "xgboost"}, code_version=_IDENTITY,
            deps=[dg.AssetDep("features", partition_mapping=model_days(WINDOW.days)),
                  dg.AssetDep("labels", partition_mapping=model_days(WINDOW.days))],
            automation_condition=follows_inputs(SETTINGS.archive_lookback_days),
            description=f"""The {spec.kind} model ({spec.name}) used on day D, trained on the features and labels of
{window} (every {WINDOW.stride}. bar; rows whose {spec.target.horizon_label} label reaches into D purged), then
scored out of sample on D against D's labels and two baselines (majority class, class prior). One MLflow run per
partition (params, metrics, the model with its signature, inputs with digests, Dagster lineage tags), registered
as a new version of `hl_{spec.name}_<COIN>` with alias `challenger`. A day whose window is not complete in the lake
stays unmaterialized, saying which day is missing: never a model trained on less. Record:
`models/{spec.name}/bar=BAR/listing=LISTING/coin=COIN/date=D/model.json`. Code: hyperliquid_assets/modeling/.""",
        ))
    for spec in SPECS:
        specs.append(dg.AssetSpec(
            predictions_key(spec), partitions_def=coin_model_day_partitions, group_name="predictions",
            skippable=True, kinds={"parquet"}, code_version=_IDENTITY,
            # Written by the model's own step, from the inputs declared on the model (day D's features among them).
            deps=[model_key(spec)],
            automation_condition=follows_inputs(SETTINGS.archive_lookback_days),
            metadata={"dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name, str(dtype)) for name, dtype in PREDICTIONS_SCHEMA.items()])},
            description=f"""Out-of-sample class probabilities of every bar of day D from the {spec.name} model
trained before D (PREDICTIONS_SCHEMA: bar_time, prob_down, prob_flat, prob_up; null where the book is unknown). The
signal the backtests trade. At `predictions/{spec.name}/bar=BAR/listing=LISTING/coin=COIN/date=D/predictions.parquet`
(the model version and MLflow run are in the file's metadata) and in the warehouse view `predictions_{spec.name}`.""",
        ))
    return specs


@dg.multi_asset(
    specs=_model_specs(),
    backfill_policy=BACKFILL_POLICY,
    # Every step that writes to MLflow shares one pool (limit 1): the default store is one SQLite file, and an
    # alias move is read-then-write, so writers take turns rather than meet "database is locked".
    pool=MLFLOW_POOL,
)
def walk_forward_models(context: dg.AssetExecutionContext, lake: LakeResource, mlflow: MlflowTracking):
    """Train, log and register the models of the window's days (both specs per day, one read of the inputs), and
    write their out-of-sample predictions."""
    from hyperliquid_assets.modeling.partition import train_partitions
    from hyperliquid_assets.tracking.code_version import git_code_version
    from hyperliquid_assets.tracking.lineage import dagster_lineage_tags
    from hyperliquid_assets.tracking.model_runs import log_model_run

    store, tracking = lake.lake(), mlflow.config()
    tracking.prepare()
    code = git_code_version()
    outcomes = []
    for partition_key in sorted(context.partition_keys, key=lambda k: coin_and_day(k)[1]):  # days in order
        coin, day = coin_and_day(partition_key)
        outcome = PartitionOutcome(partition_key)
        outcomes.append(outcome)
        try:
            trained = train_partitions(store, coin, day, SPECS, WINDOW, store.bar)
        except TrainingDataError as exc:
            outcome.unavailable = {k: str(exc) for s in SPECS for k in (model_key(s), predictions_key(s))}
            continue
        except LeakageError as exc:
            outcome.failure = f"LeakageError: {exc}"
            continue
        for spec in SPECS:
            result = trained[spec.name]
            lineage = dagster_lineage_tags(context.run_id, model_key(spec), partition_key, code,
                                           _input_data_versions(context, result.inputs))
            tracked = log_model_run(tracking, result, lineage)
            record = {"spec": spec.name, "coin": coin, "day": day.isoformat(), "mlflow_run_id": tracked.run_id,
                      "mlflow_run_url": tracked.run_url, "model_uri": tracked.model_uri,
                      "registered_model": tracked.registered_model, "version": tracked.version,
                      "training_days": [d.isoformat() for d in result.training_days], "metrics": tracked.metrics}
            write_bytes_atomic(store.model_record_path(spec.name, coin, day), json.dumps(record, indent=1).encode())
            write_parquet_atomic(result.importance, store.importance_path(spec.name, coin, day),
                                 {"hyperliquid_assets.mlflow_run_id": tracked.run_id})
            predictions_path = store.predictions_path(spec.name, coin, day)
            write_parquet_atomic(result.predictions, predictions_path, {
                "hyperliquid_assets.model_uri": tracked.model_uri, "hyperliquid_assets.mlflow_run_id": tracked.run_id,
                "hyperliquid_assets.spec": spec.name})
            outcome.written[model_key(spec)] = {
                    **{k: v for k, v in tracked.metadata().items() if k != "mlflow_run_url"},
                "mlflow_run": dg.MetadataValue.url(tracked.run_url),
                "training_days": ", ".join(record["training_days"]),
                "train_rows": int(result.model.rows.get("fit", 0)),
                "fit_seconds": round(result.timings.get("fit", 0.0), 2),
            }
            predicted = result.predictions["prob_up"].is_not_null()
            outcome.written[predictions_key(spec)] = {
                "path": str(predictions_path), "dagster/row_count": result.predictions.height,
                "bars_predicted": int(predicted.sum()), "model_uri": tracked.model_uri,
                "mlflow_run": dg.MetadataValue.url(tracked.run_url)}
    keys = [model_key(s) for s in SPECS] + [predictions_key(s) for s in SPECS]
    yield from emit(context, outcomes, keys, WindowReport())


@dg.multi_asset(
    specs=[dg.AssetSpec(
        champion_key(spec), partitions_def=coin_model_day_partitions, group_name="models", skippable=True,
        kinds={"mlflow"}, deps=[model_key(spec)], automation_condition=follows_inputs(SETTINGS.archive_lookback_days),
        description=f"""The registry's decision on day D's {spec.name} model (registered model `hl_{spec.name}_<COIN>`,
alias `challenger`): it becomes `champion` only if it beats the current champion out of sample on D by the
configured margin and clears the minimum over the class-prior baseline (tracking/promotion.py); an older model
never displaces a champion trained for a later day. The decision and its reason are tags on the model version
and this materialization's metadata, so the champion's history has lineage.""",
    ) for spec in SPECS],
    can_subset=True,
    backfill_policy=BACKFILL_POLICY,
    pool=MLFLOW_POOL,
)
def model_champions(context: dg.AssetExecutionContext, lake: LakeResource, mlflow: MlflowTracking):
    """Promote (or not) each day's challenger, in day order."""
    from hyperliquid_assets.modeling.training_set import load_evaluation_day
    from hyperliquid_assets.tracking.registry import promote_challenger

    store, tracking = lake.lake(), mlflow.config()
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    outcomes = []
    for partition_key in sorted(context.partition_keys, key=lambda k: coin_and_day(k)[1]):
        coin, day = coin_and_day(partition_key)
        outcome = PartitionOutcome(partition_key)
        outcomes.append(outcome)
        for spec in SPECS:
            if champion_key(spec) not in selected:
                continue
            try:
                record = read_model_record(store, spec, coin, day)
            except FileNotFoundError as exc:
                outcome.unavailable[champion_key(spec)] = str(exc)
                continue
            evaluation = load_evaluation_day(store, coin, day, spec, store.bar)
            decision = promote_challenger(tracking, record["registered_model"], record["version"], evaluation)
            context.log.info("%s v%s: %s", record["registered_model"], record["version"], decision.reason)
            before = int(decision.champion_version) if decision.champion_version else 0  # 0: there was none
            outcome.written[champion_key(spec)] = {
                "promoted": bool(decision.promote), "reason": decision.reason,
                "registered_model": record["registered_model"], "candidate_version": int(record["version"]),
                "champion_before": before, "champion_now": int(record["version"]) if decision.promote else before,
                "model_version": dg.MetadataValue.url(
                    tracking.model_version_url(record["registered_model"], str(record["version"]))),
                "metric": decision.metric, "candidate_value": float(decision.candidate),
                "baseline_value": float(decision.baseline),
                "champion_value": float(decision.champion) if decision.champion is not None else float("nan")}
    yield from emit(context, outcomes, [champion_key(s) for s in SPECS if champion_key(s) in selected], WindowReport())
