"""Book features: hand-computed values on tiny books, bounds on random books, no look-ahead, the real BTC hour."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from hyperliquid_assets.features.bars import BarGrid
from hyperliquid_assets.features.book_features import (
    BOOK_FEATURE_COLUMNS,
    BookFeatureConfig,
    book_feature_table,
    book_features,
    snapshot_features,
)
from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
SAME = {"check_exact": False, "rel_tol": 1e-12, "abs_tol": 1e-12}
SMALL = BookFeatureConfig(depth_bps=(50, 150), return_lags=("1s", "2s"), vol_windows=("2s",))

Level = tuple[float, float]


def make_book(rows: list[tuple[float, list[Level], list[Level]]]) -> pl.DataFrame:
    """(seconds after T0, bids best first, asks best first) -> a clean book table."""
    received = [T0 + timedelta(seconds=s) for s, _, _ in rows]
    return pl.DataFrame(
        {
            "received_time": received,
            "exchange_time": received,
            "ver_num": list(range(len(rows))),
            "bid_px": [[p for p, _ in bids] for _, bids, _ in rows],
            "bid_sz": [[q for _, q in bids] for _, bids, _ in rows],
            "bid_n": [[1] * len(bids) for _, bids, _ in rows],
            "ask_px": [[p for p, _ in asks] for _, _, asks in rows],
            "ask_sz": [[q for _, q in asks] for _, _, asks in rows],
            "ask_n": [[1] * len(asks) for _, _, asks in rows],
        },
        schema=L2_BOOK_SCHEMA,
    )


def grid(seconds: int, every: str = "1s") -> BarGrid:
    return BarGrid(T0, T0 + timedelta(seconds=seconds), timedelta(seconds=1) if every == "1s" else timedelta(minutes=1))


def row_at(table: pl.DataFrame, seconds: float) -> dict:
    return table.filter(pl.col("bar_time") == T0 + timedelta(seconds=seconds)).row(0, named=True)


THREE_BY_TWO = ([(100.0, 1.0), (99.0, 2.0), (98.0, 3.0)], [(101.0, 3.0), (102.0, 1.0)])


def test_default_columns_are_the_config_columns_and_prefixed():
    assert BOOK_FEATURE_COLUMNS[0] == "bar_time"
    assert all(c.startswith("book_") for c in BOOK_FEATURE_COLUMNS[1:])
    for k in (1, 5, 10):
        assert f"book_imbalance_{k}" in BOOK_FEATURE_COLUMNS


def test_every_level_feature_by_hand_on_a_three_by_two_book():
    table = book_features(make_book([(0.5, *THREE_BY_TWO)]), grid(2), BookFeatureConfig(depth_bps=(50, 150)))
    row = row_at(table, 1)
    assert row["book_best_bid"] == 100.0 and row["book_best_ask"] == 101.0
    assert row["book_mid"] == 100.5  # (100 + 101) / 2
    assert row["book_spread_bps"] == pytest.approx(99.50248756218906)  # 1e4 * 1 / 100.5
    assert row["book_imbalance_1"] == pytest.approx(-0.5)  # (1 - 3) / (1 + 3)
    assert row["book_imbalance_5"] == pytest.approx(0.2)  # all levels: (6 - 4) / (6 + 4)
    assert row["book_imbalance_10"] == pytest.approx(0.2)
    assert row["book_microprice"] == pytest.approx(100.25)  # (100 * 3 + 101 * 1) / (1 + 3)
    assert row["book_microprice_offset_bps"] == pytest.approx(-24.875621890547265)  # 1e4 * (100.25 - 100.5) / 100.5
    # vwap_b = (100 + 198 + 294) / 6, vwap_a = (303 + 102) / 4; wmid = (vwap_b * 4 + vwap_a * 6) / 10
    assert row["book_wmid_5"] == pytest.approx(100.21666666666667)
    # level distances: bids 49.75, 149.25, 248.76 bps; asks 49.75, 149.25 bps
    assert row["book_bid_depth_50bps"] == pytest.approx(100.0)  # 100 * 1
    assert row["book_ask_depth_50bps"] == pytest.approx(303.0)  # 101 * 3
    assert row["book_bid_depth_150bps"] == pytest.approx(298.0)  # 100 + 99 * 2
    assert row["book_ask_depth_150bps"] == pytest.approx(405.0)  # 303 + 102
    # slope over <= 10 levels = notional / distance of the deepest: 592 / 248.756 and 405 / 149.254
    assert row["book_bid_slope_10"] == pytest.approx(2.37984)
    assert row["book_ask_slope_10"] == pytest.approx(2.7135)
    assert row["book_stale"] is False and row["book_snapshots"] == 1
    assert row["book_age_s"] == pytest.approx(0.5)  # bar end 1.0 - received 0.5
    assert row["book_ofi"] == 0.0  # the first snapshot has no predecessor


def test_one_sided_and_empty_books_give_nulls_not_nans():
    book = make_book([
        (0.5, [(100.0, 2.0)], []),  # asks gone
        (1.5, [], []),  # both sides gone
        (2.5, [], [(101.0, 4.0), (102.0, 1.0)]),  # bids gone
    ])
    table = book_features(book, grid(3), SMALL)
    bid_only, empty, ask_only = (row_at(table, s) for s in (1, 2, 3))
    assert bid_only["book_best_bid"] == 100.0 and bid_only["book_best_ask"] is None
    assert bid_only["book_imbalance_1"] == 1.0  # (2 - 0) / (2 + 0)
    assert ask_only["book_imbalance_5"] == -1.0  # (0 - 5) / (0 + 5)
    assert empty["book_imbalance_1"] is None  # 0 / 0
    for row in (bid_only, empty, ask_only):
        for name in ("book_mid", "book_spread_bps", "book_microprice", "book_microprice_offset_bps", "book_wmid_5",
                     "book_bid_depth_50bps", "book_ask_depth_150bps", "book_bid_slope_10", "book_ask_slope_10"):
            assert row[name] is None, name
    # OFI with an empty side as price -inf / +inf and size 0:
    # 0.5 -> 1.5: bid 100x2 -> empty: -2; ask empty -> empty: 0             => -2
    # 1.5 -> 2.5: bid empty -> empty: 0; ask +inf -> 101 (lower): -4        => -4
    assert (bid_only["book_ofi"], empty["book_ofi"], ask_only["book_ofi"]) == (0.0, -2.0, -4.0)
    assert not any(
        table.select(pl.col(pl.Float64).is_nan().any() | pl.col(pl.Float64).is_infinite().any()).row(0)
    )


# The OFI / staleness / returns sequence (seconds, best bid px x sz, best ask px x sz):
#   s0 2.2  100 x 1 | 101 x 1
#   s1 2.7  100 x 3 | 101 x 1      e = +3 - 1 (bid same)  + (-1 + 1) (ask same)         = +2
#   s2 3.5  100.5x1 | 101 x 2      e = +1 (bid up)        + (-2 + 1) (ask same)         =  0
#   s3 3.6  100 x 4 | 100.8 x 1    e = -1 (bid down)      - 1 (ask down)                = -2
#   s4 7.3  (none)  | 101 x 1      e = -4 (bid gone)      + 1 (ask up: +previous size)  = -3
OFI_BOOK = [
    (2.2, [(100.0, 1.0)], [(101.0, 1.0)]),
    (2.7, [(100.0, 3.0)], [(101.0, 1.0)]),
    (3.5, [(100.5, 1.0)], [(101.0, 2.0)]),
    (3.6, [(100.0, 4.0)], [(100.8, 1.0)]),
    (7.3, [], [(101.0, 1.0)]),
]


def test_ofi_staleness_age_returns_and_vol_by_hand():
    table = book_features(make_book(OFI_BOOK), grid(10), SMALL)
    column = lambda name: table[name].to_list()  # noqa: E731
    # bars end at 1..10 s; bar t holds snapshots received in [t-1, t)
    assert column("book_snapshots") == [0, 0, 2, 2, 0, 0, 0, 1, 0, 0]
    assert column("book_stale") == [True, True, False, False, True, True, True, False, True, True]
    assert column("book_ofi") == [None, None, 2.0, -2.0, 0.0, 0.0, 0.0, -3.0, 0.0, 0.0]
    # mids: s1 (100 + 101) / 2 = 100.5; s3 (100 + 100.8) / 2 = 100.4 carried through the stale bars; s4 one-sided
    assert column("book_mid") == pytest.approx([None, None, 100.5, 100.4, 100.4, 100.4, 100.4, None, None, None])
    # age = bar end - receive time of the book in force: 3 - 2.7, 4 - 3.6, 5 - 3.6, ...
    assert column("book_age_s") == pytest.approx([None, None, 0.3, 0.4, 1.4, 2.4, 3.4, 0.7, 1.7, 2.7])
    drop = -9.955202415015938  # 1e4 * ln(100.4 / 100.5)
    assert column("book_ret_bps_1s") == pytest.approx([None, None, None, drop, 0.0, 0.0, 0.0, None, None, None])
    assert column("book_ret_bps_2s") == pytest.approx([None, None, None, None, drop, 0.0, 0.0, None, None, None])
    # rv over 2 bars = 1e4 * sqrt(r_{t-1}^2 + r_t^2): null until two returns exist
    assert column("book_rv_bps_2s") == pytest.approx([None, None, None, None, -drop, 0.0, 0.0, None, None, None])
    assert column("book_imbalance_1")[7] == -1.0  # s4: (0 - 1) / (0 + 1)


def test_duplicate_receive_times_take_the_later_snapshot_in_archive_order_even_when_unsorted():
    ordered = make_book([
        (0.2, [(100.0, 1.0)], [(101.0, 1.0)]),
        (1.5, [(100.0, 1.0)], [(101.0, 1.0)]),  # same receive time as the next: archive order decides
        (1.5, [(100.0, 5.0)], [(101.0, 1.0)]),
        (2.8, [(100.0, 2.0)], [(101.0, 1.0)]),
    ])
    table = book_features(ordered, grid(3), SMALL)
    row = row_at(table, 2)
    assert row["book_imbalance_1"] == pytest.approx(4 / 6)  # (5 - 1) / (5 + 1): the second of the pair
    assert row["book_ofi"] == 4.0  # 0.2 -> 1.5a: 1 - 1 = 0; 1.5a -> 1.5b: 5 - 1 = 4
    assert row["book_snapshots"] == 2
    shuffled = ordered[[3, 1, 0, 2]]  # receive times out of order, the tie keeps its archive order
    assert_frame_equal(book_features(shuffled, grid(3), SMALL), table)


def test_a_gap_of_several_minutes_carries_the_book_flagged_stale_at_1s_and_1min_bars():
    book = make_book([
        (0.5, [(100.0, 1.0)], [(102.0, 1.0)]),
        (7 * 60 + 0.5, [(110.0, 1.0)], [(112.0, 1.0)]),
    ])
    seconds = book_features(book, grid(600), BookFeatureConfig(return_lags=("1s",), vol_windows=("2s",)))
    assert seconds.height == 600
    assert seconds["book_stale"].sum() == 598  # only bars 1 s and 421 s had a snapshot
    assert row_at(seconds, 300)["book_mid"] == 101.0 and row_at(seconds, 300)["book_age_s"] == pytest.approx(299.5)
    assert row_at(seconds, 421)["book_mid"] == 111.0 and row_at(seconds, 421)["book_stale"] is False
    # The mid carried over the gap is not a price: no return is computed across it, and no volatility of 0
    # is reported inside it. Within max_book_age (1 min) the carried book still counts.
    assert row_at(seconds, 421)["book_ret_bps_1s"] is None  # the 420 s book was 419.5 s old
    assert row_at(seconds, 60)["book_ret_bps_1s"] == 0.0 and row_at(seconds, 60)["book_age_s"] == pytest.approx(59.5)
    assert row_at(seconds, 61)["book_ret_bps_1s"] is None  # age 60.5 s > 1 min
    assert row_at(seconds, 300)["book_rv_bps_2s"] is None and row_at(seconds, 30)["book_rv_bps_2s"] == 0.0
    live = book_features(book, grid(600), BookFeatureConfig(return_lags=("1s",), vol_windows=("2s",), max_book_age="10m"))
    assert row_at(live, 421)["book_ret_bps_1s"] == pytest.approx(944.0968447107423)  # 1e4 * ln(111 / 101)

    minutes_config = BookFeatureConfig(return_lags=("1m",), vol_windows=("2m",))
    minutes = book_features(book, grid(600, "1m"), minutes_config)
    assert minutes["bar_time"].to_list() == [T0 + timedelta(minutes=m) for m in range(1, 11)]
    assert minutes["book_stale"].to_list() == [False, True, True, True, True, True, True, False, True, True]
    assert minutes["book_mid"].to_list() == [101.0] * 7 + [111.0] * 3
    assert minutes["book_age_s"][6] == pytest.approx(419.5)  # bar end 7 min - received 0.5 s


def test_quality_figures():
    _, quality = book_feature_table(make_book(OFI_BOOK), grid(10), SMALL)
    assert quality.rows == 10
    assert quality.coverage["fresh_snapshot"] == pytest.approx(0.3)  # bars 3, 4 and 8
    assert quality.counts["bars_before_first_snapshot"] == 2
    assert quality.null_share["book_mid"] == pytest.approx(0.5)  # bars 1, 2, 8, 9, 10
    assert quality.as_metadata()["rows"] == 10


@st.composite
def random_books(draw) -> pl.DataFrame:
    rows = []
    for i in range(draw(st.integers(1, 12))):
        best_bid = draw(st.floats(1e-3, 1e6))
        best_ask = best_bid * (1 + draw(st.floats(1e-6, 0.05)))
        sizes = st.floats(1e-8, 1e6)
        gaps = st.lists(st.floats(1e-6, 0.01), max_size=19)
        bids = [] if draw(st.booleans()) and draw(st.booleans()) else [best_bid]
        asks = [] if draw(st.booleans()) and draw(st.booleans()) else [best_ask]
        for gap in draw(gaps) if bids else []:
            bids.append(bids[-1] * (1 - gap))
        for gap in draw(gaps) if asks else []:
            asks.append(asks[-1] * (1 + gap))
        rows.append((i * 0.3, [(p, draw(sizes)) for p in bids], [(p, draw(sizes)) for p in asks]))
    return make_book(rows)


@settings(max_examples=150, deadline=None)
@given(random_books())
def test_bounds_hold_on_random_books(book):
    features = snapshot_features(book, BookFeatureConfig()).collect().join(
        book.select("received_time", bid=pl.col("bid_px").list.first(), ask=pl.col("ask_px").list.first()),
        on="received_time",
    )
    for k in (1, 5, 10):
        values = features[f"book_imbalance_{k}"].drop_nulls()
        assert ((values >= -1) & (values <= 1)).all()
    both = features.filter(pl.col("bid").is_not_null() & pl.col("ask").is_not_null())
    assert both["book_mid"].null_count() == 0
    assert (both["book_spread_bps"] >= 0).all()
    assert ((both["book_microprice"] >= both["bid"]) & (both["book_microprice"] <= both["ask"])).all()
    for x in (5, 10, 25):
        assert (both[f"book_bid_depth_{x}bps"] >= 0).all()
    assert (both["book_bid_depth_5bps"] <= both["book_bid_depth_25bps"]).all()
    assert not any(features.select(pl.col(pl.Float64).is_nan().any()).row(0))


def random_day_book(seed: int, seconds: int = 600, min_levels: int = 0) -> pl.DataFrame:
    """~2 snapshots a second with duplicate times, a one-minute gap, and thin (or, by default, empty) sides."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0, seconds, 2 * seconds)).round(3)  # rounding makes duplicate times
    times = times[(times < 200) | (times > 260)]  # a one-minute gap
    rows, mid = [], 1000.0
    for t in times:
        mid = round(mid + rng.normal(0, 0.5), 1)
        bids = [(mid - 0.5 - i, float(rng.exponential(2) + 0.01)) for i in range(rng.integers(min_levels, 12))]
        asks = [(mid + 0.5 + i, float(rng.exponential(2) + 0.01)) for i in range(rng.integers(min_levels, 12))]
        rows.append((float(t), bids, asks))
    return make_book(rows)


def on_bar_boundaries(frame: pl.DataFrame, time_column: str, seconds: tuple[int, ...]) -> pl.DataFrame:
    """`frame` with a copy of a row moved to exactly each of these bar boundaries, kept in time order."""
    copies = [frame.slice(i, 1).with_columns(pl.lit(T0 + timedelta(seconds=s)).cast(frame.schema[time_column]).alias(time_column))
              for i, s in enumerate(seconds)]
    return pl.concat([frame, *copies]).sort(time_column, maintain_order=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_no_look_ahead_rows_up_to_a_cut_equal_those_from_input_truncated_at_the_cut(seed):
    book = on_bar_boundaries(random_day_book(seed), "received_time", (230, 300))
    config = BookFeatureConfig(return_lags=("1s", "10s", "1m"), vol_windows=("10s", "1m"))
    full = book_features(book, grid(600), config)
    assert full["book_mid"].null_count() < full.height  # the data is not degenerate
    for cut_s in (0.5, 37.0, 59.999, 123.4567, 230.0, 300.0, 599.0):
        cut = T0 + timedelta(seconds=cut_s)
        # The bar ending at t holds what was received strictly before t: an event at exactly t is the next bar's.
        truncated = book_features(book.filter(pl.col("received_time") < cut), grid(600), config)
        # Same nulls, same values to 1e-12: polars may reassociate a float sum by ~1e-15 with the input length.
        assert_frame_equal(
            truncated.filter(pl.col("bar_time") <= cut), full.filter(pl.col("bar_time") <= cut), **SAME
        )


def test_snapshots_before_the_grid_are_history_and_after_it_are_ignored():
    book = random_day_book(3, seconds=120)
    day = BarGrid(T0 + timedelta(seconds=60), T0 + timedelta(seconds=90), timedelta(seconds=1))
    config = BookFeatureConfig(return_lags=("1s", "10s"), vol_windows=("10s",))
    windowed = book_features(book, day, config)
    whole = book_features(book, grid(120), config)
    assert windowed.height == 30
    assert_frame_equal(windowed, whole.filter(pl.col("bar_time").is_between(day.start, day.end, closed="right")))


def test_real_btc_hour_at_1s_bars_has_no_null_where_data_exists(real_data):
    from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
    from hyperliquid_assets_tests.conftest import REAL_L2_HOUR

    book = parse_l2_book((real_data / REAL_L2_HOUR).read_bytes(), REAL_L2_HOUR, coin="BTC")
    hour = BarGrid(datetime(2024, 1, 1, 12, tzinfo=timezone.utc), datetime(2024, 1, 1, 13, tzinfo=timezone.utc),
                   timedelta(seconds=1))
    table, quality = book_feature_table(book, hour)
    assert table.columns == BOOK_FEATURE_COLUMNS and table.height == 3600
    first = table.filter(~pl.col("book_stale"))["bar_time"].min()
    assert first == datetime(2024, 1, 1, 12, 0, 2, tzinfo=timezone.utc)  # first snapshot received 12:00:01.14
    after = table.filter(pl.col("bar_time") >= first)
    config = BookFeatureConfig()
    warm_up = {f"book_ret_bps_{lag}": hour.bars_in(lag) for lag in config.return_lags}
    warm_up |= {f"book_rv_bps_{w}": hour.bars_in(w) for w in config.vol_windows}
    for name in after.columns:
        data = after[name].slice(warm_up.get(name, 0))
        assert data.null_count() == 0, f"{name} has nulls after the first snapshot"
        if data.dtype == pl.Float64:
            assert data.is_finite().all(), name
    for name, bars in warm_up.items():
        # the windows never reach before the first snapshot (the 1-day window is longer than this hour: all null)
        assert after[name].head(bars).null_count() == min(bars, after.height)
    assert (after["book_spread_bps"] > 0).all()
    micro = after["book_microprice"]
    assert ((micro >= after["book_best_bid"]) & (micro <= after["book_best_ask"])).all()
    assert 0.9 < quality.coverage["fresh_snapshot"] < 1.0  # ~5,587 snapshots, a few gaps of over a second
    assert math.isclose(after["book_ofi"].sum(), table["book_ofi"].drop_nulls().sum())
