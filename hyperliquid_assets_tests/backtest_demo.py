"""Demo-market days for the backtest tests, made with the project's plain code (no Dagster): the synthetic
archive -> stored and cleaned L2 hours -> book features -> labels, as test_research_pipeline does."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl

from hyperliquid_assets.clean_tables import clean_l2_hour, clean_trades_day
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour, store_trades_day
from hyperliquid_assets.research_tables import book_features_day, joined_features_day, labels_day, trade_flow_features_day
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET
from hyperliquid_assets.sources.object_sources import LocalMirror

FIRST_DAY = date(2026, 1, 1)
# Columns of the book feature table the in-test model learns from (all known at the bar's end).
MODEL_FEATURES = ["book_imbalance_1", "book_imbalance_5", "book_microprice_offset_bps", "book_ret_bps_1m",
                  "book_ret_bps_10s", "book_spread_bps"]


def demo_lake(root: Path, days: int, params: DemoMarketParams, seed: int = 11, coin: str = "BTC") -> Lake:
    """A lake holding `days` demo days of the coin: clean L2 hours and trades, feature tables and labels per day."""
    mirror, lake = root / "mirror", Lake(root / "lake")
    listings = {coin: DEFAULT_LISTINGS[coin]}
    write_demo_archive(mirror, [coin], FIRST_DAY, days, listings, params, seed=seed)
    source = LocalMirror(mirror / HYPERLIQUID_BUCKET)
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=timezone.utc)
    for h in range(24 * days):
        store_l2_hour(source, lake, coin, start + timedelta(hours=h))
        clean_l2_hour(lake, coin, start + timedelta(hours=h))
    trades = LocalMirror(mirror / BINANCE_HOST)
    dates = [FIRST_DAY + timedelta(days=d) for d in range(days)]
    for day in dates:
        store_trades_day(trades, lake, listings[coin], day)
        clean_trades_day(lake, coin, listings[coin], day)
        book_features_day(lake, coin, day, "1s")
        trade_flow_features_day(lake, coin, day, "1s")
        joined_features_day(lake, coin, day, "1s")
    for day in dates:
        labels_day(lake, coin, day, "1s")
    return lake


def book_features(lake: Lake, day: date, coin: str = "BTC") -> pl.DataFrame:
    return pl.read_parquet(lake.feature_path("book_features", coin, day))


def labels(lake: Lake, day: date, coin: str = "BTC") -> pl.DataFrame:
    return pl.read_parquet(lake.labels_path(coin, day))


def book(lake: Lake, day: date, coin: str = "BTC") -> pl.DataFrame:
    return pl.read_parquet(lake.root / "clean" / "l2_book" / f"coin={coin}" / f"date={day:%Y-%m-%d}" / "*.parquet")


def predictions_frame(bar_time: pl.Series, prob_up: np.ndarray, prob_down: np.ndarray | None = None) -> pl.DataFrame:
    """A PREDICTIONS_SCHEMA frame; binary (prob_flat null) unless prob_down is given separately."""
    from hyperliquid_assets.formats.schemas import PREDICTIONS_SCHEMA

    down = 1.0 - prob_up if prob_down is None else prob_down
    flat = None if prob_down is None else 1.0 - prob_up - prob_down
    return pl.DataFrame(
        {"bar_time": bar_time, "prob_down": down, "prob_flat": flat if flat is not None else [None] * len(prob_up),
         "prob_up": prob_up},
        schema=PREDICTIONS_SCHEMA,
    )


def fit_direction_model(lake: Lake, train_days: list[date], stride: int = 20):
    """A logistic regression of the binary 5-minute direction (up vs down, flat bars dropped) on MODEL_FEATURES,
    fit on the given (earlier) days only, every `stride`-th bar."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frames = [book_features(lake, d).join(labels(lake, d), on="bar_time") for d in train_days]
    train = pl.concat(frames).gather_every(stride).drop_nulls([*MODEL_FEATURES, "label_dir_5m"])
    train = train.filter(pl.col("label_dir_5m") != 0)
    model = make_pipeline(StandardScaler(), LogisticRegression())
    model.fit(train.select(MODEL_FEATURES).to_numpy(), (train["label_dir_5m"] > 0).to_numpy())
    return model


def model_predictions(model, features: pl.DataFrame) -> pl.DataFrame:
    """P(up) of the model on every bar of the day; null where a feature is missing."""
    x = features.select(MODEL_FEATURES).to_numpy()
    ok = ~np.isnan(x).any(axis=1)
    up = np.full(len(x), np.nan)
    up[ok] = model.predict_proba(x[ok])[:, 1]
    frame = predictions_frame(features["bar_time"], up)
    return frame.with_columns(pl.col("prob_up", "prob_down").fill_nan(None))
