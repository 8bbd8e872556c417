"""Raw -> clean through Dagster on a demo mirror: whole partition windows in one run, reruns, gaps, corruption."""

from __future__ import annotations

from datetime import date, datetime, timezone

import dagster as dg
import polars as pl
import pytest

from hyperliquid_assets.dagster_defs.ingest_assets import binance_trades, binance_trades_raw, hyperliquid_l2_raw, l2_book
from hyperliquid_assets.dagster_defs.resources import BinanceVision, HyperliquidArchive, LakeResource
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA, TRADES_SCHEMA
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
DAY1, DAY2 = date(2026, 1, 1), date(2026, 1, 2)
MISSING = [("ETH", "2026-01-01T05"), ("ETH", "2026-01-02")]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    write_demo_archive(root, ["BTC", "ETH"], DAY1, 2, DEFAULT_LISTINGS,
                       DemoMarketParams(snapshot_gap_s=4.0, trades_per_hour=600), seed=11, missing=MISSING)
    return root


def _resources(mirror, lake_root):
    return {
        "hyperliquid_archive": HyperliquidArchive(backend="local", mirror_root=str(mirror / HYPERLIQUID_BUCKET)),
        "binance_vision": BinanceVision(backend="local", mirror_root=str(mirror / BINANCE_HOST)),
        "lake": LakeResource(root=str(lake_root)),
    }


def _run(assets, resources, first: str, last: str, instance):
    return dg.materialize(assets, resources=resources, instance=instance,
                          tags={RANGE_START: first, RANGE_END: last}, raise_on_error=False)


def _partition_metadata(result, asset: str) -> dict[str, dict]:
    return {
        e.partition: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(asset)
    }


def test_two_days_of_l2_hours_in_one_run_then_an_idempotent_rerun(mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(mirror, tmp_path)
    result = _run([hyperliquid_l2_raw, l2_book], resources, "BTC|2026-01-01-00:00", "BTC|2026-01-02-23:00", instance)
    assert result.success
    assert len(instance.get_runs()) == 1
    raw_meta, clean_meta = _partition_metadata(result, "hyperliquid_l2_raw"), _partition_metadata(result, "l2_book")
    assert len(raw_meta) == len(clean_meta) == 48
    assert {m["status"] for m in raw_meta.values()} == {"stored"}
    assert {m["status"] for m in clean_meta.values()} == {"written"}
    assert all(m["minute_coverage"] == 1.0 for m in clean_meta.values())
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"times_monotonic": True, "book_not_crossed": True, "positive_prices_and_sizes": True,
                      "minute_coverage": True}

    lake = Lake(tmp_path)
    hour = datetime(2026, 1, 1, 13, tzinfo=timezone.utc)
    book = pl.read_parquet(lake.clean_l2_path("BTC", hour))
    assert book.schema == L2_BOOK_SCHEMA
    assert book.height == clean_meta["BTC|2026-01-01-13:00"]["dagster/row_count"] == raw_meta["BTC|2026-01-01-13:00"]["snapshots"]
    assert raw_meta["BTC|2026-01-01-13:00"]["sha256"] and raw_meta["BTC|2026-01-01-13:00"]["source_uri"].startswith("file://")
    snapshot = sorted(p.read_bytes() for p in (tmp_path / "clean").rglob("*.parquet"))

    rerun = _run([hyperliquid_l2_raw, l2_book], resources, "BTC|2026-01-01-00:00", "BTC|2026-01-02-23:00", instance)
    assert rerun.success
    assert {m["status"] for m in _partition_metadata(rerun, "hyperliquid_l2_raw").values()} == {"already_stored"}
    assert sorted(p.read_bytes() for p in (tmp_path / "clean").rglob("*.parquet")) == snapshot
    assert not list(tmp_path.rglob("*.tmp"))


def test_missing_upstream_objects_are_gaps_not_failures(mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(mirror, tmp_path)
    l2 = _run([hyperliquid_l2_raw, l2_book], resources, "ETH|2026-01-01-04:00", "ETH|2026-01-01-06:00", instance)
    assert l2.success
    assert _partition_metadata(l2, "hyperliquid_l2_raw")["ETH|2026-01-01-05:00"]["status"] == "missing"
    gap = _partition_metadata(l2, "l2_book")["ETH|2026-01-01-05:00"]
    assert (gap["status"], gap["minute_coverage"], gap["window_missing"], gap["window_written"]) == ("missing", 0.0, 1, 2)
    assert "dagster/row_count" not in gap
    coverage = next(e for e in l2.get_asset_check_evaluations() if e.check_name == "minute_coverage")
    assert not coverage.passed and coverage.severity == dg.AssetCheckSeverity.WARN
    assert coverage.metadata["missing_partitions"].value == "ETH|2026-01-01-05:00"

    trades = _run([binance_trades_raw, binance_trades], resources, "ETH|2026-01-01", "ETH|2026-01-02", instance)
    assert trades.success
    statuses = {k: m["status"] for k, m in _partition_metadata(trades, "binance_trades").items()}
    assert statuses == {"ETH|2026-01-01": "written", "ETH|2026-01-02": "missing"}
    day = pl.read_parquet(Lake(tmp_path).clean_trades_path("ETH", DAY1))
    assert day.schema == TRADES_SCHEMA and day.height > 1000
    assert not Lake(tmp_path).clean_trades_path("ETH", DAY2).exists()


def test_a_corrupt_hour_fails_the_run_naming_it_and_the_rest_are_stored(mirror, tmp_path):
    bad_mirror = tmp_path / "mirror"
    source_hour = mirror / HYPERLIQUID_BUCKET / "market_data/20260102/3/l2Book/BTC.lz4"
    for path in (mirror / HYPERLIQUID_BUCKET).rglob("market_data/20260102/[234]/l2Book/BTC.lz4"):
        target = bad_mirror / HYPERLIQUID_BUCKET / path.relative_to(mirror / HYPERLIQUID_BUCKET)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes()[:-100] if path == source_hour else path.read_bytes())
    lake_root = tmp_path / "lake"
    result = _run([hyperliquid_l2_raw, l2_book], _resources(bad_mirror, lake_root),
                  "BTC|2026-01-02-02:00", "BTC|2026-01-02-04:00", dg.DagsterInstance.ephemeral())
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert "1 of 3 partitions failed" in message
    assert "BTC|2026-01-02-03:00" in message and "20260102/3/l2Book/BTC.lz4: not a complete LZ4 frame" in message
    stored = sorted(p.relative_to(lake_root).as_posix() for p in lake_root.rglob("*") if p.is_file())
    assert stored == [
        "raw/hyperliquid-archive/market_data/20260102/2/l2Book/BTC.lz4",
        "raw/hyperliquid-archive/market_data/20260102/4/l2Book/BTC.lz4",
    ]
