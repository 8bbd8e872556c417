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
    # Rows with a price or size that is NaN or +-inf. Counted apart from nonpositive_values because every
    # comparison with NaN is false: `px <= 0` never catches it, and inf is > 0.
    nonfinite_values: int = 0

    @property
    def corrupt(self) -> bool:
        return bool(self.problems())

    def problems(self) -> list[str]:
        """What makes the table corrupt, in words (empty when it may be written)."""
        found = []
        if not self.times_monotonic:
            found.append("times go backwards")
        if self.crossed_books:
            found.append(f"{self.crossed_books} crossed books (best bid >= best ask)")
        if self.nonpositive_values:
            found.append(f"{self.nonpositive_values} rows with a price, size or count <= 0")
        if self.nonfinite_values:
            found.append(f"{self.nonfinite_values} rows with a NaN or infinite price or size")
        return found


def _minute_coverage(times: pl.Series, start: datetime, length: timedelta) -> float:
    minutes = int(length / timedelta(minutes=1))
    in_window = times.filter((times >= start) & (times < start + length))
    return in_window.dt.truncate("1m").n_unique() / minutes if len(in_window) else 0.0


def _non_decreasing(column: str) -> pl.Expr:
    return (pl.col(column).diff().drop_nulls() >= pl.duration(microseconds=0)).all()


def _any_nonfinite(levels: str) -> pl.Expr:
    """Whether a list of floats holds a NaN or an infinity. list.min/max skip NaN, but NaN or +inf and -inf
    together make the sum NaN (a sum of finite values may overflow to inf, never to NaN), and an infinity is
    the min or the max."""
    values = pl.col(levels)
    return values.list.sum().is_nan() | values.list.max().is_infinite() | values.list.min().is_infinite()


def l2_book_quality(book: pl.DataFrame, hour: datetime) -> Quality:
    """Monotonic receive and exchange times, never a crossed top of book, positive and finite px/sz, positive n,
    minute coverage."""
    bid, ask = pl.col("bid_px").list.first(), pl.col("ask_px").list.first()
    figures = book.select(
        monotonic=_non_decreasing("received_time") & _non_decreasing("exchange_time"),
        # polars orders NaN above every number, so a NaN top would count as crossed: it is non-finite instead
        crossed=((bid >= ask) & ~bid.is_nan() & ~ask.is_nan()).sum(),
        nonpositive=(
            (pl.col("bid_px").list.min() <= 0) | (pl.col("ask_px").list.min() <= 0)
            | (pl.col("bid_sz").list.min() <= 0) | (pl.col("ask_sz").list.min() <= 0)
            | (pl.col("bid_n").list.min() <= 0) | (pl.col("ask_n").list.min() <= 0)
        ).sum(),
        nonfinite=(
            _any_nonfinite("bid_px") | _any_nonfinite("ask_px") | _any_nonfinite("bid_sz") | _any_nonfinite("ask_sz")
        ).sum(),
    ).row(0, named=True)
    return Quality(
        rows=book.height,
        times_monotonic=bool(figures["monotonic"]) if book.height > 1 else True,
        crossed_books=int(figures["crossed"] or 0),
        nonpositive_values=int(figures["nonpositive"] or 0),
        coverage=_minute_coverage(book["received_time"], hour, timedelta(hours=1)),
        nonfinite_values=int(figures["nonfinite"] or 0),
    )


def trades_quality(trades: pl.DataFrame, day_start: datetime) -> Quality:
    """Non-decreasing times with strictly increasing ids, positive price/qty, finite price/qty/notional, minute
    coverage of the day."""
    price, qty, notional = pl.col("price"), pl.col("qty"), pl.col("quote_qty")
    figures = trades.select(
        monotonic=_non_decreasing("time") & (pl.col("trade_id").diff().drop_nulls() > 0).all(),
        nonpositive=((price <= 0) | (qty <= 0)).sum(),
        nonfinite=(~price.is_finite() | ~qty.is_finite() | ~notional.is_finite()).sum(),
    ).row(0, named=True)
    return Quality(
        rows=trades.height,
        times_monotonic=bool(figures["monotonic"]) if trades.height > 1 else True,
        crossed_books=0,
        nonpositive_values=int(figures["nonpositive"] or 0),
        coverage=_minute_coverage(trades["time"], day_start, timedelta(days=1)),
        nonfinite_values=int(figures["nonfinite"] or 0),
    )
