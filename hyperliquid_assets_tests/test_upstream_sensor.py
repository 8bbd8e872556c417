"""The upstream sensor over a mirror that gains objects between ticks: the expected run requests, the cursor
advancing, nothing requested twice, and days whose stored inventory is already current left alone."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pytest

from hyperliquid_assets.defs.ingest.sensors import upstream_sensor
from hyperliquid_assets.defs.resources import BinanceVision, HyperliquidArchive, LakeResource
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.inventory import take_inventories, write_inventory
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET, binance_trades_key, l2_book_key
from hyperliquid_assets.sources.object_sources import LocalMirror

# The sensor looks back from today, so the mirror holds recent days.
TODAY = datetime.now(timezone.utc).date()
DAY_A, DAY_B = TODAY - timedelta(days=3), TODAY - timedelta(days=2)


@pytest.fixture(scope="module")
def full_mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    write_demo_archive(root, ["BTC", "ETH"], DAY_A, 2, DEFAULT_LISTINGS,
                       DemoMarketParams(snapshot_gap_s=60.0, trades_per_hour=60), seed=4)
    return root


def _publish(full, mirror, coin: str, day: date, hours=range(24), binance: bool = True) -> None:
    """Copy objects of the full mirror into the growing one, as an upstream publishing them."""
    keys = [f"{HYPERLIQUID_BUCKET}/{l2_book_key(coin, datetime(day.year, day.month, day.day, h))}" for h in hours]
    if binance:
        zip_key = f"{BINANCE_HOST}/{binance_trades_key(DEFAULT_LISTINGS[coin], day)}"
        keys += [zip_key, zip_key + ".CHECKSUM"]
    for key in keys:
        (mirror / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(full / key, mirror / key)


def _tick(instance, mirror, lake_root, cursor):
    resources = {
        "hyperliquid_archive": HyperliquidArchive(backend="local", mirror_root=str(mirror / HYPERLIQUID_BUCKET)),
        "binance_vision": BinanceVision(backend="local", mirror_root=str(mirror / BINANCE_HOST)),
        "lake": LakeResource(root=str(lake_root)),
    }
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = upstream_sensor(context)
    requests = {r.run_key: (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
                for r in result.run_requests}
    return requests, result.cursor


def test_the_sensor_requests_each_newly_published_coin_day_once(full_mirror, tmp_path):
    mirror, lake_root = tmp_path / "mirror", tmp_path / "lake"
    instance = dg.DagsterInstance.ephemeral()
    a, b = f"{DAY_A:%Y-%m-%d}", f"{DAY_B:%Y-%m-%d}"

    requests, cursor = _tick(instance, mirror, lake_root, None)
    assert requests == {}  # nothing published yet

    _publish(full_mirror, mirror, "BTC", DAY_A)
    _publish(full_mirror, mirror, "ETH", DAY_A, hours=range(12), binance=False)  # half a day, no Binance file yet
    requests, cursor = _tick(instance, mirror, lake_root, cursor)
    assert sorted(requests.values()) == [(f"BTC|{a}", f"BTC|{a}"), (f"ETH|{a}", f"ETH|{a}")]
    assert json.loads(cursor)[a]["_complete"] is False

    repeated, cursor = _tick(instance, mirror, lake_root, cursor)
    assert repeated == {}  # the same tick again requests nothing

    # ETH's afternoon and Binance file land, and both coins' next day: ETH's day A again (its inventory changed,
    # so a new run key), day B for both as one more run each.
    _publish(full_mirror, mirror, "ETH", DAY_A, hours=range(12, 24))
    _publish(full_mirror, mirror, "BTC", DAY_B)
    _publish(full_mirror, mirror, "ETH", DAY_B)
    later, cursor = _tick(instance, mirror, lake_root, cursor)
    assert sorted(later.values()) == [(f"BTC|{b}", f"BTC|{b}"), (f"ETH|{a}", f"ETH|{b}")]
    assert not set(later) & set(requests)  # run keys carry the fingerprints: new content, new key
    assert json.loads(cursor)[a]["_complete"] and json.loads(cursor)[b]["_complete"]

    assert _tick(instance, mirror, lake_root, cursor)[0] == {}  # complete days are not even listed again
    assert all(day >= f"{TODAY - timedelta(days=45):%Y-%m-%d}" for day in json.loads(cursor))  # pruned to lookback


def test_a_day_whose_stored_inventory_is_current_is_not_requested(full_mirror, tmp_path):
    """After a backfill took the inventory (e.g. scripts/demo), a fresh sensor does not request it again."""
    mirror, lake_root = tmp_path / "mirror", tmp_path / "lake"
    _publish(full_mirror, mirror, "BTC", DAY_A)
    _publish(full_mirror, mirror, "ETH", DAY_A)
    inventories = take_inventories(LocalMirror(mirror / HYPERLIQUID_BUCKET), LocalMirror(mirror / BINANCE_HOST),
                                   {c: DEFAULT_LISTINGS[c] for c in ("BTC", "ETH")}, DAY_A)
    write_inventory(Lake(lake_root), inventories["BTC"])
    requests, _ = _tick(dg.DagsterInstance.ephemeral(), mirror, lake_root, None)
    assert sorted(requests.values()) == [(f"ETH|{DAY_A:%Y-%m-%d}", f"ETH|{DAY_A:%Y-%m-%d}")]
