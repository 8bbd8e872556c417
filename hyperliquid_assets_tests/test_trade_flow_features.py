"""Trade-flow features: hand-computed values on a tiny trade set, VPIN buckets by hand and in [0, 1], no look-ahead."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from hyperliquid_assets.features.bars import BarGrid
from hyperliquid_assets.features.trade_flow_features import (
    TRADE_FLOW_FEATURE_COLUMNS,
    TradeFlowConfig,
    trade_flow_feature_table,
    trade_flow_features,
    vpin_buckets,
)
from hyperliquid_assets.formats.schemas import TRADES_SCHEMA
from hyperliquid_assets_tests.test_book_features import on_bar_boundaries

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
SAME = {"check_exact": False, "rel_tol": 1e-12, "abs_tol": 1e-12}
SMALL = TradeFlowConfig(
    return_lags=("1s", "2s"), imbalance_windows=("2s",), kyle_window="2s", autocorr_window="3s",
    vpin_bucket_notional=200.0, vpin_buckets=2,
)


def make_trades(rows: list[tuple[float, float, float, int]]) -> pl.DataFrame:
    """(seconds after T0, price, qty, side) -> a clean trades table (quote_qty = price * qty)."""
    n = len(rows)
    return pl.DataFrame(
        {
            "time": [T0 + timedelta(seconds=s) for s, *_ in rows],
            "trade_id": list(range(n)), "first_trade_id": list(range(n)), "last_trade_id": list(range(n)),
            "price": [p for _, p, _, _ in rows],
            "qty": [q for _, _, q, _ in rows],
            "quote_qty": [p * q for _, p, q, _ in rows],
            "is_buyer_maker": [side < 0 for *_, side in rows],
            "side": [side for *_, side in rows],
            "is_best_match": [None] * n,
        },
        schema=TRADES_SCHEMA,
    )


def grid(seconds: int) -> BarGrid:
    return BarGrid(T0, T0 + timedelta(seconds=seconds), timedelta(seconds=1))


#   seconds  price qty side   notional
TRADES = [
    (0.1, 100.0, 1.0, +1),  # 100
    (0.5, 102.0, 2.0, -1),  # 204
    (0.9, 101.0, 1.0, +1),  # 101
    (2.0, 103.0, 1.0, +1),  # 103  on a bar boundary: bar ending 3 s
    (2.0, 104.0, 1.0, -1),  # 104  same time: input order decides the close
    (7.5, 100.0, 2.0, -1),  # 200  after a gap of five empty bars
]
R1 = 292.7038230011324  # 1e4 * ln(104 / 101)
R2 = -392.2071315328127  # 1e4 * ln(100 / 104)


def test_default_columns_are_prefixed():
    assert TRADE_FLOW_FEATURE_COLUMNS[0] == "bar_time"
    assert all(c.startswith("flow_") for c in TRADE_FLOW_FEATURE_COLUMNS[1:])


def test_bars_by_hand_including_empty_bars_a_boundary_trade_and_duplicate_times():
    table = trade_flow_features(make_trades(TRADES), grid(10), SMALL)
    column = lambda name: table[name].to_list()  # noqa: E731
    empty = [None] * 4
    assert column("flow_open") == [100.0, None, 103.0, *empty, 100.0, None, None]
    assert column("flow_high") == [102.0, None, 104.0, *empty, 100.0, None, None]
    assert column("flow_low") == [100.0, None, 103.0, *empty, 100.0, None, None]
    assert column("flow_close") == [101.0, None, 104.0, *empty, 100.0, None, None]
    # vwap = sum p q / sum q: (100 + 204 + 101) / 4, (103 + 104) / 2, 200 / 2
    assert column("flow_vwap") == pytest.approx([101.25, None, 103.5, *empty, 100.0, None, None])
    assert column("flow_last_price") == [101.0, 101.0, 104.0, 104.0, 104.0, 104.0, 104.0, 100.0, 100.0, 100.0]
    zeros = [0.0] * 4
    assert column("flow_volume") == [4.0, 0.0, 2.0, *zeros, 2.0, 0.0, 0.0]
    assert column("flow_notional") == [405.0, 0.0, 207.0, *zeros, 200.0, 0.0, 0.0]
    assert column("flow_buy_volume") == [2.0, 0.0, 1.0, *zeros, 0.0, 0.0, 0.0]
    assert column("flow_sell_volume") == [2.0, 0.0, 1.0, *zeros, 2.0, 0.0, 0.0]
    assert column("flow_signed_notional") == [-3.0, 0.0, -1.0, *zeros, -200.0, 0.0, 0.0]  # 100 - 204 + 101; 103 - 104
    assert column("flow_trade_count") == [3, 0, 2, 0, 0, 0, 0, 1, 0, 0]
    assert column("flow_intensity") == [3.0, 0.0, 2.0, *zeros, 1.0, 0.0, 0.0]  # trades per second of a 1 s bar
    assert column("flow_imbalance") == [0.0, None, 0.0, *empty, -1.0, None, None]  # (buy - sell) / (buy + sell)
    # over 2 bars; bar 1's window reaches before the first trade (unknown), bars 5-7 and 10 saw no volume
    assert column("flow_imbalance_2s") == [None, 0.0, 0.0, 0.0, None, None, None, -1.0, -1.0, None]
    assert column("flow_ret_bps_1s") == pytest.approx([None, 0.0, R1, 0.0, 0.0, 0.0, 0.0, R2, 0.0, 0.0])
    assert column("flow_ret_bps_2s") == pytest.approx([None, None, R1, R1, 0.0, 0.0, 0.0, R2, R2, 0.0])


def test_kyle_lambda_and_return_autocorrelation_by_hand():
    table = trade_flow_features(make_trades(TRADES), grid(10), SMALL)
    # lambda over 2 bars = sum r q / sum q^2 with q in millions: bar 3 and 4 see only (R1, -1e-6), bars 8 and 9 only
    # (R2, -2e-4); bars 5-7 and 10 have no flow in the window; bars 1-2 reach back to bar 0, before any trade
    kyle = [None, None, -292703823.00113237, -292703823.00113237, None, None, None,
            1961035.6576640636, 1961035.6576640636, None]
    assert table["flow_kyle_lambda_2s"].to_list() == pytest.approx(kyle)
    # corr(r_{t-1}, r_t) over 3 bars: at bar 5 x = (0, R1, 0), y = (R1, 0, 0): cov = -R1^2/9, var = 2 R1^2/9 -> -0.5;
    # bars 6-8 have a constant side (null); bars 9 and 10 mirror bar 5 with R2
    autocorr = [None, None, None, None, -0.5, None, None, None, -0.5, -0.5]
    assert table["flow_ret_autocorr_3s"].to_list() == pytest.approx(autocorr)


def test_vpin_buckets_by_hand():
    # notional 100, 204, 101, 103, 104, 200 with signs + - + + - -; buckets of 200:
    # signed flow at cumulative 200, 400, 600, 800 (interpolated inside the straddling trade) = 0, -8, 8, -192
    # bucket |buy - sell| / V = 0, 8/200, 16/200, 200/200 -> VPIN over 2 buckets = 0.02, 0.06, 0.54
    trades = make_trades(TRADES)
    completing, vpin = vpin_buckets(trades["quote_qty"].to_numpy(), trades["side"].to_numpy(), 200.0, 2)
    assert completing.tolist() == [2, 4, 5]  # the trades reaching 400, 600 and 800 cumulative notional
    assert vpin.tolist() == pytest.approx([0.02, 0.06, 0.54])
    table = trade_flow_features(trades, grid(10), SMALL)
    assert table["flow_vpin"].to_list() == pytest.approx([0.02, 0.02, 0.06, 0.06, 0.06, 0.06, 0.06, 0.54, 0.54, 0.54])
    # one trade filling several buckets: 350 of buying with V = 100 completes three all-buy buckets at once
    completing, vpin = vpin_buckets(np.array([350.0]), np.array([1]), 100.0, 2)
    assert completing.tolist() == [0, 0] and vpin.tolist() == [1.0, 1.0]
    # fewer than n buckets: nothing known yet
    assert vpin_buckets(np.array([50.0]), np.array([1]), 100.0, 2)[1].size == 0
    with pytest.raises(ValueError, match="bucket should hold many trades"):  # a mistyped bucket, not an OOM
        vpin_buckets(np.array([1e7] * 10), np.array([1] * 10), 1e-3, 50)


@settings(max_examples=200, deadline=None)
@given(
    notional=st.lists(st.floats(1e-6, 1e7), min_size=1, max_size=200),
    sides=st.lists(st.sampled_from([-1, 1]), min_size=200, max_size=200),
    share=st.floats(0.002, 2.0),
    buckets=st.integers(1, 60),
)
def test_vpin_is_within_0_and_1(notional, sides, share, buckets):
    bucket = sum(notional) * share  # from 500 buckets down to none
    completing, vpin = vpin_buckets(np.array(notional), np.array(sides[: len(notional)]), bucket, buckets)
    assert ((vpin >= 0) & (vpin <= 1)).all()
    assert ((completing >= 0) & (completing < len(notional))).all()
    assert (np.diff(completing) >= 0).all()


def test_all_zero_volume_and_no_trades_at_all():
    table = trade_flow_features(make_trades([]), grid(5), SMALL)
    assert table.height == 5 and table.columns == SMALL.columns()
    assert all(table[c].null_count() == 5 for c in table.columns if c != "bar_time")  # nothing known, no 0/0
    one = trade_flow_features(make_trades([(0.5, 100.0, 1.0, 1)]), grid(5), SMALL)
    assert one["flow_volume"].to_list() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert one["flow_vwap"].to_list() == [100.0, None, None, None, None]
    assert not any(one.select(pl.col(pl.Float64).is_nan().any() | pl.col(pl.Float64).is_infinite().any()).row(0))


def test_quality_figures():
    _, quality = trade_flow_feature_table(make_trades(TRADES), grid(10), SMALL)
    assert quality.rows == 10
    assert quality.coverage["bars_with_trades"] == pytest.approx(0.3)  # bars 1, 3 and 8
    assert quality.counts["trades"] == 6
    assert quality.null_share["flow_open"] == pytest.approx(0.7)


def random_trades(seed: int, seconds: int = 600) -> pl.DataFrame:
    """~20 trades a second in bursts, duplicate times, a quiet minute, random sides."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0, seconds, 20 * seconds)).round(3)
    times = times[(times < 100) | (times > 160)]
    price = np.round(1000 * np.exp(np.cumsum(rng.normal(0, 2e-4, times.size))), 2)
    qty = np.round(rng.exponential(0.5, times.size) + 1e-3, 3)
    side = rng.choice([-1, 1], times.size)
    return make_trades(list(zip(times.tolist(), price.tolist(), qty.tolist(), side.tolist())))


@pytest.mark.parametrize("seed", [1, 2])
def test_no_look_ahead_rows_up_to_a_cut_equal_those_from_input_truncated_at_the_cut(seed):
    trades = on_bar_boundaries(random_trades(seed), "time", (123, 300))
    config = TradeFlowConfig(return_lags=("1s", "10s"), imbalance_windows=("10s", "1m"), kyle_window="1m",
                             autocorr_window="30s", vpin_bucket_notional=20_000.0, vpin_buckets=10)
    full = trade_flow_features(trades, grid(600), config)
    assert full["flow_vpin"].null_count() < 100 and full["flow_kyle_lambda_1m"].null_count() < 200
    for cut_s in (0.5, 37.0, 59.999, 123.0, 123.4567, 300.0, 599.0):
        cut = T0 + timedelta(seconds=cut_s)
        # The bar ending at t holds trades strictly before t: a trade at exactly t is the next bar's.
        truncated = trade_flow_features(trades.filter(pl.col("time") < cut), grid(600), config)
        # Same nulls, same values to 1e-12: polars may reassociate a float sum by ~1e-15 with the input length.
        assert_frame_equal(truncated.filter(pl.col("bar_time") <= cut), full.filter(pl.col("bar_time") <= cut), **SAME)


def test_trades_before_the_grid_are_history_and_after_it_are_ignored():
    trades = random_trades(3, seconds=120)
    config = TradeFlowConfig(return_lags=("1s", "10s"), imbalance_windows=("10s",), kyle_window="10s",
                             autocorr_window="10s", vpin_bucket_notional=5_000.0, vpin_buckets=5)
    window = BarGrid(T0 + timedelta(seconds=60), T0 + timedelta(seconds=90), timedelta(seconds=1))
    windowed = trade_flow_features(trades, window, config)
    whole = trade_flow_features(trades, grid(120), config)
    assert windowed.height == 30
    assert_frame_equal(windowed, whole.filter(pl.col("bar_time").is_between(window.start, window.end, closed="right")),
                       **SAME)
