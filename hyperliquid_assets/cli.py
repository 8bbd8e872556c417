"""`hl-assets`: single-file conversions, the demo archive, and windowed materializations, on the same code as
the Dagster assets."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from hyperliquid_assets.settings import PROJECT_ROOT, BinanceListing, load_settings

log = logging.getLogger("hl-assets")
_ZIP_NAME = re.compile(r"^(?P<symbol>[A-Z0-9_]+)-(?P<kind>trades|aggTrades)-\d{4}-\d{2}-\d{2}\.zip$")


def _listing_for(path: Path, args: argparse.Namespace) -> BinanceListing:
    """Symbol and kind from the file name, market from the upstream path, each overridable by a flag."""
    match = _ZIP_NAME.match(path.name)
    parts = path.resolve().parts
    market = "coinm" if "cm" in parts else "usdm" if "um" in parts else "spot"
    symbol = args.symbol or (match and match["symbol"])
    kind = args.kind or (match and match["kind"])
    if not symbol or not kind:
        raise SystemExit(f"{path}: cannot tell symbol/kind from the name; pass --symbol and --kind")
    market = args.market or market
    contract_size = args.contract_size or (None if market != "coinm" else 100.0 if symbol.startswith("BTC") else 10.0)
    return BinanceListing(symbol, market, kind, contract_size)


def _convert(args: argparse.Namespace) -> int:
    from hyperliquid_assets.formats.binance_trades import parse_trades_zip, verify_checksum
    from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
    from hyperliquid_assets.lake import write_parquet_atomic

    source, out = Path(args.input), Path(args.output)
    started = time.perf_counter()
    blob = source.read_bytes()
    if args.table == "l2":
        frame = parse_l2_book(blob, str(source), args.coin)
    else:
        checksum = source.with_name(source.name + ".CHECKSUM")
        if checksum.exists():
            verify_checksum(blob, checksum.read_bytes(), str(source))
            log.info("sha256 matches %s", checksum.name)
        frame = parse_trades_zip(blob, _listing_for(source, args), str(source))
    size = write_parquet_atomic(frame, out, {"hyperliquid_assets.source": str(source)})
    print(f"{out}: {frame.height:,} rows, {size:,} bytes ({len(blob):,} in) in {time.perf_counter() - started:.2f} s")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from hyperliquid_assets.demo.archive import write_demo_archive
    from hyperliquid_assets.demo.market import DemoMarketParams

    settings = load_settings()
    coins = args.coins.split(",") if args.coins else list(settings.coins)
    started = time.perf_counter()
    summary = write_demo_archive(
        settings.mirror_root,
        coins,
        date.fromisoformat(args.start) if args.start else settings.start_date,
        args.days,
        settings.listings,
        DemoMarketParams(signal_strength=args.signal_strength),
        seed=args.seed,
    )
    print(f"demo archive in {settings.mirror_root}: {summary} ({time.perf_counter() - started:.1f} s)")
    return 0


def _materialize(args: argparse.Namespace) -> int:
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
    for run in runs:
        state = "ok    " if run.success else "FAILED"
        window = f"{run.first_partition} .. {run.last_partition}" if run.first_partition else "(unpartitioned)"
        print(f"{state} {run.job:20s} {window:44s} run {run.run_id}")
        if run.error:
            print(f"       {run.error}")
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
        print(f"SQL over all of it: hl-assets sql \"SELECT coin, date, count(*) FROM features GROUP BY ALL\"")


def _sql(args: argparse.Namespace) -> int:
    from hyperliquid_assets.warehouse import query

    database = load_settings().lake_root / "warehouse.duckdb"
    if not database.exists():
        raise SystemExit(f"{database} does not exist yet: materialize lake_warehouse (scripts/demo does)")
    query(database, args.query).show(max_rows=args.max_rows, max_width=200)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="hl-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser("convert", help="convert one upstream file to clean Parquet")
    convert.add_argument("table", choices=["l2", "trades"])
    convert.add_argument("input")
    convert.add_argument("output")
    convert.add_argument("--coin", help="l2: expected coin (checked against the file)")
    convert.add_argument("--symbol", help="trades: Binance symbol (default: from the file name)")
    convert.add_argument("--market", choices=["spot", "usdm", "coinm"], help="trades: default from the path")
    convert.add_argument("--kind", choices=["trades", "aggTrades"], help="trades: default from the file name")
    convert.add_argument("--contract-size", type=float, help="trades, COIN-M: USD per contract")
    convert.set_defaults(run=_convert)

    demo = commands.add_parser("demo", help="write the synthetic demo archive into the local mirror")
    demo.add_argument("--start", help="first day (default HL_START_DATE)")
    demo.add_argument("--days", type=int, default=2)
    demo.add_argument("--coins", help="comma-separated (default HL_COINS)")
    demo.add_argument("--signal-strength", type=float, default=0.5, help="planted imbalance signal; 0 = none")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=_demo)

    materialize = commands.add_parser(
        "materialize", help="materialize every asset (raw, clean, features, labels, warehouse) for a window via Dagster"
    )
    materialize.add_argument("--start", help="first day (default HL_START_DATE)")
    materialize.add_argument("--days", type=int, default=2)
    materialize.add_argument("--coins", help="comma-separated (default HL_COINS)")
    materialize.set_defaults(run=_materialize)

    sql = commands.add_parser("sql", help="run SQL on the lake's DuckDB views (l2_book, trades, features, labels, ...)")
    sql.add_argument("query")
    sql.add_argument("--max-rows", type=int, default=40)
    sql.set_defaults(run=_sql)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
