"""The execution engine on hand-made books: the walk across levels, latency, fees, refusals."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import polars as pl
import pytest

from hyperliquid_assets.backtesting.book import BookDay, BookInputError
from hyperliquid_assets.backtesting.execution import (
    BEYOND_BOOK, CROSSED, FILLED, STALE, ExecutionConfig, fill_market_orders, impact_curve, order_status_one, walk_book,
)
from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA

DAY = date(2026, 1, 5)
T0 = int(datetime(2026, 1, 5, tzinfo=timezone.utc).timestamp()) * 1_000_000_000
SECOND = 1_000_000_000


def book_frame(snapshots: list[tuple[float, list[tuple[float, float]], list[tuple[float, float]]]]) -> pl.DataFrame:
    """(seconds after midnight received, bids [(px, sz)] best first, asks [(px, sz)] best first) per snapshot."""
    received = [T0 + round(s * SECOND) for s, _, _ in snapshots]
    return pl.DataFrame(
        {
            "received_time": pl.Series(received).cast(pl.Datetime("ns", "UTC")),
            "exchange_time": pl.Series([r // 1_000_000 - 300 for r in received]).cast(pl.Datetime("ms", "UTC")),
            "ver_num": [1] * len(snapshots),
            "bid_px": [[p for p, _ in bids] for _, bids, _ in snapshots],
            "bid_sz": [[q for _, q in bids] for _, bids, _ in snapshots],
            "bid_n": [[1] * len(bids) for _, bids, _ in snapshots],
            "ask_px": [[p for p, _ in asks] for _, _, asks in snapshots],
            "ask_sz": [[q for _, q in asks] for _, _, asks in snapshots],
            "ask_n": [[1] * len(asks) for _, _, asks in snapshots],
        },
        schema=L2_BOOK_SCHEMA,
    )


def fill(book: BookDay, at_s: float, side: int, qty: float, **config):
    fills = fill_market_orders(book, np.array([T0 + round(at_s * SECOND)]), np.array([side]), np.array([qty]),
                               ExecutionConfig(**config))
    return {k: getattr(fills, k)[0] for k in ("status", "snapshot", "known_ns", "price", "mid", "levels", "fee")}


LADDER = book_frame([(10.0, [(99.0, 1.0), (98.0, 2.0), (96.0, 5.0)], [(100.0, 1.0), (101.0, 2.0), (103.0, 5.0)])])


def test_a_buy_walks_the_asks_at_the_volume_weighted_price():
    book = BookDay.from_frame(LADDER)
    small = fill(book, 9.0, +1, 0.4)
    assert (small["status"], small["price"], small["levels"]) == (FILLED, 100.0, 1)
    across = fill(book, 9.0, +1, 2.5)
    assert across["status"] == FILLED and across["levels"] == 2
    assert across["price"] == pytest.approx((100.0 * 1.0 + 101.0 * 1.5) / 2.5, rel=1e-15)
    deep = fill(book, 9.0, +1, 6.0)
    assert deep["levels"] == 3 and deep["price"] == pytest.approx((100 + 101 * 2 + 103 * 3) / 6.0, rel=1e-15)
    # Size beyond the top level pays more per unit.
    assert small["price"] < across["price"] < deep["price"]
    assert across["mid"] == 99.5


def test_a_sell_hits_the_bids_level_by_level():
    book = BookDay.from_frame(LADDER)
    sold = fill(book, 9.0, -1, 3.5)
    assert sold["status"] == FILLED and sold["levels"] == 3
    assert sold["price"] == pytest.approx((99.0 * 1.0 + 98.0 * 2.0 + 96.0 * 0.5) / 3.5, rel=1e-15)


def test_taker_fee_is_exact_in_bps_of_the_filled_notional():
    book = BookDay.from_frame(LADDER)
    default = fill(book, 9.0, +1, 2.5)
    vwap = (100.0 + 101.0 * 1.5) / 2.5
    assert default["fee"] == pytest.approx(2.5 * vwap * 4.5 / 1e4, rel=1e-15)
    assert ExecutionConfig().taker_fee_bps == 4.5 and ExecutionConfig().maker_fee_bps == 1.5
    tier = fill(book, 9.0, -1, 1.0, taker_fee_bps=2.4)
    assert tier["fee"] == pytest.approx(99.0 * 2.4 / 1e4, rel=1e-15)
    assert fill(book, 9.0, -1, 1.0, taker_fee_bps=0.0)["fee"] == 0.0


def test_latency_picks_the_first_snapshot_received_at_or_after_decision_plus_latency():
    book = BookDay.from_frame(book_frame([
        (1.0, [(99.0, 5.0)], [(100.0, 5.0)]),
        (2.0, [(199.0, 5.0)], [(200.0, 5.0)]),
        (2.5, [(299.0, 5.0)], [(300.0, 5.0)]),
    ]))
    assert fill(book, 0.5, +1, 1.0, latency="0s")["price"] == 100.0  # the snapshot at 1.0 s is the first after
    assert fill(book, 1.0, +1, 1.0, latency="0s")["price"] == 100.0  # received exactly at the order: it counts
    assert fill(book, 1.9, +1, 1.0, latency="100ms")["price"] == 200.0  # arrival 2.0 s, exactly on a snapshot
    assert fill(book, 1.9, +1, 1.0, latency="101ms")["price"] == 300.0  # arrival just after it: the next one
    assert fill(book, 1.2, +1, 1.0, latency="1s")["price"] == 300.0
    late = fill(book, 1.2, +1, 1.0, latency="1s")
    assert late["snapshot"] == 2 and late["known_ns"] == T0 + round(2.5 * SECOND)
    # The default latency is 200 ms: a decision at 0.85 s arrives at 1.05 s and misses the 1.0 s snapshot.
    assert fill(book, 0.85, +1, 1.0)["price"] == 200.0


def test_nothing_fills_on_a_crossed_or_locked_book():
    book = BookDay.from_frame(book_frame([
        (1.0, [(101.0, 5.0)], [(100.0, 5.0)]),  # crossed
        (2.0, [(100.0, 5.0)], [(100.0, 5.0)]),  # locked
        (3.0, [(99.0, 5.0)], [(100.0, 5.0)]),
    ]))
    for at in (0.5, 1.5):
        for side in (+1, -1):
            outcome = fill(book, at, side, 1.0, latency="0s")
            assert outcome["status"] == CROSSED and np.isnan(outcome["price"]) and outcome["fee"] == 0.0
    assert fill(book, 2.5, +1, 1.0, latency="0s")["status"] == FILLED


def test_nothing_fills_on_a_stale_book():
    book = BookDay.from_frame(book_frame([
        (1.0, [(99.0, 5.0)], [(100.0, 5.0)]),
        (20.0, [(99.0, 5.0)], [(100.0, 5.0)]),
    ]))
    # The next snapshot after the order comes 9 s later: more than the 5 s default, so we do not know the book.
    stale = fill(book, 11.0, +1, 1.0, latency="0s")
    assert stale["status"] == STALE and stale["snapshot"] == -1 and np.isnan(stale["price"])
    assert stale["known_ns"] == T0 + 16 * SECOND  # the refusal is known when the wait runs out
    assert fill(book, 15.0, +1, 1.0, latency="0s")["status"] == FILLED  # exactly 5 s before it: in reach
    assert fill(book, 11.0, +1, 1.0, latency="0s", max_book_age="10s")["status"] == FILLED
    # After the last snapshot there is no book at all.
    assert fill(book, 21.0, -1, 1.0)["status"] == STALE


def test_an_order_beyond_the_visible_book_is_refused_not_partly_filled():
    book = BookDay.from_frame(LADDER)
    exactly = fill(book, 9.0, +1, 8.0)  # all three ask levels: 1 + 2 + 5
    assert exactly["status"] == FILLED and exactly["levels"] == 3
    assert exactly["price"] == pytest.approx((100 + 202 + 515) / 8.0, rel=1e-15)
    beyond = fill(book, 9.0, +1, 8.0001)
    assert beyond["status"] == BEYOND_BOOK and np.isnan(beyond["price"]) and beyond["fee"] == 0.0
    assert fill(book, 9.0, -1, 9.0)["status"] == BEYOND_BOOK


def test_a_thin_or_empty_side_has_only_the_depth_it_shows():
    book = BookDay.from_frame(book_frame([(1.0, [(99.0, 1.0)], []), (2.0, [(99.0, 1.0)], [(100.0, 1.0), (102.0, 1.0)])]))
    assert book.max_levels == 2
    assert fill(book, 0.5, +1, 0.1, latency="0s")["status"] == BEYOND_BOOK  # no asks at all
    assert np.isnan(book.mid[0])
    two = fill(book, 1.5, +1, 1.5, latency="0s")
    assert two["status"] == FILLED and two["price"] == pytest.approx((100 + 51) / 1.5)


def test_vectorized_fills_agree_with_one_by_one():
    rng = np.random.default_rng(3)
    snapshots = []
    for i in range(50):
        mid = 100 + rng.normal()
        bids = [(round(mid - 0.5 - j, 2), float(rng.integers(1, 5))) for j in range(int(rng.integers(1, 21)))]
        asks = [(round(mid + 0.5 + j, 2), float(rng.integers(1, 5))) for j in range(int(rng.integers(1, 21)))]
        if i % 13 == 0:  # a crossed book now and then
            bids = [(asks[0][0] + 0.5, 1.0), *bids]
        snapshots.append((i * 0.7, bids, asks))
    book = BookDay.from_frame(book_frame(snapshots))
    times = rng.uniform(0, 45, 300)  # some after the last snapshot (at 34.3 s) + 5 s: stale
    sides = rng.choice([-1, 1], 300)
    qty = rng.uniform(0.1, 30, 300)
    config = ExecutionConfig()
    decided = T0 + (times * SECOND).astype(np.int64)
    batch = fill_market_orders(book, decided, sides, qty, config)
    for i in range(300):
        one = fill(book, times[i], int(sides[i]), float(qty[i]))
        assert one["status"] == batch.status[i]
        np.testing.assert_equal(one["price"], batch.price[i])
        # The position rules' scalar check gives the same status and the same time the outcome is known.
        scalar = order_status_one(book, int(decided[i]), int(sides[i]), float(qty[i]), config.latency_ns,
                                  config.max_book_age_ns)
        assert scalar == (batch.status[i], batch.known_ns[i])
    assert set(batch.status.tolist()) == {FILLED, BEYOND_BOOK, STALE, CROSSED}


def test_walk_book_and_impact_curve_rise_with_size():
    prices = np.array([[100.0, 101.0, 102.0, np.nan]])
    sizes = np.array([[1.0, 1.0, 1.0, 0.0]])
    vwap, levels = walk_book(prices, sizes, np.array([2.0]))
    assert vwap[0] == 100.5 and levels[0] == 2
    book = BookDay.from_frame(LADDER)
    curve = impact_curve(book, np.array([10.0, 150.0, 2_000.0]), np.array([0]))
    assert curve["median_bps"][0] < curve["median_bps"][1]
    assert curve["beyond_book_share"].tolist() == [0.0, 0.0, 1.0]


def test_a_malformed_book_is_refused_with_its_name():
    frame = LADDER.with_columns(received_time=pl.col("received_time").cast(pl.Datetime("us", "UTC")))
    with pytest.raises(BookInputError, match="book of BTC 2026-01-05.*received_time"):
        BookDay.from_frame(frame, "book of BTC 2026-01-05")
    two = pl.concat([LADDER, LADDER.with_columns(received_time=pl.col("received_time") - pl.duration(seconds=1, time_unit="ns"))])
    with pytest.raises(BookInputError, match="not in order"):
        BookDay.from_frame(two, "book of BTC 2026-01-05")
    with pytest.raises(BookInputError, match="differ in length"):
        BookDay.from_frame(LADDER.with_columns(bid_sz=pl.lit([1.0], dtype=pl.List(pl.Float64))), "x")
