"""Fitting a spec on a training set: the leakage guard first, then the time-ordered split, then the fit.

logreg:  Pipeline(mean imputation -> standard scaling -> multinomial LogisticRegression(lbfgs)); class
         weights from the spec (None or "balanced").
xgboost: XGBClassifier(tree_method="hist"), seeded, on the spec's device, early stopping on the validation
         tail (the model keeps the best iteration); nulls routed natively.
Both fit on the same rows and report the same validation metrics on the same tail, so they compare. Same
inputs and spec give the same model: lbfgs is deterministic, XGBoost is seeded (subsampling included).
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd
import polars as pl
from threadpoolctl import threadpool_limits

from hyperliquid_assets.features.bars import BAR_TIME
from hyperliquid_assets.modeling.evaluate import scored_with_baselines
from hyperliquid_assets.modeling.leakage import (
    FeatureScreen,
    LeakageGuard,
    check_declared_columns,
    refuse_leaky_features,
    screen_features,
)
from hyperliquid_assets.modeling.specs import ComputeConfig, ModelSpec
from hyperliquid_assets.modeling.training_set import TrainingSet, fit_validation_split

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FittedModel:
    """A fitted estimator with what it was fitted on and how it did on its validation tail."""

    spec: ModelSpec
    estimator: Any  # sklearn Pipeline (logreg) or xgboost.XGBClassifier; predict_proba gives class-index columns
    feature_columns: tuple[str, ...]
    class_prior: np.ndarray  # class shares on the fitted rows
    validation: Mapping[str, float]  # scored_with_baselines on the validation tail
    fit_seconds: float  # the estimator's fit alone
    rows: Mapping[str, int]  # fit, validation, purged_before_validation
    details: Mapping[str, float]  # iterations / best iteration, convergence
    screen: FeatureScreen
    threads: int = 1

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """(n, K) class probabilities for a frame of the declared feature columns (Float64, NaN for null)."""
        with threadpool_limits(limits=self.threads):
            return np.asarray(self.estimator.predict_proba(features[list(self.feature_columns)]), dtype=np.float64)


def make_estimator(spec: ModelSpec, n_classes: int, threads: int) -> Any:
    params = spec.params
    if spec.kind == "logreg":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        return Pipeline([
            # The mean: numpy's masked median over ~500k rows costs more than the regression's own fit.
            ("impute", SimpleImputer(strategy="mean", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=params["C"], class_weight=params["class_weight"], max_iter=params["max_iter"],
                                         tol=params["tol"], solver="lbfgs")),
        ])
    import xgboost as xgb

    binary = n_classes == 2
    return xgb.XGBClassifier(
        tree_method="hist", device=params["device"], n_jobs=threads, random_state=params["seed"],
        n_estimators=params["n_estimators"], learning_rate=params["learning_rate"], max_depth=params["max_depth"],
        min_child_weight=params["min_child_weight"], subsample=params["subsample"],
        colsample_bytree=params["colsample_bytree"], reg_lambda=params["reg_lambda"], max_bin=params["max_bin"],
        early_stopping_rounds=params["early_stopping_rounds"],
        objective="binary:logistic" if binary else "multi:softprob", eval_metric="logloss" if binary else "mlogloss",
    )


def _frame(training: TrainingSet, rows: np.ndarray) -> pd.DataFrame:
    """The feature rows `rows` (increasing) as a float64 frame with NaN for null (a boolean-mask filter: several
    times faster than gathering by index)."""
    mask = np.zeros(training.rows, dtype=bool)
    mask[rows] = True
    features = training.features.drop(BAR_TIME)
    return pd.DataFrame(features.filter(pl.Series(mask)).to_numpy(), columns=features.columns)


def fit_model(
    training: TrainingSet, compute: ComputeConfig = ComputeConfig(), guard: LeakageGuard = LeakageGuard()
) -> FittedModel:
    """Guard, split, fit, validate (see the module docstring). Raises LeakageError or TrainingDataError."""
    spec = training.spec
    what = f"model {spec.name} for {training.coin} {training.day}"
    check_declared_columns(training.features, spec.features, what)
    screen = screen_features(training.features, training.reference, training.bar)
    refuse_leaky_features(screen, guard, what)
    split = fit_validation_split(training)
    n_classes = len(spec.target.directions)
    y_all = training.target_class.to_numpy()
    x_fit, y_fit = _frame(training, split.fit), y_all[split.fit].astype(np.int64)
    x_val, y_val = _frame(training, split.validation), y_all[split.validation].astype(np.int64)
    estimator = make_estimator(spec, n_classes, compute.threads)
    details: dict[str, float] = {}
    with threadpool_limits(limits=compute.threads), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        if spec.kind == "logreg":
            estimator.fit(x_fit, y_fit)
        else:
            estimator.fit(x_fit, y_fit, eval_set=[(x_val, y_val)], verbose=False)
        fit_seconds = time.perf_counter() - started
    if spec.kind == "logreg":
        details["iterations"] = float(np.max(estimator[-1].n_iter_))
        details["converged"] = float(not any("converge" in str(w.message).lower() for w in caught))
        if not details["converged"]:
            log.warning("%s: logistic regression did not converge in %d iterations", what, spec.params["max_iter"])
    else:
        details["best_iteration"] = float(estimator.best_iteration)
        details["trees"] = float(estimator.best_iteration + 1)
    prior = np.bincount(y_fit, minlength=n_classes) / len(y_fit)
    model = FittedModel(spec, estimator, spec.features, prior, {}, fit_seconds,
                        {"fit": len(split.fit), "validation": len(split.validation),
                         "purged_before_validation": split.purged_between},
                        details, screen, compute.threads)
    validation = scored_with_baselines(y_val, model.predict_proba(x_val), prior)
    log.info("%s: fitted on %d rows in %.2f s; validation log loss %.4f (prior %.4f), AUC %.4f",
             what, len(split.fit), fit_seconds, validation["log_loss"], validation["prior_log_loss"], validation["roc_auc"])
    return FittedModel(spec, estimator, spec.features, prior, validation, fit_seconds, model.rows, details, screen,
                       compute.threads)
