"""The code location loads as Dagster loads it, and its inventory is what the README promises."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from hyperliquid_assets.definitions import defs
from hyperliquid_assets.settings import PROJECT_ROOT


def test_asset_inventory_groups_kinds_and_docs():
    graph = defs.resolve_asset_graph()
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert set(specs) == {"hyperliquid_l2_raw", "l2_book", "binance_trades_raw", "binance_trades"}
    assert {k: s.group_name for k, s in specs.items()} == {
        "hyperliquid_l2_raw": "raw", "binance_trades_raw": "raw", "l2_book": "clean", "binance_trades": "clean",
    }
    for key, spec in specs.items():
        assert spec.description and len(spec.description) > 100, f"{key} needs a docstring for the UI"
        assert spec.kinds, f"{key} has no kinds"
    assert {d.asset_key.to_user_string() for d in specs["l2_book"].deps} == {"hyperliquid_l2_raw"}
    assert {d.asset_key.to_user_string() for d in specs["binance_trades"].deps} == {"binance_trades_raw"}
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
    for key, dims in {"hyperliquid_l2_raw": ("coin", "hour"), "l2_book": ("coin", "hour"),
                      "binance_trades_raw": ("coin", "date"), "binance_trades": ("coin", "date")}.items():
        node = graph.get(dg.AssetKey(key))
        partitions = node.partitions_def
        assert isinstance(partitions, dg.MultiPartitionsDefinition)
        assert tuple(d.name for d in partitions.partitions_defs) == dims
        assert partitions.get_partitions_def_for_dimension("coin").get_partition_keys() == ["BTC", "ETH"]
        assert node.backfill_policy == dg.BackfillPolicy.single_run()


def test_jobs_and_schedules():
    assert {job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")} == {
        "hyperliquid_l2_job", "binance_trades_job",
    }
    schedules = {
        s.name: (s.cron_schedule, s.job_name, s.default_status)
        for s in (defs.resolve_schedule_def(name) for name in ("hyperliquid_l2_job_schedule", "binance_trades_job_schedule"))
    }
    assert len(list(defs.schedules)) == 2
    assert schedules == {
        "hyperliquid_l2_job_schedule": ("30 * * * *", "hyperliquid_l2_job", dg.DefaultScheduleStatus.STOPPED),
        "binance_trades_job_schedule": ("0 10 * * *", "binance_trades_job", dg.DefaultScheduleStatus.STOPPED),
    }


def test_workspace_loads_with_the_dagster_cli():
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "DAGSTER_HOME": str(PROJECT_ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hyperliquid_assets" in result.stdout + result.stderr
