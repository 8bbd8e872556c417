"""Predictions of a day: the schema, null probabilities where the book is unknown, and no look-ahead (a
prediction at bar t is unchanged when all input after t is removed, through the whole feature pipeline)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hyperliquid_assets.features.book_features import book_features
from hyperliquid_assets.features.joined_features import joined_features
from hyperliquid_assets.features.trade_flow_features import trade_flow_features
from hyperliquid_assets.formats.schemas import PREDICTIONS_SCHEMA
from hyperliquid_assets.modeling.inputs import partition_files
from hyperliquid_assets.modeling.predict import predict_day
from hyperliquid_assets.modeling.specs import LOGREG, XGBOOST, ModelSpec, Target, TrainingWindow
from hyperliquid_assets.modeling.train import FittedModel, fit_model
from hyperliquid_assets.modeling.training_set import load_training_set
from hyperliquid_assets_tests.research_lake import shared_research_lake
from hyperliquid_assets_tests.test_book_features import on_bar_boundaries, random_day_book
from hyperliquid_assets_tests.test_joined_features_and_labels import T0, grid
from hyperliquid_assets_tests.test_trade_flow_features import random_trades

DAY = date(2026, 1, 3)
WINDOW = TrainingWindow(days=2, stride=10)


def fitted(spec: ModelSpec) -> FittedModel:
    lake = shared_research_lake(strength=0.5, seed=7, days=4)
    return fit_model(load_training_set(lake.root, "BTC", DAY, spec, WINDOW))


@pytest.fixture(scope="module")
def models() -> dict[str, FittedModel]:
    return {spec.name: fitted(spec) for spec in (LOGREG, XGBOOST)}


@pytest.fixture(scope="module")
def day_table() -> pl.DataFrame:
    lake = shared_research_lake(strength=0.5, seed=7, days=4)
    return pl.read_parquet(partition_files(lake.root, "BTC", DAY, "1s").features)


def _pipeline(book: pl.DataFrame, trades: pl.DataFrame) -> pl.DataFrame:
    """Raw book and trades -> the joined feature table, with the project's default configs."""
    day = grid(900)
    return joined_features(book_features(book, day), trade_flow_features(trades, day), day)


@pytest.mark.parametrize("name", ["logreg", "xgboost"])
def test_no_look_ahead_a_prediction_at_t_is_unchanged_when_input_after_t_is_removed(models, name):
    model, spec = models[name], {"logreg": LOGREG, "xgboost": XGBOOST}[name]
    book = on_bar_boundaries(random_day_book(3, seconds=900, min_levels=1), "received_time", (250, 600))
    trades = on_bar_boundaries(random_trades(3, seconds=900), "time", (250, 600))
    full = predict_day(model, _pipeline(book, trades), spec, "1s")
    assert full["prob_up"].null_count() < 30  # predictions exist from the first snapshot on
    assert full["prob_up"].n_unique() > 500  # and move with the features
    for cut_s in (0.5, 61.0, 249.999, 250.0, 250.5, 600.0, 899.0):
        cut = T0 + timedelta(seconds=cut_s)
        truncated = predict_day(model, _pipeline(book.filter(pl.col("received_time") < cut),
                                                 trades.filter(pl.col("time") < cut)), spec, "1s")
        # Features agree to ~1e-15 (polars may reassociate float sums with the input length); so do predictions.
        assert_frame_equal(truncated.filter(pl.col("bar_time") <= cut), full.filter(pl.col("bar_time") <= cut),
                           check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def test_predictions_have_the_declared_schema_and_sum_to_one(models, day_table):
    predictions = predict_day(models["logreg"], day_table, LOGREG, "1s")
    assert predictions.schema == PREDICTIONS_SCHEMA
    assert predictions["bar_time"].to_list() == day_table["bar_time"].to_list()
    known = predictions.drop_nulls()
    assert known.height > 86_000
    total = known.select(pl.col("prob_down") + pl.col("prob_flat") + pl.col("prob_up")).to_series()
    assert np.allclose(total.to_numpy(), 1.0, atol=1e-12)


def test_bars_with_an_unknown_book_get_null_probabilities(models, day_table):
    # Bars 100-199: a book older than the 1 min limit; bars 300-309: no book at all.
    rows = pl.int_range(pl.len())
    damaged = day_table.with_columns(
        book_age_s=pl.when((rows >= 100) & (rows < 200)).then(61.0).otherwise(pl.col("book_age_s")),
        book_mid=pl.when((rows >= 300) & (rows < 310)).then(None).otherwise(pl.col("book_mid")),
    )
    for name, spec in (("logreg", LOGREG), ("xgboost", XGBOOST)):
        predictions = predict_day(models[name], damaged, spec, "1s")
        unknown = predictions.slice(100, 100).vstack(predictions.slice(300, 10))
        assert unknown.select(pl.sum_horizontal(pl.col("prob_down", "prob_flat", "prob_up").null_count())).item() == 330
        assert predictions.slice(200, 100).drop_nulls().height == 100


def test_binary_target_leaves_prob_flat_null(day_table):
    spec = ModelSpec("logreg_binary", "logreg", Target("1m", "binary"))
    model = fitted(spec)
    predictions = predict_day(model, day_table, spec, "1s")
    assert predictions["prob_flat"].null_count() == predictions.height
    known = predictions.drop_nulls(["prob_up"])
    assert np.allclose((known["prob_up"] + known["prob_down"]).to_numpy(), 1.0, atol=1e-12)
    assert set(model.estimator[-1].classes_.tolist()) == {0, 1}
