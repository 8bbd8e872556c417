"""End to end through Dagster's own machinery: `dagster dev` (webserver, daemon, code server) started in its own
process group with a temporary DAGSTER_HOME, backfills launched through GraphQL and run by the daemon, run
monitoring and run retries, and the UI in a real browser. Sensors are off here (HL_AUTOMATION=off) so that only
what a test launches runs; test_automation_end_to_end.py runs them."""

from __future__ import annotations

import os
import shutil
import signal
import time
from datetime import date, datetime, timedelta

import dagster as dg
import pytest

from hyperliquid_assets.defs.backfills import DagsterServer, follow, window_selection
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.settings import DEFAULT_LISTINGS, PROJECT_ROOT
from hyperliquid_assets.sources.layout import HYPERLIQUID_BUCKET, l2_book_key
from hyperliquid_assets_tests.browser import chromium_page, screenshot
from hyperliquid_assets_tests.dagster_env import isolated_env

COINS = ["BTC", "ETH"]
WINDOW = (date(2026, 1, 1), date(2026, 1, 3))  # the whole-graph backfill
BAD_DAY = date(2026, 1, 5)  # BTC only, with a truncated hour
KILL_DAY = date(2026, 1, 8)  # BTC's hour 00 is a FIFO: reading it blocks until the test intervenes
SMALL = DemoMarketParams(snapshot_gap_s=6.0, trades_per_hour=400)


def _hour_key(coin: str, day: date, hour: int) -> str:
    return f"{HYPERLIQUID_BUCKET}/{l2_book_key(coin, datetime(day.year, day.month, day.day, hour))}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A Dagster instance and lake in a temporary folder, a demo mirror, and `dagster dev` serving them."""
    root = tmp_path_factory.mktemp("e2e")
    home, lake = root / "dagster_home", root / "lake"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    mirror = lake / "mirror"
    write_demo_archive(mirror, COINS, WINDOW[0], (WINDOW[1] - WINDOW[0]).days + 1, DEFAULT_LISTINGS, SMALL, seed=2)
    write_demo_archive(mirror, ["BTC"], BAD_DAY, 1, DEFAULT_LISTINGS, SMALL, seed=3)
    good_bad_hour = (mirror / _hour_key("BTC", BAD_DAY, 3)).read_bytes()
    (mirror / _hour_key("BTC", BAD_DAY, 3)).write_bytes(good_bad_hour[:-200])
    spare = root / "spare-mirror"  # the real objects the FIFOs stand in for
    write_demo_archive(spare, COINS, KILL_DAY, 1, DEFAULT_LISTINGS, SMALL, seed=4)
    for coin in COINS:
        (mirror / _hour_key(coin, KILL_DAY, 0)).parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(mirror / _hour_key("BTC", KILL_DAY, 0))
    shutil.copy(spare / _hour_key("ETH", KILL_DAY, 0), mirror / _hour_key("ETH", KILL_DAY, 0))
    env = isolated_env(root)
    env.update(DAGSTER_HOME=str(home), HL_LAKE_ROOT=str(lake), HL_AUTOMATION="off", HL_START_DATE="2026-01-01")
    with DagsterServer(None, PROJECT_ROOT / "workspace.yaml", root / "dagster-dev.log", env=env, cwd=home) as server:
        instance = dg.DagsterInstance.from_config(str(home))
        yield {"server": server, "instance": instance, "lake": lake, "mirror": mirror, "spare": spare,
               "good_bad_hour": good_bad_hour, "root": root}
        instance.dispose()


def _graph():
    from hyperliquid_assets.definitions import defs

    return defs.resolve_asset_graph()


def _window_keys(node, coins: list[str], first: date, last: date) -> set[str]:
    """The node's partitions of the window (a model's days begin after its training window)."""
    (time_dimension,) = (d for d in node.partitions_def.partitions_defs if d.name != "coin")
    first = max(first, time_dimension.partitions_def.start.date())
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    dims = {d.name for d in node.partitions_def.partitions_defs}
    if "hour" in dims:
        return {f"{c}|{d:%Y-%m-%d}-{h:02d}:00" for c in coins for d in days for h in range(24)}
    return {f"{c}|{d:%Y-%m-%d}" for c in coins for d in days}


def _runs(instance, backfill_ids: list[str]) -> list:
    return [r for b in backfill_ids for r in instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": b}))]


def test_a_whole_graph_backfill_through_the_daemon_materializes_every_partition_in_a_few_runs(stack):
    server, instance = stack["server"], stack["instance"]
    graph = _graph()
    ids = [server.launch_backfill(window_selection(graph, [coin], *WINDOW), title=f"e2e {coin}") for coin in COINS]
    states = follow(server, ids, lambda run: None, timeout_s=1200)
    assert {state["status"] for state in states.values()} == {"COMPLETED_SUCCESS"}

    partitions = 0
    for node in graph.asset_nodes:
        key = node.key
        if node.partitions_def is None:
            assert instance.get_latest_materialization_event(key) is not None, key
            continue
        expected = _window_keys(node, COINS, *WINDOW)
        assert expected <= set(instance.get_materialized_partitions(key)), key
        partitions += len(expected)
    # Every check ran; the blocking ones passed. (The warnings may fire: so few trades leave minutes empty.)
    for check_key in graph.asset_check_keys:
        execution = instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key]
        assert execution is not None, check_key
        if graph.get_check_spec(check_key).blocking:
            assert execution.status.value == "SUCCEEDED", (check_key, execution)

    runs = _runs(instance, ids)
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    # A few runs per coin (the chain in ~4 waves: archive hours, Binance day, research tables, models and
    # backtests; then the summaries and the warehouse), not one per partition (~190 here).
    assert len(runs) <= 2 * 6 and partitions > 150
    print(f"whole-graph backfill: {partitions} partitions in {len(runs)} runs")


def test_one_bad_hour_fails_by_name_the_rest_is_recorded_and_reexecution_converges(stack, tmp_path):
    server, instance, lake, mirror = stack["server"], stack["instance"], stack["lake"], stack["mirror"]
    graph = _graph()
    # The lake and research tables of the day (its models would need the two days before it, not in the mirror).
    selection = [entry for entry in window_selection(graph, ["BTC"], BAD_DAY, BAD_DAY, unpartitioned=False)
                 if graph.get(dg.AssetKey(entry["assetKey"]["path"])).group_name
                 in {"raw", "clean", "features", "labels"}]
    backfill_id = server.launch_backfill(selection, title="e2e bad hour")
    state = follow(server, [backfill_id], lambda run: None, timeout_s=900)[backfill_id]
    assert state["status"] == "COMPLETED_FAILED"
    hours = _window_keys(graph.get(dg.AssetKey("l2_book")), ["BTC"], BAD_DAY, BAD_DAY)
    bad = f"BTC|{BAD_DAY:%Y-%m-%d}-03:00"
    for asset in ("hyperliquid_l2_raw", "l2_book"):
        assert set(instance.get_materialized_partitions(dg.AssetKey(asset))) & hours == hours - {bad}, asset
    failures = [e for r in _runs(instance, [backfill_id]) for e in instance.all_logs(r.run_id)
                if e.dagster_event and e.dagster_event.is_step_failure]
    message = failures[0].dagster_event.step_failure_data.user_failure_data.description
    assert bad in message and "not a complete LZ4 frame" in message
    day = f"BTC|{BAD_DAY:%Y-%m-%d}"
    for asset in ("book_features", "features", "labels"):  # downstream of the failed hour: not built
        assert day not in instance.get_materialized_partitions(dg.AssetKey(asset)), asset
    assert day in instance.get_materialized_partitions(dg.AssetKey("trade_flow_features"))

    (mirror / _hour_key("BTC", BAD_DAY, 3)).write_bytes(stack["good_bad_hour"])  # the upstream object is fixed
    retry_id = server.reexecute_backfill(backfill_id)
    assert follow(server, [retry_id], lambda run: None, timeout_s=900)[retry_id]["status"] == "COMPLETED_SUCCESS"
    for asset in ("l2_book", "book_features", "features", "labels"):
        assert day in instance.get_materialized_partitions(dg.AssetKey(asset)) or asset == "l2_book"
    assert hours <= set(instance.get_materialized_partitions(dg.AssetKey("l2_book")))

    # The lake equals a clean run's: the same day materialized in-process from a mirror that was never bad.
    clean_mirror, clean_lake = tmp_path / "mirror", tmp_path / "lake"
    write_demo_archive(clean_mirror, ["BTC"], BAD_DAY, 1, DEFAULT_LISTINGS, SMALL, seed=3)
    _materialize_day_in_process(clean_mirror, clean_lake, "BTC", BAD_DAY)
    ours, theirs = _day_files(lake, "BTC", BAD_DAY), _day_files(clean_lake, "BTC", BAD_DAY)
    assert len(ours) == 24 + 24 + 2 + 1 + 1 + 4 and ours == theirs  # raw, clean hours; zip, CHECKSUM; day tables
    assert not [p for p in lake.rglob("*") if ".tmp" in p.name]


def _day_files(lake, coin: str, day: date) -> dict[str, bytes]:
    """The coin-day's files in the lake's own trees (raw, inventory, clean, features, labels), by relative path."""
    found = {}
    for tree in ("raw", "clean", "features", "labels"):
        for path in (lake / tree).rglob("*"):
            relative = path.relative_to(lake).as_posix()
            of_day = f"{day:%Y%m%d}" in relative or f"date={day:%Y-%m-%d}" in relative or f"{day:%Y-%m-%d}.zip" in relative
            if path.is_file() and of_day and (f"coin={coin}" in relative or f"/{coin}" in relative):
                found[relative] = path.read_bytes()
    return found


def _materialize_day_in_process(mirror, lake_root, coin: str, day: date) -> None:
    from hyperliquid_assets.defs.ingest.assets import binance_daily_trades, hyperliquid_l2, upstream_inventory
    from hyperliquid_assets.defs.research.assets import book_features, features, labels, trade_flow_features
    from hyperliquid_assets.defs.resources import BinanceVision, HyperliquidArchive, LakeResource
    from hyperliquid_assets.sources.layout import BINANCE_HOST

    resources = {"hyperliquid_archive": HyperliquidArchive(mirror_root=str(mirror / HYPERLIQUID_BUCKET)),
                 "binance_vision": BinanceVision(mirror_root=str(mirror / BINANCE_HOST)),
                 "lake": LakeResource(root=str(lake_root))}
    instance = dg.DagsterInstance.ephemeral()
    d = f"{coin}|{day:%Y-%m-%d}"
    for assets, first, last in [([upstream_inventory, binance_daily_trades], d, d),
                                ([hyperliquid_l2], f"{d}-00:00", f"{d}-23:00"),
                                ([book_features, trade_flow_features, features, labels], d, d)]:
        result = dg.materialize(assets, resources=resources, instance=instance,
                                tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})
        assert result.success


def test_a_killed_run_worker_is_marked_failed_retried_and_the_queue_moves_on(stack):
    """BTC's run blocks reading its hour and holds the archive's pool slot, so ETH's run waits in the queue: the
    situation where dead runs used to stop everything. SIGKILL of BTC's run worker: run monitoring marks the run
    failed, the queue moves on, and run retries launch BTC's run again (which now finds the real object)."""
    server, instance, mirror, spare = stack["server"], stack["instance"], stack["mirror"], stack["spare"]
    graph = _graph()

    def one_hour(coin: str) -> list[dict]:
        first = f"{coin}|{KILL_DAY:%Y-%m-%d}-00:00"
        return [{"assetKey": {"path": [key]}, "partitions": {"ranges": [{"start": first, "end": first}]}}
                for key in ("hyperliquid_l2_raw", "l2_book")]

    blocked = server.launch_backfill(one_hour("BTC"), title="e2e blocked BTC")
    (run_id, pid), = _wait_for_worker_pids(instance, [blocked], count=1).items()
    waiting = server.launch_backfill(one_hour("ETH"), title="e2e waiting ETH")
    deadline = time.monotonic() + 120
    while not _runs(instance, [waiting]) and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(10)  # several dequeue intervals: ETH's run stays queued behind the pool slot BTC's run holds
    assert [r.status for r in _runs(instance, [waiting])] == [dg.DagsterRunStatus.QUEUED]

    # The real object replaces the FIFO (the killed worker stays blocked on the FIFO it opened); then the kill.
    os.replace(spare / _hour_key("BTC", KILL_DAY, 0), mirror / _hour_key("BTC", KILL_DAY, 0))
    os.kill(pid, signal.SIGKILL)
    states = follow(server, [blocked, waiting], lambda run: None, timeout_s=600)
    assert {state["status"] for state in states.values()} == {"COMPLETED_SUCCESS"}

    killed = instance.get_run_by_id(run_id)
    assert killed.status == dg.DagsterRunStatus.FAILURE
    # The code server notices its run process died of SIGKILL; run monitoring (LocalRunLauncher's health check)
    # would, within a poll, if the code server could not (test_run_launcher.py). Either marks the run failed.
    messages = [r.event_log_entry.message or "" for r in instance.get_records_for_run(run_id).records]
    assert any(f"run worker (pid {pid}) is" in m or ("terminated by signal 9" in m and run_id in m) for m in messages)
    retries = instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run_id}))
    assert [r.status for r in retries] == [dg.DagsterRunStatus.SUCCESS]
    assert [r.status for r in _runs(instance, [waiting])] == [dg.DagsterRunStatus.SUCCESS]
    assert {f"{c}|{KILL_DAY:%Y-%m-%d}-00:00" for c in COINS} <= set(
        instance.get_materialized_partitions(dg.AssetKey("l2_book")))


def _wait_for_worker_pids(instance, backfill_ids: list[str], count: int, timeout_s: float = 300) -> dict[str, int]:
    """{run id: pid} of the backfills' started runs, once `count` of them have reported their worker's pid."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = {}
        for run in _runs(instance, backfill_ids):
            for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
                message = record.event_log_entry.message or ""
                if message.startswith("Started process for run (pid: "):
                    pids[run.run_id] = int(message.split("pid: ")[1].rstrip(")."))
        if len(pids) >= count:
            return pids
        time.sleep(1)
    raise TimeoutError(f"no {count} started run workers for {backfill_ids}")


def test_the_ui_shows_the_graph_partitions_and_a_date_range_for_materialize_all(stack):
    server = stack["server"]
    # Tall enough that the catalog's virtualized list renders every asset (it renders only what is in view).
    with chromium_page(height=2400) as page:
        page.goto(f"{server.url}/assets", wait_until="networkidle")  # the catalog lists every asset
        for name in ("upstream_inventory", "hyperliquid_l2_raw", "l2_book", "book_features", "features", "labels",
                     "model_logreg", "predictions_xgboost", "champion_logreg", "backtest_xgboost",
                     "backtest_summaries", "lake_warehouse"):
            page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
        screenshot(page, "dagster_asset_catalog")
        page.goto(f"{server.url}/asset-groups", wait_until="networkidle")  # lineage, by group
        for group in ("raw", "clean", "features", "labels", "models", "predictions", "backtests", "warehouse"):
            page.get_by_text(group, exact=True).first.wait_for(timeout=30_000)
        screenshot(page, "dagster_asset_graph")
        page.get_by_role("button", name="Materialize all").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Partition selection").wait_for()
        date_range = dialog.get_by_placeholder("ex: 2026-01-01", exact=False)
        date_range.wait_for(timeout=30_000)  # a date range can be typed: the graph has a single (daily) root
        text = dialog.inner_text()
        assert "different partition definitions" not in text and "coin" in text
        screenshot(page, "dagster_materialize_all")
        page.goto(f"{server.url}/assets/l2_book?view=partitions", wait_until="networkidle")
        page.get_by_text("Partitions", exact=False).first.wait_for(timeout=30_000)
        page.get_by_text("BTC", exact=True).first.wait_for(timeout=30_000)
        screenshot(page, "dagster_l2_book_partitions")
        page.goto(f"{server.url}/assets/features?view=checks", wait_until="networkidle")
        page.get_by_text("rows_equal_bar_grid", exact=False).first.wait_for(timeout=30_000)
        screenshot(page, "dagster_features_asset")
