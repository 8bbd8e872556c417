"""One model partition (coin x day D, one spec): the entry point the Dagster model assets call.

    train_partition(lake_root, coin, D, spec, window, bar, compute, guard) -> PartitionModel
    train_partitions(lake_root, coin, D, specs, ...) -> {spec name: PartitionModel}   (one read of the inputs)

reads day D (its features must exist: D is scored out of sample) and the N days before D, fits the spec on the
window, predicts every bar of D, and scores D against its labels and the baselines. Nothing is written: the
caller stores the predictions and logs the run (hyperliquid_assets.tracking).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Mapping, Sequence

import polars as pl

from hyperliquid_assets.features.labels import LabelConfig
from hyperliquid_assets.modeling.evaluate import DayEvaluation, evaluate_predictions, feature_importance
from hyperliquid_assets.modeling.inputs import InputPartition
from hyperliquid_assets.modeling.leakage import LeakageGuard
from hyperliquid_assets.modeling.predict import predict_rows
from hyperliquid_assets.modeling.specs import ComputeConfig, ModelSpec, TrainingWindow
from hyperliquid_assets.modeling.train import FittedModel, fit_model
from hyperliquid_assets.modeling.training_set import EvaluationDay, LakeDays, load_evaluation_day, load_training_set

log = logging.getLogger(__name__)

HEADLINE_METRICS = (
    "oos_roc_auc", "oos_prior_roc_auc", "oos_log_loss", "oos_prior_log_loss", "oos_log_loss_skill",
    "oos_accuracy", "oos_majority_accuracy", "oos_balanced_accuracy", "val_roc_auc", "val_log_loss",
)


@dataclass(frozen=True)
class PartitionModel:
    """Everything one model partition produced, ready to be logged and stored."""

    coin: str
    day: date
    bar: str
    spec: ModelSpec
    window: TrainingWindow
    compute: ComputeConfig
    guard: LeakageGuard
    model: FittedModel
    training_days: tuple[date, ...]
    training_inputs: tuple[InputPartition, ...]
    training_counts: Mapping[str, int]
    evaluation: EvaluationDay
    predictions: pl.DataFrame  # PREDICTIONS_SCHEMA, every bar of D
    oos: DayEvaluation
    importance: pl.DataFrame
    timings: Mapping[str, float]  # seconds: load, fit (the estimator alone), screen_split_validate, predict, evaluate

    @property
    def inputs(self) -> tuple[InputPartition, ...]:
        """Every file read: the window's features and labels, then day D's."""
        return (*self.training_inputs, *self.evaluation.inputs)

    def params(self) -> dict[str, str]:
        """What identifies this model: written once to its MLflow run."""
        spec, target, window = self.spec, self.spec.target, self.window
        labels = LabelConfig.for_bar(self.bar)
        params = {
            "spec": spec.name, "model_type": spec.kind, "coin": self.coin, "day": self.day.isoformat(), "bar": self.bar,
            "target_horizon": target.horizon_label, "target_kind": target.kind,
            "target_threshold_bps": "labels table" if target.threshold_bps is None else str(target.threshold_bps),
            "label_threshold_bps": str(labels.threshold_bps if labels.vol_multiple is None
                                       else f"{labels.vol_multiple} x volatility"),
            "window_days": str(window.days), "window_min_days": str(window.required_days),
            "window_first_day": min(self.training_days).isoformat(), "window_last_day": max(self.training_days).isoformat(),
            "window_days_used": str(len(self.training_days)),
            "purge": target.horizon_label, "embargo": window.embargo, "stride": str(window.stride),
            "validation_share": str(window.validation_share), "min_labelled_share": str(window.min_labelled_share),
            "threads": str(self.compute.threads),
            "leakage_max_next_bar_corr": str(self.guard.max_next_bar_corr),
            "leakage_max_forward_return_corr": str(self.guard.max_forward_return_corr),
            "n_features": str(len(spec.features)), "features": ",".join(spec.features),
        }
        params.update({f"hp_{k}": str(v) for k, v in sorted(spec.params.items())})
        return params

    def metrics(self) -> dict[str, float]:
        """Validation and out-of-sample metrics with the baselines beside them, rows and timings."""
        metrics = {f"val_{k}": v for k, v in self.model.validation.items()}
        metrics.update({f"oos_{k}": v for k, v in self.oos.metrics.items()})
        prior = metrics.get("oos_prior_log_loss", float("nan"))
        metrics["oos_log_loss_skill"] = 1.0 - metrics["oos_log_loss"] / prior if prior else float("nan")
        metrics.update({f"train_rows_{k}": float(v) for k, v in self.model.rows.items()})
        metrics.update({f"train_{k}": float(v) for k, v in self.training_counts.items()})
        metrics.update({f"model_{k}": v for k, v in self.model.details.items()})
        metrics["leakage_max_next_bar_corr"] = self.model.screen.max_next_bar
        metrics["leakage_max_forward_return_corr"] = self.model.screen.max_forward
        metrics.update({f"seconds_{k}": v for k, v in self.timings.items()})
        return metrics

    def headline(self) -> dict[str, float]:
        """The numbers a Dagster materialization shows (plotted across partitions)."""
        metrics = self.metrics()
        return {k: float(metrics[k]) for k in HEADLINE_METRICS}


def train_partition(
    lake_root: Path | str,
    coin: str,
    day: date,
    spec: ModelSpec,
    window: TrainingWindow = TrainingWindow(),
    bar: str = "1s",
    compute: ComputeConfig = ComputeConfig(),
    guard: LeakageGuard = LeakageGuard(),
    days: LakeDays | None = None,
) -> PartitionModel:
    """Train the spec for (coin, day) on the window before the day and score the day out of sample. `days`
    shares the tables read with other specs of the same partition (see train_partitions).

    Raises TrainingDataError (missing day D, short or missing window, too few rows) or LeakageError."""
    started = time.perf_counter()
    days = days or LakeDays(lake_root, coin, bar, [spec])
    evaluation = load_evaluation_day(lake_root, coin, day, spec, bar, days)
    training = load_training_set(lake_root, coin, day, spec, window, bar, days)
    loaded = time.perf_counter()
    model = fit_model(training, compute, guard)
    fitted = time.perf_counter()
    days, inputs, counts = training.days, training.inputs, dict(training.counts)
    del training  # the window's rows are the largest object here; nothing below needs them
    predictions = predict_rows(model, evaluation.features, evaluation.book_known, spec.target)
    predicted = time.perf_counter()
    oos = evaluate_predictions(predictions, evaluation.target_class, model.class_prior, spec.target)
    importance = feature_importance(spec.kind, model.estimator, model.feature_columns, spec.target.class_names)
    evaluated = time.perf_counter()
    timings = {"load": loaded - started, "fit": model.fit_seconds,
               "screen_split_validate": (fitted - loaded) - model.fit_seconds,
               "predict": predicted - fitted, "evaluate": evaluated - predicted}
    log.info("model %s for %s %s: out-of-sample AUC %.4f (prior %.4f), log loss %.4f (prior %.4f) on %d rows",
             spec.name, coin, day, oos.metrics["roc_auc"], oos.metrics["prior_roc_auc"], oos.metrics["log_loss"],
             oos.metrics["prior_log_loss"], int(oos.metrics["rows"]))
    return PartitionModel(coin, day, bar, spec, window, compute, guard, model, days, inputs, counts, evaluation,
                          predictions, oos, importance, timings)


def train_partitions(
    lake_root: Path | str,
    coin: str,
    day: date,
    specs: Sequence[ModelSpec],
    window: TrainingWindow = TrainingWindow(),
    bar: str = "1s",
    compute: ComputeConfig = ComputeConfig(),
    guard: LeakageGuard = LeakageGuard(),
) -> dict[str, PartitionModel]:
    """Several specs of one (coin, day) partition, reading each input table once: {spec name: PartitionModel}.
    A spec that fails raises at once (its TrainingDataError or LeakageError), like train_partition."""
    days = LakeDays(lake_root, coin, bar, specs)
    return {spec.name: train_partition(lake_root, coin, day, spec, window, bar, compute, guard, days) for spec in specs}
