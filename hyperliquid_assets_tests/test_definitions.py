"""The code location loads as Dagster loads it, and its inventory is what the README promises."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import dagster as dg

from hyperliquid_assets.definitions import defs
from hyperliquid_assets.settings import PROJECT_ROOT


def test_asset_inventory_groups_kinds_and_docs():
    graph = defs.resolve_asset_graph()
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert {k: s.group_name for k, s in specs.items()} == {
        "hyperliquid_l2_raw": "raw", "binance_trades_raw": "raw", "l2_book": "clean", "binance_trades": "clean",
        "book_features": "features", "trade_flow_features": "features", "features": "features",
        "labels": "labels", "lake_warehouse": "warehouse",
    }
    for key, spec in specs.items():
        assert spec.description and len(spec.description) > 100, f"{key} needs a docstring for the UI"
        assert spec.kinds, f"{key} has no kinds"
    assert {d.asset_key.to_user_string() for d in specs["l2_book"].deps} == {"hyperliquid_l2_raw"}
    assert {d.asset_key.to_user_string() for d in specs["binance_trades"].deps} == {"binance_trades_raw"}
    assert {d.asset_key.to_user_string() for d in specs["features"].deps} == {"book_features", "trade_flow_features"}
    assert {d.asset_key.to_user_string() for d in specs["labels"].deps} == {"book_features"}
    assert len(specs["lake_warehouse"].deps) == 6
    checks = {(k.asset_key.to_user_string(), k.name): graph.get_check_spec(k).blocking for k in graph.asset_check_keys}
    assert checks == {
        ("l2_book", "times_monotonic"): True,
        ("l2_book", "book_not_crossed"): True,
        ("l2_book", "positive_prices_and_sizes"): True,
        ("l2_book", "minute_coverage"): False,
        ("binance_trades", "times_monotonic"): True,
        ("binance_trades", "positive_prices_and_sizes"): True,
        ("binance_trades", "minute_coverage"): False,
    }


def test_partitions_and_backfill_policy():
    graph = defs.resolve_asset_graph()
    daily = ("coin", "date")
    for key, dims in {"hyperliquid_l2_raw": ("coin", "hour"), "l2_book": ("coin", "hour"),
                      "binance_trades_raw": daily, "binance_trades": daily, "book_features": daily,
                      "trade_flow_features": daily, "features": daily, "labels": daily}.items():
        node = graph.get(dg.AssetKey(key))
        partitions = node.partitions_def
        assert isinstance(partitions, dg.MultiPartitionsDefinition)
        assert tuple(d.name for d in partitions.partitions_defs) == dims
        assert partitions.get_partitions_def_for_dimension("coin").get_partition_keys() == ["BTC", "ETH"]
        assert node.backfill_policy == dg.BackfillPolicy.single_run()


def test_partition_mappings_between_hours_days_and_neighbouring_days():
    graph = defs.resolve_asset_graph()

    def upstream(asset: str, dep: str, partition: str) -> list[str]:
        node = graph.get(dg.AssetKey(asset))
        mapping = graph.get_partition_mapping(dg.AssetKey(asset), dg.AssetKey(dep))
        subset = node.partitions_def.subset_with_partition_keys([partition])
        result = mapping.get_upstream_mapped_partitions_result_for_partitions(
            subset, node.partitions_def, graph.get(dg.AssetKey(dep)).partitions_def
        )
        return sorted(result.partitions_subset.get_partition_keys())

    hours = upstream("book_features", "l2_book", "BTC|2026-01-05")
    assert len(hours) == 48 and hours[0] == "BTC|2026-01-04-00:00" and hours[-1] == "BTC|2026-01-05-23:00"
    assert upstream("trade_flow_features", "binance_trades", "ETH|2026-01-05") == ["ETH|2026-01-04", "ETH|2026-01-05"]
    assert upstream("labels", "book_features", "BTC|2026-01-05") == ["BTC|2026-01-05", "BTC|2026-01-06"]
    assert upstream("features", "book_features", "BTC|2026-01-05") == ["BTC|2026-01-04", "BTC|2026-01-05"]


def test_jobs_and_schedules():
    assert {job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")} == {
        "hyperliquid_l2_job", "binance_trades_job", "research_tables_job", "lake_warehouse_job",
    }
    names = ("hyperliquid_l2_job_schedule", "binance_trades_job_schedule", "research_tables_job_schedule",
             "lake_warehouse_job_schedule")
    schedules = {
        s.name: (s.cron_schedule, s.job_name, s.default_status) for s in (defs.resolve_schedule_def(n) for n in names)
    }
    assert len(list(defs.schedules)) == 4
    stopped = dg.DefaultScheduleStatus.STOPPED  # on the offline default; RUNNING with HL_SOURCE=remote
    assert {defs.resolve_schedule_def(n).execution_timezone for n in names} == {"UTC"}
    assert schedules == {
        "hyperliquid_l2_job_schedule": ("30 * * * *", "hyperliquid_l2_job", stopped),
        "binance_trades_job_schedule": ("0 10 * * *", "binance_trades_job", stopped),
        "research_tables_job_schedule": ("0 11 * * *", "research_tables_job", stopped),
        "lake_warehouse_job_schedule": ("30 11 * * *", "lake_warehouse_job", stopped),
    }


def test_workspace_loads_with_the_dagster_cli():
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "DAGSTER_HOME": str(PROJECT_ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hyperliquid_assets" in result.stdout + result.stderr


def _ranges(schedule_name: str, tick: datetime) -> list[tuple[str, str]]:
    schedule = defs.resolve_schedule_def(schedule_name)
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        requests = list(schedule.evaluate_tick(context).run_requests or [])
    return [(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"]) for r in requests]


def test_schedules_revisit_a_recent_window_so_late_objects_and_next_day_labels_get_filled():
    tick = datetime(2026, 3, 10, 11, 0, tzinfo=timezone.utc)
    # Research: D-2 again (its labels now reach D-1's first bars) and D-1.
    assert _ranges("research_tables_job_schedule", tick) == [
        ("BTC|2026-03-08", "BTC|2026-03-09"), ("ETH|2026-03-08", "ETH|2026-03-09")]
    # Binance publishes a day late: yesterday, and the day before in case it was late too.
    assert _ranges("binance_trades_job_schedule", tick.replace(hour=10)) == [
        ("BTC|2026-03-08", "BTC|2026-03-09"), ("ETH|2026-03-08", "ETH|2026-03-09")]
    assert _ranges("hyperliquid_l2_job_schedule", tick.replace(minute=30)) == [
        ("BTC|2026-03-10-08:00", "BTC|2026-03-10-10:00"), ("ETH|2026-03-10-08:00", "ETH|2026-03-10-10:00")]
    # Never before the first partition.
    assert _ranges("research_tables_job_schedule", datetime(2026, 1, 2, 11, tzinfo=timezone.utc)) == [
        ("BTC|2026-01-01", "BTC|2026-01-01"), ("ETH|2026-01-01", "ETH|2026-01-01")]
    assert _ranges("research_tables_job_schedule", datetime(2026, 1, 1, 11, tzinfo=timezone.utc)) == []
