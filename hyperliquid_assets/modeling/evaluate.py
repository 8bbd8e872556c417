"""Scoring class probabilities against realized direction classes, beside two baselines, plus calibration and
feature importance.

Metrics (y = class index, p = predicted probabilities, K classes, n rows):
    log_loss           -(1/n) sum_i ln p_i[y_i]   (p clipped to [eps, 1 - eps] as scikit-learn does)
    roc_auc            binary: AUC of p[up]; three classes: one-vs-rest AUC per class, unweighted mean (macro)
    accuracy           share of rows with argmax p = y
    balanced_accuracy  mean over the classes present of the recall of that class
Baselines, with the class prior pi measured on the model's own fitted rows (never on the day scored):
    prior     p_i = pi for every row (AUC 0.5 by construction; its log loss is the entropy to beat)
    majority  p_i = one-hot(argmax pi)
Calibration: per class, rows binned by predicted probability (10 equal bins): mean predicted vs observed rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import polars as pl
from sklearn.metrics import balanced_accuracy_score, log_loss, roc_auc_score

from hyperliquid_assets.modeling.specs import Target

CALIBRATION_BINS = 10


def normalized(proba: np.ndarray) -> np.ndarray:
    """Rows rescaled to sum to 1 (XGBoost computes in float32: its rows sum to 1 only within ~1e-7)."""
    return proba / proba.sum(axis=1, keepdims=True) if len(proba) else proba


def probability_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """log_loss, roc_auc, accuracy, balanced_accuracy and rows for class indices `y` and probabilities `proba`."""
    n, k = proba.shape
    proba = normalized(proba)
    if n == 0:
        return {"log_loss": float("nan"), "roc_auc": float("nan"), "accuracy": float("nan"),
                "balanced_accuracy": float("nan"), "rows": 0.0}
    predicted = proba.argmax(axis=1)
    per_class = []
    for cls in ([1] if k == 2 else range(k)):
        positive = y == cls
        if positive.any() and (~positive).any():
            per_class.append(roc_auc_score(positive, proba[:, cls]))
    return {
        "log_loss": float(log_loss(y, proba, labels=list(range(k)))),
        "roc_auc": float(np.mean(per_class)) if per_class else float("nan"),
        "accuracy": float((predicted == y).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
        "rows": float(n),
    }


def baseline_probabilities(prior: np.ndarray, rows: int) -> dict[str, np.ndarray]:
    majority = np.zeros_like(prior)
    majority[int(np.argmax(prior))] = 1.0
    return {"prior": np.tile(prior, (rows, 1)), "majority": np.tile(majority, (rows, 1))}


def scored_with_baselines(y: np.ndarray, proba: np.ndarray, prior: np.ndarray) -> dict[str, float]:
    """The model's metrics, and each baseline's as `<baseline>_<metric>`."""
    metrics = probability_metrics(y, proba)
    for name, baseline in baseline_probabilities(prior, len(y)).items():
        metrics.update({f"{name}_{k}": v for k, v in probability_metrics(y, baseline).items() if k != "rows"})
    return metrics


def calibration_table(y: np.ndarray, proba: np.ndarray, class_names: Sequence[str], bins: int = CALIBRATION_BINS) -> pl.DataFrame:
    """class, bin_low, bin_high, rows, mean_predicted, observed_rate (empty bins omitted)."""
    records: list[dict[str, Any]] = []
    edges = np.linspace(0.0, 1.0, bins + 1)
    for cls, name in enumerate(class_names):
        p = proba[:, cls]
        which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        hit = (y == cls).astype(np.float64)
        for b in range(bins):
            mask = which == b
            if mask.any():
                records.append({"class": name, "bin_low": float(edges[b]), "bin_high": float(edges[b + 1]),
                                "rows": int(mask.sum()), "mean_predicted": float(p[mask].mean()),
                                "observed_rate": float(hit[mask].mean())})
    schema = {"class": pl.String, "bin_low": pl.Float64, "bin_high": pl.Float64, "rows": pl.Int64,
              "mean_predicted": pl.Float64, "observed_rate": pl.Float64}
    return pl.DataFrame(records, schema=schema)


def expected_calibration_error(table: pl.DataFrame) -> float:
    """ECE = sum over classes and bins of (rows / all rows of the class) |mean_predicted - observed_rate|,
    averaged over classes."""
    if table.height == 0:
        return float("nan")
    per_class = table.group_by("class", maintain_order=True).agg(
        ((pl.col("mean_predicted") - pl.col("observed_rate")).abs() * pl.col("rows")).sum() / pl.col("rows").sum())
    return float(per_class.to_series(1).mean())


def confusion_counts(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """counts[true class, predicted class]."""
    k = proba.shape[1]
    return np.bincount(y * k + proba.argmax(axis=1), minlength=k * k).reshape(k, k)


def probability_matrix(predictions: pl.DataFrame, target: Target) -> np.ndarray:
    """The PREDICTIONS_SCHEMA columns as an (n, K) matrix in class-index order."""
    columns = ["prob_down", "prob_flat", "prob_up"] if target.kind == "three_class" else ["prob_down", "prob_up"]
    return predictions.select(columns).to_numpy()


@dataclass(frozen=True)
class DayEvaluation:
    """Out-of-sample scores of one day: metrics (see module docstring; plus `coverage`, the share of the day's
    bars that got a prediction, and `ece`), the calibration table, and the rows scored."""

    metrics: Mapping[str, float]
    calibration: pl.DataFrame
    confusion: np.ndarray
    y: np.ndarray
    proba: np.ndarray


def evaluate_predictions(predictions: pl.DataFrame, target_class: pl.Series, prior: np.ndarray, target: Target) -> DayEvaluation:
    """Score the predictions of a day's bars against its target classes (rows with both)."""
    proba_all = probability_matrix(predictions, target)
    predicted = ~np.isnan(proba_all).any(axis=1)
    labelled = target_class.is_not_null().to_numpy()
    rows = predicted & labelled
    y = target_class.to_numpy()[rows].astype(np.int64)
    proba = proba_all[rows]
    metrics = scored_with_baselines(y, proba, prior)
    calibration = calibration_table(y, proba, target.class_names)
    metrics["coverage"] = float(predicted.mean()) if len(predicted) else 0.0
    metrics["ece"] = expected_calibration_error(calibration)
    return DayEvaluation(metrics, calibration, confusion_counts(y, proba), y, proba)


def feature_importance(kind: str, estimator: Any, feature_columns: Sequence[str], class_names: Sequence[str]) -> pl.DataFrame:
    """feature, importance, and the parts behind it, most important first.

    logreg: the coefficients on standardized features (one column per class; binary: the up class), importance
    = mean |coefficient|. xgboost: importance = average gain of the feature's splits, with total gain and the
    number of splits (0 for a feature never split on)."""
    if kind == "logreg":
        coef = estimator[-1].coef_
        names = [class_names[-1]] if coef.shape[0] == 1 else list(class_names)
        frame = pl.DataFrame({"feature": list(feature_columns), "importance": np.abs(coef).mean(axis=0),
                              **{f"coef_{n}": coef[i] for i, n in enumerate(names)}})
    elif kind == "xgboost":
        booster = estimator.get_booster()
        gain, total, splits = (booster.get_score(importance_type=t) for t in ("gain", "total_gain", "weight"))
        frame = pl.DataFrame({
            "feature": list(feature_columns),
            "importance": [float(gain.get(f, 0.0)) for f in feature_columns],
            "total_gain": [float(total.get(f, 0.0)) for f in feature_columns],
            "splits": [int(splits.get(f, 0)) for f in feature_columns],
        })
    else:
        raise ValueError(f"no feature importance for model kind {kind!r}")
    return frame.sort(["importance", "feature"], descending=[True, False])
