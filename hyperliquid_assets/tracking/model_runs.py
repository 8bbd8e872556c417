"""One MLflow run per model partition: `log_model_run(config, partition_model, lineage)`.

The run (name `<spec> <coin> <day>`, e.g. `logreg BTC 2026-01-03`) holds
    params     what identifies the model (PartitionModel.params: window, purge, embargo, stride, horizon,
               thresholds, hyperparameters, features); written once
    metrics    val_* and oos_* with the prior_* / majority_* baselines beside them, rows, timings
    inputs     every feature and label file read (path + sha256 digest), context training or evaluation
    model      `model/`: the fitted estimator (sklearn flavor), signature, input example, pyfunc =
               predict_proba; metadata gives the class order
    artifacts  feature_importance.csv + plots/feature_importance.png, calibration_oos.csv +
               plots/calibration_oos.png, plots/confusion_matrix_oos.png, plots/roc_oos.png,
               leakage_screen.csv, training_window.json
    tags       hl.spec / hl.coin / hl.day / hl.partition / hl.rematerialization, plus the caller's lineage tags
               (lineage.dagster_lineage_tags)
and, when `register` is set, a new version of the registered model `hl_<spec>_<coin>` with alias `challenger`.

A re-materialization makes a new run (params are write-once) with the same hl.* tags and the next
hl.rematerialization number, so `tags.hl.partition = 'BTC|2026-01-03'` finds every run of the partition. The
run ends FINISHED, or FAILED on any exception: it is never left RUNNING.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import polars as pl

from hyperliquid_assets.modeling.partition import PartitionModel
from hyperliquid_assets.tracking import plots
from hyperliquid_assets.tracking.config import TrackingConfig
from hyperliquid_assets.tracking.lineage import MAX_TAG_VALUE, input_datasets, parse_input_data_versions
from hyperliquid_assets.tracking.store import experiment_id, using_store

log = logging.getLogger(__name__)

SPEC_TAG, COIN_TAG, DAY_TAG = "hl.spec", "hl.coin", "hl.day"
PARTITION_TAG, REMATERIALIZATION_TAG, LOGGED_AT_TAG = "hl.partition", "hl.rematerialization", "hl.logged_at"
MODEL_NAME = "model"
CHALLENGER, CHAMPION = "challenger", "champion"


def _installed(*names: str) -> str | None:
    for name in names:
        try:
            return f"{name}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return None


def pip_requirements(kind: str) -> list[str]:
    """What loading the model needs, pinned to this environment (given explicitly: MLflow's own inference of
    requirements costs seconds per model)."""
    names = [("mlflow",), ("scikit-learn",), ("numpy",), ("pandas",), ("cloudpickle",)]
    if kind == "xgboost":
        names.append(("xgboost-cpu", "xgboost"))
    return [r for r in (_installed(*n) for n in names) if r]


def partition_key(coin: str, day: str) -> str:
    return f"{coin}|{day}"


@dataclass(frozen=True)
class TrackedModelRun:
    """What the Dagster materialization records about the run."""

    run_id: str
    run_name: str
    experiment_id: str
    run_url: str
    logged_model_uri: str  # models:/m-<id>, the run's LoggedModel
    model_uri: str  # models:/<registered name>/<version> when registered, else logged_model_uri
    registered_model: str | None
    version: str | None
    rematerialization: int
    metrics: Mapping[str, float]  # the headline metrics
    seconds: Mapping[str, float] = field(default_factory=dict)  # time spent per logging step

    def metadata(self) -> dict[str, Any]:
        """Plain values for the materialization (the Dagster layer wraps run_url as a URL)."""
        values: dict[str, Any] = {"mlflow_run_id": self.run_id, "mlflow_run_url": self.run_url,
                                  "model_uri": self.model_uri, "rematerialization": self.rematerialization}
        if self.version is not None:
            values.update(registered_model=self.registered_model, model_version=int(self.version))
        values.update(self.metrics)
        return values


def _rematerialization(client, experiment: str, spec: str, coin: str, day: str) -> int:
    from mlflow.entities import ViewType

    found = client.search_runs(
        [experiment], filter_string=f"tags.`{SPEC_TAG}` = '{spec}' and tags.`{PARTITION_TAG}` = '{partition_key(coin, day)}'",
        run_view_type=ViewType.ALL, max_results=10_000)
    return len(found) + 1


def _input_example(result: PartitionModel):
    """Five bars of day D with a known book, preferring rows without nulls (JSON has no NaN)."""
    features = result.evaluation.features.filter(result.evaluation.book_known)
    complete = features.drop_nulls()
    rows = complete if complete.height >= 5 else features
    return rows.head(5).drop("bar_time").to_pandas()


def _write_artifacts(result: PartitionModel, directory: Path) -> None:
    spec, coin, day = result.spec, result.coin, result.day
    names = spec.target.class_names
    title = f"{spec.name} {coin} {day}"
    result.importance.write_csv(directory / "feature_importance.csv")
    plots.feature_importance_plot(result.importance, f"feature importance: {title}", directory / "plots" / "feature_importance.png")
    result.oos.calibration.write_csv(directory / "calibration_oos.csv")
    plots.calibration_plot(result.oos.calibration, f"calibration out of sample: {title}", directory / "plots" / "calibration_oos.png")
    plots.confusion_matrix_plot(result.oos.confusion, names, f"confusion out of sample: {title}",
                                directory / "plots" / "confusion_matrix_oos.png")
    plots.roc_plot(result.oos.y, result.oos.proba, names, f"ROC out of sample: {title}", directory / "plots" / "roc_oos.png")
    screen = result.model.screen
    pl.DataFrame({"feature": list(screen.next_bar), "next_bar_abs_corr": list(screen.next_bar.values()),
                  "forward_return_abs_corr": [screen.forward[f] for f in screen.next_bar]}).write_csv(
        directory / "leakage_screen.csv")
    window = {
        "coin": coin, "day": day.isoformat(), "days": [d.isoformat() for d in result.training_days],
        "counts": dict(result.training_counts), "rows": dict(result.model.rows),
        "class_prior": dict(zip(names, map(float, result.model.class_prior))),
        "inputs": [{"table": i.table, "day": i.day.isoformat(), "path": str(i.path), "sha256": i.sha256,
                    "rows": i.rows, "bytes": i.bytes} for i in result.inputs],
    }
    (directory / "training_window.json").write_text(json.dumps(window, indent=1))


def _description(result: PartitionModel) -> str:
    m = result.metrics()
    days = result.training_days
    return (f"**{result.spec.name}** ({result.spec.kind}) for **{result.coin} {result.day}**: direction over "
            f"{result.spec.target.horizon_label} ({result.spec.target.kind}), trained on {days[0]}..{days[-1]} "
            f"({int(m['train_rows_fit'])} rows, stride {result.window.stride}). Out of sample on {result.day}: "
            f"ROC AUC {m['oos_roc_auc']:.4f} (prior {m['oos_prior_roc_auc']:.4f}), log loss {m['oos_log_loss']:.4f} "
            f"(prior {m['oos_prior_log_loss']:.4f}), accuracy {m['oos_accuracy']:.4f} (majority "
            f"{m['oos_majority_accuracy']:.4f}).")


def log_model_run(
    config: TrackingConfig,
    result: PartitionModel,
    lineage: Mapping[str, str] | None = None,
    register: bool = True,
) -> TrackedModelRun:
    """Log the partition's run (see the module docstring) and return what the materialization needs."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    lineage = dict(lineage or {})
    too_long = [k for k, v in lineage.items() if len(str(v)) > MAX_TAG_VALUE]
    if too_long:
        raise ValueError(f"lineage tags {too_long} exceed MLflow's {MAX_TAG_VALUE} characters")
    spec, coin, day = result.spec, result.coin, result.day.isoformat()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with using_store(config) as client:
        if mlflow.active_run() is not None:
            raise RuntimeError(f"an MLflow run ({mlflow.active_run().info.run_id}) is already active in this thread")
        experiment = experiment_id(client, config)
        number = _rematerialization(client, experiment, spec.name, coin, day)
        tags = {
            **{k: str(v) for k, v in lineage.items()},
            SPEC_TAG: spec.name, COIN_TAG: coin, DAY_TAG: day, PARTITION_TAG: partition_key(coin, day),
            REMATERIALIZATION_TAG: str(number), LOGGED_AT_TAG: datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "hl.model_type": spec.kind, "mlflow.note.content": _description(result),
        }
        run_name = f"{spec.name} {coin} {day}"
        seconds["setup"] = time.perf_counter() - started
        with mlflow.start_run(experiment_id=experiment, run_name=run_name, tags=tags) as run:
            run_id = run.info.run_id
            step = time.perf_counter()
            mlflow.log_params(result.params())
            datasets, contexts, input_tags = input_datasets(
                [(i, "training") for i in result.training_inputs] + [(i, "evaluation") for i in result.evaluation.inputs],
                parse_input_data_versions(lineage))
            mlflow.log_inputs(datasets=datasets, contexts=contexts, tags_list=input_tags)
            seconds["params_inputs"] = time.perf_counter() - step

            step = time.perf_counter()
            example = _input_example(result)
            signature = infer_signature(example, result.model.predict_proba(example))
            with _quiet_pickle_warning():
                info = mlflow.sklearn.log_model(
                    result.model.estimator, name=MODEL_NAME, signature=signature, input_example=example,
                    pyfunc_predict_fn="predict_proba", serialization_format="cloudpickle",
                    pip_requirements=pip_requirements(spec.kind),
                    metadata={"class_names": list(spec.target.class_names), "directions": list(spec.target.directions),
                              "target": spec.target.direction_column, "target_kind": spec.target.kind},
                )
            seconds["log_model"] = time.perf_counter() - step

            step = time.perf_counter()
            metrics = {k: float(v) for k, v in result.metrics().items() if v is not None and np.isfinite(v)}
            mlflow.log_metrics(metrics, model_id=info.model_id)
            with tempfile.TemporaryDirectory(prefix="hl-run-") as tmp:
                _write_artifacts(result, Path(tmp))
                mlflow.log_artifacts(tmp)
            seconds["metrics_artifacts"] = time.perf_counter() - step

            name = version = None
            model_uri = info.model_uri
            if register:
                step = time.perf_counter()
                name = spec.registered_model_name(coin)
                version = _register(client, name, info.model_uri, info.model_id, result, run_id)
                model_uri = f"models:/{name}/{version}"
                seconds["register"] = time.perf_counter() - step
        seconds["total"] = time.perf_counter() - started
        log.info("logged MLflow run %s (%s) in %.2f s: %s", run_id, run_name, seconds["total"],
                 ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items() if k != "total"))
        return TrackedModelRun(run_id, run_name, experiment, config.run_url(experiment, run_id), info.model_uri,
                               model_uri, name, version, number, result.headline(), seconds)


def fail_unfinished_runs(config: TrackingConfig, dagster_run_id: str) -> list[str]:
    """Mark FAILED every MLflow run of this Dagster run that is still RUNNING, and return their ids. A run
    ends FINISHED or FAILED by itself unless its process is killed (kill -9, OOM): call this when Dagster
    marks such a run failed (a run-failure sensor), so no MLflow run stays RUNNING."""
    from mlflow.entities import RunStatus

    with using_store(config) as client:
        experiment = client.get_experiment_by_name(config.experiment)
        if experiment is None:
            return []
        stale = client.search_runs([experiment.experiment_id],
                                   f"tags.`dagster.run_id` = '{dagster_run_id}' and attributes.status = 'RUNNING'")
        for run in stale:
            client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FAILED))
            client.set_tag(run.info.run_id, "hl.ended_by", "fail_unfinished_runs: the Dagster run's process died")
        return [run.info.run_id for run in stale]


def _register(client, name: str, model_uri: str, model_id: str, result: PartitionModel, run_id: str) -> str:
    """A new version of `name` with the partition's tags and the alias `challenger`."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name, tags={"hl.spec": result.spec.name, "hl.coin": result.coin},
                                       description=f"{result.spec.name} direction model for {result.coin}, one version "
                                                   "per trained day; aliases challenger (newest) and champion")
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
            raise
    headline = result.headline()
    version = client.create_model_version(name, source=model_uri, run_id=run_id, model_id=model_id,
                                          await_creation_for=0, tags={
        SPEC_TAG: result.spec.name, COIN_TAG: result.coin, DAY_TAG: result.day.isoformat(), "hl.run_id": run_id,
        "hl.class_prior": json.dumps([round(float(p), 6) for p in result.model.class_prior]),
        **{f"hl.{k}": f"{v:.6f}" for k, v in headline.items() if k.startswith("oos_")},
    }).version
    client.set_registered_model_alias(name, CHALLENGER, version)
    return str(version)


class _quiet_pickle_warning:
    """MLflow logs a warning on every cloudpickled sklearn model. The store is the project's own (loading a
    pickle runs code, so load models only from a store you trust); skops, the safe format, costs ~6 s of
    imports per process, more than the whole run's logging."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("mlflow.sklearn")
        self._filter = lambda record: "cloudpickle format requires" not in record.getMessage() and \
            "pickle or cloudpickle format" not in record.getMessage()
        self._logger.addFilter(self._filter)

    def __exit__(self, *exc) -> None:
        self._logger.removeFilter(self._filter)
