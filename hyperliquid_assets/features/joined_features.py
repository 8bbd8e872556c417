"""The joined feature table: book and trade-flow features on one bar grid, plus cross-venue features.

Each book bar takes the latest flow bar ending at or before its own end (as-of, backward: never a later row).
Cross-venue (`xv_`) features set the Binance flow, taken `lag` bars back (a margin for the two venues' clocks and
feeds), against the Hyperliquid mid of the current bar. Book and flow rows before the grid's start are history
for the lags and windows; only the grid's bars are returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from hyperliquid_assets.features.bars import (
    BAR_TIME,
    BarGrid,
    TableQuality,
    collect,
    duration_label,
    log_return_bps,
    null_shares,
    reindex,
    rolling_correlation,
)
from hyperliquid_assets.features.book_features import BOOK_FEATURE_COLUMNS
from hyperliquid_assets.features.trade_flow_features import TRADE_FLOW_FEATURE_COLUMNS


@dataclass(frozen=True)
class CrossVenueConfig:
    """Lag of the Binance inputs, the horizons of the lagged returns and flows, and the lead-lag window."""

    lag: str | None = "1s"  # None: the Binance inputs of the same bar
    horizons: tuple[str, ...] = ("1s", "10s", "1m")
    lead_corr_window: str = "5m"

    @classmethod
    def for_bar(cls, every: str, **overrides) -> CrossVenueConfig:
        """Defaults for 1 s bars, or horizons scaled for 1 min bars."""
        if duration_label(every) == "1s":
            return cls(**overrides)
        if duration_label(every) == "1m":
            return cls(**{"lag": "1m", "horizons": ("1m", "5m", "15m"), "lead_corr_window": "1h", **overrides})
        raise ValueError(f"no default cross-venue config for {every} bars; pass one")

    def columns(self) -> list[str]:
        """The xv_ columns, in order."""
        return [
            "xv_basis_bps",
            *(f"xv_binance_ret_bps_{duration_label(h)}" for h in self.horizons),
            *(f"xv_binance_signed_notional_{duration_label(h)}" for h in self.horizons),
            *(f"xv_ret_gap_bps_{duration_label(h)}" for h in self.horizons),
            f"xv_lead_corr_{duration_label(self.lead_corr_window)}",
        ]

    def lag_bars(self, grid: BarGrid) -> int:
        return 0 if self.lag is None else grid.bars_in(self.lag)

    def lookback_bars(self, grid: BarGrid) -> int:
        """Bars of history the lag plus the longest horizon or window needs."""
        return self.lag_bars(grid) + max(grid.bars_in(s) for s in (*self.horizons, self.lead_corr_window)) + 1


CROSS_VENUE_COLUMNS = CrossVenueConfig().columns()
JOINED_FEATURE_COLUMNS = [BAR_TIME, *BOOK_FEATURE_COLUMNS[1:], *TRADE_FLOW_FEATURE_COLUMNS[1:], *CROSS_VENUE_COLUMNS]


def basis_bps(binance_price: pl.Expr, mid: pl.Expr) -> pl.Expr:
    """basis = 1e4 * ln(P_binance / mid_hyperliquid)."""
    return 1e4 * (binance_price / mid).log()


def windowed_sum(value: pl.Expr, window_bars: int) -> pl.Expr:
    """S_w = sum of the value over the last w bars; null until w bars exist."""
    return value.rolling_sum(window_bars, min_samples=window_bars)


def return_gap_bps(binance_return_bps: pl.Expr, mid: pl.Expr, horizon_bars: int) -> pl.Expr:
    """gap_h = (lagged Binance return over h) - 1e4 * ln(mid_t / mid_{t-h}): the Binance move not yet in the mid."""
    return binance_return_bps - log_return_bps(mid, horizon_bars)


def joined_features(
    book: pl.DataFrame | pl.LazyFrame,
    flow: pl.DataFrame | pl.LazyFrame,
    grid: BarGrid,
    config: CrossVenueConfig = CrossVenueConfig(),
) -> pl.DataFrame:
    """bar_time, every book_ column, every flow_ column (as-of), then `config.columns()`; one row per grid bar."""
    lag = config.lag_bars(grid)
    book_frame, flow_frame = book.lazy(), flow.lazy()
    flow_columns = [c for c in flow_frame.collect_schema().names() if c != BAR_TIME]
    book_columns = [c for c in book_frame.collect_schema().names() if c != BAR_TIME]
    laid = (
        reindex(book_frame, grid.extended(config.lookback_bars(grid)))
        .join_asof(flow_frame.sort(BAR_TIME), on=BAR_TIME, strategy="backward")
    )
    price, mid, signed = pl.col("_binance_price"), pl.col("book_mid"), pl.col("_binance_signed")
    horizons = [(duration_label(h), grid.bars_in(h)) for h in config.horizons]
    window = config.lead_corr_window
    table = (
        laid.with_columns(
            _binance_price=pl.col("flow_last_price").shift(lag),
            _binance_signed=pl.col("flow_signed_notional").shift(lag),
        )
        .with_columns(_binance_ret=log_return_bps(price, 1), _mid_ret=log_return_bps(mid, 1))
        .with_columns(
            xv_basis_bps=basis_bps(price, mid),
            **{f"xv_binance_ret_bps_{name}": log_return_bps(price, bars) for name, bars in horizons},
            **{f"xv_binance_signed_notional_{name}": windowed_sum(signed, bars) for name, bars in horizons},
            **{f"xv_lead_corr_{duration_label(window)}": rolling_correlation(
                pl.col("_binance_ret"), pl.col("_mid_ret"), grid.bars_in(window))},
        )
        .with_columns(
            **{f"xv_ret_gap_bps_{name}": return_gap_bps(pl.col(f"xv_binance_ret_bps_{name}"), mid, bars)
               for name, bars in horizons},
        )
        .filter(grid.within())
        .select(BAR_TIME, *book_columns, *flow_columns, *config.columns())
    )
    return collect(table)


def joined_feature_table(
    book: pl.DataFrame | pl.LazyFrame,
    flow: pl.DataFrame | pl.LazyFrame,
    grid: BarGrid,
    config: CrossVenueConfig = CrossVenueConfig(),
) -> tuple[pl.DataFrame, TableQuality]:
    """The joined table and its quality: rows, null share per column, fresh-snapshot and with-trades coverage."""
    table = joined_features(book, flow, grid, config)
    share = lambda expr: float(table.select(expr.mean()).item() or 0.0) if table.height else 0.0  # noqa: E731
    quality = TableQuality(
        rows=table.height,
        null_share=null_shares(table),
        coverage={
            "fresh_snapshot": share(~pl.col("book_stale")),
            "bars_with_trades": share(pl.col("flow_trade_count") > 0),
            "book_and_trades": share(pl.col("book_mid").is_not_null() & pl.col("flow_last_price").is_not_null()),
        },
    )
    return table, quality
