"""Backtest cost against the cost of loading its inputs, on one demo coin-day at 1 s bars.

Builds one day of the demo market at the archive's calibrated density (~5,600 snapshots an hour, 20 levels a
side) through the project's plain code (archive -> clean hourly Parquet -> book features -> labels), and
writes a day of predictions (a logistic of top-of-book imbalance: the backtest's cost does not depend on where
the probabilities come from) as Parquet. Then, round-robin in the same run, the median of a few repetitions of:

    (a) load: read the day's predictions Parquet and its 24 clean book Parquet files (the floor)
    (b) backtest: run_backtest from those frames (book to arrays, the model and four baselines, metrics)
    (c) report: write_report (five figures as PNG, the self-contained HTML), timed on its own

(b) is printed as the median of per-run ratios to (a) (target <= 1x), with the load average. The CPU time of
this process is printed beside each wall time: on a shared machine it shows what the code costs when the
cores are busy with others.

    .venv/bin/python bench/bench_backtest.py [--repeats 5] [--snapshots-per-hour 5600]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl

from hyperliquid_assets.backtesting.backtest import run_backtest
from hyperliquid_assets.backtesting.report import write_report
from hyperliquid_assets.clean_tables import clean_l2_hour
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.formats.schemas import PREDICTIONS_SCHEMA
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour
from hyperliquid_assets.research_tables import book_features_day, labels_day
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import HYPERLIQUID_BUCKET
from hyperliquid_assets.sources.object_sources import LocalMirror

DAY = date(2026, 1, 1)
COIN = "BTC"
PROVENANCE = {key: "bench" for key in ("dagster_run_id", "asset_key", "partition", "inputs", "model_name", "model_version",
                                        "mlflow_run_id", "mlflow_run_url", "code_version")}


def build_day(root: Path, snapshots_per_hour: float) -> tuple[list[Path], Path, pl.DataFrame, pl.DataFrame]:
    """The clean book files, a predictions file, and the feature and label columns the backtest needs."""
    mirror, lake = root / "mirror", Lake(root / "lake")
    params = DemoMarketParams(snapshot_gap_s=3600 / snapshots_per_hour, trades_per_hour=100)
    write_demo_archive(mirror, [COIN], DAY, 1, {COIN: DEFAULT_LISTINGS[COIN]}, params, seed=3)
    source = LocalMirror(mirror / HYPERLIQUID_BUCKET)
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=timezone.utc)
    hours = [start + timedelta(hours=h) for h in range(24)]
    for hour in hours:
        store_l2_hour(source, lake, COIN, hour)
        clean_l2_hour(lake, COIN, hour)
    book_features_day(lake, COIN, DAY, "1s")
    labels_day(lake, COIN, DAY, "1s")
    features = pl.read_parquet(lake.feature_path("book_features", COIN, DAY), columns=["bar_time", "book_imbalance_1"])
    labels = pl.read_parquet(lake.labels_path(COIN, DAY), columns=["bar_time", "label_ret_bps_5m", "label_dir_5m"])
    up = 1 / (1 + np.exp(-2.0 * features["book_imbalance_1"].fill_null(0.0).to_numpy()))
    predictions = pl.DataFrame({"bar_time": features["bar_time"], "prob_down": 1 - up, "prob_flat": None, "prob_up": up},
                               schema=PREDICTIONS_SCHEMA)
    predictions_path = root / "predictions.parquet"
    predictions.write_parquet(predictions_path)
    return [lake.clean_l2_path(COIN, h) for h in hours], predictions_path, features, labels


def _seconds(run) -> tuple[float, float]:
    """(wall, CPU) seconds of run()."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--snapshots-per-hour", type=float, default=5_600.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        book_files, predictions_path, features, labels = build_day(root, args.snapshots_per_hour)
        load = lambda: (pl.read_parquet(predictions_path), pl.read_parquet(book_files))  # noqa: E731
        predictions, book = load()
        print(f"inputs: {book.height:,} snapshots in {len(book_files)} hourly files "
              f"({sum(f.stat().st_size for f in book_files) / 1e6:.1f} MB), {predictions.height:,} prediction bars; "
              f"built in {time.perf_counter() - started:.1f} s")
        backtest = lambda: run_backtest(COIN, DAY, predictions, book, features, labels)  # noqa: E731
        result = backtest()  # warm-up: imports, page cache, polars' first calls
        write_report(result, root / "report", PROVENANCE)
        loads, backtests, reports = [], [], []
        for i in range(args.repeats):
            loads.append(_seconds(load))
            backtests.append(_seconds(backtest))
            reports.append(_seconds(lambda: write_report(result, root / f"report{i}", PROVENANCE)))
        size = (root / "report0" / "report.html").stat().st_size
    ratios = [b[0] / a[0] for a, b in zip(loads, backtests)]
    model = result.metrics["model"]
    median = lambda runs, i: statistics.median(r[i] for r in runs) * 1e3  # noqa: E731
    print(f"median of {args.repeats} runs, 1 s bars, {pl.thread_pool_size()} polars threads, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"(a) load predictions + book Parquet  {median(loads, 0):8.1f} ms wall {median(loads, 1):8.1f} ms CPU")
    print(f"(b) backtest (model + 4 baselines)   {median(backtests, 0):8.1f} ms wall {median(backtests, 1):8.1f} ms CPU"
          f"  = {statistics.median(ratios):4.2f}x load (median of per-run wall ratios; target <= 1x)")
    print(f"(c) report (5 PNG figures + HTML)    {median(reports, 0):8.1f} ms wall {median(reports, 1):8.1f} ms CPU"
          f"  ({size / 1e3:.0f} kB HTML)")
    print(f"    model: {model['trades']:.0f} trades, {model['fills']:.0f} fills; "
          f"{sum(m['fills'] for m in result.metrics.values()):.0f} fills over all strategies")


if __name__ == "__main__":
    main()
