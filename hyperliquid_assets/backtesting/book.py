"""One coin-day of the clean L2 book (L2_BOOK_SCHEMA) as numpy arrays, for fast lookup by receive time.

Each side's levels are kept as the list columns are stored (Arrow's layout): one flat array of prices and one of
sizes for the whole day, and per snapshot the offset of its first level. A snapshot's side is then a slice, and
the levels of the few snapshots an order walks are padded to (orders x depth) on demand (missing level: price
NaN, size 0), instead of padding every snapshot of the day. Time is `received_time` in epoch nanoseconds: when
the snapshot was known, the only clock a backtest may act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA

_COLUMNS = ("received_time", "exchange_time", "bid_px", "bid_sz", "ask_px", "ask_sz")


class BookInputError(ValueError):
    """The book handed to the backtest is not a clean L2 book (names the object and the problem)."""


@dataclass(frozen=True)
class BookSide:
    """One side's levels for every snapshot, best first: snapshot i's levels are px[offsets[i]:offsets[i + 1]]."""

    px: np.ndarray  # float64, all levels of all snapshots
    sz: np.ndarray  # float64
    offsets: np.ndarray  # int64, one more than there are snapshots

    @cached_property
    def depth(self) -> np.ndarray:
        """Levels per snapshot."""
        return np.diff(self.offsets)

    @cached_property
    def best(self) -> np.ndarray:
        """Best price per snapshot; NaN for an empty side."""
        starts = self.offsets[:-1]
        has = self.depth > 0
        return np.where(has, self.px[np.where(has, starts, 0)] if self.px.size else np.nan, np.nan)

    @cached_property
    def visible_size(self) -> np.ndarray:
        """Sum of the sizes of all the side's levels per snapshot (what one taker order could take at most)."""
        out = np.zeros(len(self.offsets) - 1)
        has = np.flatnonzero(self.depth > 0)
        if has.size:
            out[has] = np.add.reduceat(self.sz[: self.offsets[-1]], self.offsets[has])
        return out

    def levels(self, snapshots: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """(prices, sizes) of the given snapshots as (len(snapshots) x depth) arrays, padded with NaN / 0."""
        snapshots = np.asarray(snapshots, dtype=np.int64)
        level = np.arange(depth)
        valid = level[None, :] < self.depth[snapshots][:, None]
        at = np.where(valid, self.offsets[snapshots][:, None] + level[None, :], 0)
        if not self.px.size:
            return np.full(valid.shape, np.nan), np.zeros(valid.shape)
        return np.where(valid, self.px[at], np.nan), np.where(valid, self.sz[at], 0.0)

    def head(self, n: int) -> BookSide:
        return BookSide(self.px, self.sz, self.offsets[: n + 1])


@dataclass(frozen=True)
class BookDay:
    """Snapshots in receive order, with both sides (see BookSide)."""

    received_ns: np.ndarray  # int64 epoch ns, non-decreasing
    exchange_ms: np.ndarray  # int64 epoch ms
    bid: BookSide
    ask: BookSide

    def __len__(self) -> int:
        return len(self.received_ns)

    @cached_property
    def max_levels(self) -> int:
        """The deepest side of any snapshot (at most 20 on Hyperliquid)."""
        return int(max(self.bid.depth.max(initial=0), self.ask.depth.max(initial=0), 1))

    @cached_property
    def mid(self) -> np.ndarray:
        """(b1 + a1) / 2 per snapshot; NaN when a side is empty."""
        return (self.bid.best + self.ask.best) / 2

    @cached_property
    def crossed(self) -> np.ndarray:
        """b1 >= a1 (crossed or locked): no trade is possible on such a book. NaN tops compare False."""
        return self.bid.best >= self.ask.best

    def first_at_or_after(self, t_ns: np.ndarray | int) -> np.ndarray | int:
        """Index of the first snapshot received at or after t (len(self) when there is none)."""
        return np.searchsorted(self.received_ns, t_ns, side="left")

    def last_before(self, t_ns: np.ndarray | int) -> np.ndarray | int:
        """Index of the last snapshot received strictly before t (-1 when there is none): the book known at t."""
        return np.searchsorted(self.received_ns, t_ns, side="left") - 1

    def taken_by(self, side: int) -> BookSide:
        """The side a taker order walks: a buy (+1) lifts the asks, a sell (-1) hits the bids."""
        return self.ask if side > 0 else self.bid

    def until(self, t_ns: int) -> BookDay:
        """The snapshots received strictly before t (what was known at t), for truncation tests."""
        n = int(np.searchsorted(self.received_ns, t_ns, side="left"))
        return BookDay(self.received_ns[:n], self.exchange_ms[:n], self.bid.head(n), self.ask.head(n))

    @classmethod
    def from_frame(cls, book: pl.DataFrame, name: str = "book") -> BookDay:
        """Arrays from a frame in L2_BOOK_SCHEMA (extra columns ignored); `name` goes into error messages."""
        missing = [c for c in _COLUMNS if c not in book.columns]
        if missing:
            raise BookInputError(f"{name}: not an L2 book, columns {missing} missing")
        wrong = {c: str(book.schema[c]) for c in _COLUMNS if book.schema[c] != L2_BOOK_SCHEMA[c]}
        if wrong:
            raise BookInputError(f"{name}: dtypes {wrong} differ from L2_BOOK_SCHEMA")
        if book["received_time"].null_count() or book["exchange_time"].null_count():
            raise BookInputError(f"{name}: a snapshot has no received_time or exchange_time")
        received = book["received_time"].dt.epoch("ns").to_numpy().astype(np.int64)
        if received.size > 1 and (np.diff(received) < 0).any():
            raise BookInputError(f"{name}: received_time is not in order (the clean book is written in receive order)")
        sides = {side: _side(book, side, name) for side in ("bid", "ask")}
        return cls(received, book["exchange_time"].dt.epoch("ms").to_numpy().astype(np.int64), **sides)


def _side(book: pl.DataFrame, side: str, name: str) -> BookSide:
    px, sz = book[f"{side}_px"], book[f"{side}_sz"]
    lengths = px.list.len().fill_null(0).to_numpy().astype(np.int64)
    if not np.array_equal(lengths, sz.list.len().fill_null(0).to_numpy()):
        raise BookInputError(f"{name}: {side}_px and {side}_sz differ in length in some snapshot")
    prices = px.explode(empty_as_null=False, keep_nulls=False).to_numpy().astype(np.float64, copy=False)
    sizes = sz.explode(empty_as_null=False, keep_nulls=False).to_numpy().astype(np.float64, copy=False)
    if prices.size != lengths.sum() or sizes.size != lengths.sum() or np.isnan(prices).any() or np.isnan(sizes).any():
        raise BookInputError(f"{name}: a {side} level has a null or NaN price or size")
    return BookSide(prices, sizes, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
