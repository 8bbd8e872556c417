"""The chaos backfill, at CI size (1 coin x 2 days of the demo market, a snapshot every ~30 s): the window is
materialized through Dagster as real separate processes (`dagster asset materialize` per job over its partition
range, see chaos.window_steps) against moto's S3 and a local HTTP server, both behind fault proxies failing
~20% of GETs (5xx, resets, truncated bodies); the processes are SIGKILLed at seeded moments and run again until
they succeed. The lake must then be byte-identical to a clean run's, with no temp file left.

For a bigger window: `python -m hyperliquid_assets_tests.chaos --workdir DIR --coins BTC,ETH --days 3`.
"""

from __future__ import annotations

import json
import os
from datetime import date

from hyperliquid_assets_tests.chaos import KillPlan, backfill, lake_digest, warehouse_views, write_small_demo_mirror

COINS, FIRST, LAST = ["BTC"], date(2026, 1, 1), date(2026, 1, 2)
SEED = 18  # with it, both upstreams' first GETs meet faults at about the 20% rate (draws depend on seed and path)


def test_a_backfill_under_faults_and_kills_converges_to_the_clean_runs_bytes(tmp_path, record_property):
    mirror = tmp_path / "mirror"
    write_small_demo_mirror(mirror, COINS, FIRST, (LAST - FIRST).days + 1)
    clean, clean_faults = backfill(tmp_path / "clean", mirror, COINS, FIRST, LAST, fault_rate=0.0, seed=SEED,
                                   kill_plan=None)
    kill_plan = KillPlan(SEED, probability=0.5, max_kills=6)
    chaos, faults = backfill(tmp_path / "chaos", mirror, COINS, FIRST, LAST, fault_rate=0.2, seed=SEED,
                             kill_plan=kill_plan, clean_run=clean)

    summary = {
        "faults": faults, "kills": chaos.kills, "reruns": chaos.reruns,
        "attempts": {s.name: s.attempts for s in chaos.steps},
        "failed_attempts": sum(s.failures for s in chaos.steps),
        "clean_seconds": round(clean.seconds, 1), "chaos_seconds": round(chaos.seconds, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    record_property("chaos_backfill", json.dumps(summary))
    print("chaos backfill:", json.dumps(summary))

    # The run really was under fire: faults on both upstreams, and processes killed.
    assert all(sum(v for k, v in counts.items() if k != "gets") > 0 for counts in faults.values()), faults
    assert {kind for counts in faults.values() for kind in counts} == {"gets", "500", "reset", "drop"}
    assert all(set(counts) == {"gets"} for counts in clean_faults.values())
    assert chaos.kills >= 1

    clean_lake, chaos_lake = lake_digest(tmp_path / "clean" / "lake"), lake_digest(tmp_path / "chaos" / "lake")
    assert len(clean_lake["raw"]) == 48 + 4 + 2  # 48 archive hours, 2 zips with their CHECKSUMs, 2 inventories
    assert len(clean_lake["tables"]) == 48 + 2 + 4 * 2  # clean hours and days, 4 research tables x 2 days
    assert chaos_lake["temp_files"] == [] and chaos_lake["set_aside"] == []
    assert chaos_lake["raw"] == clean_lake["raw"]
    assert chaos_lake["tables"] == clean_lake["tables"]  # rows and sha256 of every Parquet file
    assert warehouse_views(tmp_path / "chaos" / "lake") == warehouse_views(tmp_path / "clean" / "lake")
