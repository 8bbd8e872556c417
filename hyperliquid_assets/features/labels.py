"""Labels: the only forward-looking columns, kept in their own table (joined to features on bar_time for training).

A label at bar t uses the Hyperliquid mid of bar t + h (the book known at t + h). The last bars of a day need the
next day's first bars: pass the next day's book feature table as `next_day`; without it those bars get null
labels, counted in the quality figures, never filled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from hyperliquid_assets.features.book_features import live_mid

from hyperliquid_assets.features.bars import (
    BAR_TIME,
    BAR_TIME_DTYPE,
    BarGrid,
    TableQuality,
    collect,
    duration_label,
    null_shares,
    realized_vol_bps,
    reindex,
)

MID = "book_mid"


@dataclass(frozen=True)
class LabelConfig:
    """Horizons, and the direction threshold: a fixed `threshold_bps`, or `vol_multiple` x the recent per-bar
    volatility (over `vol_window`, past bars only) scaled by sqrt(horizon in bars). Set exactly one."""

    horizons: tuple[str, ...] = ("10s", "1m", "5m")
    threshold_bps: float | None = 1.0
    vol_multiple: float | None = None
    vol_window: str = "5m"
    # A label needs a live book at both ends: a mid carried over a gap longer than this is not a price.
    max_book_age: str = "1m"

    def __post_init__(self) -> None:
        if (self.threshold_bps is None) == (self.vol_multiple is None):
            raise ValueError("LabelConfig needs exactly one of threshold_bps and vol_multiple")
        if (self.threshold_bps or 0.0) < 0 or (self.vol_multiple or 0.0) < 0:
            raise ValueError("label thresholds must be >= 0")

    @classmethod
    def for_bar(cls, every: str, **overrides) -> LabelConfig:
        """Defaults for 1 s bars, or horizons scaled for 1 min bars."""
        if duration_label(every) == "1s":
            return cls(**overrides)
        if duration_label(every) == "1m":
            return cls(**{"horizons": ("5m", "15m", "1h"), "vol_window": "1h", "max_book_age": "5m", **overrides})
        raise ValueError(f"no default label config for {every} bars; pass one")

    def columns(self) -> list[str]:
        """Output columns, in order."""
        names = [duration_label(h) for h in self.horizons]
        return [BAR_TIME, *(f"label_ret_bps_{n}" for n in names), *(f"label_dir_{n}" for n in names)]


LABEL_COLUMNS = LabelConfig().columns()


def forward_return_bps(mid: pl.Expr, future_mid: pl.Expr) -> pl.Expr:
    """y_h = 1e4 * ln(mid_{t+h} / mid_t)."""
    return 1e4 * (future_mid / mid).log()


def direction(forward_bps: pl.Expr, threshold_bps: pl.Expr) -> pl.Expr:
    """d_h = sign(y_h) if |y_h| > threshold else 0, in {-1, 0, 1}; null when y_h or the threshold is null."""
    return (
        pl.when(forward_bps.is_null() | threshold_bps.is_null()).then(None)
        .when(forward_bps > threshold_bps).then(1)
        .when(forward_bps < -threshold_bps).then(-1)
        .otherwise(0)
        .cast(pl.Int8)
    )


def volatility_threshold_bps(mid: pl.Expr, multiple: float, window_bars: int, horizon_bars: int) -> pl.Expr:
    """thr_h = k * (rv_w / sqrt(w)) * sqrt(h): k per-bar volatilities over the last w bars, scaled to h bars."""
    return multiple * realized_vol_bps(mid, window_bars) / math.sqrt(window_bars) * math.sqrt(horizon_bars)


def _live_mids(book: pl.DataFrame | pl.LazyFrame, max_book_age: str) -> pl.LazyFrame:
    """bar_time and the mid where the book behind it is live (see book_features.live_mid), else null."""
    return book.lazy().select(BAR_TIME, live_mid(pl.col(MID), pl.col("book_age_s"), max_book_age).alias(MID))


def _future_mids(
    book: pl.LazyFrame, next_day: pl.DataFrame | pl.LazyFrame | None, grid: BarGrid, reach: int, max_book_age: str
) -> pl.LazyFrame:
    mids = _live_mids(book, max_book_age)
    if next_day is not None:
        tail_end = grid.end + reach * grid.every
        within_reach = (pl.col(BAR_TIME) > grid.end) & (pl.col(BAR_TIME) <= tail_end)
        following = _live_mids(next_day, max_book_age).filter(within_reach)
        mids = pl.concat([mids.filter(pl.col(BAR_TIME) <= grid.end), following])
    return mids.unique(BAR_TIME, keep="last", maintain_order=True)


def _labels_with_flags(
    book: pl.DataFrame | pl.LazyFrame,
    grid: BarGrid,
    next_day: pl.DataFrame | pl.LazyFrame | None,
    config: LabelConfig,
) -> pl.DataFrame:
    """`config.columns()` plus a `_has_future_<h>` flag per horizon (whether bar t + h was supplied)."""
    horizons = [(duration_label(h), grid.bars_in(h)) for h in config.horizons]
    window = grid.bars_in(config.vol_window)
    book_frame = book.lazy()
    future = _future_mids(book_frame, next_day, grid, max(bars for _, bars in horizons), config.max_book_age)
    frame = reindex(_live_mids(book_frame, config.max_book_age), grid.extended(window))
    for name, bars in horizons:
        shifted = future.select(
            (pl.col(BAR_TIME) - bars * grid.every).cast(BAR_TIME_DTYPE).alias(BAR_TIME),
            pl.col(MID).alias(f"_mid_{name}"),
            pl.lit(True).alias(f"_has_future_{name}"),
        )
        frame = frame.join(shifted, on=BAR_TIME, how="left", maintain_order="left")
    mid = pl.col(MID)
    thresholds = {
        name: pl.lit(config.threshold_bps, pl.Float64) if config.vol_multiple is None
        else volatility_threshold_bps(mid, config.vol_multiple, window, bars)
        for name, bars in horizons
    }
    return (
        frame.with_columns(
            **{f"label_ret_bps_{name}": forward_return_bps(mid, pl.col(f"_mid_{name}")) for name, _ in horizons},
            **{f"_threshold_{name}": thresholds[name] for name, _ in horizons},
            **{f"_has_future_{name}": pl.col(f"_has_future_{name}").fill_null(False) for name, _ in horizons},
        )
        .with_columns(
            **{f"label_dir_{name}": direction(pl.col(f"label_ret_bps_{name}"), pl.col(f"_threshold_{name}"))
               for name, _ in horizons},
        )
        .filter(grid.within())
        .select(*config.columns(), *(f"_has_future_{name}" for name, _ in horizons))
        .pipe(collect)
    )


def labels(
    book: pl.DataFrame | pl.LazyFrame,
    grid: BarGrid,
    next_day: pl.DataFrame | pl.LazyFrame | None = None,
    config: LabelConfig = LabelConfig(),
) -> pl.DataFrame:
    """The label table, one row per grid bar, columns `config.columns()`. `book` and `next_day` are book feature
    tables (bar_time, book_mid) on the grid's bar; `next_day` is the following day's, of which the first
    max-horizon bars are used."""
    full = _labels_with_flags(book, grid, next_day, config)
    return full.select(config.columns())


def label_table(
    book: pl.DataFrame | pl.LazyFrame,
    grid: BarGrid,
    next_day: pl.DataFrame | pl.LazyFrame | None = None,
    config: LabelConfig = LabelConfig(),
) -> tuple[pl.DataFrame, TableQuality]:
    """The label table (config.columns()) and its quality, with per horizon the bars left unlabelled because
    their t + h lies past the data supplied (`unlabelled_no_future_<h>`: the last h bars without `next_day`)."""
    full = _labels_with_flags(book, grid, next_day, config)
    flags = [c for c in full.columns if c.startswith("_has_future_")]
    table = full.drop(flags)
    counts = {f"unlabelled_no_future_{c.removeprefix('_has_future_')}": int((~full[c]).sum()) for c in flags}
    counts["next_day_supplied"] = int(next_day is not None)
    quality = TableQuality(rows=table.height, null_share=null_shares(table), counts=counts)
    return table, quality
