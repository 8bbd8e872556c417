"""The per-partition backtest report: one self-contained HTML file plus a PNG per figure, in one directory.

    files = write_report(result, out_dir, provenance, feature_importance)

Everything the report shows comes in as arguments: the BacktestResult, the feature importance the model logged
(feature, importance, kind) and a provenance mapping. Expected provenance keys (missing ones are shown as "not
given", never invented): dagster_run_id, asset_key, partition, inputs (a mapping: input asset or path -> its
partition and data version), model_name, model_version, mlflow_run_id, mlflow_run_url, code_version. Any other key
is listed too. Files are written by rename from a temp file, and the same inputs give the same bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import polars as pl

from hyperliquid_assets.backtesting import plots
from hyperliquid_assets.backtesting.backtest import BacktestResult
from hyperliquid_assets.backtesting.baselines import STRATEGIES
from hyperliquid_assets.backtesting.execution import slippage_bps
from hyperliquid_assets.backtesting.html_page import esc, figure, number, page, table, value_html
from hyperliquid_assets.lake import write_bytes_atomic

log = logging.getLogger(__name__)

REPORT_HTML = "report.html"
PROVENANCE_LABELS = {
    "dagster_run_id": "Dagster run",
    "asset_key": "asset",
    "partition": "partition",
    "inputs": "partitions and data versions read",
    "model_name": "registered model",
    "model_version": "model version",
    "mlflow_run_id": "MLflow run of the model",
    "mlflow_run_url": "MLflow run page",
    "code_version": "code version",
}
METRIC_ROWS = [  # key, label, decimals, scale
    ("net_pnl", "net PnL (USD)", 2, 1), ("gross_pnl", "gross PnL (USD)", 2, 1), ("fees", "fees paid (USD)", 2, 1),
    ("return_pct", "net return on capital (%)", 3, 1), ("sharpe", "Sharpe (annualized, 24/7, 1-min PnL)", 2, 1),
    ("max_drawdown", "max drawdown (USD)", 2, 1), ("max_drawdown_pct", "max drawdown (% of capital)", 3, 1),
    ("trades", "trades (closed round trips)", 0, 1), ("fills", "fills", 0, 1),
    ("hit_rate", "hit rate (% of trades net > 0)", 1, 100), ("avg_trade_net_bps", "mean net PnL per trade (bps)", 2, 1),
    ("traded_notional", "traded notional (USD)", 0, 1), ("turnover", "turnover (x capital)", 2, 1),
    ("avg_slippage_bps", "avg slippage vs fill-snapshot mid (bps)", 3, 1),
    ("avg_shortfall_bps", "avg shortfall vs decision mid (bps)", 3, 1),
    ("exposure", "time in market (%)", 1, 100), ("gross_exposure", "mean gross exposure (x capital)", 3, 1),
    ("refused_stale", "orders refused: stale book", 0, 1), ("refused_crossed", "orders refused: crossed book", 0, 1),
    ("refused_beyond_book", "orders refused: beyond the visible book", 0, 1),
    ("open_at_end", "lots open at the day's end (marked at the last mid)", 0, 1),
]


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pngs: dict[str, Path]  # figure name -> PNG path (same images as embedded in the HTML)
    html_bytes: int


def write_report(
    result: BacktestResult,
    out_dir: Path | str,
    provenance: Mapping[str, Any],
    feature_importance: pl.DataFrame | None = None,
    title: str | None = None,
) -> ReportFiles:
    """Write report.html and the figures' PNGs into out_dir (created if needed); see the module docstring."""
    out_dir = Path(out_dir)
    missing = [k for k in PROVENANCE_LABELS if k not in provenance]
    if missing:
        log.warning("backtest report of %s %s: provenance lacks %s", result.coin, result.day, missing)
    title = title or f"Backtest {result.coin} {result.day:%Y-%m-%d}"
    figures = _figures(result, feature_importance)
    pngs = {}
    for name, (png, _) in figures.items():
        path = out_dir / f"{name}.png"
        write_bytes_atomic(path, png)
        pngs[name] = path
    document = page(title, _body(result, provenance, figures, feature_importance, title))
    html_path = out_dir / REPORT_HTML
    data = document.encode("utf-8")
    write_bytes_atomic(html_path, data)
    return ReportFiles(html=html_path, pngs=pngs, html_bytes=len(data))


def _figures(result: BacktestResult, importance: pl.DataFrame | None) -> dict[str, tuple[bytes, str]]:
    """name -> (PNG, caption html)."""
    config = result.config
    fills = result.orders.filter(pl.col("status") == "filled").with_columns(notional=pl.col("qty") * pl.col("price"))
    fills = fills.with_columns(slippage_bps=pl.Series(slippage_bps(
        fills["side"].to_numpy().astype(float), fills["price"].to_numpy(), fills["mid"].to_numpy())))
    traded = [s for s in STRATEGIES if s != "flat"]
    per_trade = [s for s in traded if s != "buy_and_hold"]  # one all-day trade says nothing about a distribution
    out = {
        "equity_drawdown": (
            plots.equity_and_drawdown(result.equity, list(STRATEGIES), f"{result.coin} {result.day:%Y-%m-%d}: net of costs"),
            f"Net PnL (after fees, marked to the mid) of the model and the baselines, every {esc(config.equity_every)}, "
            "and each one's drawdown from its running peak.",
        ),
        "trade_pnl": (
            plots.trade_pnl_distribution(result.trades, per_trade, config.execution.taker_fee_bps),
            "Net PnL per round trip in bps of its entry notional. A trade must move more than the round-trip fee "
            f"({2 * config.execution.taker_fee_bps:g} bps, dashed) plus the spread to earn anything.",
        ),
        "calibration": (
            plots.calibration(result.calibration, result.signal["ic_spearman"]),
            f"Predicted probability against the realized direction at {esc(config.label_horizon)} "
            "(label_dir), in ten quantile groups of the prediction. "
            + ("A binary model is scored on bars whose direction was not flat." if _binary(result) else ""),
        ),
        "slippage": (
            plots.slippage_vs_size(result.impact, fills.filter(pl.col("strategy").is_in(traded))),
            f"Cost of a market order by size: walking the recorded book at {len(result.impact)} sizes on "
            f"{config.impact_snapshots} snapshots spread over the day (both sides), and every fill of the day.",
        ),
    }
    if importance is not None and importance.height:
        out["feature_importance"] = (plots.feature_importance(importance),
                                     "Feature importance as logged with the model (top 20 by absolute value).")
    return out


def _body(result: BacktestResult, provenance: Mapping[str, Any], figures: dict, importance, title: str) -> str:
    config, metrics, model = result.config, result.metrics, result.metrics["model"]
    rules, execution = config.rules, config.execution
    parts = [f"<h1>{esc(title)}</h1>"]
    parts.append(
        f"<p><b>Model net PnL {number(model['net_pnl'])} USD</b> (gross {number(model['gross_pnl'])}, fees "
        f"{number(model['fees'])}) on {number(model['trades'], 0)} trades; flat earns 0, buy and hold "
        f"{number(metrics['buy_and_hold']['net_pnl'])}, the one-feature rule {number(metrics['feature_rule']['net_pnl'])}, "
        f"random entries at the model's turnover {number(metrics['random']['net_pnl'])}. "
        f"Rank IC of the prediction with the realized {esc(config.label_horizon)} return: "
        f"{number(result.signal['ic_spearman'], 3)}.</p>"
    )
    parts.append('<p class="note">Funding is not modelled: Hyperliquid settles it hourly, and no funding asset exists '
                 "yet, so PnL excludes it. Passive (maker) orders are not modelled either: every order here is a "
                 "market order paying the taker fee.</p>")

    parts.append("<h2>Provenance</h2>")
    rows = [[(esc(label), False), (value_html(provenance[key]) if key in provenance else
                                   '<span class="muted">not given</span>', False)]
            for key, label in PROVENANCE_LABELS.items()]
    rows += [[(esc(key), False), (value_html(value), False)]
             for key, value in provenance.items() if key not in PROVENANCE_LABELS]
    facts = result.facts
    book_read = (f"{facts['snapshots']:,} snapshots, {facts['first_snapshot']} .. {facts['last_snapshot']} (received), "
                 f"up to {facts['book_levels']} levels a side")
    rows.append([("book read", False), (esc(book_read), False)])
    rows.append([("target", False), (esc(result.facts["target"]), False)])
    parts.append(table(None, rows))

    parts.append("<h2>Metrics (model and baselines, same execution and costs)</h2>")
    header = ["metric", *(plots.LABELS[s] for s in STRATEGIES)]
    body = [[(esc(label), False), *((number(_scaled(metrics[s][key], scale), digits), True) for s in STRATEGIES)]
            for key, label, digits, scale in METRIC_ROWS]
    parts.append(table(header, body))
    signal = result.signal
    parts.append(
        f"<p>Prediction: rank IC {number(signal['ic_spearman'], 4)} (Pearson {number(signal['ic_pearson'], 4)}) over "
        f"{number(signal['ic_bars'], 0)} overlapping bars; rank IC {number(signal['ic_spearman_sampled'], 4)} over "
        f"{number(signal['ic_bars_sampled'], 0)} bars one horizon apart. Predictions cover "
        f"{number(signal['predicted_share'] * 100, 1)}% of the day's bars; the signal is long on "
        f"{number(signal['long_signal_share'] * 100, 1)}% and short on {number(signal['short_signal_share'] * 100, 1)}%.</p>"
    )

    parts.append("<h2>Figures</h2>")
    for name, (png, caption) in figures.items():
        parts.append(figure(name, png, caption))
    if importance is None or not importance.height:
        parts.append('<p class="muted">Feature importance: not provided with this model.</p>')

    parts.append("<h2>Assumptions</h2>")
    refused = sum(int(metrics[s][k]) for s in STRATEGIES for k in ("refused_stale", "refused_crossed", "refused_beyond_book"))
    items = [
        f"Signals: the model's probabilities at bar t (1 bar = {esc(config.bar)}, labelled by its end, so everything "
        f"behind it was known at t). Long when P(up) &ge; {rules.threshold:g} and P(up) &gt; P(down), short likewise; "
        "no prediction, no signal.",
        f"Execution: a market order decided at t reaches the exchange {esc(execution.latency)} later and fills against "
        "the first snapshot <i>received</i> at or after that instant, walking its levels at their recorded prices "
        "and sizes (size beyond the best level pays more). The order is refused if that snapshot came more than "
        f"{esc(execution.max_book_age)} after the order (stale book), if it is crossed or locked, or if the order "
        f"is larger than all its visible levels (never partly filled). Refused orders today: {refused} "
        "(see the metrics table); a refused exit is retried at the next bar that can meet a snapshot.",
        f"Costs: taker fee {execution.taker_fee_bps:g} bps of notional on every fill (Hyperliquid base tier; the "
        f"maker fee, {execution.maker_fee_bps:g} bps, never applies here). The spread and depth are paid through the "
        "walk. No market impact beyond the walk: the next snapshot is the recorded market, not one that saw our "
        "order. Quantities are not rounded to the exchange's lot size. Funding is not modelled.",
        f"Position rules: orders of {number(rules.order_notional, 0)} USD (quantity = notional / mid known at t), "
        f"at most {rules.position_cap} lot(s) open, all on one side; each lot is closed {esc(rules.holding or 'at the close')} "
        "after its entry decision" + (", or held on while the signal still points its way" if rules.extend_on_signal else "")
        + f"; no entry within {esc(rules.cooldown)} of the previous entry or exit decision. The day closes "
        f"{esc(rules.close_margin)} before its end: no entry whose holding would pass it, and every position is "
        "closed by then within day D (a lot whose exit could never fill is marked at the day's last mid and counted).",
        f"Baselines: flat; buy and hold (one lot of the whole capital, {number(rules.capital, 0)} USD, bought at the "
        f"first bar and sold at the close); the one-feature rule sign({esc(config.baselines.feature)}) where "
        f"|x| &ge; {config.baselines.feature_threshold:g}, under the model's rules; random entries with random sides, "
        f"as many as the model's filled entries ({result.facts['random_entries_asked']}), seeded by "
        f"({config.baselines.seed}, coin, day).",
        "Sharpe: one-minute changes of net PnL over capital, mean / sd x sqrt(525,600) (1,440 minutes x 365 days: "
        "crypto trades 24/7). One day of minutes is a noisy estimate; the walk-forward summary gives the Sharpe of "
        "daily PnL. Drawdown from the running peak of net PnL, 0 being the first peak.",
    ]
    parts.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
    parts.append("<h2>Configuration</h2>")
    parts.append(table(["knob", "value"], [[(esc(k), False), (f"<code>{esc(v)}</code>", False)]
                                          for k, v in config.describe().items()]))
    return "\n".join(parts)


def _binary(result: BacktestResult) -> bool:
    return "binary" in str(result.facts.get("target"))


def _scaled(value: float, scale: float) -> float:
    return value * scale if value is not None and np.isfinite(value) else float("nan")
