"""The walk-forward summary of one coin and model spec over every backtested day, from the per-day metrics.

    daily = pl.concat([result.daily_rows() for each day])     # or the stored per-day rows
    table = walk_forward_summary(daily)
    files = write_summary_report(daily, out_dir, provenance, title)

Per strategy over the days: total and mean daily net PnL, the Sharpe of daily net PnL (mean / sd x sqrt(365):
crypto trades every day), the share of positive days, the max drawdown of cumulative daily net PnL, fees and
trades; and for the model, the share of days it beat each baseline net of costs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import polars as pl

from hyperliquid_assets.backtesting import plots
from hyperliquid_assets.backtesting.baselines import MODEL, STRATEGIES
from hyperliquid_assets.backtesting.html_page import esc, figure, number, page, table, value_html
from hyperliquid_assets.backtesting.report import ReportFiles
from hyperliquid_assets.lake import write_bytes_atomic

SUMMARY_HTML = "summary.html"
REQUIRED = ("coin", "date", "strategy", "net_pnl", "gross_pnl", "fees", "trades")
DAYS_PER_YEAR = 365


class SummaryInputError(ValueError):
    """The per-day rows cannot be summarized (names the problem)."""


def _checked(daily: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in REQUIRED if c not in daily.columns]
    if missing:
        raise SummaryInputError(f"daily backtest rows lack columns {missing}")
    if daily.height == 0:
        raise SummaryInputError("no backtested day to summarize")
    coins = daily["coin"].unique().to_list()
    if len(coins) != 1:
        raise SummaryInputError(f"a summary covers one coin; the rows hold {sorted(coins)}")
    repeated = daily.group_by("date", "strategy").len().filter(pl.col("len") > 1)
    if repeated.height:
        raise SummaryInputError(f"day {repeated['date'][0]} has {repeated['len'][0]} rows for {repeated['strategy'][0]}")
    return daily.sort("date")


def walk_forward_summary(daily: pl.DataFrame) -> pl.DataFrame:
    """One row per strategy: days, total_net_pnl, mean_daily_net_pnl, sharpe_daily (annualized, 365), positive_days
    (share), max_drawdown (of cumulative daily net PnL), total_fees, total_trades, model_beat_share (share of days
    the model's net PnL was above this strategy's; NaN for the model itself)."""
    daily = _checked(daily)
    model = daily.filter(pl.col("strategy") == MODEL).select("date", model_net=pl.col("net_pnl"))
    rows = []
    for name in [s for s in STRATEGIES if s in daily["strategy"].unique()] + sorted(set(daily["strategy"]) - set(STRATEGIES)):
        part = daily.filter(pl.col("strategy") == name)
        pnl = part["net_pnl"].to_numpy()
        cumulative = np.cumsum(pnl)
        sd = float(np.std(pnl, ddof=1)) if pnl.size > 1 else math.nan
        beaten = part.join(model, on="date", how="inner")
        rows.append({
            "strategy": name,
            "days": part.height,
            "total_net_pnl": float(pnl.sum()),
            "mean_daily_net_pnl": float(pnl.mean()),
            "sharpe_daily": float(pnl.mean() / sd * math.sqrt(DAYS_PER_YEAR)) if sd and sd > 0 else math.nan,
            "positive_days": float((pnl > 0).mean()),
            "max_drawdown": float(np.max(np.maximum.accumulate(np.maximum(cumulative, 0.0)) - cumulative)),
            "total_fees": float(part["fees"].sum()),
            "total_trades": float(part["trades"].sum()),
            "model_beat_share": math.nan if name == MODEL or beaten.height == 0
            else float((beaten["model_net"] > beaten["net_pnl"]).mean()),
        })
    return pl.DataFrame(rows)


def write_summary_report(
    daily: pl.DataFrame, out_dir: Path | str, provenance: Mapping[str, Any], title: str | None = None
) -> ReportFiles:
    """summary.html (self-contained) and daily_cumulative.png in out_dir: the table and the walk-forward plot."""
    daily = _checked(daily)
    out_dir = Path(out_dir)
    coin = daily["coin"][0]
    first, last = daily["date"].min(), daily["date"].max()
    title = title or f"Walk-forward backtests {coin} {first} .. {last}"
    strategies = [s for s in STRATEGIES if s in daily["strategy"].unique()]
    png = plots.daily_and_cumulative(daily, strategies, title)
    png_path = out_dir / "daily_cumulative.png"
    write_bytes_atomic(png_path, png)

    summary = walk_forward_summary(daily)
    columns = [("days", 0), ("total_net_pnl", 2), ("mean_daily_net_pnl", 2), ("sharpe_daily", 2), ("positive_days", 3),
               ("max_drawdown", 2), ("total_fees", 2), ("total_trades", 0), ("model_beat_share", 3)]
    summary_table = table(["strategy", *(c for c, _ in columns)],
                          [[(esc(plots.LABELS.get(r["strategy"], r["strategy"])), False),
                            *((number(r[c], d), True) for c, d in columns)] for r in summary.iter_rows(named=True)])
    days = daily.pivot(on="strategy", index="date", values="net_pnl").sort("date")
    day_table = table(["date", *(plots.LABELS.get(s, s) for s in strategies)],
                      [[(esc(r["date"]), False), *((number(r.get(s)), True) for s in strategies)]
                       for r in days.iter_rows(named=True)])
    provenance_rows = [[(esc(k), False), (value_html(v), False)] for k, v in provenance.items()]
    body = "\n".join([
        f"<h1>{esc(title)}</h1>",
        f"<p>{days.height} backtested day(s). Each day's model was trained only on earlier days and traded against "
        "that day's recorded book with the baselines under the same execution and costs; the per-day reports "
        "state the assumptions. Funding is not modelled.</p>",
        "<h2>Over all days</h2>", summary_table,
        '<p class="muted">Sharpe of daily net PnL, annualized with sqrt(365). model_beat_share: share of days the '
        "model's net PnL was above that strategy's.</p>",
        figure("daily_cumulative", png, "Daily net PnL per strategy (top) and its cumulative sum (bottom)."),
        "<h2>Net PnL per day (USD)</h2>", day_table,
        "<h2>Provenance</h2>", table(None, provenance_rows) if provenance_rows else '<p class="muted">not given</p>',
    ])
    data = page(title, body).encode("utf-8")
    html_path = out_dir / SUMMARY_HTML
    write_bytes_atomic(html_path, data)
    return ReportFiles(html=html_path, pngs={"daily_cumulative": png_path}, html_bytes=len(data))
