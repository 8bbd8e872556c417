"""Data-quality figures for the clean tables; the Dagster checks report them and fail on the corrupting ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl


@dataclass(frozen=True)
class Quality:
    rows: int
    times_monotonic: bool
    crossed_books: int  # snapshots with best bid >= best ask (always 0 for trades)
    nonpositive_values: int  # rows with a price, size or order count <= 0
    coverage: float  # share of the window's minutes that hold at least one row

    @property
    def corrupt(self) -> bool:
        return not self.times_monotonic or self.crossed_books > 0 or self.nonpositive_values > 0


def _minute_coverage(times: pl.Series, start: datetime, length: timedelta) -> float:
    minutes = int(length / timedelta(minutes=1))
    in_window = times.filter((times >= start) & (times < start + length))
    return in_window.dt.truncate("1m").n_unique() / minutes if len(in_window) else 0.0


def _non_decreasing(column: str) -> pl.Expr:
    return (pl.col(column).diff().drop_nulls() >= pl.duration(microseconds=0)).all()


def l2_book_quality(book: pl.DataFrame, hour: datetime) -> Quality:
    """Monotonic receive and exchange times, never a crossed top of book, positive px/sz/n, minute coverage."""
    figures = book.select(
        monotonic=_non_decreasing("received_time") & _non_decreasing("exchange_time"),
        crossed=(pl.col("bid_px").list.first() >= pl.col("ask_px").list.first()).sum(),
        nonpositive=(
            (pl.col("bid_px").list.min() <= 0) | (pl.col("ask_px").list.min() <= 0)
            | (pl.col("bid_sz").list.min() <= 0) | (pl.col("ask_sz").list.min() <= 0)
            | (pl.col("bid_n").list.min() <= 0) | (pl.col("ask_n").list.min() <= 0)
        ).sum(),
    ).row(0, named=True)
    return Quality(
        rows=book.height,
        times_monotonic=bool(figures["monotonic"]) if book.height > 1 else True,
        crossed_books=int(figures["crossed"] or 0),
        nonpositive_values=int(figures["nonpositive"] or 0),
        coverage=_minute_coverage(book["received_time"], hour, timedelta(hours=1)),
    )


def trades_quality(trades: pl.DataFrame, day_start: datetime) -> Quality:
    """Non-decreasing times with strictly increasing ids, positive price/qty, minute coverage of the day."""
    figures = trades.select(
        monotonic=_non_decreasing("time") & (pl.col("trade_id").diff().drop_nulls() > 0).all(),
        nonpositive=((pl.col("price") <= 0) | (pl.col("qty") <= 0)).sum(),
    ).row(0, named=True)
    return Quality(
        rows=trades.height,
        times_monotonic=bool(figures["monotonic"]) if trades.height > 1 else True,
        crossed_books=0,
        nonpositive_values=int(figures["nonpositive"] or 0),
        coverage=_minute_coverage(trades["time"], day_start, timedelta(days=1)),
    )
