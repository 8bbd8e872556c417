"""Class probabilities for every bar of a day, in PREDICTIONS_SCHEMA.

Row-wise by construction: bar t's probabilities are a function of bar t's feature row alone (no day-level
normalization, no filling across bars), so they hold only what was known at t. Bars whose book is unknown get
null probabilities (see feature_frame)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import polars as pl

from hyperliquid_assets.features.bars import BAR_TIME
from hyperliquid_assets.formats.schemas import PREDICTIONS_SCHEMA
from hyperliquid_assets.modeling.evaluate import normalized
from hyperliquid_assets.modeling.feature_frame import BOOK_AGE, MID, known_book_mid, model_features
from hyperliquid_assets.modeling.inputs import FEATURES, InputPartition, read_partition_table
from hyperliquid_assets.modeling.specs import ModelSpec, Target


class ProbabilityModel(Protocol):
    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """(n, K) probabilities in class-index order (see specs) for rows of the declared feature columns."""


def predict_rows(model: ProbabilityModel, features: pl.DataFrame, book_known: pl.Series, target: Target) -> pl.DataFrame:
    """Probabilities for the rows of `features` (bar_time + declared columns, Float64) whose book is known."""
    k = len(target.directions)
    known = book_known.to_numpy().astype(bool)
    proba = np.full((features.height, k), np.nan)
    if known.any():
        rows = features.filter(pl.Series(known)).drop(BAR_TIME)
        scored = np.asarray(model.predict_proba(pd.DataFrame(rows.to_numpy(), columns=rows.columns)), dtype=np.float64)
        if scored.shape != (int(known.sum()), k):
            raise ValueError(f"the model returned probabilities of shape {scored.shape}; expected ({int(known.sum())}, {k}) "
                             f"for a {target.kind} target")
        proba[known] = normalized(scored)
    columns = {"prob_down": proba[:, 0], "prob_up": proba[:, -1],
               "prob_flat": proba[:, 1] if k == 3 else np.full(features.height, np.nan)}
    return (
        features.select(BAR_TIME)
        .with_columns(**{name: pl.Series(values).fill_nan(None) for name, values in columns.items()})
        .select(PREDICTIONS_SCHEMA.names())
        .cast(dict(PREDICTIONS_SCHEMA))
    )


def predict_day(model: ProbabilityModel, feature_table: pl.DataFrame, spec: ModelSpec, bar: str) -> pl.DataFrame:
    """Predictions for every bar of a feature table as stored (the joined features of one coin-day)."""
    book_known = known_book_mid(feature_table, bar).is_not_null()
    return predict_rows(model, model_features(feature_table, spec.features), book_known, spec.target)


def predict_partition(
    model: ProbabilityModel, lake_root: Path | str, coin: str, day: date, spec: ModelSpec, bar: str = "1s"
) -> tuple[pl.DataFrame, InputPartition]:
    """The predictions of one coin-day read from the lake, and the features file they were made from (for the
    predictions asset: load the model version the model asset recorded, then call this)."""
    columns = [BAR_TIME, *dict.fromkeys((MID, BOOK_AGE, *spec.features))]
    table, features = read_partition_table(lake_root, FEATURES, coin, day, bar, columns)
    return predict_day(model, table, spec, bar), features
