"""Features, labels and the DuckDB warehouse: through Dagster on the demo market, and the planted signal."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest

from hyperliquid_assets.clean_tables import clean_l2_hour
from hyperliquid_assets.cli import main as cli_main
from hyperliquid_assets.defs.ingest.assets import binance_daily_trades, hyperliquid_l2
from hyperliquid_assets.defs.research.assets import book_features, features, labels, trade_flow_features
from hyperliquid_assets.defs.resources import BinanceVision, HyperliquidArchive, LakeResource
from hyperliquid_assets.defs.warehouse import lake_warehouse
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.features.book_features import BookFeatureConfig
from hyperliquid_assets.features.labels import LabelConfig
from hyperliquid_assets.features.schemas import research_table_schema
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour
from hyperliquid_assets.research_tables import book_features_day, labels_day
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET
from hyperliquid_assets.sources.object_sources import LocalMirror

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
DAY1, DAY2 = date(2026, 1, 1), date(2026, 1, 2)


@pytest.fixture(scope="module")
def materialized_lake(tmp_path_factory):
    """One coin, two days: ingest, research tables and the warehouse, each as one Dagster run over the window."""
    mirror, lake_root = tmp_path_factory.mktemp("mirror"), tmp_path_factory.mktemp("lake")
    write_demo_archive(mirror, ["BTC"], DAY1, 2, DEFAULT_LISTINGS,
                       DemoMarketParams(snapshot_gap_s=3.0, trades_per_hour=1500), seed=5, missing=[("BTC", "2026-01-02T07")])
    resources = {
        "hyperliquid_archive": HyperliquidArchive(backend="local", mirror_root=str(mirror / HYPERLIQUID_BUCKET)),
        "binance_vision": BinanceVision(backend="local", mirror_root=str(mirror / BINANCE_HOST)),
        "lake": LakeResource(root=str(lake_root)),
    }
    instance = dg.DagsterInstance.ephemeral()
    results = {}
    for name, assets, window in [
        ("l2", [hyperliquid_l2], ("BTC|2026-01-01-00:00", "BTC|2026-01-02-23:00")),
        ("trades", [binance_daily_trades], ("BTC|2026-01-01", "BTC|2026-01-02")),
        ("research", [book_features, trade_flow_features, features, labels], ("BTC|2026-01-01", "BTC|2026-01-02")),
    ]:
        results[name] = dg.materialize(assets, resources=resources, instance=instance, tags=dict(zip(RANGE, window)),
                                       raise_on_error=False)
        assert results[name].success, name  # (the hour missing upstream is left unmaterialized, not failed)
    results["warehouse"] = dg.materialize([lake_warehouse], resources=resources, instance=instance)
    assert results["warehouse"].success
    return Lake(lake_root), results, instance


def _metadata(result, asset):
    return {e.partition: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)}


def test_research_tables_materialize_in_one_run_per_window_with_metadata(materialized_lake):
    lake, results, instance = materialized_lake
    assert len(instance.get_runs()) == 4
    research = results["research"]
    for asset in ("book_features", "trade_flow_features", "features", "labels"):
        meta = _metadata(research, asset)
        assert set(meta) == {"BTC|2026-01-01", "BTC|2026-01-02"}, asset
        for partition, facts in meta.items():
            assert facts["status"] == "written" and facts["dagster/row_count"] == 86_400
            # Only the trailing-day volatility is unknown throughout the lake's first day (no day before it).
            always_null = {name for name, share in facts["null_share"].items() if share == 1.0}
            first_day_only = {"book_rv_bps_1d"} if asset in ("book_features", "features") else set()
            assert always_null == (first_day_only if partition == "BTC|2026-01-01" else set()), (asset, partition)
            assert set(facts["null_share"]) == set(research_table_schema(asset, "1s"))
    book_meta = _metadata(research, "book_features")
    # Hour 07 of day 2 is missing upstream: that day's share of bars with a fresh snapshot falls by 1/24.
    assert book_meta["BTC|2026-01-02"]["hours_present"] == 23
    ratio = book_meta["BTC|2026-01-02"]["coverage_fresh_snapshot"] / book_meta["BTC|2026-01-01"]["coverage_fresh_snapshot"]
    assert ratio == pytest.approx(23 / 24, abs=0.01)
    assert book_meta["BTC|2026-01-02"]["warm_up_hours"] == 24 and book_meta["BTC|2026-01-01"]["warm_up_hours"] == 0
    flow_meta = _metadata(research, "trade_flow_features")
    assert (flow_meta["BTC|2026-01-01"]["vpin_bucket_source"], flow_meta["BTC|2026-01-02"]["vpin_bucket_source"]) == ("default", "previous day")
    joined_meta = _metadata(research, "features")
    assert (joined_meta["BTC|2026-01-01"]["history_days"], joined_meta["BTC|2026-01-02"]["history_days"]) == (0, 1)
    # With the previous day as history, day 2's cross-venue lags are defined from its first bars; day 1's are not.
    first_minutes = {d: pl.read_parquet(lake.feature_path("features", "BTC", d)).head(61) for d in (DAY1, DAY2)}
    assert first_minutes[DAY2]["xv_binance_ret_bps_1m"].null_count() == 0
    assert first_minutes[DAY1]["xv_binance_ret_bps_1m"].null_count() > 0
    label_meta = _metadata(research, "labels")
    # Labels never cross the day's end: each day's last 5 minutes have no 5-minute label, whatever comes next.
    for day in ("BTC|2026-01-01", "BTC|2026-01-02"):
        assert (label_meta[day]["unlabelled_no_future_5m"], label_meta[day]["next_day_supplied"]) == (300, 0)
    first, second = (pl.read_parquet(lake.labels_path("BTC", day))["label_ret_bps_5m"] for day in (DAY1, DAY2))
    assert first.tail(300).null_count() == second.tail(300).null_count() == 300
    assert first.head(86_100).null_count() < 100  # (a few bars where the demo's book went stale for over a minute)
    # Day 2's hour 07 is missing upstream: its mid is unknown once the last book is over a minute old (59 min of
    # bars), and labels whose 5 minutes reach into that stretch are null too.
    assert 3_540 + 300 <= second.head(86_100).null_count() <= 3_540 + 300 + 100


def test_labels_are_the_only_forward_looking_table(materialized_lake):
    lake, _, _ = materialized_lake
    feature_columns = pl.read_parquet_schema(lake.feature_path("features", "BTC", DAY1))
    label_columns = pl.read_parquet_schema(lake.labels_path("BTC", DAY1))
    assert not any(c.startswith("label_") for c in feature_columns)
    assert set(label_columns) - {"bar_time"} == {c for c in label_columns if c.startswith("label_")}


def test_warehouse_answers_sql_by_coin_and_date(materialized_lake, monkeypatch, capsys):
    lake, results, _ = materialized_lake
    meta = results["warehouse"].get_asset_materialization_events()[0].materialization.metadata
    assert meta["rows_features"].value == meta["rows_labels"].value == 2 * 86_400
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as db:
        assert {r[0] for r in db.sql("SHOW TABLES").fetchall()} == {
            "l2_book", "trades", "book_features", "trade_flow_features", "features", "labels"}
        rows = db.sql("SELECT date, count(*) FROM features WHERE coin = 'BTC' AND date BETWEEN '2026-01-02' AND "
                      "'2026-01-03' GROUP BY date").fetchall()
        assert rows == [(DAY2, 86_400)]
        l2_rows = db.execute("SELECT count(*) FROM l2_book WHERE date = '2026-01-02'").fetchone()[0]
    assert l2_rows == pl.scan_parquet(str(lake.root / "clean/l2_book/coin=BTC/date=2026-01-02/*.parquet")).select(pl.len()).collect().item()

    monkeypatch.setenv("HL_LAKE_ROOT", str(lake.root))
    assert cli_main(["sql", "SELECT coin, count(*) AS n FROM labels GROUP BY coin"]) == 0
    assert "172800" in capsys.readouterr().out


def _signal_correlation(tmp_path, strength: float) -> float:
    """corr(top-of-book imbalance at bar t, forward 5-min mid return) over one demo day at 1 s bars."""
    mirror, lake = tmp_path / f"mirror{strength}", Lake(tmp_path / f"lake{strength}")
    write_demo_archive(mirror, ["BTC"], DAY1, 1, DEFAULT_LISTINGS, DemoMarketParams(signal_strength=strength), seed=21)
    source = LocalMirror(mirror / HYPERLIQUID_BUCKET)
    for h in range(24):
        hour = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=h)
        store_l2_hour(source, lake, "BTC", hour)
        clean_l2_hour(lake, "BTC", hour)
    book_features_day(lake, "BTC", DAY1, "1s")
    labels_day(lake, "BTC", DAY1, "1s")
    joined = pl.read_parquet(lake.feature_path("book_features", "BTC", DAY1)).join(
        pl.read_parquet(lake.labels_path("BTC", DAY1)), on="bar_time").drop_nulls(["book_imbalance_1", "label_ret_bps_5m"])
    # Non-overlapping 5-minute samples, so the correlation is not inflated by overlapping forward windows.
    sample = joined.gather_every(300)
    return float(np.corrcoef(sample["book_imbalance_1"], sample["label_ret_bps_5m"])[0, 1])


def test_planted_signal_is_found_when_there_and_not_when_absent(tmp_path):
    assert "book_imbalance_1" in BookFeatureConfig().columns() and "label_ret_bps_5m" in LabelConfig().columns()
    planted, absent = _signal_correlation(tmp_path, 1.0), _signal_correlation(tmp_path, 0.0)
    # 288 samples: a correlation's standard error is ~0.06; the calibrated demo's noisy imbalance gives ~0.19 here.
    assert planted > 0.15, planted
    assert abs(absent) < 0.1, absent
    assert planted > 4 * abs(absent)
