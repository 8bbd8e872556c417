"""Feature and label tables of demo days, made by the project's own plain code (no Dagster): the demo archive ->
raw objects -> clean tables -> book, trade-flow and joined features -> labels, as a Lake holds them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl

from hyperliquid_assets.clean_tables import clean_l2_hour, clean_trades_day
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour, store_trades_day
from hyperliquid_assets.research_tables import (
    book_features_day,
    joined_features_day,
    labels_day,
    trade_flow_features_day,
)
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET
from hyperliquid_assets.sources.object_sources import LocalMirror

DAY = date(2026, 1, 1)
HORIZON_BARS = {"10s": 10, "1m": 60, "5m": 300}


def research_day(root: Path, params: DemoMarketParams, seed: int, coin: str = "BTC", day: date = DAY) -> pl.DataFrame:
    """One demo day of `coin`, through raw -> clean -> features -> labels at 1 s bars: the joined feature table
    with the label columns added (bar_time, every feature column, label_ret_bps_<h>, label_dir_<h>)."""
    mirror, lake = root / "mirror", Lake(root / "lake")
    listing = DEFAULT_LISTINGS[coin]
    write_demo_archive(mirror, [coin], day, 1, {coin: listing}, params, seed=seed)
    archive, vision = LocalMirror(mirror / HYPERLIQUID_BUCKET), LocalMirror(mirror / BINANCE_HOST)
    for h in range(24):
        hour = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(hours=h)
        store_l2_hour(archive, lake, coin, hour)
        clean_l2_hour(lake, coin, hour)
    store_trades_day(vision, lake, listing, day)
    clean_trades_day(lake, coin, listing, day)
    for step in (book_features_day, trade_flow_features_day, joined_features_day, labels_day):
        outcome = step(lake, coin, day, "1s")
        assert outcome.status == "written", (step.__name__, outcome)
    features = pl.read_parquet(lake.feature_path("features", coin, day))
    return features.join(pl.read_parquet(lake.labels_path(coin, day)), on="bar_time")


def feature_columns(table: pl.DataFrame) -> list[str]:
    return [c for c in table.columns if c != "bar_time" and not c.startswith("label_")]


@dataclass(frozen=True)
class Correlation:
    feature: str
    horizon: str
    corr: float
    n: int

    @property
    def z(self) -> float:
        """corr / its standard error under no correlation, 1 / sqrt(n)."""
        return self.corr * math.sqrt(self.n)


def forward_correlations(days: list[pl.DataFrame], horizons=tuple(HORIZON_BARS)) -> tuple[list[Correlation], list[str]]:
    """corr(feature at bar t, label over (t, t + h]) for every feature column and horizon, on non-overlapping
    samples (every h-th bar of each day), pooled over the days. Returns the correlations and the columns that
    could not be tested (constant or empty)."""
    results, untestable = [], set()
    for horizon in horizons:
        step, label = HORIZON_BARS[horizon], f"label_ret_bps_{horizon}"
        for feature in feature_columns(days[0]):
            xs, ys = [], []
            for table in days:
                sample = table.gather_every(step).select(
                    pl.col(feature).cast(pl.Float64).alias("x"), pl.col(label).alias("y")
                ).drop_nulls().filter(pl.col("x").is_finite() & pl.col("y").is_finite())
                xs.append(sample["x"].to_numpy())
                ys.append(sample["y"].to_numpy())
            x, y = np.concatenate(xs), np.concatenate(ys)
            if len(x) < 100 or x.std() == 0:
                untestable.add(feature)
                continue
            results.append(Correlation(feature, horizon, float(np.corrcoef(x, y)[0, 1]), len(x)))
    return results, sorted(untestable)


def bonferroni_z(comparisons: int, family_error: float = 0.01) -> float:
    """The |z| that a family of `comparisons` two-sided tests may reach with probability family_error under the
    null (Bonferroni: each test at family_error / comparisons)."""
    return NormalDist().inv_cdf(1 - family_error / (2 * comparisons))


def binomial_quantile(trials: int, p: float, q: float = 0.99) -> int:
    """Smallest k with P(Binomial(trials, p) <= k) >= q."""
    total, k, term = 0.0, 0, (1 - p) ** trials
    while True:
        total += term
        if total >= q:
            return k
        term *= (trials - k) / (k + 1) * p / (1 - p)
        k += 1


def direction_sample(table: pl.DataFrame, horizon: str = "10s") -> tuple[np.ndarray, np.ndarray]:
    """(features, up) on non-overlapping bars with a non-zero forward return: the model's inputs and target."""
    columns = feature_columns(table)
    sample = table.gather_every(HORIZON_BARS[horizon]).filter(
        pl.col(f"label_ret_bps_{horizon}").is_not_null() & (pl.col(f"label_ret_bps_{horizon}") != 0)
    )
    x = sample.select(pl.col(c).cast(pl.Float64) for c in columns).to_numpy()
    return x, sample[f"label_ret_bps_{horizon}"].to_numpy() > 0


def out_of_sample_auc(train: list[pl.DataFrame], test: list[pl.DataFrame], horizon: str = "10s") -> tuple[float, int]:
    """A logistic regression on every feature (standardised on the training days; missing -> the training mean),
    fitted on `train`, scored by ROC AUC on `test`. Returns (AUC, test rows)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    x_train, y_train = (np.concatenate(parts) for parts in zip(*(direction_sample(t, horizon) for t in train)))
    x_test, y_test = (np.concatenate(parts) for parts in zip(*(direction_sample(t, horizon) for t in test)))
    x_train[~np.isfinite(x_train)] = np.nan
    x_test[~np.isfinite(x_test)] = np.nan
    mean, sd = np.nanmean(x_train, axis=0), np.nanstd(x_train, axis=0)
    usable = np.isfinite(mean) & (sd > 0)
    scale = lambda x: np.nan_to_num((x[:, usable] - mean[usable]) / sd[usable])  # noqa: E731
    model = LogisticRegression(max_iter=2000).fit(scale(x_train), y_train)
    return float(roc_auc_score(y_test, model.predict_proba(scale(x_test))[:, 1])), len(y_test)
