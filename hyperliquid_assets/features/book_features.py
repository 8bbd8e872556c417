"""Order-book features of one coin on the bar grid, from the clean L2 book (L2_BOOK_SCHEMA).

Event time is `received_time` (when the snapshot was known). A bar's book is the last snapshot received before
the bar's end (as-of, never a later one); a bar with no snapshot of its own carries that book forward and is
flagged `book_stale`; bars before the first snapshot are null. OFI is summed over the snapshots inside the bar.
Returns and volatilities use the bar series up to and including the bar, never a later bar.

Snapshots received before the grid's start (e.g. the previous day's last hour) are used only as history: to
carry the book into the first bars and to fill the rolling windows. Snapshots at or after the grid's end are
ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from hyperliquid_assets.features.bars import (
    parse_duration,
    BAR_TIME,
    BarGrid,
    TableQuality,
    collect,
    duration_label,
    log_return_bps,
    null_shares,
    realized_vol_bps,
    run_starts,
    run_sums,
)

EVENT_TIME = "received_time"
_INF = float("inf")


@dataclass(frozen=True)
class BookFeatureConfig:
    """Which levels, distances, lags and windows the book features use (durations are whole numbers of bars)."""

    imbalance_levels: tuple[int, ...] = (1, 5, 10)
    weighted_mid_levels: int = 5
    depth_bps: tuple[int, ...] = (5, 10, 25)
    slope_levels: int = 10
    return_lags: tuple[str, ...] = ("1s", "10s", "1m", "5m")
    # 1d: the trailing day's volatility regime; it is also why a day's book features read the previous day's hours.
    vol_windows: tuple[str, ...] = ("1m", "5m", "30m", "1d")
    # A mid older than this is unknown, not unchanged: returns and volatility across it are null, never 0.
    max_book_age: str = "1m"

    @classmethod
    def for_bar(cls, every: str, **overrides) -> BookFeatureConfig:
        """Defaults for 1 s bars, or lags and windows scaled for 1 min bars."""
        if duration_label(every) == "1s":
            return cls(**overrides)
        if duration_label(every) == "1m":
            return cls(**{"return_lags": ("1m", "5m", "15m", "1h"), "vol_windows": ("15m", "1h", "4h", "1d"),
                          "max_book_age": "5m", **overrides})
        raise ValueError(f"no default book feature config for {every} bars; pass one")

    def snapshot_columns(self) -> list[str]:
        """Columns computed per snapshot and carried to the bar as-of."""
        return [
            "book_best_bid", "book_best_ask", "book_mid", "book_spread_bps",
            *(f"book_imbalance_{k}" for k in self.imbalance_levels),
            "book_microprice", "book_microprice_offset_bps", f"book_wmid_{self.weighted_mid_levels}",
            *(f"book_{side}_depth_{x}bps" for x in self.depth_bps for side in ("bid", "ask")),
            f"book_bid_slope_{self.slope_levels}", f"book_ask_slope_{self.slope_levels}",
        ]

    def columns(self) -> list[str]:
        """Output columns, in order."""
        return [
            BAR_TIME, "book_stale", "book_snapshots", "book_age_s", *self.snapshot_columns(), "book_ofi",
            *(f"book_ret_bps_{duration_label(lag)}" for lag in self.return_lags),
            *(f"book_rv_bps_{duration_label(w)}" for w in self.vol_windows),
        ]

    def lookback_bars(self, grid: BarGrid) -> int:
        """Bars of history the longest lag or window needs."""
        return max(grid.bars_in(span) for span in (*self.return_lags, *self.vol_windows))


BOOK_FEATURE_COLUMNS = BookFeatureConfig().columns()


# --- per-snapshot features (on the list columns, best level first) -------------------------------------------
# top_notional, depth_within_bps and deepest_distance_bps read the per-level lists `_<side>_notional` and
# `_<side>_distance` that snapshot_features adds first, so each list is built once.


def best_price(side: str) -> pl.Expr:
    """p1 = price of the side's best level; null when the side is empty."""
    return pl.col(f"{side}_px").list.first()


def best_size(side: str) -> pl.Expr:
    """q1 = size of the side's best level; null when the side is empty."""
    return pl.col(f"{side}_sz").list.first()


def top_size(side: str, levels: int) -> pl.Expr:
    """Q_k = sum_{i<=k} q_i over the side's top k levels (0 for an empty side)."""
    return pl.col(f"{side}_sz").list.head(levels).list.sum()


def level_notional(side: str) -> pl.Expr:
    """n_i = p_i * q_i for each level of the side (a list)."""
    return pl.col(f"{side}_px") * pl.col(f"{side}_sz")


def level_distance_bps(side: str, mid: pl.Expr) -> pl.Expr:
    """d_i = 1e4 * |p_i - mid| / mid for each level of the side (a list; levels never cross the mid)."""
    signed = (mid - pl.col(f"{side}_px")) if side == "bid" else (pl.col(f"{side}_px") - mid)
    return signed * (1e4 / mid)


def top_notional(side: str, levels: int) -> pl.Expr:
    """N_k = sum_{i<=k} p_i * q_i over the side's top k levels (0 for an empty side)."""
    return pl.col(f"_{side}_notional").list.head(levels).list.sum()


def mid_price(bid: pl.Expr, ask: pl.Expr) -> pl.Expr:
    """mid = (b1 + a1) / 2; null when a side is empty."""
    return (bid + ask) / 2


def spread_bps(bid: pl.Expr, ask: pl.Expr) -> pl.Expr:
    """spread = 1e4 * (a1 - b1) / mid."""
    return 1e4 * (ask - bid) / mid_price(bid, ask)


def depth_imbalance(bid_size: pl.Expr, ask_size: pl.Expr) -> pl.Expr:
    """I_k = (Qb_k - Qa_k) / (Qb_k + Qa_k) over the top k levels; -1/+1 for a one-sided book, null for an empty one."""
    return pl.when(bid_size + ask_size > 0).then((bid_size - ask_size) / (bid_size + ask_size))


def microprice(bid: pl.Expr, ask: pl.Expr, bid_size: pl.Expr, ask_size: pl.Expr) -> pl.Expr:
    """micro = (b1 * qa1 + a1 * qb1) / (qb1 + qa1), as b1 + (a1 - b1) * qb1 / (qb1 + qa1) to stay in [b1, a1]."""
    return pl.when(bid_size + ask_size > 0).then(bid + (ask - bid) * (bid_size / (bid_size + ask_size)))


def offset_bps(price: pl.Expr, mid: pl.Expr) -> pl.Expr:
    """offset = 1e4 * (price - mid) / mid."""
    return 1e4 * (price - mid) / mid


def weighted_mid(bid_size: pl.Expr, ask_size: pl.Expr, bid_notional: pl.Expr, ask_notional: pl.Expr) -> pl.Expr:
    """wmid_n = (vwap_b * Qa + vwap_a * Qb) / (Qb + Qa), vwap = N_n / Q_n per side: microprice over n levels."""
    vwap_bid, vwap_ask = bid_notional / bid_size, ask_notional / ask_size
    both = (bid_size > 0) & (ask_size > 0)
    return pl.when(both).then((vwap_bid * ask_size + vwap_ask * bid_size) / (bid_size + ask_size))


def depth_within_bps(side: str, bps: float, mid: pl.Expr) -> pl.Expr:
    """D_x = sum p_i * q_i over the side's levels with d_i <= x bps (quote notional; visible levels only)."""
    inside = pl.col(f"_{side}_distance").list.eval((pl.element() <= bps + 1e-9).cast(pl.Float64))
    return pl.when(mid.is_not_null()).then((inside * pl.col(f"_{side}_notional")).list.sum())


def deepest_distance_bps(side: str, levels: int) -> pl.Expr:
    """d_n = distance in bps from the mid of the side's n-th level (or its last, if it has fewer)."""
    return pl.col(f"_{side}_distance").list.head(levels).list.last()


def book_slope(notional: pl.Expr, deepest_bps: pl.Expr) -> pl.Expr:
    """slope = N_n / d_n: quote notional per bps of distance from the mid out to the n-th level."""
    return pl.when(deepest_bps > 0).then(notional / deepest_bps)


def order_flow_imbalance(bid: pl.Expr, bid_size: pl.Expr, ask: pl.Expr, ask_size: pl.Expr) -> pl.Expr:
    """e = 1[b>=b'] qb - 1[b<=b'] qb' - 1[a<=a'] qa + 1[a>=a'] qa' vs the previous snapshot ' (Cont-Kukanov-Stoikov);
    an empty side counts as price -inf (bid) / +inf (ask) with size 0; null for the first snapshot."""
    b, qb = bid.fill_null(-_INF), bid_size.fill_null(0.0)
    a, qa = ask.fill_null(_INF), ask_size.fill_null(0.0)
    up = lambda cond: cond.cast(pl.Float64)  # noqa: E731
    return (
        up(b >= b.shift(1)) * qb - up(b <= b.shift(1)) * qb.shift(1)
        - up(a <= a.shift(1)) * qa + up(a >= a.shift(1)) * qa.shift(1)
    )


def live_mid(mid: pl.Expr, age_s: pl.Expr, max_age: str) -> pl.Expr:
    """mid if the book behind it is at most `max_age` old, else null (a carried-forward book is not a price)."""
    return pl.when(age_s <= parse_duration(max_age).total_seconds()).then(mid)


# --- the table -------------------------------------------------------------------------------------------------


def snapshot_features(
    book: pl.DataFrame | pl.LazyFrame, config: BookFeatureConfig = BookFeatureConfig()
) -> pl.LazyFrame:
    """received_time and `config.snapshot_columns()` for each snapshot, in input order."""
    bid, ask, mid = pl.col("book_best_bid"), pl.col("book_best_ask"), pl.col("book_mid")
    n, slope = config.weighted_mid_levels, config.slope_levels
    size_levels = sorted({*config.imbalance_levels, n})
    q = lambda side, k: pl.col(f"_{side}_q{k}")  # noqa: E731
    notional = lambda side, k: pl.col(f"_{side}_n{k}")  # noqa: E731
    return (
        book.lazy()
        .select(EVENT_TIME, "bid_px", "bid_sz", "ask_px", "ask_sz")
        .with_columns(
            book_best_bid=best_price("bid"), book_best_ask=best_price("ask"),
            _bid_size=best_size("bid"), _ask_size=best_size("ask"),
            _bid_notional=level_notional("bid"), _ask_notional=level_notional("ask"),
            **{f"_{side}_q{k}": top_size(side, k) for side in ("bid", "ask") for k in size_levels},
        )
        .with_columns(
            book_mid=mid_price(bid, ask),
            _bid_distance=level_distance_bps("bid", mid_price(bid, ask)),
            _ask_distance=level_distance_bps("ask", mid_price(bid, ask)),
            **{f"_{side}_n{k}": top_notional(side, k) for side in ("bid", "ask") for k in sorted({n, slope})},
        )
        .with_columns(
            book_spread_bps=spread_bps(bid, ask),
            book_microprice=microprice(bid, ask, pl.col("_bid_size"), pl.col("_ask_size")),
            **{f"book_imbalance_{k}": depth_imbalance(q("bid", k), q("ask", k)) for k in config.imbalance_levels},
            **{f"book_wmid_{n}": weighted_mid(q("bid", n), q("ask", n), notional("bid", n), notional("ask", n))},
            **{
                f"book_{side}_depth_{x}bps": depth_within_bps(side, x, mid)
                for x in config.depth_bps
                for side in ("bid", "ask")
            },
            **{f"book_{side}_slope_{slope}": book_slope(notional(side, slope), deepest_distance_bps(side, slope))
               for side in ("bid", "ask")},
        )
        .with_columns(book_microprice_offset_bps=offset_bps(pl.col("book_microprice"), mid))
        .select(EVENT_TIME, *config.snapshot_columns())
    )


def _ordered_snapshots(book: pl.DataFrame | pl.LazyFrame, grid: BarGrid) -> pl.DataFrame:
    """The snapshots received before the grid's end, stable-sorted by received_time (archive order on ties)."""
    frame = (
        book.lazy()
        .select(EVENT_TIME, "bid_px", "bid_sz", "ask_px", "ask_sz")
        .filter(pl.col(EVENT_TIME) < grid.end)
        .pipe(collect)
    )
    if not frame[EVENT_TIME].is_sorted():
        frame = frame.sort(EVENT_TIME, maintain_order=True)
    return frame.with_columns(grid.bar_of(pl.col(EVENT_TIME)).alias("_snap_bar"))


def _ofi_by_bar(ofi: pl.DataFrame) -> pl.DataFrame:
    """Per bar with snapshots: OFI summed over them (in row order: bars.run_sums), their count, and the last one's
    receive time."""
    schema = {"_snap_bar": ofi.schema["_snap_bar"], "book_ofi": pl.Float64, "_count": pl.Int32,
              "_last_received": ofi.schema[EVENT_TIME]}
    starts = run_starts(ofi["_snap_bar"])
    if len(starts) == 0:
        return pl.DataFrame(schema=schema)
    ends = np.append(starts[1:], ofi.height) - 1
    return pl.DataFrame(
        {"_snap_bar": ofi["_snap_bar"].gather(starts), "book_ofi": run_sums(ofi["book_ofi"], starts),
         "_count": ends - starts + 1, "_last_received": ofi[EVENT_TIME].gather(ends)},
        schema=schema,
    )


def book_features(
    book: pl.DataFrame | pl.LazyFrame, grid: BarGrid, config: BookFeatureConfig = BookFeatureConfig()
) -> pl.DataFrame:
    """The book feature table: one row per bar of `grid`, columns `config.columns()`."""
    snapshots = _ordered_snapshots(book, grid)
    bar = pl.col("_snap_bar")
    ofi = snapshots.select(
        bar, EVENT_TIME,
        book_ofi=order_flow_imbalance(best_price("bid"), best_size("bid"), best_price("ask"), best_size("ask")),
    )
    ofi_by_bar = _ofi_by_bar(ofi).lazy()
    # Only the last snapshot of a bar sets its book, so the level features are computed for those alone.
    last_in_bar = snapshots.filter((bar != bar.shift(-1)).fill_null(True))
    state = snapshot_features(last_in_bar, config).with_columns(grid.bar_of(pl.col(EVENT_TIME)).alias("_snap_bar"))
    per_bar = ofi_by_bar.join(state.drop(EVENT_TIME), on="_snap_bar", how="left", maintain_order="left")
    fresh = pl.col("_snap_bar") == pl.col(BAR_TIME)
    started = pl.col("_snap_bar").is_not_null()
    mid = pl.col("book_mid")
    table = (
        grid.extended(config.lookback_bars(grid))
        .frame()
        .join_asof(per_bar, left_on=BAR_TIME, right_on="_snap_bar", strategy="backward")
        .with_columns(
            book_stale=~fresh.fill_null(False),
            book_snapshots=pl.when(fresh).then(pl.col("_count")).otherwise(0).cast(pl.Int32),
            book_age_s=(pl.col(BAR_TIME) - pl.col("_last_received")).dt.total_nanoseconds() / 1e9,
            book_ofi=pl.when(fresh).then(pl.col("book_ofi")).when(started).then(0.0),
        )
        .with_columns(_live_mid=live_mid(mid, pl.col("book_age_s"), config.max_book_age))
        .with_columns(
            **{
                f"book_ret_bps_{duration_label(lag)}": log_return_bps(pl.col("_live_mid"), grid.bars_in(lag))
                for lag in config.return_lags
            },
            **{f"book_rv_bps_{duration_label(w)}": realized_vol_bps(pl.col("_live_mid"), grid.bars_in(w))
               for w in config.vol_windows},
        )
        .filter(grid.within())
        .select(config.columns())
    )
    return collect(table)


def book_feature_table(
    book: pl.DataFrame | pl.LazyFrame, grid: BarGrid, config: BookFeatureConfig = BookFeatureConfig()
) -> tuple[pl.DataFrame, TableQuality]:
    """The book feature table and its quality: rows, null share per column, share of bars with a fresh snapshot."""
    table = book_features(book, grid, config)
    fresh = float((~table["book_stale"]).mean() or 0.0) if table.height else 0.0
    quality = TableQuality(
        rows=table.height,
        null_share=null_shares(table),
        coverage={"fresh_snapshot": fresh},
        counts={"bars_before_first_snapshot": int(table["book_age_s"].is_null().sum())},
    )
    return table, quality
