"""What a strategy's orders earned, and how good the prediction was, on one coin-day.

Equity (quote currency, starting at 0) at bar end t, marked to the mid m_t of the last snapshot received before t:

    position_t = sum of side * qty over fills received before t
    gross_t    = -sum side * qty * price (those fills) + position_t * m_t          net_t = gross_t - fees_t

Returns are taken on `capital` = order_notional x position_cap (the most the rules hold). Sharpe uses the net
equity's one-minute changes, annualized for a market that trades 24/7:

    r_k = (net_{k} - net_{k-1}) / capital over the day's 1,440 minutes,   Sharpe = mean(r) / sd(r) * sqrt(525,600)

(525,600 = 1,440 minutes x 365 days; one day of minutes is a noisy estimate, read it beside the summary's Sharpe
of daily PnL, sqrt(365)). Max drawdown = max_t (max_{s<=t} net_s - net_t), with 0 as the opening peak. Exposure =
share of bars holding a position; gross exposure = mean |position_t| * m_t / capital. Turnover = traded notional /
capital. A trade is a lot's round trip; hit rate = share of closed trades with net PnL > 0.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from hyperliquid_assets.backtesting.book import BookDay
from hyperliquid_assets.backtesting.execution import slippage_bps
from hyperliquid_assets.backtesting.positions import position_on_grid

MINUTES_PER_YEAR = 1_440 * 365
_MINUTE_NS = 60_000_000_000


def mark_mids(book: BookDay, bar_ns: np.ndarray) -> np.ndarray:
    """The mid known at each bar end (last snapshot received before it), carried over one-sided books;
    NaN before the day's first two-sided snapshot."""
    mids = book.mid.copy()
    valid = np.isfinite(mids)
    carried = np.where(valid, np.arange(len(mids)), -1)
    carried = np.maximum.accumulate(carried) if len(carried) else carried
    index = np.asarray(book.last_before(bar_ns))
    out = np.full(len(bar_ns), np.nan)
    has = index >= 0
    source = carried[index[has]]
    out[np.flatnonzero(has)[source >= 0]] = mids[source[source >= 0]]
    return out


def equity_curves(orders: pl.DataFrame, bar_ns: np.ndarray, mids: np.ndarray) -> dict[str, np.ndarray]:
    """position, gross, fees and net equity at each bar end (see the module docstring)."""
    filled = orders.filter(pl.col("status") == "filled").sort("fill_time")
    fill_ns = filled["fill_time"].dt.epoch("ns").to_numpy()
    signed = filled["side"].to_numpy().astype(np.float64) * filled["qty"].to_numpy()
    cum = lambda x: np.concatenate([[0.0], np.cumsum(x)])  # noqa: E731
    at = np.searchsorted(fill_ns, bar_ns, side="left")
    position = position_on_grid(orders, bar_ns)
    cash = cum(-signed * filled["price"].to_numpy())[at]
    fees = cum(filled["fee"].to_numpy())[at]
    marked = np.where(position != 0, position * np.nan_to_num(mids), 0.0)
    gross = cash + marked
    return {"position": position, "gross": gross, "fees": fees, "net": gross - fees}


def round_trips(orders: pl.DataFrame, final_mid: float) -> pl.DataFrame:
    """One row per lot that was opened: entry and exit fills, fees, gross and net PnL (quote currency) and net PnL
    in bps of the entry notional. A lot whose exit never filled is marked at `final_mid` (open_at_end)."""
    filled = orders.filter(pl.col("status") == "filled")
    entries = filled.filter(pl.col("kind") == "entry").select(
        "lot", "side", "qty", pl.col("decision_time").alias("entry_time"), pl.col("fill_time").alias("entry_fill_time"),
        pl.col("price").alias("entry_price"), pl.col("fee").alias("entry_fee"))
    exits = filled.filter(pl.col("kind") == "exit").select(
        "lot", pl.col("fill_time").alias("exit_fill_time"), pl.col("price").alias("exit_price"),
        pl.col("fee").alias("exit_fee"))
    trips = entries.join(exits, on="lot", how="left")
    return trips.with_columns(
        open_at_end=pl.col("exit_price").is_null(),
        exit_price=pl.col("exit_price").fill_null(final_mid),
        fees=pl.col("entry_fee") + pl.col("exit_fee").fill_null(0.0),
    ).with_columns(
        gross_pnl=pl.col("side").cast(pl.Float64) * pl.col("qty") * (pl.col("exit_price") - pl.col("entry_price")),
    ).with_columns(
        net_pnl=pl.col("gross_pnl") - pl.col("fees"),
    ).with_columns(
        net_bps=pl.col("net_pnl") / (pl.col("qty") * pl.col("entry_price")) * 1e4,
    ).drop("entry_fee", "exit_fee").sort("lot")


def sharpe_24_7(net: np.ndarray, bar_ns: np.ndarray, capital: float) -> float:
    """Annualized Sharpe of the one-minute changes of net equity (see the module docstring); NaN if flat."""
    on_minute = net[(bar_ns % _MINUTE_NS) == 0]
    changes = np.diff(np.concatenate([[0.0], on_minute])) / capital
    if changes.size < 2 or not np.std(changes) > 0:
        return math.nan
    return float(np.mean(changes) / np.std(changes, ddof=1) * math.sqrt(MINUTES_PER_YEAR))


def max_drawdown(net: np.ndarray) -> float:
    """max_t (running peak - net_t), the peak starting at 0 (quote currency, >= 0)."""
    if net.size == 0:
        return 0.0
    peak = np.maximum.accumulate(np.maximum(net, 0.0))
    return float(np.max(peak - net))


def strategy_metrics(
    orders: pl.DataFrame, trips: pl.DataFrame, curves: dict[str, np.ndarray], mids: np.ndarray,
    bar_ns: np.ndarray, capital: float,
) -> dict[str, float]:
    """Headline figures of one strategy on one day, plain floats (NaN where undefined, e.g. no trades)."""
    filled = orders.filter(pl.col("status") == "filled")
    side, price, mid = (filled[c].to_numpy().astype(np.float64) for c in ("side", "price", "mid"))
    notional = filled["qty"].to_numpy() * price
    slip = slippage_bps(side, price, mid)
    shortfall = slippage_bps(side, price, filled["decision_mid"].to_numpy())
    weighted = lambda x: float(np.sum(x * notional) / np.sum(notional)) if notional.size else math.nan  # noqa: E731
    closed = trips.filter(~pl.col("open_at_end"))
    status = orders["status"].value_counts()
    refused = dict(zip(status["status"].to_list(), status["count"].to_list()))
    net, gross, fees = curves["net"], curves["gross"], curves["fees"]
    holding = curves["position"] != 0
    dd = max_drawdown(net)
    return {
        "net_pnl": float(net[-1]),
        "gross_pnl": float(gross[-1]),
        "fees": float(fees[-1]),
        "return_pct": float(net[-1] / capital * 100),
        "traded_notional": float(notional.sum()),
        "turnover": float(notional.sum() / capital),
        "trades": float(closed.height),
        "fills": float(filled.height),
        "hit_rate": float((closed["net_pnl"] > 0).mean()) if closed.height else math.nan,
        "avg_trade_net_bps": float(closed["net_bps"].mean()) if closed.height else math.nan,
        "avg_slippage_bps": weighted(slip),
        "avg_shortfall_bps": weighted(shortfall),
        "sharpe": sharpe_24_7(net, bar_ns, capital),
        "max_drawdown": dd,
        "max_drawdown_pct": dd / capital * 100,
        "exposure": float(holding.mean()) if holding.size else 0.0,
        "gross_exposure": float(np.mean(np.abs(curves["position"]) * np.nan_to_num(mids)) / capital) if holding.size else 0.0,
        "refused_stale": float(refused.get("stale", 0)),
        "refused_crossed": float(refused.get("crossed", 0)),
        "refused_beyond_book": float(refused.get("beyond_book", 0)),
        "open_at_end": float(trips["open_at_end"].sum()),
    }


def information_coefficient(score: pl.Series, realized: pl.Series, sample_every: int = 1) -> dict[str, float]:
    """Pearson and Spearman (rank) correlation of the prediction score with the realized forward return over the
    bars where both exist, and that count. Bars overlap (1 s bars, minutes-long horizons), so the count
    overstates the independent samples: `ic_spearman_sampled` takes one bar in `sample_every` (the horizon in
    bars), whose forward windows do not overlap."""
    frame = pl.DataFrame({"s": score, "r": realized}).with_row_index("bar")
    frame = frame.drop_nulls().filter(pl.col("s").is_finite() & pl.col("r").is_finite())
    sampled = frame.filter(pl.col("bar") % sample_every == 0)
    corr = lambda f, method: _finite(f.select(pl.corr("s", "r", method=method)).item()) if f.height >= 3 else math.nan  # noqa: E731
    return {
        "ic_pearson": corr(frame, "pearson"),
        "ic_spearman": corr(frame, "spearman"),
        "ic_spearman_sampled": corr(sampled, "spearman"),
        "ic_bars": float(frame.height),
        "ic_bars_sampled": float(sampled.height),
    }


def calibration_table(prob: pl.Series, hit: pl.Series, bins: int = 10) -> pl.DataFrame:
    """Reliability: bars grouped by quantile of the predicted probability; per group the mean prediction, the
    realized share of hits, and the count. Quantile groups, because a classifier's probabilities crowd together."""
    frame = pl.DataFrame({"p": prob, "y": hit.cast(pl.Float64)}).drop_nulls().filter(pl.col("p").is_finite())
    if frame.height == 0:
        return pl.DataFrame(schema={"predicted": pl.Float64, "realized": pl.Float64, "bars": pl.UInt32})
    ranks = frame["p"].rank("ordinal").to_numpy()
    group = np.minimum(((ranks - 1) * bins) // frame.height, bins - 1)
    return (
        frame.with_columns(g=pl.Series(group))
        .group_by("g").agg(predicted=pl.col("p").mean(), realized=pl.col("y").mean(), bars=pl.len())
        .sort("g").drop("g")
    )


def _finite(value) -> float:
    return float(value) if value is not None and math.isfinite(value) else math.nan
