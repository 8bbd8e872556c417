"""A synthetic coin-day for the report tests: a random-walk book (BookDay built directly), predictions with a
little foresight, one feature and the labels, so run_backtest has every input in a fraction of a second."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import polars as pl

from hyperliquid_assets.backtesting.backtest import BacktestConfig, BacktestResult, run_backtest
from hyperliquid_assets.backtesting.book import BookDay, BookSide
from hyperliquid_assets.formats.schemas import PREDICTIONS_SCHEMA

S = 1_000_000_000


def synthetic_day(day: date = date(2026, 1, 7), seed: int = 1, levels: int = 5) -> dict:
    """Inputs of run_backtest for one day: a snapshot every second, mids on a 0.5 tick grid."""
    rng = np.random.default_rng(seed)
    t0 = int(datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc).timestamp()) * S
    n = 86_400
    received = t0 + S * np.arange(n) + 300_000_000
    mid = 50_000 + np.round(np.cumsum(rng.normal(0, 4, n)) * 2) / 2
    depth = np.arange(levels)
    sizes = rng.uniform(0.05, 0.5, (n, levels))
    bid = BookSide((mid[:, None] - 0.25 - depth).ravel(), sizes.ravel(), np.arange(n + 1, dtype=np.int64) * levels)
    ask = BookSide((mid[:, None] + 0.25 + depth).ravel(), rng.uniform(0.05, 0.5, (n, levels)).ravel(),
                   np.arange(n + 1, dtype=np.int64) * levels)
    book = BookDay(received, received // 1_000_000 - 200, bid, ask)
    bar_time = pl.Series(t0 + S * np.arange(1, n + 1)).cast(pl.Datetime("ns", "UTC"))
    # Bar t's mid is the snapshot received before t (at t - 0.7 s): index t - 1.
    forward = np.full(n, np.nan)
    forward[:-300] = 1e4 * np.log(mid[300:] / mid[:-300])
    direction = np.where(np.isnan(forward), np.nan, np.where(forward > 1, 1, np.where(forward < -1, -1, 0)))
    score = np.tanh(np.nan_to_num(forward) / 20 + rng.normal(0, 1.0, n))
    up = np.clip(0.5 + 0.3 * score, 0.01, 0.99)
    predictions = pl.DataFrame({"bar_time": bar_time, "prob_down": 1 - up, "prob_flat": [None] * n, "prob_up": up},
                               schema=PREDICTIONS_SCHEMA)
    features = pl.DataFrame({"bar_time": bar_time, "book_imbalance_1": rng.uniform(-1, 1, n)})
    labels = pl.DataFrame({"bar_time": bar_time, "label_ret_bps_5m": forward,
                           "label_dir_5m": pl.Series(direction).fill_nan(None).cast(pl.Int8)}).with_columns(
        pl.col("label_ret_bps_5m").fill_nan(None))
    return {"coin": "BTC", "day": day, "predictions": predictions, "book": book, "features": features, "labels": labels}


def synthetic_result(day: date = date(2026, 1, 7), seed: int = 1, config: BacktestConfig = BacktestConfig()) -> BacktestResult:
    return run_backtest(**synthetic_day(day, seed), config=config)


PROVENANCE = {
    "dagster_run_id": "5f1d2c3b-run-of-the-test",
    "asset_key": "backtest_logreg",
    "partition": "BTC|2026-01-07",
    "inputs": {
        "predictions_logreg": {"partition": "BTC|2026-01-07", "data_version": "dv-predictions-7a1"},
        "l2_book": {"partition": "BTC|2026-01-07-00:00..23:00", "data_version": "dv-book-93c"},
        "features": {"partition": "BTC|2026-01-07", "data_version": "dv-features-4e2"},
        "labels": {"partition": "BTC|2026-01-07", "data_version": "dv-labels-0b8"},
    },
    "model_name": "BTC_logreg",
    "model_version": "3",
    "mlflow_run_id": "0a9b8c7d6e5f",
    "mlflow_run_url": "http://127.0.0.1:5000/#/experiments/1/runs/0a9b8c7d6e5f",
    "code_version": "git 26dbfc7 (dirty)",
}

IMPORTANCE = pl.DataFrame({
    "feature": ["book_imbalance_1", "book_imbalance_5", "book_ret_bps_1m", "flow_vpin", "xv_basis_bps"],
    "importance": [0.91, 0.42, -0.18, 0.05, -0.02],
    "kind": ["coefficient"] * 5,
})
