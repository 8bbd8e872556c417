"""Entry points for the thin Dagster layer: one call per backtest partition (coin x day, per model spec) and one
per summary (coin, per spec). They read the lake only through inputs.read_backtest_inputs and write only under
the `out_dir` they are given; everything else (predictions, feature importance, provenance) is an argument.

    outcome = backtest_partition(lake, coin, day, predictions, out_dir, provenance, feature_importance, config)
    outcome.metrics        # '<strategy>.<metric>' -> finite float, for materialization metadata and MLflow
    outcome.report.html    # report.html; outcome.report.pngs: the figures; outcome.tables: the Parquet files

    summary = summary_partition(daily_paths, out_dir, provenance)   # the days' daily.parquet files

out_dir of a backtest receives: report.html, the figure PNGs, and daily.parquet (the day's metrics per strategy,
the summary's input), trades.parquet, orders.parquet, equity.parquet (what every number in the report comes
from), each Parquet file stamped with the provenance as key-value metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping

import polars as pl

from hyperliquid_assets.backtesting.backtest import BacktestConfig, BacktestResult, run_backtest
from hyperliquid_assets.backtesting.inputs import BacktestInputs, read_backtest_inputs
from hyperliquid_assets.backtesting.report import ReportFiles, write_report
from hyperliquid_assets.backtesting.summary import SummaryInputError, walk_forward_summary, write_summary_report
from hyperliquid_assets.lake import Lake, write_parquet_atomic

DAILY_ROWS = "daily.parquet"


@dataclass(frozen=True)
class BacktestOutcome:
    result: BacktestResult
    report: ReportFiles
    tables: dict[str, Path]  # daily / trades / orders / equity -> Parquet path
    metrics: dict[str, float]  # finite headline metrics
    inputs: list[Path]  # every lake file read (book hours, features, labels)
    missing_hours: list[int]  # hours of the day without a clean book


@dataclass(frozen=True)
class SummaryOutcome:
    table: pl.DataFrame  # walk_forward_summary
    daily: pl.DataFrame  # every day's rows, in date order
    report: ReportFiles


def backtest_partition(
    lake: Lake,
    coin: str,
    day: date,
    predictions: pl.DataFrame,
    out_dir: Path | str,
    provenance: Mapping[str, Any],
    feature_importance: pl.DataFrame | None = None,
    config: BacktestConfig = BacktestConfig(),
    inputs: BacktestInputs | None = None,
) -> BacktestOutcome:
    """Read D's book, features and labels (or use `inputs` already read with the same config, when several
    specs are backtested on the same day), backtest the predictions and the baselines, write the report and the
    result tables into out_dir."""
    out_dir = Path(out_dir)
    inputs = inputs or read_backtest_inputs(lake, coin, day, config)
    result = run_backtest(coin, day, predictions, inputs.book, inputs.features, inputs.labels, config)
    report = write_report(result, out_dir, provenance, feature_importance)
    stamp = {"hyperliquid_assets.backtest.provenance": json.dumps(dict(provenance), sort_keys=True, default=str),
             "hyperliquid_assets.backtest.config": json.dumps(config.describe(), sort_keys=True, default=str)}
    tables = {"daily": result.daily_rows(), "trades": result.trades, "orders": result.orders, "equity": result.equity}
    paths = {}
    for name, frame in tables.items():
        paths[name] = out_dir / (DAILY_ROWS if name == "daily" else f"{name}.parquet")
        write_parquet_atomic(frame, paths[name], stamp)
    return BacktestOutcome(result, report, paths, result.headline_metrics(finite_only=True), inputs.paths,
                           inputs.missing_hours)


def summary_partition(daily_paths: list[Path], out_dir: Path | str, provenance: Mapping[str, Any]) -> SummaryOutcome:
    """The walk-forward summary of the given days' daily.parquet files (one coin, one spec)."""
    if not daily_paths:
        raise SummaryInputError("no backtested day to summarize (no daily.parquet given)")
    daily = pl.concat([pl.read_parquet(p) for p in daily_paths], how="vertical").sort("date", "strategy")
    report = write_summary_report(daily, out_dir, provenance)
    return SummaryOutcome(walk_forward_summary(daily), daily, report)
