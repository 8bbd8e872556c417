"""Inventory -> raw -> clean through Dagster on a demo mirror: a window of partitions in one run, reruns, objects
not published yet, corrupt objects. What Dagster records per partition must be exactly what is in the lake."""

from __future__ import annotations

from datetime import date, datetime, timezone

import dagster as dg
import polars as pl
import pytest

from hyperliquid_assets.defs.ingest.assets import binance_daily_trades, hyperliquid_l2, upstream_inventory
from hyperliquid_assets.defs.resources import BinanceVision, HyperliquidArchive, LakeResource
from hyperliquid_assets.demo.archive import compress_l2, write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.formats.hyperliquid_l2 import decompress_lz4
from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA, TRADES_SCHEMA
from hyperliquid_assets.inventory import Inventory, read_inventory, write_inventory
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


def _materialized(instance, asset: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(asset)))


def _partition_metadata(result, asset: str) -> dict[str, dict]:
    return {
        e.partition: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(asset)
    }


def _hours(coin: str, day: date) -> set[str]:
    return {f"{coin}|{day:%Y-%m-%d}-{h:02d}:00" for h in range(24)}


def test_a_window_of_hours_is_one_run_and_a_rerun_is_idempotent(mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(mirror, tmp_path)
    result = _run([hyperliquid_l2], resources, "BTC|2026-01-01-00:00", "BTC|2026-01-02-23:00", instance)
    assert result.success
    assert len(instance.get_runs()) == 1
    window = _hours("BTC", DAY1) | _hours("BTC", DAY2)
    assert _materialized(instance, "hyperliquid_l2_raw") == _materialized(instance, "l2_book") == window
    raw_meta, clean_meta = _partition_metadata(result, "hyperliquid_l2_raw"), _partition_metadata(result, "l2_book")
    assert {m["status"] for m in raw_meta.values()} == {"stored"}
    assert all(m["minute_coverage"] == 1.0 for m in clean_meta.values())
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"times_monotonic": True, "book_not_crossed": True, "positive_prices_and_sizes": True,
                      "minute_coverage": True}

    lake = Lake(tmp_path)
    hour = datetime(2026, 1, 1, 13, tzinfo=timezone.utc)
    book = pl.read_parquet(lake.clean_l2_path("BTC", hour))
    assert book.schema == L2_BOOK_SCHEMA
    key = "BTC|2026-01-01-13:00"
    assert book.height == clean_meta[key]["dagster/row_count"] == raw_meta[key]["snapshots"]
    assert raw_meta[key]["source_uri"].startswith("file://") and len(raw_meta[key]["sha256"]) == 64
    snapshot = sorted(p.read_bytes() for p in (tmp_path / "clean").rglob("*.parquet"))

    rerun = _run([hyperliquid_l2], resources, "BTC|2026-01-01-00:00", "BTC|2026-01-02-23:00", instance)
    assert rerun.success
    assert {m["status"] for m in _partition_metadata(rerun, "hyperliquid_l2_raw").values()} == {"already_stored"}
    assert sorted(p.read_bytes() for p in (tmp_path / "clean").rglob("*.parquet")) == snapshot
    assert not list(tmp_path.rglob("*.tmp"))


def test_an_unpublished_hour_and_day_stay_unmaterialized_with_the_reason(mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(mirror, tmp_path)
    l2 = _run([hyperliquid_l2], resources, "ETH|2026-01-01-04:00", "ETH|2026-01-01-06:00", instance)
    assert l2.success
    published = {"ETH|2026-01-01-04:00", "ETH|2026-01-01-06:00"}
    assert _materialized(instance, "hyperliquid_l2_raw") == _materialized(instance, "l2_book") == published
    observations = [e.event_specific_data.asset_observation for e in l2.all_events
                    if e.event_type_value == "ASSET_OBSERVATION"]
    assert {(o.asset_key.to_user_string(), o.partition) for o in observations} == {
        ("hyperliquid_l2_raw", "ETH|2026-01-01-05:00"), ("l2_book", "ETH|2026-01-01-05:00")}
    reason = observations[0].metadata["reason"].value
    assert reason.startswith("not published upstream yet: file://") and reason.endswith("/5/l2Book/ETH.lz4")

    trades = _run([binance_daily_trades], resources, "ETH|2026-01-01", "ETH|2026-01-02", instance)
    assert trades.success
    assert _materialized(instance, "binance_trades_raw") == _materialized(instance, "binance_trades") == {"ETH|2026-01-01"}
    day = pl.read_parquet(Lake(tmp_path).clean_trades_path("ETH", DAY1))
    assert day.schema == TRADES_SCHEMA and day.height > 1000
    assert not Lake(tmp_path).clean_trades_path("ETH", DAY2).exists()


def test_the_inventory_lists_what_is_published_and_the_raw_assets_fetch_only_that(mirror, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(mirror, tmp_path)
    result = _run([upstream_inventory], resources, "ETH|2026-01-01", "ETH|2026-01-02", instance)
    assert result.success
    lake = Lake(tmp_path)
    day1, day2 = read_inventory(lake, "ETH", DAY1), read_inventory(lake, "ETH", DAY2)
    assert list(day1.archive_hours) == [h for h in range(24) if h != 5] and day1.binance_published
    assert len(day2.archive_hours) == 24 and not day2.binance_published
    meta = _partition_metadata(result, "upstream_inventory")
    assert (meta["ETH|2026-01-01"]["missing_hours"], meta["ETH|2026-01-02"]["binance_published"]) == ("05", False)
    taken_twice = read_inventory(lake, "ETH", DAY1).to_json()
    _run([upstream_inventory], resources, "ETH|2026-01-01", "ETH|2026-01-01", instance)
    assert read_inventory(lake, "ETH", DAY1).to_json() == taken_twice  # same upstream, same bytes

    # An hour the mirror holds but the stored inventory does not list is not fetched: the inventory is what is read.
    write_inventory(lake, Inventory("ETH", DAY1, tuple(h for h in day1.archive_hours if h != 6),
                                    day1.binance_file, day1.binance_checksum))
    l2 = _run([hyperliquid_l2], resources, "ETH|2026-01-01-06:00", "ETH|2026-01-01-07:00", instance)
    assert l2.success and _materialized(instance, "l2_book") == {"ETH|2026-01-01-07:00"}
    assert not lake.raw_l2_path("ETH", datetime(2026, 1, 1, 6, tzinfo=timezone.utc)).exists()


def test_a_corrupt_hour_fails_by_name_while_the_good_hours_are_materialized_and_cleaned(mirror, tmp_path):
    bad_mirror = tmp_path / "mirror"
    source_hour = mirror / HYPERLIQUID_BUCKET / "market_data/20260102/3/l2Book/BTC.lz4"
    for path in (mirror / HYPERLIQUID_BUCKET).rglob("market_data/20260102/[234]/l2Book/BTC.lz4"):
        target = bad_mirror / HYPERLIQUID_BUCKET / path.relative_to(mirror / HYPERLIQUID_BUCKET)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes()[:-100] if path == source_hour else path.read_bytes())
    lake_root = tmp_path / "lake"
    instance = dg.DagsterInstance.ephemeral()
    result = _run([hyperliquid_l2], _resources(bad_mirror, lake_root), "BTC|2026-01-02-02:00", "BTC|2026-01-02-04:00",
                  instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert "1 of 3 partitions failed" in message
    assert "BTC|2026-01-02-03:00" in message and "20260102/3/l2Book/BTC.lz4: not a complete LZ4 frame" in message
    good = {"BTC|2026-01-02-02:00", "BTC|2026-01-02-04:00"}
    assert _materialized(instance, "hyperliquid_l2_raw") == _materialized(instance, "l2_book") == good
    stored = sorted(p.relative_to(lake_root).as_posix() for p in lake_root.rglob("*") if p.is_file())
    assert stored == [
        "clean/l2_book/coin=BTC/date=2026-01-02/02.parquet",
        "clean/l2_book/coin=BTC/date=2026-01-02/04.parquet",
        "raw/hyperliquid-archive/market_data/20260102/2/l2Book/BTC.lz4",
        "raw/hyperliquid-archive/market_data/20260102/4/l2Book/BTC.lz4",
    ]
    blocking = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert blocking["book_not_crossed"] and blocking["times_monotonic"]  # what was checked passed

    # The upstream object is fixed: re-executing the failed partition converges to a clean run's lake.
    source_hour_copy = bad_mirror / HYPERLIQUID_BUCKET / source_hour.relative_to(mirror / HYPERLIQUID_BUCKET)
    source_hour_copy.write_bytes(source_hour.read_bytes())
    retry = _run([hyperliquid_l2], _resources(bad_mirror, lake_root), "BTC|2026-01-02-03:00", "BTC|2026-01-02-03:00",
                 instance)
    assert retry.success
    clean_lake = tmp_path / "clean-lake"
    _run([hyperliquid_l2], _resources(mirror, clean_lake), "BTC|2026-01-02-02:00", "BTC|2026-01-02-04:00",
         dg.DagsterInstance.ephemeral())
    files = lambda root: {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}  # noqa: E731
    assert files(lake_root) == files(clean_lake)


def test_a_stored_copy_that_fails_cleaning_is_recorded_failed_not_materialized(mirror, tmp_path):
    """A raw copy that passes the raw check but not cleaning (a NaN size) is set aside: Dagster must record neither
    the raw nor the clean partition, and name the file and where it went."""
    bad_mirror = tmp_path / "mirror"
    key = "market_data/20260101/9/l2Book/BTC.lz4"
    source = mirror / HYPERLIQUID_BUCKET / key
    target = bad_mirror / HYPERLIQUID_BUCKET / key
    target.parent.mkdir(parents=True)
    lines = decompress_lz4(source.read_bytes(), key).split(b"\n")
    value = lines[3].index(b'"sz":"') + len(b'"sz":"')  # the 4th snapshot's best bid size becomes "NaN"
    lines[3] = lines[3][:value] + b"NaN" + lines[3][lines[3].index(b'"', value):]
    target.write_bytes(compress_l2(b"\n".join(lines)))
    instance = dg.DagsterInstance.ephemeral()
    result = _run([hyperliquid_l2], _resources(bad_mirror, tmp_path / "lake"), "BTC|2026-01-01-09:00",
                  "BTC|2026-01-01-09:00", instance)
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data.description
    assert "BTC|2026-01-01-09:00" in message and "NaN" in message and "set aside as" in message
    assert _materialized(instance, "hyperliquid_l2_raw") == _materialized(instance, "l2_book") == set()
    assert list((tmp_path / "lake").rglob("BTC.lz4.corrupt-*")) and not list((tmp_path / "lake" / "clean").rglob("*.parquet"))
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["positive_prices_and_sizes"]
    assert not check.passed and check.metadata["failing_partitions"].value == "BTC|2026-01-01-09:00"


def test_the_projects_own_log_lines_reach_the_dagster_event_log(mirror, tmp_path):
    """Under the instance's python_logs setting (dagster.yaml), what the plain modules log (here: a corrupt stored
    copy set aside before the object is fetched again) is in the run's event log, not only on a console."""
    import yaml

    from hyperliquid_assets.settings import PROJECT_ROOT

    python_logs = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())["python_logs"]
    resources = _resources(mirror, tmp_path)
    with dg.instance_for_test(overrides={"python_logs": python_logs}) as instance:
        assert _run([hyperliquid_l2], resources, "BTC|2026-01-01-10:00", "BTC|2026-01-01-10:00", instance).success
        stored = Lake(tmp_path).raw_l2_path("BTC", datetime(2026, 1, 1, 10, tzinfo=timezone.utc))
        stored.write_bytes(stored.read_bytes()[:-50])  # the stored copy is damaged after it was fetched
        rerun = _run([hyperliquid_l2], resources, "BTC|2026-01-01-10:00", "BTC|2026-01-01-10:00", instance)
        assert rerun.success
        messages = [e.message for e in instance.all_logs(rerun.run_id)]
    assert any("stored copy failed its check" in m and "set aside" in m for m in messages), messages[-20:]
