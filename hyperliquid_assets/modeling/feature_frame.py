"""The model's view of a feature table: the declared columns as Float64 (non-finite values become null), and
which bars have a known book.

Null handling: XGBoost routes nulls natively (each split learns a default direction); the logistic-regression
pipeline fills them with the training window's mean of the column (fitted on the training rows only) before
scaling. A bar whose book is unknown -- no book yet, or a book carried forward longer than the bar's
`max_book_age` (the feature tables' own rule, `book_features.live_mid`) -- is neither trained on nor predicted:
its probabilities are null.
"""

from __future__ import annotations

from typing import Sequence

import polars as pl

from hyperliquid_assets.features.bars import BAR_TIME
from hyperliquid_assets.features.book_features import BookFeatureConfig, live_mid

MID, BOOK_AGE = "book_mid", "book_age_s"


def model_features(table: pl.DataFrame, feature_columns: Sequence[str]) -> pl.DataFrame:
    """bar_time and the declared columns cast to Float64, with NaN and +-inf as null."""
    missing = [c for c in (BAR_TIME, *feature_columns) if c not in table.columns]
    if missing:
        raise KeyError(f"feature table lacks declared columns {missing}")
    as_float = [pl.col(c).cast(pl.Float64) for c in feature_columns]
    return table.select(BAR_TIME, *(pl.when(x.is_finite()).then(x).alias(x.meta.output_name()) for x in as_float))


def known_book_mid(table: pl.DataFrame, bar: str) -> pl.Series:
    """The mid where the book behind the bar is live, else null (named `mid`)."""
    max_age = BookFeatureConfig.for_bar(bar).max_book_age
    return table.select(live_mid(pl.col(MID), pl.col(BOOK_AGE), max_age).alias("mid")).to_series()
