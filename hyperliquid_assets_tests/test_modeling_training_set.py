"""Training windows on hand-made 1 min feature and label tables: purge, embargo, stride, the validation tail,
minimum window, missing days, target encoding, input digests."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hyperliquid_assets.features.bars import BarGrid
from hyperliquid_assets.modeling.inputs import TrainingDataError, partition_files
from hyperliquid_assets.modeling.specs import ModelSpec, Target, TrainingWindow
from hyperliquid_assets.modeling.training_set import (
    fit_validation_split,
    load_evaluation_day,
    load_training_set,
)

BAR = "1m"
FEATURES = ("f_signal", "f_noise")
SPEC = ModelSpec("logreg", "logreg", Target(horizon="5m"), features=FEATURES)
D1, D2, D3, D4 = (date(2026, 1, d) for d in (1, 2, 3, 4))


def write_day(root: Path, day: date, seed: int, unknown_book_share: float = 0.0, coin: str = "BTC") -> None:
    """A coin-day of 1440 one-minute bars: a random-walk mid, two features, 5 min labels (threshold 1 bp)."""
    rng = np.random.default_rng(seed)
    grid = BarGrid.for_day(day, BAR)
    bar_time = grid.frame().collect()["bar_time"]
    n = bar_time.len()
    mid = 100.0 * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
    age = np.where(rng.random(n) < unknown_book_share, 900.0, 0.0)  # > max_book_age (5 min at 1 min bars)
    features = pl.DataFrame({"bar_time": bar_time, "book_mid": mid, "book_age_s": age,
                             "f_signal": rng.normal(size=n), "f_noise": rng.normal(size=n),
                             "book_stale": rng.random(n) < 0.1})
    ret = 1e4 * np.log(np.roll(mid, -5) / mid)
    ret[-5:] = np.nan  # the next day is not there: the last 5 bars are unlabelled
    labels = pl.DataFrame({"bar_time": bar_time, "label_ret_bps_5m": ret}).with_columns(
        pl.col("label_ret_bps_5m").fill_nan(None)).with_columns(
        label_dir_5m=pl.when(pl.col("label_ret_bps_5m") > 1).then(1).when(pl.col("label_ret_bps_5m") < -1).then(-1)
        .when(pl.col("label_ret_bps_5m").is_not_null()).then(0).cast(pl.Int8))
    files = partition_files(root, coin, day, BAR)
    for frame, path in ((features, files.features), (labels, files.labels)):
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    for i, day in enumerate((D1, D2, D3, D4)):
        write_day(tmp_path, day, seed=i)
    return tmp_path


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def test_window_is_the_days_before_d_with_labels_ending_inside_d_purged(lake):
    training = load_training_set(lake, "BTC", D3, SPEC, TrainingWindow(days=2), BAR)
    assert training.days == (D1, D2)
    times = training.features["bar_time"]
    assert times.min() == day_start(D1) + timedelta(minutes=1)
    # bar_time + 5 min > start of D3 for the bars ending 23:56 .. 24:00 of D2: those 5 are purged
    assert times.max() == day_start(D3) - timedelta(minutes=5)
    assert (times + timedelta(minutes=5) <= day_start(D3)).all()
    assert training.counts["window_bars"] == 2 * 1440 and training.counts["purged_bars"] == 5
    assert training.rows == 2 * 1440 - 5
    assert training.features.columns == ["bar_time", *FEATURES]
    assert training.features["f_signal"].dtype == pl.Float64


def test_embargo_removes_that_much_more_before_d(lake):
    training = load_training_set(lake, "BTC", D3, SPEC, TrainingWindow(days=2, embargo="30m"), BAR)
    assert training.features["bar_time"].max() == day_start(D3) - timedelta(minutes=35)
    assert training.counts["purged_bars"] == 35


def test_stride_keeps_epoch_aligned_bars_whatever_the_window(lake):
    window = TrainingWindow(days=2, stride=7, validation_share=0.25)
    kept = {}
    for day in (D3, D4):
        training = load_training_set(lake, "BTC", day, SPEC, window, BAR)
        split = fit_validation_split(training)
        times = training.features["bar_time"].to_numpy()
        rows = np.concatenate([split.fit, split.validation])
        minutes = training.features["bar_time"].dt.epoch("s").to_numpy()[rows] // 60
        assert (minutes % 7 == 0).all()
        shared = (times[rows] > np.datetime64("2026-01-02T00:00:00")) & (times[rows] < np.datetime64("2026-01-02T20:00:00"))
        kept[day] = set(times[rows][shared].tolist())
    # The bars of D2 both windows keep before its validation tail are the same bars.
    assert kept[D3] and kept[D3] == kept[D4]


def test_validation_tail_is_the_latest_rows_and_fit_rows_end_before_it_by_the_purge(lake):
    training = load_training_set(lake, "BTC", D3, SPEC, TrainingWindow(days=2, embargo="10m", validation_share=0.2), BAR)
    split = fit_validation_split(training)
    times = training.features["bar_time"]
    first_validation = times[int(split.validation[0])]
    assert times[split.fit].max() + timedelta(minutes=15) <= first_validation
    # the 14 bars t with first_validation - 15 min < t < first_validation: their labels overlap the tail's
    assert split.purged_between == 14 and (np.diff(split.validation) > 0).all()
    labelled = int(training.target_class.is_not_null().sum())
    assert len(split.validation) == int(np.ceil(labelled * 0.2))
    assert len(split.fit) + len(split.validation) + split.purged_between == labelled


def test_short_window_fails_naming_coin_day_and_what_is_missing(lake):
    with pytest.raises(TrainingDataError) as caught:
        load_training_set(lake, "BTC", D3, SPEC, TrainingWindow(days=3), BAR)
    message = str(caught.value)
    assert "BTC 2026-01-03" in message and "1 usable day(s)" not in message
    assert "2 usable day(s), 3 required" in message and "BTC 2025-12-31: no features table" in message
    # Stating a shorter minimum is allowed, and what was used is recorded.
    training = load_training_set(lake, "BTC", D3, SPEC, TrainingWindow(days=3, min_days=2), BAR)
    assert training.days == (D1, D2) and training.counts["days_missing"] == 1


def test_missing_labels_of_a_window_day_fail(lake):
    partition_files(lake, "BTC", D2, BAR).labels.unlink()
    with pytest.raises(TrainingDataError, match=r"BTC 2026-01-02: no labels table"):
        load_training_set(lake, "BTC", D3, SPEC, TrainingWindow(days=2), BAR)


def test_a_day_with_too_few_live_labelled_bars_is_not_usable(tmp_path):
    write_day(tmp_path, D1, 0)
    write_day(tmp_path, D2, 1, unknown_book_share=0.7)
    with pytest.raises(TrainingDataError, match=r"has 1 usable day\(s\), 2 required; BTC 2026-01-02: only 2\d\.\d% of "
                                                r"bars have a live book and a 5m label \(needs 50%\)"):
        load_training_set(tmp_path, "BTC", D3, SPEC, TrainingWindow(days=2), BAR)


def test_day_d_without_features_fails_naming_coin_and_day(lake):
    partition_files(lake, "BTC", D4, BAR).features.unlink()
    with pytest.raises(TrainingDataError, match=r"model logreg for BTC 2026-01-04: cannot evaluate the day: "
                                                r"BTC 2026-01-04: no features table"):
        load_evaluation_day(lake, "BTC", D4, SPEC, BAR)


def test_declared_feature_absent_from_the_table_fails(lake):
    spec = ModelSpec("logreg", "logreg", Target(horizon="5m"), features=("f_signal", "f_missing"))
    with pytest.raises(TrainingDataError, match=r"BTC 2026-01-01: the features table at .* lacks columns \['f_missing'\]"):
        load_training_set(lake, "BTC", D3, spec, TrainingWindow(days=2), BAR)


def test_target_classes_three_class_binary_and_own_threshold(lake):
    evaluation = load_evaluation_day(lake, "BTC", D1, SPEC, BAR)
    labels = pl.read_parquet(partition_files(lake, "BTC", D1, BAR).labels)
    direction = labels["label_dir_5m"]
    assert (evaluation.target_class.drop_nulls() == (direction.drop_nulls() + 1).cast(pl.Int8)).all()
    binary = load_evaluation_day(lake, "BTC", D1, ModelSpec("logreg", "logreg", Target("5m", "binary"), features=FEATURES), BAR)
    expected = direction.replace_strict({-1: 0, 0: None, 1: 1}, return_dtype=pl.Int8)
    assert binary.target_class.to_list() == expected.to_list()
    wide = load_evaluation_day(lake, "BTC", D1, ModelSpec("logreg", "logreg", Target("5m", threshold_bps=20.0),
                                                          features=FEATURES), BAR)
    ret = labels["label_ret_bps_5m"]
    flat = ((ret.abs() <= 20) & ret.is_not_null()).sum()
    assert int((wide.target_class == 1).sum()) == flat > int((evaluation.target_class == 1).sum())


def test_unknown_book_bars_are_never_targets(tmp_path):
    write_day(tmp_path, D1, 0, unknown_book_share=0.3)
    evaluation = load_evaluation_day(tmp_path, "BTC", D1, SPEC, BAR)
    features = pl.read_parquet(partition_files(tmp_path, "BTC", D1, BAR).features)
    unknown = (features["book_age_s"] > 300).to_numpy()
    assert unknown.sum() > 300
    assert evaluation.target_class.filter(pl.Series(unknown)).null_count() == int(unknown.sum())
    assert not evaluation.book_known.to_numpy()[unknown].any()


def test_inputs_carry_the_digest_of_the_exact_bytes(lake):
    training = load_training_set(lake, "BTC", D3, SPEC, TrainingWindow(days=2), BAR)
    assert [(i.table, i.day) for i in training.inputs] == [("features", D1), ("labels", D1), ("features", D2), ("labels", D2)]
    for item in training.inputs:
        assert item.sha256 == hashlib.sha256(item.path.read_bytes()).hexdigest()
        assert item.digest == item.sha256[:32] and len(item.digest) <= 36
        assert item.rows == 1440


def test_spec_and_window_refuse_bad_settings():
    with pytest.raises(ValueError, match="unknown logreg hyperparameters"):
        ModelSpec("logreg", "logreg", hyperparameters={"max_depth": 3})
    with pytest.raises(ValueError, match="cannot be features"):
        ModelSpec("logreg", "logreg", features=("book_imbalance_1", "label_dir_1m"))
    with pytest.raises(ValueError, match="stride"):
        TrainingWindow(stride=0)
    with pytest.raises(ValueError, match="min_days"):
        TrainingWindow(days=2, min_days=3)
    with pytest.raises(ValueError, match="target kind"):
        Target(kind="ternary")
