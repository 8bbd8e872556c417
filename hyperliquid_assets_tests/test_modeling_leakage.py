"""The leakage guard on the demo market: label columns and undeclared columns are refused by name; features
shifted one bar into the future, or a label under an innocent name, are refused by the screen; the real
features pass it."""

from __future__ import annotations

import dataclasses
from datetime import date

import polars as pl
import pytest

from hyperliquid_assets.modeling.leakage import LeakageError, LeakageGuard, screen_features
from hyperliquid_assets.modeling.specs import LOGREG, XGBOOST, TrainingWindow
from hyperliquid_assets.modeling.train import fit_model
from hyperliquid_assets.modeling.training_set import TrainingSet, load_training_set
from hyperliquid_assets_tests.research_lake import shared_research_lake

DAY = date(2026, 1, 3)


@pytest.fixture(scope="module")
def training() -> TrainingSet:
    lake = shared_research_lake(strength=0.5, seed=7, days=4)
    return load_training_set(lake.root, "BTC", DAY, LOGREG, TrainingWindow(days=2, stride=10))


def with_features(training: TrainingSet, *exprs: pl.Expr) -> TrainingSet:
    return dataclasses.replace(training, features=training.features.with_columns(*exprs))


def labels_of(training: TrainingSet) -> pl.DataFrame:
    """The label columns of the window's rows, as read from the lake."""
    frames = [pl.read_parquet(i.path) for i in training.inputs if i.table == "labels"]
    return training.features.select("bar_time").join(pl.concat(frames), on="bar_time", how="left", maintain_order="left")


def test_the_real_features_pass_the_screen_with_room(training):
    screen = screen_features(training.features, training.reference, training.bar)
    guard = LeakageGuard()
    assert set(screen.next_bar) == set(LOGREG.features)
    # The largest honest statistic stays well below each limit (the planted imbalance signal included).
    assert 0.0 < screen.max_next_bar < guard.max_next_bar_corr / 2
    assert 0.1 < screen.max_forward < guard.max_forward_return_corr / 2
    # The strongest forward statistics belong to the columns the demo market documents as carrying its planted
    # drift (demo/market.py): near-book imbalance and depth, and past returns.
    strongest = max(screen.forward, key=screen.forward.get)
    assert strongest.startswith(("book_imbalance_", "book_ask_depth_", "book_bid_depth_", "book_ret_bps_")), strongest
    assert screen.forward["book_imbalance_1"] > 0.1


def test_a_label_column_in_the_features_is_refused_by_name(training):
    leaked = with_features(training, labels_of(training)["label_dir_1m"].cast(pl.Float64).alias("label_dir_1m"))
    with pytest.raises(LeakageError, match=r"model logreg for BTC 2026-01-03: label columns \['label_dir_1m'\] are in "
                                           r"the feature frame"):
        fit_model(leaked)


def test_an_undeclared_column_is_refused_even_if_harmless(training):
    extra = with_features(training, pl.col("book_spread_bps").alias("book_spread_copy"))
    with pytest.raises(LeakageError, match=r"columns \['book_spread_copy'\] are not among the spec's declared features"):
        fit_model(extra)
    fewer = dataclasses.replace(training, features=training.features.drop("flow_vpin"))
    with pytest.raises(LeakageError, match=r"declared features \['flow_vpin'\] are missing"):
        fit_model(fewer)


@pytest.mark.parametrize("feature", ["book_ret_bps_1s", "book_ofi", "xv_ret_gap_bps_1s"])
def test_a_feature_shifted_one_bar_into_the_future_is_refused(training, feature):
    shifted = with_features(training, pl.col(feature).shift(-1))
    with pytest.raises(LeakageError, match=rf"{feature}: \|corr\| with the next bar.s mid return [01]\.\d\d > 0\.4"):
        fit_model(shifted)


def test_a_label_under_an_innocent_name_is_refused(training):
    copied = with_features(training, labels_of(training)["label_ret_bps_5m"].alias("flow_vpin"))
    with pytest.raises(LeakageError, match=r"flow_vpin: \|corr\| with a forward label return 1\.00 > 0\.8"):
        fit_model(copied)


def test_the_guard_applies_to_every_model_type(training):
    xgb_training = dataclasses.replace(training, spec=XGBOOST)
    with pytest.raises(LeakageError, match="book_ret_bps_1s"):
        fit_model(with_features(xgb_training, pl.col("book_ret_bps_1s").shift(-1)))
