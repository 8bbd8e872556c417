"""Whole-graph backfill through the daemon (ingest to backtests): windows (the project's single-run policy, one backfill per coin) beside
the same backfill with one run per partition (HL_BACKFILL_POLICY=per_partition), on the same demo archive, each in
its own Dagster instance and lake. Timed from launch to the last run's end (the `dagster dev` start-up before it is
not counted, the same for both); both lakes must come out the same.

    python bench/bench_backfill.py [--days 7] [--coins BTC,ETH] [--skip-per-partition] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hyperliquid_assets.defs.backfills import DagsterServer, follow, window_selection  # noqa: E402
from hyperliquid_assets.demo.archive import write_demo_archive  # noqa: E402
from hyperliquid_assets.demo.market import DemoMarketParams  # noqa: E402
from hyperliquid_assets.settings import DEFAULT_LISTINGS  # noqa: E402


def _variant(workdir: Path, name: str, mirror: Path, coins: list[str], first: date, last: date,
             extra_env: dict[str, str]) -> dict:
    home, lake = workdir / name / "dagster_home", workdir / name / "lake"
    home.mkdir(parents=True)
    lake.mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    (lake / "mirror").symlink_to(mirror)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HL_", "MLFLOW_"))}
    mlruns = workdir / name / "mlruns"  # the models' MLflow store, apart from the project's
    env.update(DAGSTER_HOME=str(home), HL_LAKE_ROOT=str(lake), HL_AUTOMATION="off",
               MLFLOW_TRACKING_URI=f"sqlite:///{mlruns / 'mlflow.db'}", HL_MLFLOW_ARTIFACT_ROOT=str(mlruns),
               HL_START_DATE=f"{first:%Y-%m-%d}", HL_COINS=",".join(coins), **extra_env)
    saved = dict(os.environ)
    os.environ.update(env)  # the asset graph below must be the one the server loads
    try:
        from hyperliquid_assets.definitions import defs

        graph = defs.resolve_asset_graph()
        with DagsterServer(None, ROOT / "workspace.yaml", workdir / name / "dagster-dev.log", env=env, cwd=home) as server:
            started = time.monotonic()
            ids = [server.launch_backfill(window_selection(graph, [coin], first, last), title=f"bench {name} {coin}")
                   for coin in coins]
            runs: list = []
            states = follow(server, ids, runs.append, timeout_s=4 * 3600)
            seconds = time.monotonic() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
    statuses = {state["status"] for state in states.values()}
    partitions = sum(s.get("numPartitionsTargeted", 1) for state in states.values()
                     for s in state["assetBackfillData"]["assetBackfillStatuses"])
    return {"name": name, "seconds": seconds, "runs": len(runs), "partitions": partitions, "statuses": statuses,
            "lake": lake}


def _tables_digest(lake: Path) -> str:
    """The rows of every clean, feature and label table, in path order (file metadata aside)."""
    digest = hashlib.sha256()
    for path in sorted(p for tree in ("clean", "features", "labels") for p in (lake / tree).rglob("*.parquet")):
        digest.update(path.relative_to(lake).as_posix().encode())
        digest.update(pl.read_parquet(path).hash_rows(seed=0).to_numpy().tobytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--coins", default="BTC,ETH")
    parser.add_argument("--skip-per-partition", action="store_true", help="time the windows variant only")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    coins = args.coins.split(",")
    first = date(2026, 1, 1)
    last = first + timedelta(days=args.days - 1)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    mirror = workdir / "mirror"
    started = time.monotonic()
    write_demo_archive(mirror, coins, first, args.days, DEFAULT_LISTINGS, DemoMarketParams(), seed=7)
    print(f"demo archive: {len(coins)} coins x {args.days} days in {time.monotonic() - started:.0f} s ({workdir})")
    results = [_variant(workdir, "windows", mirror, coins, first, last, {})]
    if not args.skip_per_partition:
        results.append(_variant(workdir, "per_partition", mirror, coins, first, last,
                                {"HL_BACKFILL_POLICY": "per_partition"}))
    base = results[0]["seconds"]
    print(f"\n{'backfill':16s} {'wall':>9s} {'runs':>6s} {'partitions':>11s}  ratio to windows")
    for r in results:
        print(f"{r['name']:16s} {r['seconds']:8.0f}s {r['runs']:6d} {r['partitions']:11d}  {r['seconds'] / base:5.1f}x"
              f"  {'/'.join(sorted(r['statuses']))}")
    if len(results) == 2:
        same = _tables_digest(results[0]["lake"]) == _tables_digest(results[1]["lake"])
        print(f"same tables from both: {same}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
