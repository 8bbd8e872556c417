"""The rows a model of day D is trained on, and the day it is judged on.

Training set of D: the joined features and labels of the N days before D, every bar, then

    purge:   drop t where t + h + embargo > start of D   (a label ending inside D would have seen D)
    stride:  keep t where (t / bar) mod k == 0           (at fit time; aligned to the epoch)
    split:   the last `validation_share` of the kept labelled rows is the validation tail; fitted rows t need
             t + h + embargo <= first validation bar (the same purge inside the window)

A short window (fewer usable days than required), a missing table, or a day without enough labelled bars
fails with a TrainingDataError naming the coin, the day and what is missing: a model is never trained on less
than its window states.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import polars as pl

from hyperliquid_assets.features.bars import BAR_TIME, parse_duration
from hyperliquid_assets.features.labels import direction
from hyperliquid_assets.modeling.feature_frame import BOOK_AGE, MID, known_book_mid, model_features
from hyperliquid_assets.modeling.inputs import FEATURES, LABELS, InputPartition, TrainingDataError, read_partition_table
from hyperliquid_assets.modeling.specs import ModelSpec, Target, TrainingWindow

log = logging.getLogger(__name__)

REF_MID = "mid"  # reference columns (never model inputs): the live mid, and the forward returns of the labels
FWD_PREFIX = "fwd_ret_bps_"
MIN_FIT_ROWS, MIN_VALIDATION_ROWS = 200, 50


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


@dataclass(frozen=True)
class LabelledDay:
    """One coin-day: model features, reference columns, the target class, and the files read."""

    features: pl.DataFrame  # bar_time + declared features (Float64)
    reference: pl.DataFrame  # bar_time, mid (null where the book is unknown), fwd_ret_bps_<h> per label horizon
    target_class: pl.Series  # Int8 class index; null where unlabelled, the book is unknown, or flat (binary)
    inputs: tuple[InputPartition, ...]

    @property
    def book_known(self) -> pl.Series:
        return self.reference[REF_MID].is_not_null()

    @property
    def labelled_share(self) -> float:
        return float(self.target_class.is_not_null().mean() or 0.0) if self.target_class.len() else 0.0


def target_classes(labels: pl.DataFrame, target: Target) -> pl.Expr:
    """The class index of each bar (see specs): from label_dir_<h>, or from label_ret_bps_<h> and the target's
    own threshold."""
    if target.threshold_bps is None:
        sign = pl.col(target.direction_column)
    else:
        sign = direction(pl.col(target.return_column), pl.lit(target.threshold_bps, pl.Float64))
    if target.kind == "three_class":
        return (sign + 1).cast(pl.Int8)
    return pl.when(sign == 1).then(1).when(sign == -1).then(0).cast(pl.Int8)


@dataclass(frozen=True)
class DayTables:
    """One coin-day's feature and label tables as read, with the files they came from."""

    features: pl.DataFrame
    labels: pl.DataFrame
    inputs: tuple[InputPartition, InputPartition]


class LakeDays:
    """Reads each coin-day's tables once, with the union of the feature columns of the specs it serves, so
    several specs of one partition share one read (a missing day's error is remembered too)."""

    def __init__(self, lake_root: Path | str, coin: str, bar: str, specs: Sequence[ModelSpec]) -> None:
        self.lake_root, self.coin, self.bar = lake_root, coin, bar
        self.columns = [BAR_TIME, *dict.fromkeys(c for spec in specs for c in (MID, BOOK_AGE, *spec.features))]
        self._days: dict[date, DayTables | TrainingDataError] = {}

    def tables(self, day: date) -> DayTables:
        if day not in self._days:
            try:
                features, features_input = read_partition_table(self.lake_root, FEATURES, self.coin, day, self.bar,
                                                                self.columns)
                labels, labels_input = read_partition_table(self.lake_root, LABELS, self.coin, day, self.bar)
                self._days[day] = DayTables(features, labels, (features_input, labels_input))
            except TrainingDataError as exc:
                self._days[day] = exc
        found = self._days[day]
        if isinstance(found, TrainingDataError):
            raise found
        return found


def labelled_day(tables: DayTables, coin: str, day: date, spec: ModelSpec, bar: str) -> LabelledDay:
    """Join one coin-day's features and labels for a spec (see LabelledDay)."""
    feature_table, labels = tables.features, tables.labels
    features_input, labels_input = tables.inputs
    needed = [BAR_TIME, spec.target.direction_column if spec.target.threshold_bps is None else spec.target.return_column]
    missing = [c for c in needed if c not in labels.columns]
    if missing:
        raise TrainingDataError(f"{coin} {day}: the labels table at {labels_input.path} lacks {missing} "
                                f"(the target horizon is {spec.target.horizon_label})")
    if feature_table.height == 0:
        raise TrainingDataError(f"{coin} {day}: the features table at {features_input.path} has no rows")
    returns = [c for c in labels.columns if c.startswith("label_ret_bps_")]
    joined = feature_table.join(
        labels.select(BAR_TIME, *returns, target_classes(labels, spec.target).alias("_class")),
        on=BAR_TIME, how="left", maintain_order="left")
    if labels.height != feature_table.height or joined["_class"].len() != feature_table.height:
        raise TrainingDataError(f"{coin} {day}: labels ({labels.height} rows) and features ({feature_table.height} "
                                "rows) are not on the same bar grid")
    mid = known_book_mid(feature_table, bar)
    reference = joined.select(
        BAR_TIME, mid.alias(REF_MID), *(pl.col(c).alias(FWD_PREFIX + c.removeprefix("label_ret_bps_")) for c in returns))
    target_class = joined.select(pl.when(mid.is_not_null()).then(pl.col("_class"))).to_series().alias("target")
    return LabelledDay(model_features(feature_table, spec.features), reference, target_class, tables.inputs)


def load_labelled_day(lake_root: Path | str, coin: str, day: date, spec: ModelSpec, bar: str,
                      days: LakeDays | None = None) -> LabelledDay:
    """Read (or take from `days`) and join one coin-day's features and labels."""
    days = days or LakeDays(lake_root, coin, bar, [spec])
    return labelled_day(days.tables(day), coin, day, spec, bar)


@dataclass(frozen=True)
class TrainingSet:
    """The window's rows for the model of `day` (every bar after the purge; stride and split at fit time)."""

    coin: str
    day: date
    bar: str
    spec: ModelSpec
    window: TrainingWindow
    days: tuple[date, ...]
    features: pl.DataFrame  # bar_time + declared features (Float64)
    reference: pl.DataFrame  # bar_time, mid, fwd_ret_bps_<h>
    target_class: pl.Series
    inputs: tuple[InputPartition, ...]
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.features.height

    def class_prior(self, rows: np.ndarray) -> np.ndarray:
        """Share of each class among `rows` (indices into this set)."""
        counts = np.bincount(self.target_class.to_numpy()[rows].astype(np.int64), minlength=len(self.spec.target.directions))
        return counts / counts.sum()


def window_days(day: date, window: TrainingWindow) -> list[date]:
    return [day - timedelta(days=k) for k in range(window.days, 0, -1)]


def load_training_set(
    lake_root: Path | str, coin: str, day: date, spec: ModelSpec, window: TrainingWindow = TrainingWindow(),
    bar: str = "1s", days: LakeDays | None = None,
) -> TrainingSet:
    """The training rows of day D's model: the usable days of D-N..D-1 concatenated, purged and embargoed."""
    days = days or LakeDays(lake_root, coin, bar, [spec])
    parts: list[LabelledDay] = []
    used: list[date] = []
    problems: list[str] = []
    for d in window_days(day, window):
        try:
            part = load_labelled_day(lake_root, coin, d, spec, bar, days)
        except TrainingDataError as exc:
            problems.append(str(exc))
            continue
        if part.labelled_share < window.min_labelled_share:
            problems.append(f"{coin} {d}: only {part.labelled_share:.1%} of bars have a live book and a "
                            f"{spec.target.horizon_label} label (needs {window.min_labelled_share:.0%})")
            continue
        parts.append(part)
        used.append(d)
    if len(used) < window.required_days:
        first = window_days(day, window)[0]
        raise TrainingDataError(
            f"model {spec.name} for {coin} {day}: the training window {first}..{day - timedelta(days=1)} has "
            f"{len(used)} usable day(s), {window.required_days} required; " + "; ".join(problems))
    if problems:
        log.warning("model %s for %s %s: training on %d of %d days; left out: %s",
                    spec.name, coin, day, len(used), window.days, "; ".join(problems))
    features = pl.concat([p.features for p in parts])
    reference = pl.concat([p.reference for p in parts], how="diagonal_relaxed")
    target_class = pl.concat([p.target_class for p in parts])
    cutoff = day_start(day) - spec.target.horizon_delta - window.embargo_delta
    keep = (features[BAR_TIME] <= cutoff).to_numpy()
    purged = int((~keep).sum())
    keep_series = pl.Series(keep)
    features, reference, target_class = (f.filter(keep_series) for f in (features, reference, target_class))
    counts = {"window_bars": len(keep), "purged_bars": purged, "days_used": len(used),
              "days_missing": window.days - len(used),
              "frame_bytes": features.estimated_size() + reference.estimated_size() + target_class.estimated_size()}
    return TrainingSet(coin, day, bar, spec, window, tuple(used), features, reference, target_class,
                       tuple(i for p in parts for i in p.inputs), counts)


@dataclass(frozen=True)
class RowSplit:
    fit: np.ndarray  # row indices of the training set, time-ordered
    validation: np.ndarray
    purged_between: int


def fit_validation_split(training: TrainingSet) -> RowSplit:
    """Stride, then the time-ordered validation tail with the purge and embargo in front of it."""
    window, target = training.window, training.spec.target
    every_ns = int(parse_duration(training.bar).total_seconds() * 1e9)
    epoch_bar = training.features[BAR_TIME].dt.epoch("ns").to_numpy() // every_ns
    labelled = training.target_class.is_not_null().to_numpy()
    rows = np.flatnonzero(labelled & (epoch_bar % window.stride == 0))
    n_validation = math.ceil(len(rows) * window.validation_share)
    if len(rows) - n_validation < MIN_FIT_ROWS or n_validation < MIN_VALIDATION_ROWS:
        raise TrainingDataError(f"model {training.spec.name} for {training.coin} {training.day}: {len(rows)} labelled "
                                f"rows after stride {window.stride}, too few to fit and validate")
    validation = rows[len(rows) - n_validation:]
    times = training.features[BAR_TIME].dt.epoch("ns").to_numpy()
    gap_ns = int((target.horizon_delta + window.embargo_delta).total_seconds() * 1e9)
    before = rows[: len(rows) - n_validation]
    fit = before[times[before] + gap_ns <= times[validation[0]]]
    split = RowSplit(fit, validation, len(before) - len(fit))
    missing = sorted(set(range(len(target.directions))) - set(np.unique(training.target_class.to_numpy()[fit])))
    if missing:
        names = [target.class_names[i] for i in missing]
        raise TrainingDataError(f"model {training.spec.name} for {training.coin} {training.day}: no {names} rows to fit")
    return split


@dataclass(frozen=True)
class EvaluationDay:
    """Day D itself: every bar's features, the known-book mask, and D's labels (out of sample for D's model)."""

    coin: str
    day: date
    bar: str
    spec: ModelSpec
    features: pl.DataFrame
    reference: pl.DataFrame
    target_class: pl.Series
    inputs: tuple[InputPartition, ...]

    @property
    def book_known(self) -> pl.Series:
        return self.reference[REF_MID].is_not_null()


def load_evaluation_day(lake_root: Path | str, coin: str, day: date, spec: ModelSpec, bar: str = "1s",
                        days: LakeDays | None = None) -> EvaluationDay:
    """Day D's features and labels; a day with no features (or no labels) fails naming coin and day."""
    try:
        part = load_labelled_day(lake_root, coin, day, spec, bar, days)
    except TrainingDataError as exc:
        raise TrainingDataError(f"model {spec.name} for {coin} {day}: cannot evaluate the day: {exc}") from None
    if part.target_class.is_not_null().sum() == 0:
        raise TrainingDataError(f"model {spec.name} for {coin} {day}: no bar of the day has a "
                                f"{spec.target.horizon_label} label and a live book")
    return EvaluationDay(coin, day, bar, spec, part.features, part.reference, part.target_class, part.inputs)
