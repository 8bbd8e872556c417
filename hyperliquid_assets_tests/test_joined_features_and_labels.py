"""Joined features (as-of join, cross-venue features) and labels (forward returns, direction, day boundary)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hyperliquid_assets.features.bars import BarGrid
from hyperliquid_assets.features.book_features import BookFeatureConfig, book_features
from hyperliquid_assets.features.joined_features import (
    CROSS_VENUE_COLUMNS,
    JOINED_FEATURE_COLUMNS,
    CrossVenueConfig,
    joined_feature_table,
    joined_features,
)
from hyperliquid_assets.features.labels import LABEL_COLUMNS, LabelConfig, label_table, labels
from hyperliquid_assets.features.trade_flow_features import TradeFlowConfig, trade_flow_features
from hyperliquid_assets_tests.test_book_features import on_bar_boundaries, random_day_book
from hyperliquid_assets_tests.test_trade_flow_features import random_trades

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
SAME = {"check_exact": False, "rel_tol": 1e-12, "abs_tol": 1e-12}


def grid(seconds: int, every_s: int = 1, start_s: int = 0) -> BarGrid:
    start = T0 + timedelta(seconds=start_s)
    return BarGrid(start, start + timedelta(seconds=seconds), timedelta(seconds=every_s))


def bars(values: dict[str, list], start_s: int = 0, every_s: int = 1) -> pl.DataFrame:
    """A bar table with bar_time = start + every, start + 2 every, ... and the given columns (a book table gets
    a live book, book_age_s = 0, unless given)."""
    n = len(next(iter(values.values())))
    times = [T0 + timedelta(seconds=start_s + every_s * (i + 1)) for i in range(n)]
    if "book_mid" in values and "book_age_s" not in values:
        values = {**values, "book_age_s": [0.0] * n}
    return pl.DataFrame({"bar_time": times, **values}).with_columns(pl.col("bar_time").cast(pl.Datetime("ns", "UTC")))


MIDS = [100.0, 101.0, 102.0, 101.0, 103.0, 104.0]
BINANCE = [100.5, 101.0, 102.5, 102.0, 103.0, 105.0]
SIGNED = [10.0, -5.0, 0.0, 20.0, -10.0, 5.0]
XV = CrossVenueConfig(lag="1s", horizons=("1s", "2s"), lead_corr_window="3s")


def small_tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    book = bars({"book_mid": MIDS, "book_stale": [False] * 6})
    flow = bars({"flow_last_price": BINANCE, "flow_signed_notional": SIGNED, "flow_trade_count": [1, 1, 0, 1, 1, 1]})
    return book, flow


def test_cross_venue_features_by_hand():
    book, flow = small_tables()
    table = joined_features(book, flow, grid(6), XV)
    assert table.columns == ["bar_time", "book_mid", "book_stale", "book_age_s", "flow_last_price", "flow_signed_notional",
                             "flow_trade_count", *XV.columns()]
    column = lambda name: table[name].to_list()  # noqa: E731
    # Binance inputs are taken one bar back: P(t-1) = [-, 100.5, 101, 102.5, 102, 103]
    # basis = 1e4 ln(P(t-1) / mid_t): 1e4 ln(100.5/101), ln(101/102), ln(102.5/101), ln(102/103), ln(103/104)
    basis = [None, -49.62789342129014, -98.52296443011595, 147.4228173720343, -97.56174945364685, -96.6191091173686]
    assert column("xv_basis_bps") == pytest.approx(basis)
    # lagged Binance return over h: 1e4 ln(P(t-1) / P(t-1-h)); bar 2 would need P(0), before the data
    ret_1s = [None, None, 49.62789342129097, 147.4228173720343, -48.89985294191792, 97.56174945364656]
    assert column("xv_binance_ret_bps_1s") == pytest.approx(ret_1s)
    assert column("xv_binance_ret_bps_2s") == pytest.approx([None, None, None, 197.05071079332336, 98.52296443011639,
                                                             48.66189651172906])
    # lagged signed notional summed over h bars: S(t-1), S(t-2) + S(t-1)
    assert column("xv_binance_signed_notional_1s") == [None, 10.0, -5.0, 0.0, 20.0, -10.0]
    assert column("xv_binance_signed_notional_2s") == [None, None, 5.0, -5.0, 20.0, 10.0]
    # gap = lagged Binance return over h - 1e4 ln(mid_t / mid_{t-h})
    assert column("xv_ret_gap_bps_1s") == pytest.approx([None, None, -48.89507100882542, 245.94578180215024,
                                                         -244.98456682568127, 0.9426403362776483])
    assert column("xv_ret_gap_bps_2s") == pytest.approx([None, None, None, 197.05071079332336, 0.961214976469833,
                                                         -244.04192648940332])
    # corr over 3 bars of (lagged Binance 1-bar return, Hyperliquid 1-bar return), Pearson on bars 3-5 and 4-6
    assert column("xv_lead_corr_3s") == pytest.approx([None, None, None, None, -0.9811054668939451,
                                                       -0.8951002253601966])


def test_default_pipeline_gives_the_declared_joined_columns():
    book, trades, day = random_day_book(7, seconds=120, min_levels=1), random_trades(7, seconds=120), grid(120)
    table, quality = joined_feature_table(book_features(book, day), trade_flow_features(trades, day), day)
    assert table.columns == JOINED_FEATURE_COLUMNS and quality.rows == 120
    prefixes = {c.split("_")[0] for c in JOINED_FEATURE_COLUMNS[1:]}
    assert prefixes == {"book", "flow", "xv"}


def test_flow_rows_join_as_of_backward_never_a_later_row():
    book = bars({"book_mid": [100.0] * 6, "book_stale": [False] * 6})
    flow = bars({"flow_last_price": [1.0, 2.0, 3.0], "flow_signed_notional": [0.0] * 3, "flow_trade_count": [1, 2, 3]},
                every_s=2)  # 2 s flow bars end at 2, 4, 6
    table = joined_features(book, flow, grid(6), XV)
    # book bar 1 has no flow bar ended yet; bar 3 takes the flow bar ending 2, not the one ending 4
    assert table["flow_trade_count"].to_list() == [None, 1, 1, 2, 2, 3]


def test_joined_quality_figures():
    book, flow = small_tables()
    _, quality = joined_feature_table(book.with_columns(book_stale=pl.Series([True, False] * 3)), flow, grid(6), XV)
    assert quality.rows == 6
    assert quality.coverage == {"fresh_snapshot": 0.5, "bars_with_trades": pytest.approx(5 / 6), "book_and_trades": 1.0}
    assert quality.null_share["xv_lead_corr_3s"] == pytest.approx(4 / 6)


def _pipeline(book_input: pl.DataFrame, trades_input: pl.DataFrame, day: BarGrid) -> pl.DataFrame:
    book_config = BookFeatureConfig(return_lags=("1s", "10s"), vol_windows=("10s", "1m"))
    flow_config = TradeFlowConfig(return_lags=("1s", "10s"), imbalance_windows=("10s",), kyle_window="30s",
                                  autocorr_window="30s", vpin_bucket_notional=20_000.0, vpin_buckets=10)
    xv = CrossVenueConfig(lag="1s", horizons=("1s", "10s"), lead_corr_window="30s")
    return joined_features(
        book_features(book_input, day, book_config), trade_flow_features(trades_input, day, flow_config), day, xv
    )


def test_no_look_ahead_in_the_joined_table_and_no_label_in_it():
    book = on_bar_boundaries(random_day_book(5, min_levels=1), "received_time", (250,))
    trades = on_bar_boundaries(random_trades(5), "time", (250,))
    full = _pipeline(book, trades, grid(600))
    assert not any(c.startswith("label_") for c in full.columns)
    assert full["xv_basis_bps"].null_count() < 150 and full["xv_lead_corr_30s"].null_count() < 300
    for cut_s in (0.5, 45.0, 99.999, 250.0, 250.25, 599.0):
        cut = T0 + timedelta(seconds=cut_s)
        # Bars hold what happened strictly before their end time (an event at exactly t is the next bar's).
        truncated = _pipeline(book.filter(pl.col("received_time") < cut), trades.filter(pl.col("time") < cut),
                              grid(600))
        # Same nulls, same values to 1e-12: polars may reassociate a float sum by ~1e-15 with the input length.
        assert_frame_equal(truncated.filter(pl.col("bar_time") <= cut), full.filter(pl.col("bar_time") <= cut), **SAME)


# Labels -------------------------------------------------------------------------------------------------------
LABEL_MIDS = [100.0, 101.0, None, 101.0, 102.0, 100.0]  # bar 3's book is one-sided
FIXED = LabelConfig(horizons=("1s", "2s"), threshold_bps=50.0)


def test_default_label_columns_are_prefixed():
    assert LABEL_COLUMNS[0] == "bar_time" and all(c.startswith("label_") for c in LABEL_COLUMNS[1:])
    assert not set(LABEL_COLUMNS[1:]) & set(CROSS_VENUE_COLUMNS)


def test_forward_returns_and_direction_by_hand_without_the_next_day():
    table, quality = label_table(bars({"book_mid": LABEL_MIDS}), grid(6), None, FIXED)
    assert table.columns == ["bar_time", "label_ret_bps_1s", "label_ret_bps_2s", "label_dir_1s", "label_dir_2s"]
    # y_1s = 1e4 ln(mid_{t+1} / mid_t): ln(101/100), -, -, ln(102/101), ln(100/102), (bar 7 is tomorrow)
    assert table["label_ret_bps_1s"].to_list() == pytest.approx(
        [99.50330853168091, None, None, 98.52296443011639, -198.02627296179753, None])
    assert table["label_dir_1s"].to_list() == [1, None, None, 1, -1, None]  # |y| > 50 bps -> sign(y)
    # y_2s: ln(mid_3 / mid_1) (one-sided, null), ln(101/101), -, ln(100/101), then tomorrow
    assert table["label_ret_bps_2s"].to_list() == pytest.approx([None, 0.0, None, -99.50330853168091, None, None])
    assert table["label_dir_2s"].to_list() == [None, 0, None, -1, None, None]
    assert table["label_dir_1s"].dtype == pl.Int8
    assert quality.counts == {"unlabelled_no_future_1s": 1, "unlabelled_no_future_2s": 2, "next_day_supplied": 0}
    assert quality.rows == 6


def test_the_next_day_labels_the_last_bars_and_nothing_else_changes():
    day = bars({"book_mid": LABEL_MIDS})
    next_day = bars({"book_mid": [102.0, 99.0, 500.0]}, start_s=6)  # only its first 2 bars are within reach
    table, quality = label_table(day, grid(6), next_day, FIXED)
    # bar 6: 1e4 ln(102 / 100) -> 1; bar 5 over 2 s: ln(102 / 102) = 0; bar 6 over 2 s: ln(99 / 100) -> -1
    assert table["label_ret_bps_1s"][5] == pytest.approx(198.0262729617973)
    assert table["label_ret_bps_2s"].to_list()[4:] == pytest.approx([0.0, -100.5033585350145])
    assert table["label_dir_1s"][5] == 1 and table["label_dir_2s"].to_list()[4:] == [0, -1]
    assert quality.counts == {"unlabelled_no_future_1s": 0, "unlabelled_no_future_2s": 0, "next_day_supplied": 1}
    without = labels(day, grid(6), None, FIXED)
    assert_frame_equal(table.head(4), without.head(4))


def test_direction_threshold_in_units_of_recent_volatility():
    mids = [100.0, 101.0, 101.0, 102.0, 101.0, 101.5]
    config = LabelConfig(horizons=("1s",), threshold_bps=None, vol_multiple=1.0, vol_window="2s")
    table = labels(bars({"book_mid": mids}), grid(6), bars({"book_mid": [90.0]}, start_s=6), config)
    # 1-bar returns r = [-, 99.50, 0, 98.52, -98.52, 49.38] bps; threshold_t = 1 * sqrt(r_{t-1}^2 + r_t^2) / sqrt(2)
    #   = [-, -, 70.36, 69.67, 98.52, 77.93]; forward 1 s returns = [99.50, 0, 98.52, -98.52, 49.38, -1202.1]
    assert table["label_dir_1s"].to_list() == [None, None, 1, -1, 0, -1]
    assert table["label_ret_bps_1s"][1] == 0.0  # the return exists; only its threshold (needs r_1) does not


def test_label_config_needs_exactly_one_threshold():
    with pytest.raises(ValueError, match="exactly one"):
        LabelConfig(threshold_bps=None, vol_multiple=None)
    with pytest.raises(ValueError, match="exactly one"):
        LabelConfig(threshold_bps=1.0, vol_multiple=2.0)


def test_labels_are_forward_looking_so_they_change_when_the_future_does():
    book = random_day_book(6, seconds=120)
    day = grid(60)
    features = book_features(book, grid(120), BookFeatureConfig(return_lags=("1s",), vol_windows=("10s",)))
    cut = T0 + timedelta(seconds=40)
    truncated = book_features(book.filter(pl.col("received_time") <= cut), grid(120),
                              BookFeatureConfig(return_lags=("1s",), vol_windows=("10s",)))
    config = LabelConfig(horizons=("10s",), threshold_bps=1.0)
    full_labels = labels(features.filter(pl.col("bar_time") <= day.end), day, None, config)
    cut_labels = labels(truncated.filter(pl.col("bar_time") <= day.end), day, None, config)
    before = lambda t: t.filter(pl.col("bar_time") <= cut - timedelta(seconds=11))  # noqa: E731
    assert_frame_equal(before(full_labels), before(cut_labels))  # their horizon ends before the cut
    near = lambda t: t.filter(pl.col("bar_time").is_between(cut - timedelta(seconds=9), cut))  # noqa: E731
    assert not near(full_labels).equals(near(cut_labels))  # these look past the cut, which is why they live apart


def test_no_label_across_a_stale_book():
    # Bars 3-5 carry a book 90-150 s old (a gap in the archive): labels that start or end there are null, not 0.
    ages = [0.0, 0.0, 90.0, 120.0, 150.0, 0.0]
    table = labels(bars({"book_mid": [100.0, 100.0, 100.0, 100.0, 100.0, 101.0], "book_age_s": ages}), grid(6),
                   None, LabelConfig(horizons=("1s",), threshold_bps=1.0))
    assert table["label_ret_bps_1s"].to_list()[:5] == [0.0, None, None, None, None]
    assert table["label_dir_1s"].to_list()[:5] == [0, None, None, None, None]
