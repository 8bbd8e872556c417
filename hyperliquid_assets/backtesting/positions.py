"""Position rules: from a per-bar signal in {-1, 0, +1} to market orders, one coin-day at a time.

The signal of bar t (bar_time = the bar's END, so everything behind it was known at t) is acted on at t:

- Entry. At a bar whose signal is +1 (-1) an order of `order_notional` in quote currency, i.e. quantity
  order_notional / mid_t with mid_t the mid of the last snapshot received before t, buys (sells) one lot, if
  fewer than `position_cap` lots are open, every open lot has the same side (no netting: an opposite signal is
  ignored while a position is open), at least `cooldown` has passed since the previous entry or exit decision and
  the outcome of the previous order is known, and the lot's whole holding period ends by the close.
- Exit. A lot is closed by a market order `holding` after its entry decision, or at the close if sooner. With
  `extend_on_signal`, a lot whose signal still points its way at that bar is held for another `holding`
  instead (closing and reopening would pay two fees for no change of position). `holding=None` holds until the
  close (buy and hold).
- Refusals (see execution.py). A refused entry opens nothing; the next entry waits until the refusal was known.
  A refused exit is retried at the first later bar whose order could meet a snapshot in reach (the intervening
  attempts would all meet the same missing or stale book).
- The day's end. The close is day end - `close_margin`: no position is meant to outlive day D, whose book is
  all the backtest reads. A lot whose exit never fills before the day ends (the book stops or goes stale) stays
  open and is marked at the day's last mid; the metrics count it (`open_at_end`).

The decision at t uses only the signal up to t, the book received before t and the outcomes of earlier orders
as they became known, so positions at t do not change when everything after t is removed.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import polars as pl

from hyperliquid_assets.backtesting.book import BookDay
from hyperliquid_assets.backtesting.execution import (
    FILLED, STATUS_NAMES, ExecutionConfig, fill_market_orders, order_status_one, span_ns,
)

_INF = np.iinfo(np.int64).max
ORDER_SCHEMA = pl.Schema(
    {
        "lot": pl.Int64,
        "kind": pl.String,  # entry / exit
        "side": pl.Int8,  # +1 buy, -1 sell
        "qty": pl.Float64,  # base units
        "decision_time": pl.Datetime("ns", "UTC"),
        "status": pl.String,  # filled / stale / crossed / beyond_book
        "fill_time": pl.Datetime("ns", "UTC"),  # receive time of the fill snapshot; null unless filled
        "price": pl.Float64,  # VWAP of the walk
        "mid": pl.Float64,  # mid of the fill snapshot
        "decision_mid": pl.Float64,  # mid known at the decision
        "levels": pl.Int64,  # book levels the walk touched
        "fee": pl.Float64,  # quote currency
    }
)


@dataclass(frozen=True)
class PositionRules:
    """Threshold on the model's class probability, order size, position cap, holding, cooldown, the close."""

    threshold: float = 0.55  # long when P(up) >= threshold and P(up) > P(down); short likewise
    order_notional: float = 10_000.0  # quote currency (USD) per order
    position_cap: int = 1  # most lots open at once
    holding: str | None = "5m"  # None: hold until the close
    cooldown: str = "10s"  # least time from an entry or exit decision to the next entry
    close_margin: str = "1m"  # positions are closed by day end minus this
    extend_on_signal: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if self.order_notional <= 0 or self.position_cap < 1:
            raise ValueError("order_notional must be > 0 and position_cap >= 1")
        for name in ("cooldown", "close_margin", *(("holding",) if self.holding else ())):
            span_ns(getattr(self, name))

    @property
    def capital(self) -> float:
        """The most quote notional the rules can hold: the base of returns, Sharpe and drawdown in %."""
        return self.order_notional * self.position_cap


def probability_signal(prob_up: np.ndarray, prob_down: np.ndarray, threshold: float) -> np.ndarray:
    """+1 where P(up) >= threshold and P(up) > P(down), -1 where P(down) >= threshold and P(down) > P(up), else 0
    (also where the model made no prediction: NaN)."""
    up = (prob_up >= threshold) & (prob_up > prob_down)
    down = (prob_down >= threshold) & (prob_down > prob_up)
    return np.where(up, 1, np.where(down, -1, 0)).astype(np.int8)


def feature_sign_signal(feature: np.ndarray, threshold: float) -> np.ndarray:
    """sign(x) where |x| >= threshold, else 0 (and 0 where x is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(feature) >= threshold, np.sign(feature), 0).astype(np.int8)


def simulate_rules(
    bar_ns: np.ndarray, signal: np.ndarray, book: BookDay, rules: PositionRules, execution: ExecutionConfig
) -> pl.DataFrame:
    """The orders the rules send for this signal on this day (ORDER_SCHEMA, in decision order).

    bar_ns: the day's bar end times (evenly spaced, the last one is the day's end); signal: int per bar."""
    if len(bar_ns) != len(signal):
        raise ValueError(f"signal has {len(signal)} bars, the grid {len(bar_ns)}")
    step = int(bar_ns[1] - bar_ns[0]) if len(bar_ns) > 1 else 1
    first_bar, last_bar = int(bar_ns[0]), int(bar_ns[-1])
    for name in ("cooldown", "close_margin", *(("holding",) if rules.holding else ())):
        if span_ns(getattr(rules, name)) % step:
            raise ValueError(f"{name} {getattr(rules, name)!r} is not a whole number of bars")
    holding = span_ns(rules.holding) if rules.holding else None
    cooldown, close = span_ns(rules.cooldown), last_bar - span_ns(rules.close_margin)
    last_entry = close - holding if holding else close - step
    lag, max_age = execution.latency_ns, execution.max_book_age_ns
    book_mid = book.mid

    candidates = {key: bar_ns[np.flatnonzero(mask)] for key, mask in
                  ((1, signal > 0), (-1, signal < 0), (0, signal != 0))}

    def next_candidate(key: int, at: int) -> int:
        times = candidates[key]
        i = int(np.searchsorted(times, at, side="left"))
        return int(times[i]) if i < len(times) and times[i] <= last_entry else _INF

    def signal_at(t: int) -> int:
        return int(signal[min(max((t - first_bar) // step, 0), len(signal) - 1)])

    def ceil_bar(t: int) -> int:
        return first_bar + -(-(t - first_bar) // step) * step

    sent: list[tuple[int, str, int, float, int, float, int]] = []  # lot, kind, side, qty, decision, mid, status

    def send(lot: int, kind: str, side: int, qty: float, t: int, decision_mid: float) -> tuple[bool, int]:
        """Send a market order; whether it fills and when that is known (prices are walked at the end)."""
        status, known = order_status_one(book, t, side, qty, lag, max_age)
        sent.append((lot, kind, side, qty, t, decision_mid, status))
        return status == FILLED, known

    def retry_time(t: int, known: int) -> int:
        """The next bar at which an exit order could meet a snapshot in reach."""
        after = int(book.first_at_or_after(t + lag))
        if after >= len(book):
            return _INF
        reach = int(book.received_ns[after]) - lag - max_age
        return ceil_bar(max(known, t + step, reach))

    open_lots: dict[int, tuple[int, float]] = {}  # lot -> (side, qty)
    exits: list[tuple[int, int, bool]] = []  # heap of (due time, lot, is_retry)
    cursor, next_entry_ok, lot_count = first_bar, first_bar, 0
    while True:
        due = exits[0][0] if exits else _INF
        entry = _INF
        if len(open_lots) < rules.position_cap:
            key = next(iter(open_lots.values()))[0] if open_lots else 0
            entry = next_candidate(key, max(cursor, next_entry_ok))
        if due == _INF and entry == _INF:
            break
        if due <= entry:
            t, lot, is_retry = heapq.heappop(exits)
            if t > last_bar:
                continue  # cannot be sent within the day: the lot stays open
            side, qty = open_lots[lot]
            if not is_retry and rules.extend_on_signal and holding and signal_at(t) == side and min(t + holding, close) > t:
                heapq.heappush(exits, (min(t + holding, close), lot, False))
                continue
            idx = int(book.last_before(t))
            filled, known = send(lot, "exit", -side, qty, t, float(book_mid[idx]) if idx >= 0 else np.nan)
            if filled:
                del open_lots[lot]
                next_entry_ok = max(next_entry_ok, t + cooldown, known)
            else:
                heapq.heappush(exits, (retry_time(t, known), lot, True))
            cursor = max(cursor, t)
            continue
        t = entry
        cursor = t + 1
        side = int(signal_at(t))
        idx = int(book.last_before(t))
        mid = float(book_mid[idx]) if idx >= 0 else np.nan
        if not np.isfinite(mid):
            continue  # no price known yet: nothing to size the order by
        lot_count += 1
        filled, known = send(lot_count, "entry", side, rules.order_notional / mid, t, mid)
        if filled:
            open_lots[lot_count] = (side, rules.order_notional / mid)
            heapq.heappush(exits, (min(t + holding, close) if holding else close, lot_count, False))
            next_entry_ok = max(next_entry_ok, t + cooldown, known)
        else:
            next_entry_ok = max(next_entry_ok, t + step, known)
    return _orders_frame(sent, book, execution)


def _orders_frame(sent: list[tuple], book: BookDay, execution: ExecutionConfig) -> pl.DataFrame:
    """Walk the book for every order at once (the loop only needed each order's status)."""
    lot, kind, side, qty, decision, decision_mid, status = (list(column) for column in zip(*sent)) if sent else ([],) * 7
    side_arr, qty_arr = np.array(side, dtype=np.int8), np.array(qty, dtype=np.float64)
    decision_arr = np.array(decision, dtype=np.int64)
    fills = fill_market_orders(book, decision_arr, side_arr, qty_arr, execution)
    if not np.array_equal(fills.status, np.array(status, dtype=np.int8)):
        raise RuntimeError("order status changed between the rules' check and the fill (a bug)")
    filled = fills.status == FILLED
    fill_ns = np.where(filled, book.received_ns[np.maximum(fills.snapshot, 0)] if len(book) else 0, 0)
    frame = pl.DataFrame(
        {
            "lot": pl.Series(lot, dtype=pl.Int64),
            "kind": pl.Series(kind, dtype=pl.String),
            "side": side_arr,
            "qty": qty_arr,
            "decision_time": pl.Series(decision_arr).cast(pl.Datetime("ns", "UTC")),
            "status": pl.Series([STATUS_NAMES[int(x)] for x in fills.status], dtype=pl.String),
            "fill_time": pl.Series(fill_ns).cast(pl.Datetime("ns", "UTC")),
            "price": fills.price,
            "mid": fills.mid,
            "decision_mid": np.array(decision_mid, dtype=np.float64),
            "levels": fills.levels.astype(np.int64),
            "fee": fills.fee,
        }
    )
    filled_only = pl.when(pl.col("status") == "filled").then(pl.col("fill_time")).alias("fill_time")
    return frame.with_columns(filled_only).cast(ORDER_SCHEMA)


def position_on_grid(orders: pl.DataFrame, bar_ns: np.ndarray) -> np.ndarray:
    """Position in base units at each bar end t: the signed quantity of fills received before t. A lot's exit
    takes off exactly its entry's quantity, so a flat book is exactly 0 (float residue of the running sum,
    below 1e-9 of a lot, is set to 0)."""
    filled = orders.filter(pl.col("status") == "filled").sort("fill_time")
    fill_ns = filled["fill_time"].dt.epoch("ns").to_numpy()
    qty = filled["qty"].to_numpy()
    signed = np.concatenate([[0.0], np.cumsum(filled["side"].to_numpy() * qty)])
    signed[np.abs(signed) < 1e-9 * (qty.min() if qty.size else 1.0)] = 0.0
    return signed[np.searchsorted(fill_ns, bar_ns, side="left")]
