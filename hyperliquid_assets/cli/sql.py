"""`hl-assets sql "..."`: SQL over the lake's DuckDB views."""

from __future__ import annotations

import argparse

from hyperliquid_assets.settings import load_settings


def register(commands: argparse._SubParsersAction) -> None:
    sql = commands.add_parser("sql", help="run SQL on the lake's DuckDB views (l2_book, trades, features, labels, ...)")
    sql.add_argument("query")
    sql.add_argument("--max-rows", type=int, default=40)
    sql.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hyperliquid_assets.warehouse import query

    database = load_settings().lake_root / "warehouse.duckdb"
    if not database.exists():
        raise SystemExit(f"{database} does not exist yet: materialize lake_warehouse (scripts/demo does)")
    query(database, args.query).show(max_rows=args.max_rows, max_width=200)
    return 0
