"""The one place the backtest reads the lake: day D's clean book, and the feature and label columns it needs.

Predictions are not read here: the caller passes the model's frame (wherever the predictions asset keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import polars as pl

from hyperliquid_assets.backtesting.backtest import BacktestConfig, BacktestInputError
from hyperliquid_assets.features.bars import BAR_TIME, duration_label
from hyperliquid_assets.lake import Lake


@dataclass(frozen=True)
class BacktestInputs:
    book: pl.DataFrame  # L2_BOOK_SCHEMA, the day's hours in order
    features: pl.DataFrame  # bar_time and the one-feature baseline's column
    labels: pl.DataFrame  # bar_time, label_ret_bps_<h>, label_dir_<h>
    paths: list[Path]  # every file read, for provenance
    missing_hours: list[int]  # hours of D with no clean book (their orders meet a stale book)


def read_backtest_inputs(lake: Lake, coin: str, day: date, config: BacktestConfig = BacktestConfig()) -> BacktestInputs:
    """Day D's clean L2 hours, its joined features (one column) and labels (the target horizon's two columns)."""
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    hours = {h: lake.clean_l2_path(coin, start + timedelta(hours=h)) for h in range(24)}
    present = [p for p in hours.values() if p.exists()]
    if not present:
        raise BacktestInputError(f"{coin} {day:%Y-%m-%d}: no clean L2 hour in the lake (looked for {hours[0]} ...)")
    features_path, labels_path = lake.feature_path("features", coin, day), lake.labels_path(coin, day)
    for name, path in (("features", features_path), ("labels", labels_path)):
        if not path.exists():
            raise BacktestInputError(f"{coin} {day:%Y-%m-%d}: the {name} table {path} does not exist")
    horizon = duration_label(config.label_horizon)
    return BacktestInputs(
        book=pl.read_parquet(present),
        features=pl.read_parquet(features_path, columns=[BAR_TIME, config.baselines.feature]),
        labels=pl.read_parquet(labels_path, columns=[BAR_TIME, f"label_ret_bps_{horizon}", f"label_dir_{horizon}"]),
        paths=[*present, features_path, labels_path],
        missing_hours=[h for h, p in hours.items() if not p.exists()],
    )
