"""The report's figures, drawn with matplotlib's Agg canvas (no pyplot state, no display) into PNG bytes.

PNG rather than inline plotly: a figure is ~30-130 kB whatever the number of points, the HTML stays small and
fully offline, and the MLflow UI shows the same files. PNG metadata is pinned (no software version, no date),
so the same inputs give the same bytes. Margins are fixed rather than computed by a layout engine, and zlib
level 3 is used: together they halve the drawing time for files a few percent larger.
"""

from __future__ import annotations

import io

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from hyperliquid_assets.backtesting.baselines import BUY_AND_HOLD, FEATURE_RULE, FLAT, MODEL, RANDOM

DPI = 100
COLORS = {MODEL: "#1f5fbf", FLAT: "#7f7f7f", BUY_AND_HOLD: "#2ca02c", FEATURE_RULE: "#ff7f0e", RANDOM: "#9467bd"}
LABELS = {MODEL: "model", FLAT: "flat", BUY_AND_HOLD: "buy and hold", FEATURE_RULE: "one-feature rule",
          RANDOM: "random (model's turnover)"}


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def _figure(width: float, height: float, rows: int = 1, left: float = 0.8, bottom: float = 0.6,
            **grid) -> tuple[Figure, list]:
    """A figure with fixed margins (inches on the left and bottom, small on the top and right)."""
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=left / width, right=1 - 0.2 / width, bottom=bottom / height, top=1 - 0.4 / height,
                           hspace=0.12)
    axes = figure.subplots(rows, 1, squeeze=False, **grid)[:, 0]
    return figure, list(axes)


def _hours(times: pl.Series) -> np.ndarray:
    """Hours since the day's start, for an x axis that reads 0..24."""
    ns = times.dt.epoch("ns").to_numpy()
    return (ns - (ns[0] // 86_400_000_000_000) * 86_400_000_000_000) / 3.6e12 if ns.size else ns


def equity_and_drawdown(equity: pl.DataFrame, strategies: list[str], title: str) -> bytes:
    """Net equity of each strategy over the day (top) and its drawdown from the running peak (bottom)."""
    figure, (top, bottom) = _figure(10, 6, 2, sharex=True, height_ratios=[2, 1])
    x = _hours(equity["bar_time"])
    for name in strategies:
        net = equity[f"net_{name}"].to_numpy()
        width = 2.0 if name == MODEL else 1.2
        top.plot(x, net, color=COLORS.get(name), lw=width, label=LABELS.get(name, name))
        bottom.plot(x, net - np.maximum.accumulate(np.maximum(net, 0.0)), color=COLORS.get(name), lw=width)
    top.axhline(0, color="black", lw=0.6)
    top.set_ylabel("net PnL (USD)")
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8)  # "best" searches every plotted point: slow
    bottom.set_ylabel("drawdown (USD)")
    bottom.set_xlabel("hour of the day (UTC)")
    bottom.set_xlim(0, 24)
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    return png_bytes(figure)


def trade_pnl_distribution(trades: pl.DataFrame, strategies: list[str], fee_bps: float) -> bytes:
    """Histogram of net PnL per trade (bps of the entry notional) per strategy; the round-trip fee marked."""
    figure, (axis,) = _figure(10, 4.2)
    values = {s: trades.filter(pl.col("strategy") == s)["net_bps"].drop_nulls().to_numpy() for s in strategies}
    pooled = np.concatenate([v for v in values.values() if v.size]) if any(v.size for v in values.values()) else np.empty(0)
    if pooled.size:
        low, high = np.percentile(pooled, [0.5, 99.5])
        bins = np.linspace(min(low, -2 * fee_bps), max(high, 2 * fee_bps), 50)
        for name, v in values.items():
            if v.size:
                axis.hist(np.clip(v, bins[0], bins[-1]), bins=bins, histtype="step", lw=1.6, color=COLORS.get(name),
                          label=f"{LABELS.get(name, name)}: {v.size} trades, mean {v.mean():.2f} bps")
        axis.legend(loc="upper right", fontsize=8)
    else:
        axis.text(0.5, 0.5, "no closed trades", ha="center", va="center", transform=axis.transAxes)
    axis.axvline(-2 * fee_bps, color="crimson", ls="--", lw=1, label="round-trip taker fee")
    axis.axvline(0, color="black", lw=0.6)
    axis.set_xlabel("net PnL per trade (bps of entry notional; round-trip taker fee dashed)")
    axis.set_ylabel("trades")
    axis.grid(alpha=0.3)
    return png_bytes(figure)


def calibration(table: pl.DataFrame, ic: float) -> bytes:
    """Reliability diagram: mean predicted probability against the realized frequency, per quantile group."""
    figure, (axis,) = _figure(6.5, 5.5, bottom=0.7)
    axis.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--", label="perfectly calibrated")
    for name, color in (("up", "#2ca02c"), ("down", "#d62728")):
        part = table.filter(pl.col("class") == name)
        if part.height:
            axis.plot(part["predicted"], part["realized"], "o-", color=color,
                      label=f"P({name}) vs realized {name} ({int(part['bars'].sum())} bars)")
    if table.height == 0:
        axis.text(0.5, 0.5, "no bar with both a prediction and a label", ha="center", va="center")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("predicted probability (mean of the quantile group)")
    axis.set_ylabel("realized frequency")
    axis.set_title(f"calibration; rank IC with the realized return {ic:.3f}")
    axis.legend(fontsize=8, loc="upper left")
    axis.grid(alpha=0.3)
    return png_bytes(figure)


def slippage_vs_size(impact: pl.DataFrame, fills: pl.DataFrame) -> bytes:
    """The book's cost of a market order by size (median and 90th percentile over the day's snapshots, both
    sides) and every actual fill's slippage against its order's notional."""
    figure, (axis,) = _figure(10, 4.5)
    axis.plot(impact["notional"], impact["median_bps"], "o-", color="black", label="book: median over the day")
    axis.plot(impact["notional"], impact["p90_bps"], "o--", color="gray", label="book: 90th percentile")
    for name in fills["strategy"].unique(maintain_order=True):
        part = fills.filter(pl.col("strategy") == name)
        axis.scatter(part["notional"], part["slippage_bps"], s=9, alpha=0.5, color=COLORS.get(name),
                     label=f"{LABELS.get(name, name)} fills")
    beyond = impact.filter(pl.col("beyond_book_share") > 0)
    for row in beyond.iter_rows(named=True):
        axis.annotate(f"{row['beyond_book_share']:.0%} beyond book", (row["notional"], row["p90_bps"]),
                      fontsize=7, textcoords="offset points", xytext=(0, 6), ha="center")
    axis.set_xscale("log")
    axis.xaxis.set_minor_locator(NullLocator())  # minor ticks of a log axis cost more to draw than they tell
    axis.set_xticks(impact["notional"].to_list(), [f"{x:,.0f}" for x in impact["notional"].to_list()], fontsize=8)
    axis.set_xlabel("order notional (USD, log scale)")
    axis.set_ylabel("slippage vs mid (bps)")
    axis.legend(loc="upper left", fontsize=8)
    axis.grid(alpha=0.3)
    return png_bytes(figure)


def feature_importance(table: pl.DataFrame, top: int = 20) -> bytes:
    """Horizontal bars of the model's largest importances (by absolute value), labelled with their kind."""
    ranked = table.sort(pl.col("importance").abs(), descending=True).head(top).reverse()
    figure, (axis,) = _figure(9, max(2.5, 0.3 * ranked.height + 1), left=3.2)
    kinds = ranked["kind"].cast(pl.String).fill_null("").to_list() if "kind" in ranked.columns else [""] * ranked.height
    values = ranked["importance"].to_numpy()
    axis.barh(np.arange(ranked.height), values, color=np.where(values >= 0, "#1f5fbf", "#d62728"))
    axis.set_yticks(np.arange(ranked.height),
                    [f"{f} ({k})" if k else f for f, k in zip(ranked["feature"].to_list(), kinds)], fontsize=8)
    axis.axvline(0, color="black", lw=0.6)
    axis.set_xlabel("importance (as logged with the model)")
    axis.grid(alpha=0.3, axis="x")
    return png_bytes(figure)


def daily_and_cumulative(daily: pl.DataFrame, strategies: list[str], title: str) -> bytes:
    """Walk-forward: daily net PnL per strategy (bars, grouped by day) and its cumulative sum (lines)."""
    figure, (top, bottom) = _figure(10, 6, 2, bottom=1.0, sharex=True)
    days = daily["date"].unique().sort()
    x = np.arange(days.len())
    width = 0.8 / max(len(strategies), 1)
    for i, name in enumerate(strategies):
        part = pl.DataFrame({"date": days}).join(daily.filter(pl.col("strategy") == name), on="date", how="left")
        pnl = part["net_pnl"].fill_null(0.0).to_numpy()
        top.bar(x + (i - (len(strategies) - 1) / 2) * width, pnl, width, color=COLORS.get(name), label=LABELS.get(name, name))
        bottom.plot(x, np.cumsum(pnl), "o-", color=COLORS.get(name), lw=2 if name == MODEL else 1.2)
    top.axhline(0, color="black", lw=0.6)
    top.set_ylabel("daily net PnL (USD)")
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8)
    bottom.axhline(0, color="black", lw=0.6)
    bottom.set_ylabel("cumulative net PnL (USD)")
    labels = [d.isoformat() for d in days.to_list()]
    step = max(1, len(labels) // 15)
    bottom.set_xticks(x[::step], labels[::step], rotation=30, ha="right", fontsize=8)
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    return png_bytes(figure)
