"""The regular bar grid every feature and label table shares, and the quality figures each table reports.

A bar is labelled by its END time: the bar at `bar_time` t holds the events with t - every <= time < t, so
everything in a row was known at t. The grid of a day covers bar_time in (day start, day end], which maps each
event of the day to exactly one bar and none of another day's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import polars as pl

BAR_TIME = "bar_time"
BAR_TIME_DTYPE = pl.Datetime("ns", "UTC")

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNITS = {"ms": timedelta(milliseconds=1), "s": timedelta(seconds=1), "m": timedelta(minutes=1),
          "h": timedelta(hours=1), "d": timedelta(days=1)}


def parse_duration(span: str | timedelta) -> timedelta:
    """'500ms', '1s', '5m', '1h', '1d' (or a timedelta) -> a positive timedelta."""
    if isinstance(span, timedelta):
        value = span
    else:
        match = _DURATION.match(span.strip())
        if not match:
            raise ValueError(f"duration {span!r} must look like 500ms, 1s, 5m, 1h or 1d")
        value = int(match.group(1)) * _UNITS[match.group(2)]
    if value <= timedelta(0):
        raise ValueError(f"duration {span!r} must be positive")
    return value


def duration_label(span: str | timedelta) -> str:
    """A duration in its shortest exact unit, for column names: 60 s -> '1m', 90 s -> '90s'."""
    value = parse_duration(span)
    for unit in ("d", "h", "m", "s", "ms"):
        if value % _UNITS[unit] == timedelta(0):
            return f"{value // _UNITS[unit]}{unit}"
    raise ValueError(f"duration {span!r} is finer than a millisecond")


def _ns(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000_000 + span.microseconds * 1_000


@dataclass(frozen=True)
class BarGrid:
    """Bars of length `every` labelled by their end, bar_time in (start, end]; start and end are UTC instants."""

    start: datetime
    end: datetime
    every: timedelta

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"BarGrid.{name} must be timezone-aware (UTC)")
        if self.every <= timedelta(0) or (self.end - self.start) % self.every != timedelta(0):
            raise ValueError(f"bar {self.every} must be positive and divide the grid {self.start}..{self.end}")
        if self.end <= self.start:
            raise ValueError("BarGrid.end must be after start")

    @classmethod
    def for_day(cls, day: date, every: str | timedelta = "1s") -> BarGrid:
        """The grid of one UTC day: bars ending at day + every, ..., day + 24 h."""
        start = datetime.combine(day, time(0), tzinfo=timezone.utc)
        return cls(start, start + timedelta(days=1), parse_duration(every))

    @property
    def bars(self) -> int:
        return (self.end - self.start) // self.every

    @property
    def every_ns(self) -> int:
        return _ns(self.every)

    @property
    def every_seconds(self) -> float:
        return self.every.total_seconds()

    def bars_in(self, span: str | timedelta) -> int:
        """How many bars a duration spans; it must be a whole number of bars."""
        value = parse_duration(span)
        if value % self.every != timedelta(0):
            raise ValueError(
                f"window {duration_label(value)} is not a whole number of {duration_label(self.every)} bars"
            )
        return value // self.every

    def extended(self, bars_before: int) -> BarGrid:
        """The same grid started `bars_before` bars earlier (the warm-up for rolling windows)."""
        return BarGrid(self.start - bars_before * self.every, self.end, self.every)

    def frame(self) -> pl.LazyFrame:
        """One row per bar: bar_time = start + every, ..., end."""
        start_ns = _ns(self.start - datetime(1970, 1, 1, tzinfo=timezone.utc))
        return pl.LazyFrame().select(
            (pl.int_range(1, self.bars + 1, dtype=pl.Int64) * self.every_ns + start_ns)
            .cast(BAR_TIME_DTYPE)
            .alias(BAR_TIME)
        )

    def bar_of(self, event_time: pl.Expr) -> pl.Expr:
        """The bar an event falls in: start + (floor((t - start) / every) + 1) * every, so t < bar_time."""
        start_ns = _ns(self.start - datetime(1970, 1, 1, tzinfo=timezone.utc))
        offset = event_time.dt.epoch("ns") - start_ns
        return ((offset // self.every_ns + 1) * self.every_ns + start_ns).cast(BAR_TIME_DTYPE)

    def within(self) -> pl.Expr:
        """Rows of this grid (drops warm-up bars and anything after the end)."""
        return (pl.col(BAR_TIME) > self.start) & (pl.col(BAR_TIME) <= self.end)


# --- deterministic evaluation ----------------------------------------------------------------------------------
# The same input must give the same bytes on every run and every thread count. Float addition is not associative,
# so any sum whose order depends on how work is split across threads differs in the last bits. Two polars paths
# do that: the streaming engine (what a plain `collect()` picks in polars 2) splits columns into morsels, which changes
# rolling sums and means and group sums with POLARS_MAX_THREADS; and group_by sums, on either engine, add
# per-thread partial sums when there are few groups. So every query here runs on the in-memory engine (rolling
# windows in one pass per column), and every sum over rows goes through numpy, in row order.


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """Run a query on polars' in-memory engine (see above: the streaming engine's results depend on the thread
    count)."""
    return frame.collect(engine="in-memory")


def run_starts(keys: pl.Series) -> np.ndarray:
    """Index of the first row of each run of equal values of `keys`, which must be sorted."""
    if not keys.is_sorted():
        raise ValueError(f"{keys.name} must be sorted to be cut into runs")
    if keys.len() == 0:
        return np.empty(0, dtype=np.int64)
    changes = keys.ne_missing(keys.shift(1)).fill_null(True)
    return changes.arg_true().to_numpy().astype(np.int64)


def run_sums(values: pl.Series, starts: np.ndarray) -> np.ndarray:
    """Per run: the sum of `values` over its rows (nulls count as 0), by numpy's pairwise summation in row order,
    which depends on the values alone, never on threads or memory layout."""
    if len(starts) == 0:
        return np.empty(0)
    return np.add.reduceat(values.fill_null(0.0).to_numpy().astype(np.float64, copy=False), starts)


def exact_sum(values: pl.Series) -> float:
    """The sum of a column (nulls count as 0), by numpy's pairwise summation in row order."""
    return float(np.sum(values.fill_null(0.0).to_numpy())) if values.len() else 0.0


def reindex(frame: pl.DataFrame | pl.LazyFrame, grid: BarGrid) -> pl.LazyFrame:
    """A bar table laid on every bar of `grid` (missing bars become null rows) so row shifts are bar shifts."""
    return grid.frame().join(frame.lazy(), on=BAR_TIME, how="left", maintain_order="left")


@dataclass(frozen=True)
class TableQuality:
    """Figures a feature or label table reports as Dagster metadata."""

    rows: int
    null_share: dict[str, float]
    coverage: dict[str, float] = field(default_factory=dict)  # e.g. share of bars with a fresh snapshot
    counts: dict[str, int] = field(default_factory=dict)  # e.g. bars left unlabelled for want of the next day

    def as_metadata(self) -> dict[str, float | int]:
        """Flat name -> number, ready for MaterializeResult(metadata=...)."""
        figures: dict[str, float | int] = {"rows": self.rows}
        figures.update({f"coverage_{k}": v for k, v in self.coverage.items()})
        figures.update(self.counts)
        figures["max_null_share"] = max(self.null_share.values(), default=0.0)
        figures.update({f"null_share_{k}": v for k, v in self.null_share.items()})
        return figures


def null_shares(frame: pl.DataFrame) -> dict[str, float]:
    """Per column: null (or NaN) rows / rows."""
    if frame.height == 0:
        return {name: 0.0 for name in frame.columns}
    counts = frame.select(
        (pl.col(name).is_null() | (pl.col(name).is_nan() if frame.schema[name].is_float() else pl.lit(False))).sum()
        for name in frame.columns
    ).row(0)
    return {name: count / frame.height for name, count in zip(frame.columns, counts)}


def log_return_bps(price: pl.Expr, lag_bars: int) -> pl.Expr:
    """r = 1e4 * ln(p_t / p_{t-lag}) over `lag` bars of a contiguous bar series (past bars only)."""
    return 1e4 * (price.log() - price.shift(lag_bars).log())


def realized_vol_bps(price: pl.Expr, window_bars: int) -> pl.Expr:
    """rv = 1e4 * sqrt(sum over the last w bars of ln(p_t / p_{t-1})^2); null until w returns exist."""
    step = log_return_bps(price, 1)
    return (step * step).rolling_sum(window_bars, min_samples=window_bars).clip(lower_bound=0.0).sqrt()


def varies(value: pl.Expr, window_bars: int) -> pl.Expr:
    """Whether the value takes two different values over the last w bars (exact, unlike a rolling variance)."""
    highest = value.rolling_max(window_bars, min_samples=window_bars)
    return highest > value.rolling_min(window_bars, min_samples=window_bars)


def rolling_correlation(x: pl.Expr, y: pl.Expr, window_bars: int) -> pl.Expr:
    """corr_w(x, y) = cov / sqrt(var_x var_y) over the last w bars (Pearson); null if a window has a null or either
    side is constant."""
    mean = lambda e: e.rolling_mean(window_bars, min_samples=window_bars)  # noqa: E731
    cov = mean(x * y) - mean(x) * mean(y)
    var_x, var_y = mean(x * x) - mean(x) ** 2, mean(y * y) - mean(y) ** 2
    defined = varies(x, window_bars) & varies(y, window_bars) & (var_x > 0) & (var_y > 0)
    return pl.when(defined).then((cov / (var_x * var_y).sqrt()).clip(-1.0, 1.0))
