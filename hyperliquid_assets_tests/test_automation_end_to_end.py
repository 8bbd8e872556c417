"""Automation end to end: with `dagster dev` running its sensors (the README's local setup, on the offline mirror),
a day added to the mirror leads, untouched, to that day's features and labels: the upstream sensor notices it and
takes its inventory, declarative automation fetches and cleans its objects, then builds the tables that follow."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone

import dagster as dg

from hyperliquid_assets.defs.backfills import DagsterServer
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.settings import DEFAULT_LISTINGS, PROJECT_ROOT
from hyperliquid_assets_tests.dagster_env import isolated_env

COINS = ["BTC", "ETH"]


def test_a_day_added_to_the_mirror_becomes_features_and_labels_with_no_one_launching_anything(tmp_path):
    day = datetime.now(timezone.utc).date() - timedelta(days=2)  # the sensor looks back from today
    home, lake = tmp_path / "dagster_home", tmp_path / "lake"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    (lake / "mirror").mkdir(parents=True)
    staged = tmp_path / "publish"
    write_demo_archive(staged, COINS, day, 1, DEFAULT_LISTINGS,
                       DemoMarketParams(snapshot_gap_s=6.0, trades_per_hour=400), seed=6)
    env = isolated_env(tmp_path)
    env.update(DAGSTER_HOME=str(home), HL_LAKE_ROOT=str(lake), HL_AUTOMATION="on", HL_SENSOR_INTERVAL_S="5")
    with DagsterServer(None, PROJECT_ROOT / "workspace.yaml", tmp_path / "dagster-dev.log", env=env, cwd=home) as _:
        instance = dg.DagsterInstance.from_config(str(home))
        time.sleep(15)  # the sensors tick over an empty mirror: nothing to do
        assert instance.get_runs() == []
        published = time.monotonic()
        shutil.copytree(staged, lake / "mirror", dirs_exist_ok=True)  # the upstream publishes the day

        wanted = {f"{coin}|{day:%Y-%m-%d}" for coin in COINS}
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            done = {asset: wanted <= set(instance.get_materialized_partitions(dg.AssetKey(asset)))
                    for asset in ("features", "labels")}
            if all(done.values()):
                break
            time.sleep(5)
        elapsed = time.monotonic() - published
        runs = instance.get_runs()
        instance.dispose()
    assert all(done.values()), f"after {elapsed:.0f} s: {done}; see {tmp_path / 'dagster-dev.log'}"
    hours = {f"{coin}|{day:%Y-%m-%d}-{h:02d}:00" for coin in COINS for h in range(24)}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert hours <= set(instance.get_materialized_partitions(dg.AssetKey("l2_book")))
        for asset in ("book_features", "trade_flow_features", "binance_trades"):
            assert wanted <= set(instance.get_materialized_partitions(dg.AssetKey(asset))), asset
    # Nobody launched anything: every run came from the upstream sensor or the automation sensor.
    origins = {r.tags.get("dagster/sensor_name") or r.tags.get("dagster/automation_condition_sensor_name")
               or ("backfill" if "dagster/backfill" in r.tags else None) for r in runs}
    assert None not in origins, [r.tags for r in runs]
    print(f"published day -> features and labels in {elapsed:.0f} s, {len(runs)} runs")
