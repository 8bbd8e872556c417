"""Position rules on a hand-made day: entry and exit times, holding, extension, cap, cooldown, refusals, the close."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import polars as pl
import pytest

from hyperliquid_assets.backtesting.book import BookDay, BookSide
from hyperliquid_assets.backtesting.execution import ExecutionConfig
from hyperliquid_assets.backtesting.metrics import equity_curves, mark_mids, round_trips
from hyperliquid_assets.backtesting.positions import PositionRules, position_on_grid, probability_signal, simulate_rules

DAY = date(2026, 1, 5)
T0 = int(datetime(2026, 1, 5, tzinfo=timezone.utc).timestamp()) * 1_000_000_000
S = 1_000_000_000
BARS = T0 + S * np.arange(1, 86_401, dtype=np.int64)
RULES = PositionRules(order_notional=1_000.0, holding="5m", cooldown="10s", extend_on_signal=False)
EXECUTION = ExecutionConfig(latency="200ms", max_book_age="5s", taker_fee_bps=4.5)


def ramp_book(gaps: list[tuple[float, float]] = (), end_s: float = 86_399.75) -> BookDay:
    """A snapshot every 0.5 s (received at k/2 s), bid = 1000 + t - 0.5 and ask = 1000 + t + 0.5 (t = its receive
    second), size 10 on one level a side; no snapshot inside the (start, end) second gaps or after end_s."""
    times = np.arange(0.25, end_s + 1e-9, 0.5)
    for start, end in gaps:
        times = times[(times <= start) | (times >= end)]
    n = len(times)
    side = lambda px: BookSide(px.astype(np.float64), np.full(n, 10.0), np.arange(n + 1, dtype=np.int64))  # noqa: E731
    return BookDay(T0 + np.round(times * S).astype(np.int64), (T0 + np.round(times * S).astype(np.int64)) // 1_000_000,
                   side(1000 + times - 0.5), side(1000 + times + 0.5))


def signal_on(bars: dict[int, int] | None = None, ranges: list[tuple[int, int, int]] = ()) -> np.ndarray:
    """Signal per bar: {bar end second: side}, or (first second, last second, side) ranges."""
    signal = np.zeros(86_400, dtype=np.int8)
    for second, side in (bars or {}).items():
        signal[second - 1] = side
    for first, last, side in ranges:
        signal[first - 1:last] = side
    return signal


def decisions(orders: pl.DataFrame, kind: str) -> list[float]:
    """Decision times in seconds after midnight (every decision is on a whole-second bar end)."""
    part = orders.filter(pl.col("kind") == kind)
    ns = part["decision_time"].dt.epoch("ns") - T0
    assert (ns % S == 0).all()
    return (ns // S).cast(pl.Float64).to_list()


def test_an_entry_fills_after_the_latency_and_exits_after_the_holding_period():
    book = ramp_book()
    orders = simulate_rules(BARS, signal_on({100: 1}), book, RULES, EXECUTION)
    assert orders["kind"].to_list() == ["entry", "exit"] and orders["status"].to_list() == ["filled", "filled"]
    assert decisions(orders, "entry") == [100.0] and decisions(orders, "exit") == [400.0]
    entry, exit_ = orders.row(0, named=True), orders.row(1, named=True)
    # Decision at 100 s + 200 ms latency: the first snapshot received at or after 100.2 s is the one at 100.25 s.
    assert entry["fill_time"] == datetime(2026, 1, 5, 0, 1, 40, 250000, tzinfo=timezone.utc)
    assert entry["price"] == 1000 + 100.25 + 0.5 and entry["side"] == 1
    # Sized by the mid known at the decision: the snapshot received at 99.75 s.
    assert entry["decision_mid"] == 1000 + 99.75 and entry["qty"] == pytest.approx(1_000.0 / 1099.75)
    assert exit_["price"] == 1000 + 400.25 - 0.5 and exit_["side"] == -1 and exit_["qty"] == entry["qty"]
    trips = round_trips(orders, final_mid=np.nan)
    trip = trips.row(0, named=True)
    assert trip["gross_pnl"] == pytest.approx(entry["qty"] * (1399.75 - 1100.75))
    assert trip["net_pnl"] == pytest.approx(trip["gross_pnl"] - entry["qty"] * (1100.75 + 1399.75) * 4.5e-4)


def test_a_signal_still_on_at_the_exit_bar_extends_the_lot_instead_of_trading_twice():
    book = ramp_book()
    extended = simulate_rules(BARS, signal_on({100: 1, 400: 1}), book, PositionRules(order_notional=1_000.0), EXECUTION)
    assert decisions(extended, "entry") == [100.0] and decisions(extended, "exit") == [700.0]
    plain = simulate_rules(BARS, signal_on({100: 1, 400: 1}), book, RULES, EXECUTION)
    # Without extension the lot closes at 400 s; the signal at 400 s then falls in the cooldown, so no new entry.
    assert decisions(plain, "entry") == [100.0] and decisions(plain, "exit") == [400.0]


def test_position_cap_and_cooldown():
    book = ramp_book()
    rules = PositionRules(order_notional=1_000.0, position_cap=2, holding="5m", cooldown="10s", extend_on_signal=False)
    orders = simulate_rules(BARS, signal_on(ranges=[(100, 1_000, 1)]), book, rules, EXECUTION)
    entries, exits = decisions(orders, "entry"), decisions(orders, "exit")
    assert entries[:4] == [100.0, 110.0, 420.0, 430.0] and exits[:2] == [400.0, 410.0]
    assert all(b - a >= 10 for a, b in zip(entries, entries[1:]))
    position = position_on_grid(orders, BARS)
    lot = orders["qty"].max()
    assert position.max() <= 2 * lot + 1e-12 and position.max() > lot
    assert position[-1] == 0.0


def test_an_opposite_signal_is_ignored_while_a_position_is_open():
    orders = simulate_rules(BARS, signal_on({100: 1, 200: -1}), ramp_book(), RULES, EXECUTION)
    assert orders["side"].to_list() == [1, -1] and decisions(orders, "entry") == [100.0]
    after = simulate_rules(BARS, signal_on({100: 1, 450: -1}), ramp_book(), RULES, EXECUTION)
    assert after.filter(pl.col("kind") == "entry")["side"].to_list() == [1, -1]


def test_a_refused_entry_opens_nothing_and_the_next_waits_until_the_refusal_is_known():
    book = ramp_book(gaps=[(1_000.0, 2_000.0)])
    orders = simulate_rules(BARS, signal_on(ranges=[(1_500, 1_510, 1)]), book, RULES, EXECUTION)
    # Decision 1500 s: arrival 1500.2 s, no snapshot by 1505.2 s -> refused, known then; the next try is at 1506 s.
    assert decisions(orders, "entry") == [1_500.0, 1_506.0]
    assert orders["status"].to_list() == ["stale", "stale"]
    assert np.all(position_on_grid(orders, BARS) == 0.0)


def test_a_refused_exit_is_retried_when_a_snapshot_is_in_reach_again():
    book = ramp_book(gaps=[(1_000.0, 2_000.0)])
    orders = simulate_rules(BARS, signal_on({900: 1}), book, RULES, EXECUTION)
    # Due at 1200 s: nothing until the snapshot at 2000.25 s. An order reaches it within 5 s from a decision at
    # 2000.25 - 0.2 - 5 = 1995.05 s on, so the retry is the bar ending at 1996 s, and it fills there.
    assert decisions(orders, "exit") == [1_200.0, 1_996.0]
    exits = orders.filter(pl.col("kind") == "exit")
    assert exits["status"].to_list() == ["stale", "filled"] and exits["price"][-1] == 1000 + 2000.25 - 0.5


def test_a_lot_whose_exit_never_fills_is_open_at_the_end_and_marked_at_the_last_mid():
    book = ramp_book(end_s=80_000.0)
    orders = simulate_rules(BARS, signal_on({79_900: -1}), book, RULES, EXECUTION)
    assert decisions(orders, "exit") == [80_200.0] and orders["status"].to_list() == ["filled", "stale"]
    mids = mark_mids(book, BARS)
    trips = round_trips(orders, final_mid=float(mids[-1]))
    assert trips["open_at_end"].to_list() == [True] and trips["exit_price"][0] == mids[-1] == 1000 + 79_999.75
    curves = equity_curves(orders, BARS, mids)
    assert curves["position"][-1] == -orders["qty"][0]
    # Open at the end: its PnL is marked at the last mid and only the entry fee is paid.
    assert curves["net"][-1] == pytest.approx(trips["net_pnl"][0])


def test_everything_is_closed_by_the_close_and_nothing_enters_too_late():
    book = ramp_book()
    rules = PositionRules(order_notional=1_000.0, holding="5m", cooldown="10s", close_margin="1m")
    orders = simulate_rules(BARS, signal_on(ranges=[(85_000, 86_400, 1)]), book, rules, EXECUTION)
    entries, exits = decisions(orders, "entry"), decisions(orders, "exit")
    assert entries == [85_000.0]  # the signal stays on: the lot is held on, then closed at the close
    assert exits == [86_340.0]
    late = simulate_rules(BARS, signal_on(ranges=[(86_100, 86_400, 1)]), book, rules, EXECUTION)
    assert late.height == 0  # a 5 min holding from 86,100 s would pass the close at 86,340 s
    assert position_on_grid(orders, BARS)[-1] == 0.0


def test_probability_signal_threshold_and_missing_predictions():
    up = np.array([0.7, 0.55, 0.54, 0.3, np.nan, 0.5])
    down = np.array([0.3, 0.45, 0.46, 0.7, np.nan, 0.5])
    assert probability_signal(up, down, 0.55).tolist() == [1, 1, 0, -1, 0, 0]
    three_up, three_down = np.array([0.4, 0.3]), np.array([0.3, 0.4])  # flat takes the rest
    assert probability_signal(three_up, three_down, 0.35).tolist() == [1, -1]


def test_rules_reject_durations_that_are_not_whole_bars():
    with pytest.raises(ValueError, match="whole number of bars"):
        simulate_rules(BARS, signal_on({100: 1}), ramp_book(), PositionRules(holding="1500ms"), EXECUTION)
    with pytest.raises(ValueError):
        PositionRules(threshold=0.0)
