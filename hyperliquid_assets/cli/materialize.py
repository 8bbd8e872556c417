"""`hl-assets materialize`: every asset for a window, through Dagster."""

from __future__ import annotations

import argparse
import os
from datetime import date, timedelta
from pathlib import Path

from hyperliquid_assets.settings import PROJECT_ROOT, load_settings


def register(commands: argparse._SubParsersAction) -> None:
    materialize = commands.add_parser(
        "materialize", help="materialize every asset (raw, clean, features, labels, warehouse) for a window via Dagster"
    )
    materialize.add_argument("--start", help="first day (default HL_START_DATE)")
    materialize.add_argument("--days", type=int, default=2)
    materialize.add_argument("--coins", help="comma-separated (default HL_COINS)")
    materialize.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    import dagster as dg

    from hyperliquid_assets.dagster_defs.window_runs import materialize_window
    from hyperliquid_assets.definitions import defs

    settings = load_settings()
    first = date.fromisoformat(args.start) if args.start else settings.start_date
    last = first + timedelta(days=args.days - 1)
    coins = args.coins.split(",") if args.coins else list(settings.coins)
    with dg.DagsterInstance.get() as instance:
        runs = materialize_window(defs, instance, coins, first, last)
    for run_ in runs:
        state = "ok    " if run_.success else "FAILED"
        window = f"{run_.first_partition} .. {run_.last_partition}" if run_.first_partition else "(unpartitioned)"
        print(f"{state} {run_.job:20s} {window:44s} run {run_.run_id}")
        if run_.error:
            print(f"       {run_.error}")
    _print_lake_summary(settings.lake_root)
    return 0 if all(r.success for r in runs) else 1


def _print_lake_summary(root: Path) -> None:
    import polars as pl

    from hyperliquid_assets.warehouse import LAKE_TABLES

    for table, pattern in LAKE_TABLES.items():
        files = sorted(root.glob(pattern))
        if not files:
            continue
        rows = pl.scan_parquet(files).select(pl.len()).collect().item()
        size = sum(f.stat().st_size for f in files)
        folder = pattern.split("/coin=")[0]
        print(f"{table:20s} {folder + '/':32s} {len(files):3d} files {rows:>11,} rows {size / 1e6:7.1f} MB")
    if (root / "warehouse.duckdb").exists():
        print('SQL over all of it: hl-assets sql "SELECT coin, date, count(*) FROM features GROUP BY ALL"')
