"""Market orders against the recorded L2 book: latency, the level-by-level walk, refusals and taker fees.

An order decided at time t reaches the exchange at a = t + latency. It fills against the FIRST snapshot received
at or after a (received_time: when the book was known), provided that snapshot

- arrives within `max_book_age` of a; otherwise the book is stale (a gap in the archive) and the order is
  refused: we do not know what it would have met;
- is not crossed or locked (best bid >= best ask): such a book is not a market one can trade against;
- shows enough visible size on the side it takes: an order larger than the book's visible levels (at most 20
  a side) is refused, never filled partly or at an invented price beyond the last level.

A buy of quantity Q lifts the asks level by level at that snapshot's prices and sizes:

    q_i = min(s_i, Q - sum_{j<i} s_j)^+,   VWAP = sum_i q_i * p_i / Q,   fee = Q * VWAP * taker_fee_bps / 1e4

(a sell hits the bids the same way), so size beyond the best level pays more. Slippage against the mid of the
fill snapshot is side * (VWAP - mid) / mid * 1e4 bps (>= half the spread). The replay has no market impact
beyond this walk: the next snapshot is the recorded market, not one that saw our order. Every order is a
taker (market) order; passive orders are not modelled, so the maker fee never applies. Funding, which
Hyperliquid settles hourly, is not modelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from hyperliquid_assets.backtesting.book import BookDay
from hyperliquid_assets.features.bars import parse_duration

FILLED, STALE, CROSSED, BEYOND_BOOK = 0, 1, 2, 3
_ZERO = re.compile(r"^0+(ms|s|m|h|d)?$")


def span_ns(span: str | timedelta) -> int:
    """A duration ('200ms', '5m', or a timedelta; '0s' allowed) in integer nanoseconds."""
    if isinstance(span, str) and _ZERO.match(span.strip()):
        return 0
    return parse_duration(span) // timedelta(microseconds=1) * 1000
STATUS_NAMES = {FILLED: "filled", STALE: "stale", CROSSED: "crossed", BEYOND_BOOK: "beyond_book"}


@dataclass(frozen=True)
class ExecutionConfig:
    """Latency, the stale-book limit and Hyperliquid's base-tier fees (bps of traded notional)."""

    latency: str = "200ms"  # decision -> order at the exchange
    max_book_age: str = "5s"  # the fill snapshot must be received within this of the order's arrival
    taker_fee_bps: float = 4.5
    maker_fee_bps: float = 1.5  # base tier; stated in the report, unused: every order here is a market order

    def __post_init__(self) -> None:
        self.latency_ns, self.max_book_age_ns  # noqa: B018 - validate the durations now, not at the first order
        if self.taker_fee_bps < 0:
            raise ValueError("taker_fee_bps must be >= 0 (Hyperliquid charges takers)")

    @property
    def latency_ns(self) -> int:
        return span_ns(self.latency)

    @property
    def max_book_age_ns(self) -> int:
        return span_ns(self.max_book_age)


@dataclass(frozen=True)
class Fills:
    """Outcome of market orders, one entry per order (arrays of equal length)."""

    status: np.ndarray  # int8, FILLED / STALE / CROSSED / BEYOND_BOOK
    snapshot: np.ndarray  # int64 index of the fill snapshot in the BookDay, -1 when none was in reach
    known_ns: np.ndarray  # int64, when the outcome was known: the snapshot's receive time, or arrival + max age
    price: np.ndarray  # float64 VWAP of the walk (NaN unless filled)
    mid: np.ndarray  # float64 mid of the fill snapshot (NaN when there is none)
    levels: np.ndarray  # int64 levels touched by the walk (0 unless filled)
    fee: np.ndarray  # float64 taker fee in quote currency (0 unless filled)


# An order for exactly the visible size must fill although the two sides of the comparison were summed in a
# different order; 1e-9 is far above float rounding of 20 sizes and far below any real lot.
_SIZE_TOLERANCE = 1e-9


def order_status(
    book: BookDay, decision_ns: np.ndarray, side: np.ndarray, qty: np.ndarray, config: ExecutionConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(status, fill snapshot or -1, time the outcome is known) of market orders; see the module docstring.
    Cheap (lookups only), so the position rules can ask it order by order; fill_market_orders adds the prices."""
    arrival = np.asarray(decision_ns, dtype=np.int64) + config.latency_ns
    side, qty = np.asarray(side), np.asarray(qty, dtype=np.float64)
    index = np.asarray(book.first_at_or_after(arrival), dtype=np.int64)
    in_book = index < len(book)
    safe = np.where(in_book, index, 0)
    received = book.received_ns[safe] if len(book) else np.zeros_like(arrival)
    fresh = in_book & (received - arrival <= config.max_book_age_ns)
    safe = np.where(fresh, index, 0)
    visible = np.where(side > 0, book.ask.visible_size[safe], book.bid.visible_size[safe]) if len(book) else 0.0
    fillable = (qty > 0) & (visible >= qty * (1 - _SIZE_TOLERANCE))
    status = np.where(
        ~fresh, STALE, np.where(book.crossed[safe] if len(book) else False, CROSSED,
                                np.where(fillable, FILLED, BEYOND_BOOK))
    ).astype(np.int8)
    return status, np.where(fresh, index, -1), np.where(fresh, received, arrival + config.max_book_age_ns)


def order_status_one(
    book: BookDay, decision_ns: int, side: int, qty: float, latency_ns: int, max_book_age_ns: int
) -> tuple[int, int]:
    """order_status for one order, in plain Python scalars (the position rules ask it order by order, and
    numpy's per-call overhead on one-element arrays would dominate): (status, time the outcome is known). The
    fill of every order is recomputed by fill_market_orders, which must agree (checked on every backtest)."""
    arrival = decision_ns + latency_ns
    index = int(np.searchsorted(book.received_ns, arrival, side="left"))
    if index >= len(book) or int(book.received_ns[index]) - arrival > max_book_age_ns:
        return STALE, arrival + max_book_age_ns
    known = int(book.received_ns[index])
    if book.crossed[index]:
        return CROSSED, known
    visible = (book.ask if side > 0 else book.bid).visible_size[index]
    return (FILLED if qty > 0 and visible >= qty * (1 - _SIZE_TOLERANCE) else BEYOND_BOOK), known


def walk_book(prices: np.ndarray, sizes: np.ndarray, qty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(VWAP, levels touched) of taking `qty` from each row's levels, best first (see the module docstring); VWAP
    NaN where the row's visible size is short of qty. prices/sizes are (orders x levels), missing levels size 0."""
    qty = np.asarray(qty, dtype=np.float64)
    before = np.cumsum(sizes, axis=1) - sizes
    taken = np.clip(qty[:, None] - before, 0.0, sizes)
    enough = (qty > 0) & (sizes.sum(axis=1) >= qty * (1 - _SIZE_TOLERANCE))
    value = np.where(taken > 0, taken * prices, 0.0).sum(axis=1)
    total = taken.sum(axis=1)
    vwap = np.where(enough, value / np.where(total > 0, total, 1.0), np.nan)
    return vwap, np.where(enough, (taken > 0).sum(axis=1), 0)


def fill_market_orders(
    book: BookDay, decision_ns: np.ndarray, side: np.ndarray, qty: np.ndarray, config: ExecutionConfig
) -> Fills:
    """Fill market orders decided at `decision_ns` (+1 buy, -1 sell, quantity in base units) against `book`."""
    side, qty = np.asarray(side), np.asarray(qty, dtype=np.float64)
    status, snapshot, known = order_status(book, decision_ns, side, qty, config)
    price, mid = np.full(len(status), np.nan), np.full(len(status), np.nan)
    levels = np.zeros(len(status), dtype=np.int64)
    seen = snapshot >= 0
    mid[seen] = book.mid[snapshot[seen]]
    for s in (1, -1):
        rows = np.flatnonzero((status == FILLED) & (side == s))
        if rows.size:
            px, sz = book.taken_by(s).levels(snapshot[rows], book.max_levels)
            price[rows], levels[rows] = walk_book(px, sz, qty[rows])
    fee = np.where(status == FILLED, qty * np.nan_to_num(price) * config.taker_fee_bps / 1e4, 0.0)
    return Fills(status=status, snapshot=snapshot, known_ns=known, price=price, mid=mid, levels=levels, fee=fee)


def slippage_bps(side: np.ndarray, price: np.ndarray, mid: np.ndarray) -> np.ndarray:
    """side * (price - mid) / mid * 1e4: what the fill paid over the mid, in bps (positive = a cost)."""
    return side * (price - mid) / mid * 1e4


def impact_curve(
    book: BookDay, notionals: np.ndarray, snapshots: np.ndarray
) -> dict[str, np.ndarray]:
    """Cost of a market order of each quote notional at the given snapshots, both sides: per notional the median
    and 90th percentile slippage in bps against the mid, and the share of (snapshot, side) where the order is
    beyond the visible book. The book's own answer to "what would a larger order have paid"."""
    snapshots = snapshots[np.isfinite(book.mid[snapshots]) & ~book.crossed[snapshots]]
    mid = book.mid[snapshots]
    walls = {s: book.taken_by(s).levels(snapshots, book.max_levels) for s in (1, -1)}
    median, p90, beyond = [], [], []
    for notional in notionals:
        costs, refused = [], 0
        for s, (px, sz) in walls.items():
            vwap, _ = walk_book(px, sz, notional / mid)
            cost = slippage_bps(s, vwap, mid)
            refused += int(np.isnan(cost).sum())
            costs.append(cost[np.isfinite(cost)])
        pooled = np.concatenate(costs)
        median.append(float(np.median(pooled)) if pooled.size else np.nan)
        p90.append(float(np.percentile(pooled, 90)) if pooled.size else np.nan)
        beyond.append(refused / max(2 * len(snapshots), 1))
    return {"notional": np.asarray(notionals, dtype=np.float64), "median_bps": np.array(median),
            "p90_bps": np.array(p90), "beyond_book_share": np.array(beyond)}
