"""A DuckDB database of views over every Parquet table of the lake, hive-partitioned by coin and date, so that
`SELECT ... FROM features WHERE coin = 'BTC' AND date BETWEEN ...` works from the duckdb CLI, Python or
`hl-assets sql`. Views read the files at query time; refreshing only (re)declares them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from hyperliquid_assets.lake import Lake, StagedFile
from hyperliquid_assets.modeling.specs import DEFAULT_SPECS

# view name -> glob under the lake root; {bar} is the lake's bar. Tables whose paths carry a listing are filtered to
# each coin's configured listing, so a view never mixes variants of a table.
LAKE_TABLES = {
    "l2_book": "clean/l2_book/coin=*/date=*/*.parquet",
    "trades": "clean/trades/listing=*/coin=*/date=*/*.parquet",
    "book_features": "features/book_features/bar={bar}/coin=*/date=*/*.parquet",
    "trade_flow_features": "features/trade_flow_features/bar={bar}/listing=*/coin=*/date=*/*.parquet",
    "features": "features/features/bar={bar}/listing=*/coin=*/date=*/*.parquet",
    "labels": "labels/bar={bar}/coin=*/date=*/*.parquet",
    **{f"predictions_{spec}": f"predictions/{spec}/bar={{bar}}/listing=*/coin=*/date=*/*.parquet"
       for spec in DEFAULT_SPECS},
    **{f"backtest_daily_{spec}": f"backtests/{spec}/bar={{bar}}/listing=*/coin=*/date=*/daily.parquet"
       for spec in DEFAULT_SPECS},
}


def view_sql(name: str, glob: str, listings: dict[str, str] | None = None) -> str:
    """A view over the files matching `glob`; with `listings` (coin -> listing id), only each coin's listing."""
    where = ""
    if listings is not None and "listing=" in glob:
        pairs = ", ".join(f"('{coin}', '{listing}')" for coin, listing in sorted(listings.items()))
        where = f" WHERE (coin, listing) IN ({pairs})" if pairs else " WHERE false"
    return (
        f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true, "
        "hive_types = {'coin': VARCHAR, 'date': DATE})" + where
    )


def refresh_warehouse(lake: Lake, coins: list[str] | None = None) -> dict[str, int]:
    """Rebuild the database beside the lake (temp file, then rename) with a view per table that has files of the
    lake's variant (its bar, and each coin's listing); returns each view's row count."""
    listings = {coin: lake.listing_id(coin) for coin in (coins if coins is not None else lake.listings)}
    counts: dict[str, int] = {}
    with StagedFile(lake.warehouse_path) as staged:
        # DuckDB keeps a write-ahead log beside its file until it checkpoints; a refresh that fails (disk full, a
        # bad Parquet file) must not leave it behind. (One left by a killed refresh goes with the next refresh:
        # its name extends the temp file's, see StagedFile.)
        wal = staged.tmp.with_name(staged.tmp.name + ".wal")
        try:
            staged.tmp.unlink()  # duckdb creates its own file
            with duckdb.connect(str(staged.tmp)) as db:
                for name, pattern in LAKE_TABLES.items():
                    glob = pattern.format(bar=lake.bar)
                    if not any(lake.root.glob(glob)):
                        continue
                    db.execute(view_sql(name, str(lake.root / glob), listings))
                    counts[name] = db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                db.execute("CHECKPOINT")
            staged.commit()
        finally:
            wal.unlink(missing_ok=True)
    return counts


def query(database: Path, sql: str) -> duckdb.DuckDBPyRelation:
    return duckdb.connect(str(database), read_only=True).sql(sql)
