"""Trade-flow features of one coin on the bar grid, from the clean Binance trades (TRADES_SCHEMA).

A bar holds the trades with bar_time - every <= time < bar_time. Bars without trades have zero volumes and
counts, null OHLC / VWAP / bar imbalance, and the last price carried forward (`flow_last_price`); returns, Kyle's
lambda and autocorrelation use that carried price, over past bars only. Bars before the first trade supplied are
null throughout (nothing is known there, not even that nothing traded).

Trades before the grid's start are history (they fill rolling windows and VPIN buckets); trades at or after the
grid's end are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from hyperliquid_assets.features.bars import (
    BAR_TIME,
    BarGrid,
    TableQuality,
    collect,
    duration_label,
    log_return_bps,
    null_shares,
    rolling_correlation,
    run_starts,
    run_sums,
)

EVENT_TIME = "time"


@dataclass(frozen=True)
class TradeFlowConfig:
    """Lags, windows and VPIN buckets of the trade-flow features (durations are whole numbers of bars).

    The VPIN bucket size must be fixed before the day (e.g. from the previous day's notional / 50), never from
    the day itself, or the buckets would look ahead.
    """

    return_lags: tuple[str, ...] = ("1s", "10s", "1m", "5m")
    imbalance_windows: tuple[str, ...] = ("1m", "5m")
    kyle_window: str = "5m"
    autocorr_window: str = "5m"
    vpin_bucket_notional: float = 1_000_000.0  # quote currency per volume bucket
    vpin_buckets: int = 50  # buckets averaged

    @classmethod
    def for_bar(cls, every: str, **overrides) -> TradeFlowConfig:
        """Defaults for 1 s bars, or lags and windows scaled for 1 min bars."""
        if duration_label(every) == "1s":
            return cls(**overrides)
        if duration_label(every) == "1m":
            scaled = dict(return_lags=("1m", "5m", "15m", "1h"), imbalance_windows=("15m", "1h"),
                          kyle_window="1h", autocorr_window="1h")
            return cls(**{**scaled, **overrides})
        raise ValueError(f"no default trade-flow config for {every} bars; pass one")

    def columns(self) -> list[str]:
        """Output columns, in order."""
        return [
            BAR_TIME, "flow_open", "flow_high", "flow_low", "flow_close", "flow_vwap", "flow_last_price",
            "flow_volume", "flow_notional", "flow_buy_volume", "flow_sell_volume", "flow_signed_notional",
            "flow_trade_count", "flow_intensity", "flow_imbalance",
            *(f"flow_imbalance_{duration_label(w)}" for w in self.imbalance_windows),
            "flow_vpin", f"flow_kyle_lambda_{duration_label(self.kyle_window)}",
            f"flow_ret_autocorr_{duration_label(self.autocorr_window)}",
            *(f"flow_ret_bps_{duration_label(lag)}" for lag in self.return_lags),
        ]

    def lookback_bars(self, grid: BarGrid) -> int:
        """Bars of history the longest lag or window needs (+1 for the lagged return in the autocorrelation)."""
        spans = (*self.return_lags, *self.imbalance_windows, self.kyle_window)
        return max(max(grid.bars_in(s) for s in spans), grid.bars_in(self.autocorr_window) + 1)


TRADE_FLOW_FEATURE_COLUMNS = TradeFlowConfig().columns()


# --- per-bar features ------------------------------------------------------------------------------------------


def vwap(price_qty_sum: pl.Expr, volume: pl.Expr) -> pl.Expr:
    """vwap = sum p * q / sum q over the bar's trades; null for a bar without volume."""
    return pl.when(volume > 0).then(price_qty_sum / volume)


def side_volume(qty: pl.Expr, side: pl.Expr, sign: int) -> pl.Expr:
    """Per trade, summed over the bar: V_buy = sum q over trades with side = +1 (V_sell: side = -1)."""
    return pl.when(side == sign).then(qty).otherwise(0.0)


def signed_notional(quote_qty: pl.Expr, side: pl.Expr) -> pl.Expr:
    """Per trade, summed over the bar: S = sum side * quote_qty (net aggressive buying in quote currency)."""
    return quote_qty * side


def volume_imbalance(buy: pl.Expr, sell: pl.Expr) -> pl.Expr:
    """imb = (V_buy - V_sell) / (V_buy + V_sell); null when there is no volume."""
    return pl.when(buy + sell > 0).then((buy - sell) / (buy + sell))


def rolling_volume_imbalance(buy: pl.Expr, sell: pl.Expr, window_bars: int) -> pl.Expr:
    """imb_w = sum_w (V_buy - V_sell) / sum_w (V_buy + V_sell) over the last w bars; null without volume."""
    return volume_imbalance(
        buy.rolling_sum(window_bars, min_samples=window_bars), sell.rolling_sum(window_bars, min_samples=window_bars)
    )


def trade_intensity(count: pl.Expr, bar_seconds: float) -> pl.Expr:
    """intensity = trades in the bar / bar length in seconds."""
    return count / bar_seconds


def kyle_lambda(return_bps: pl.Expr, signed_notional: pl.Expr, window_bars: int) -> pl.Expr:
    """lambda = sum r*q / sum q^2 over the last w bars, r = 1-bar return in bps, q = signed notional in millions
    (regression of return on signed flow through the origin): bps per 1e6 of net buying; null without flow."""
    q = signed_notional / 1e6
    rq = (return_bps * q).rolling_sum(window_bars, min_samples=window_bars)
    qq = (q * q).rolling_sum(window_bars, min_samples=window_bars)
    any_flow = q.abs().rolling_max(window_bars, min_samples=window_bars) > 0  # exact, unlike qq > 0
    return pl.when(any_flow).then(rq / qq)


def return_autocorrelation(return_bps: pl.Expr, window_bars: int) -> pl.Expr:
    """rho = corr(r_t, r_{t-1}) over the last w bars (Pearson); null when either side has no variance."""
    return rolling_correlation(return_bps.shift(1), return_bps, window_bars)


def vpin_buckets(
    notional: np.ndarray, side: np.ndarray, bucket_notional: float, buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """VPIN = mean over the last n volume buckets of |V_buy - V_sell| / V, buckets of V quote notional filled in
    trade order (a trade straddling a boundary is split pro rata). Returns, per bucket from the n-th on, the
    index of the trade that completes it and the VPIN known once it completes."""
    cumulative = np.concatenate(([0.0], np.cumsum(notional)))
    completed = int(cumulative[-1] // bucket_notional)
    if bucket_notional <= 0 or completed > max(len(notional), 1_000):
        raise ValueError(
            f"VPIN bucket of {bucket_notional} quote gives {completed} buckets for {len(notional)} trades; "
            "a bucket should hold many trades (e.g. the previous day's notional / 50)"
        )
    if completed < buckets:
        return np.empty(0, dtype=np.int64), np.empty(0)
    signed = np.concatenate(([0.0], np.cumsum(notional * side)))
    edges = bucket_notional * np.arange(completed + 1, dtype=np.float64)
    # signed flow is linear in cumulative notional within a trade, so interpolating at the edges splits exactly
    imbalance = np.abs(np.diff(np.interp(edges, cumulative, signed))) / bucket_notional
    window_sum = np.cumsum(imbalance)
    window_sum[buckets:] = window_sum[buckets:] - window_sum[:-buckets]
    vpin = np.clip(window_sum[buckets - 1 :] / buckets, 0.0, 1.0)
    completing = np.searchsorted(cumulative, edges[buckets:], side="left") - 1
    return np.clip(completing, 0, len(notional) - 1), vpin


# --- the table -------------------------------------------------------------------------------------------------


def _sorted_trades(trades: pl.DataFrame | pl.LazyFrame, grid: BarGrid) -> pl.DataFrame:
    frame = (
        trades.lazy()
        .select(EVENT_TIME, "price", "qty", "quote_qty", "side")
        .filter(pl.col(EVENT_TIME) < grid.end)
        .pipe(collect)
    )
    if not frame[EVENT_TIME].is_sorted():
        frame = frame.sort(EVENT_TIME, maintain_order=True)
    return frame.with_columns(grid.bar_of(pl.col(EVENT_TIME)).alias(BAR_TIME))


def _vpin_by_bar(trades: pl.DataFrame, config: TradeFlowConfig) -> pl.DataFrame:
    """Per bar in which a bucket completes: the VPIN after the bar's last completed bucket."""
    completing, vpin = vpin_buckets(
        trades["quote_qty"].to_numpy(), trades["side"].to_numpy(), config.vpin_bucket_notional, config.vpin_buckets
    )
    return (
        pl.DataFrame({"_vpin_bar": trades[BAR_TIME].gather(completing), "flow_vpin": vpin})
        .group_by("_vpin_bar", maintain_order=True)
        .agg(pl.col("flow_vpin").last())
    )


_BAR_SUMS = ["flow_volume", "flow_notional", "flow_buy_volume", "flow_sell_volume", "flow_signed_notional",
             "_price_qty"]


def _per_bar(trades: pl.DataFrame) -> pl.DataFrame:
    """One row per bar with trades: OHLC, trade count, and the bar's sums (in row order: bars.run_sums)."""
    price, qty, side = pl.col("price"), pl.col("qty"), pl.col("side")
    values = trades.select(
        BAR_TIME, "price",
        flow_volume=qty, flow_notional=pl.col("quote_qty"),
        flow_buy_volume=side_volume(qty, side, 1), flow_sell_volume=side_volume(qty, side, -1),
        flow_signed_notional=signed_notional(pl.col("quote_qty"), side), _price_qty=price * qty,
    )
    schema = {BAR_TIME: values.schema[BAR_TIME], **dict.fromkeys(["flow_open", "flow_high", "flow_low", "flow_close"],
              pl.Float64), "flow_trade_count": pl.Int32, **dict.fromkeys(_BAR_SUMS, pl.Float64)}
    starts = run_starts(values[BAR_TIME])
    if len(starts) == 0:
        return pl.DataFrame(schema=schema)
    ends = np.append(starts[1:], values.height) - 1
    prices = values["price"].to_numpy()
    return pl.DataFrame(
        {
            BAR_TIME: values[BAR_TIME].gather(starts),
            "flow_open": prices[starts], "flow_high": np.maximum.reduceat(prices, starts),
            "flow_low": np.minimum.reduceat(prices, starts), "flow_close": prices[ends],
            "flow_trade_count": ends - starts + 1,
            **{name: run_sums(values[name], starts) for name in _BAR_SUMS},
        },
        schema=schema,
    )


def trade_flow_features(
    trades: pl.DataFrame | pl.LazyFrame, grid: BarGrid, config: TradeFlowConfig = TradeFlowConfig()
) -> pl.DataFrame:
    """The trade-flow feature table: one row per bar of `grid`, columns `config.columns()`."""
    sorted_trades = _sorted_trades(trades, grid)
    per_bar = _per_bar(sorted_trades).lazy().with_columns(flow_vwap=vwap(pl.col("_price_qty"), pl.col("flow_volume")))
    last_price = per_bar.select(pl.col(BAR_TIME).alias("_price_bar"), pl.col("flow_close").alias("flow_last_price"))
    zero_when_empty = ["flow_volume", "flow_notional", "flow_buy_volume", "flow_sell_volume", "flow_signed_notional"]
    buy, sell = pl.col("flow_buy_volume"), pl.col("flow_sell_volume")
    one_bar = pl.col("_ret_1")
    started = pl.col("flow_last_price").is_not_null()
    kyle, autocorr = config.kyle_window, config.autocorr_window
    table = (
        grid.extended(config.lookback_bars(grid))
        .frame()
        .join(per_bar, on=BAR_TIME, how="left", maintain_order="left")
        .join_asof(last_price, left_on=BAR_TIME, right_on="_price_bar", strategy="backward")
        .join_asof(_vpin_by_bar(sorted_trades, config).lazy(), left_on=BAR_TIME, right_on="_vpin_bar",
                   strategy="backward")
        .with_columns(  # an empty bar after the first trade has zero volume; before it, nothing is known
            pl.when(started).then(pl.col(zero_when_empty).fill_null(0.0)),
            pl.when(started).then(pl.col("flow_trade_count").fill_null(0)),
            _ret_1=log_return_bps(pl.col("flow_last_price"), 1),
        )
        .with_columns(
            flow_intensity=trade_intensity(pl.col("flow_trade_count"), grid.every_seconds),
            flow_imbalance=volume_imbalance(buy, sell),
            **{f"flow_imbalance_{duration_label(w)}": rolling_volume_imbalance(buy, sell, grid.bars_in(w))
               for w in config.imbalance_windows},
            **{f"flow_kyle_lambda_{duration_label(kyle)}": kyle_lambda(one_bar, pl.col("flow_signed_notional"),
                                                                       grid.bars_in(kyle))},
            **{f"flow_ret_autocorr_{duration_label(autocorr)}": return_autocorrelation(
                one_bar, grid.bars_in(autocorr))},
            **{f"flow_ret_bps_{duration_label(lag)}": log_return_bps(pl.col("flow_last_price"), grid.bars_in(lag))
               for lag in config.return_lags},
        )
        .filter(grid.within())
        .select(config.columns())
    )
    return collect(table)


def trade_flow_feature_table(
    trades: pl.DataFrame | pl.LazyFrame, grid: BarGrid, config: TradeFlowConfig = TradeFlowConfig()
) -> tuple[pl.DataFrame, TableQuality]:
    """The trade-flow table and its quality: rows, null share per column, share of bars with at least one trade."""
    table = trade_flow_features(trades, grid, config)
    with_trades = float((table["flow_trade_count"] > 0).mean() or 0.0) if table.height else 0.0
    quality = TableQuality(
        rows=table.height,
        null_share=null_shares(table),
        coverage={"bars_with_trades": with_trades},
        counts={"trades": int(table["flow_trade_count"].sum())},
    )
    return table, quality
