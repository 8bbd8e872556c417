"""What a model is and how its training window is cut: a spec is model type + hyperparameters + target + the
declared feature columns; the window, compute and leakage settings are separate because they do not change
which model is meant.

Class encoding (the same for every model type, so probability columns always mean the same thing):
three classes -> 0 = down (-1), 1 = flat (0), 2 = up (+1); binary -> 0 = down, 1 = up (flat rows dropped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Mapping

from hyperliquid_assets.features.bars import BAR_TIME, duration_label, parse_duration
from hyperliquid_assets.features.joined_features import JOINED_FEATURE_COLUMNS

ModelKind = Literal["logreg", "xgboost"]
TargetKind = Literal["three_class", "binary"]

# Price levels are left out of the default feature set: a model on levels memorizes the price range of its
# training window and extrapolates blindly on the next day. Spreads, imbalances, depths, returns, flows stay.
PRICE_LEVEL_COLUMNS = (
    "book_best_bid", "book_best_ask", "book_mid", "book_microprice", f"book_wmid_{5}",
    "flow_open", "flow_high", "flow_low", "flow_close", "flow_vwap", "flow_last_price",
)
DEFAULT_FEATURE_COLUMNS: tuple[str, ...] = tuple(c for c in JOINED_FEATURE_COLUMNS[1:] if c not in PRICE_LEVEL_COLUMNS)

LOGREG_DEFAULTS: Mapping[str, Any] = {
    "C": 1.0,  # inverse L2 strength on standardized features
    "class_weight": None,  # or "balanced"
    "max_iter": 1000,
    "tol": 1e-4,
}
XGBOOST_DEFAULTS: Mapping[str, Any] = {
    "n_estimators": 400,
    "learning_rate": 0.05,
    "max_depth": 4,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "max_bin": 256,
    "early_stopping_rounds": 30,
    "seed": 0,
    "device": "cpu",  # "cuda" where a GPU build of xgboost is installed
}
_DEFAULTS = {"logreg": LOGREG_DEFAULTS, "xgboost": XGBOOST_DEFAULTS}


@dataclass(frozen=True)
class Target:
    """The direction of the mid over `horizon`: the labels table's label_dir_<h> (threshold_bps None), or
    recomputed as sign(ret) where |ret| > threshold_bps from label_ret_bps_<h>. `binary` keeps up vs down only."""

    horizon: str = "1m"
    kind: TargetKind = "three_class"
    threshold_bps: float | None = None

    def __post_init__(self) -> None:
        parse_duration(self.horizon)
        if self.kind not in ("three_class", "binary"):
            raise ValueError(f"target kind must be three_class or binary, not {self.kind!r}")
        if self.threshold_bps is not None and not (self.threshold_bps >= 0 and math.isfinite(self.threshold_bps)):
            raise ValueError(f"target threshold_bps must be a finite number >= 0, not {self.threshold_bps!r}")

    @property
    def horizon_label(self) -> str:
        return duration_label(self.horizon)

    @property
    def horizon_delta(self) -> timedelta:
        return parse_duration(self.horizon)

    @property
    def direction_column(self) -> str:
        return f"label_dir_{self.horizon_label}"

    @property
    def return_column(self) -> str:
        return f"label_ret_bps_{self.horizon_label}"

    @property
    def directions(self) -> tuple[int, ...]:
        """The direction value of each class index."""
        return (-1, 0, 1) if self.kind == "three_class" else (-1, 1)

    @property
    def class_names(self) -> tuple[str, ...]:
        return ("down", "flat", "up") if self.kind == "three_class" else ("down", "up")


@dataclass(frozen=True)
class ModelSpec:
    """A model: its name (the asset and registry use it), type, hyperparameters (over the type's defaults),
    target and declared feature columns. Unknown hyperparameters are refused, so a typo never goes unnoticed."""

    name: str
    kind: ModelKind
    target: Target = Target()
    hyperparameters: Mapping[str, Any] = field(default_factory=dict, hash=False)
    features: tuple[str, ...] = DEFAULT_FEATURE_COLUMNS

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ValueError(f"model spec name {self.name!r} must be non-empty letters, digits and _")
        if self.kind not in _DEFAULTS:
            raise ValueError(f"model spec {self.name}: kind must be one of {sorted(_DEFAULTS)}, not {self.kind!r}")
        unknown = sorted(set(self.hyperparameters) - set(_DEFAULTS[self.kind]))
        if unknown:
            raise ValueError(f"model spec {self.name}: unknown {self.kind} hyperparameters {unknown}; "
                             f"known: {sorted(_DEFAULTS[self.kind])}")
        if not self.features:
            raise ValueError(f"model spec {self.name}: no feature columns declared")
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"model spec {self.name}: duplicate feature columns")
        bad = [c for c in self.features if c == BAR_TIME or c.startswith("label_")]
        if bad:
            raise ValueError(f"model spec {self.name}: {bad} cannot be features (bar time or forward-looking labels)")

    @property
    def params(self) -> dict[str, Any]:
        """The effective hyperparameters: the type's defaults overridden by the spec's."""
        return {**_DEFAULTS[self.kind], **self.hyperparameters}

    def registered_model_name(self, coin: str) -> str:
        """One registered model per coin and spec."""
        return f"hl_{self.name}_{coin}"


LOGREG = ModelSpec("logreg", "logreg")
XGBOOST = ModelSpec("xgboost", "xgboost")
DEFAULT_SPECS: Mapping[str, ModelSpec] = {spec.name: spec for spec in (LOGREG, XGBOOST)}


@dataclass(frozen=True)
class TrainingWindow:
    """How the training rows of day D's model are cut from the days before D.

    days: the N days D-N .. D-1. min_days: how many of them must be usable (default all N; a day is usable when
    its features and labels exist and at least `min_labelled_share` of its bars have a live book and a target
    label). The purge is always the target horizon: a row whose label ends after the start of D (bar_time + h >
    D) is dropped; `embargo` drops that much more before D. `stride` keeps every k-th bar (aligned to the epoch,
    so the kept bars do not depend on where the window starts): overlapping labels on 1 s bars are heavily
    autocorrelated. The last `validation_share` of the kept rows (in time) is the validation tail (early stopping
    for XGBoost, validation metrics for both), cut from the fitted rows with the same purge and embargo.
    """

    days: int = 7
    min_days: int | None = None
    embargo: str = "0s"
    stride: int = 1
    validation_share: float = 0.2
    min_labelled_share: float = 0.5

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"training window days must be >= 1, not {self.days}")
        if self.min_days is not None and not 1 <= self.min_days <= self.days:
            raise ValueError(f"training window min_days must be in 1..{self.days}, not {self.min_days}")
        if self.stride < 1:
            raise ValueError(f"training stride must be >= 1, not {self.stride}")
        if not 0.0 < self.validation_share < 1.0:
            raise ValueError(f"validation_share must be in (0, 1), not {self.validation_share}")
        if not 0.0 <= self.min_labelled_share <= 1.0:
            raise ValueError(f"min_labelled_share must be in [0, 1], not {self.min_labelled_share}")
        self.embargo_delta  # noqa: B018 (validates the duration)

    @property
    def required_days(self) -> int:
        return self.days if self.min_days is None else self.min_days

    @property
    def embargo_delta(self) -> timedelta:
        return timedelta(0) if self.embargo.strip() in ("0", "0s") else parse_duration(self.embargo)


@dataclass(frozen=True)
class ComputeConfig:
    """Threads for the fit and the prediction (BLAS/OpenMP for scikit-learn, nthread for XGBoost). One thread
    by default: on this shared 2-core machine (load ~7) two threads made the fits 5x (logistic regression) and
    7x (XGBoost) slower than one, and the Dagster layer can run the two specs side by side. Device is a
    hyperparameter of the XGBoost spec (it can change results); threads are not: CPU `hist` trees came out
    identical with 1 and 2 threads, and logistic-regression probabilities within 3e-9 (BLAS summation order).
    Reruns with the same thread count are identical."""

    threads: int = 1

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, not {self.threads}")
