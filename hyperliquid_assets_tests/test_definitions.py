"""The code location loads as Dagster loads it, and its inventory is what the README promises."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg

from hyperliquid_assets.definitions import defs
from hyperliquid_assets.features.schemas import research_table_schema
from hyperliquid_assets.settings import PROJECT_ROOT

DAILY, HOURLY = ("coin", "date"), ("coin", "hour")
ASSETS = {
    "upstream_inventory": ("raw", DAILY), "hyperliquid_l2_raw": ("raw", HOURLY), "binance_trades_raw": ("raw", DAILY),
    "l2_book": ("clean", HOURLY), "binance_trades": ("clean", DAILY), "book_features": ("features", DAILY),
    "trade_flow_features": ("features", DAILY), "features": ("features", DAILY), "labels": ("labels", DAILY),
    "model_logreg": ("models", DAILY), "model_xgboost": ("models", DAILY),
    "champion_logreg": ("models", DAILY), "champion_xgboost": ("models", DAILY),
    "predictions_logreg": ("predictions", DAILY), "predictions_xgboost": ("predictions", DAILY),
    "backtest_logreg": ("backtests", DAILY), "backtest_xgboost": ("backtests", DAILY),
    "backtest_summaries": ("backtests", None), "lake_warehouse": ("warehouse", None),
}
SPECS = ("logreg", "xgboost")


def _specs() -> dict[str, dg.AssetSpec]:
    return {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}


def test_asset_inventory_groups_kinds_docs_and_lineage():
    specs = _specs()
    assert {k: s.group_name for k, s in specs.items()} == {k: group for k, (group, _) in ASSETS.items()}
    for key, spec in specs.items():
        assert spec.description and len(spec.description) > 100, f"{key} needs a docstring for the UI"
        assert spec.kinds, f"{key} has no kinds"
    deps = {k: {d.asset_key.to_user_string() for d in s.deps} for k, s in specs.items()}
    assert deps == {
        "upstream_inventory": set(), "hyperliquid_l2_raw": {"upstream_inventory"},
        "binance_trades_raw": {"upstream_inventory"}, "l2_book": {"hyperliquid_l2_raw"},
        "binance_trades": {"binance_trades_raw"}, "book_features": {"l2_book"},
        "trade_flow_features": {"binance_trades"}, "features": {"book_features", "trade_flow_features"},
        "labels": {"book_features"},
        **{f"model_{m}": {"features", "labels"} for m in SPECS},
        **{f"predictions_{m}": {f"model_{m}"} for m in SPECS},
        **{f"champion_{m}": {f"model_{m}"} for m in SPECS},
        **{f"backtest_{m}": {"l2_book", "features", "labels", f"model_{m}", f"predictions_{m}"} for m in SPECS},
        "backtest_summaries": {f"backtest_{m}" for m in SPECS},
        "lake_warehouse": {"l2_book", "binance_trades", "book_features", "trade_flow_features", "features", "labels",
                           *(f"predictions_{m}" for m in SPECS), *(f"backtest_{m}" for m in SPECS)},
    }
    # The graph has one root, so the UI's "Materialize all" can take a date range and the coins.
    assert [k for k, d in deps.items() if not d] == ["upstream_inventory"]


def test_checks_and_which_ones_block():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name): graph.get_check_spec(k).blocking for k in graph.asset_check_keys}
    research = {"schema_matches_declaration": True, "rows_equal_bar_grid": True, "null_share": False}
    expected = {
        ("l2_book", "times_monotonic"): True, ("l2_book", "book_not_crossed"): True,
        ("l2_book", "positive_prices_and_sizes"): True, ("l2_book", "minute_coverage"): False,
        ("binance_trades", "times_monotonic"): True, ("binance_trades", "positive_prices_and_sizes"): True,
        ("binance_trades", "minute_coverage"): False,
        **{(table, name): blocking for table in ("book_features", "trade_flow_features", "features", "labels")
           for name, blocking in research.items()},
        ("labels", "no_column_in_features"): True,
    }
    assert checks == expected


def test_research_tables_show_their_declared_schema_and_identity_before_any_run():
    specs = _specs()
    for table in ("book_features", "trade_flow_features", "features", "labels"):
        schema = specs[table].metadata["dagster/column_schema"]
        assert [(c.name, c.type) for c in schema.columns] == [(n, str(t)) for n, t in research_table_schema(table, "1s").items()]
        assert "bar=1s" in specs[table].code_version
    for table in ("trade_flow_features", "features", "binance_trades", "binance_trades_raw", "upstream_inventory"):
        assert "BTC:spot-trades-BTCUSDT" in specs[table].code_version, table


def test_partitions_and_backfill_policy():
    graph = defs.resolve_asset_graph()
    for key, (_, dims) in ASSETS.items():
        node = graph.get(dg.AssetKey(key))
        if dims is None:
            assert node.partitions_def is None
            continue
        assert isinstance(node.partitions_def, dg.MultiPartitionsDefinition)
        assert tuple(d.name for d in node.partitions_def.partitions_defs) == dims
        assert node.partitions_def.get_partitions_def_for_dimension("coin").get_partition_keys() == ["BTC", "ETH"]
        assert node.backfill_policy == dg.BackfillPolicy.single_run()


def test_partition_mappings_declare_exactly_what_each_step_reads():
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
    assert upstream("features", "book_features", "BTC|2026-01-05") == ["BTC|2026-01-04", "BTC|2026-01-05"]
    assert upstream("features", "trade_flow_features", "BTC|2026-01-05") == ["BTC|2026-01-04", "BTC|2026-01-05"]
    assert upstream("labels", "book_features", "BTC|2026-01-05") == ["BTC|2026-01-05"]
    assert upstream("hyperliquid_l2_raw", "upstream_inventory", "ETH|2026-01-05-13:00") == ["ETH|2026-01-05"]
    assert upstream("binance_trades_raw", "upstream_inventory", "ETH|2026-01-05") == ["ETH|2026-01-05"]
    # Day D's model trains on the HL_MODEL_WINDOW_DAYS days before D (2 under the tests' settings) and is scored
    # on D's features and labels, out of sample; the backtest replays D's book hours.
    window = ["BTC|2026-01-03", "BTC|2026-01-04", "BTC|2026-01-05"]
    for spec in SPECS:
        assert upstream(f"model_{spec}", "features", "BTC|2026-01-05") == window
        assert upstream(f"model_{spec}", "labels", "BTC|2026-01-05") == window
        for dep in (f"model_{spec}", f"predictions_{spec}", "features", "labels"):
            assert upstream(f"backtest_{spec}", dep, "BTC|2026-01-05") == ["BTC|2026-01-05"]
        assert upstream(f"backtest_{spec}", "l2_book", "BTC|2026-01-05") == [f"BTC|2026-01-05-{h:02d}:00" for h in range(24)]


def test_automation_sensors_and_jobs():
    assert {job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")} == {"upstream_inventory_job"}
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"upstream_sensor", "asset_automation", "end_mlflow_runs_of_failed_runs"}
    assert {s.default_status for s in sensors.values()} == {dg.DefaultSensorStatus.RUNNING}
    assert not list(defs.schedules or [])  # nothing waits for a clock: sensors and automation follow the data
    specs = _specs()
    assert specs["upstream_inventory"].automation_condition is None  # taken when the sensor sees something new
    for key in set(ASSETS) - {"upstream_inventory"}:
        assert specs[key].automation_condition is not None, key


def test_workspace_loads_with_the_dagster_cli_and_prints_no_beta_warning():
    env = {**os.environ, "DAGSTER_HOME": str(PROJECT_ROOT), "PYTHONWARNINGS": "default"}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful for code location hyperliquid_assets" in result.stdout + result.stderr
    assert "BetaWarning" not in result.stderr and "PreviewWarning" not in result.stderr, result.stderr
