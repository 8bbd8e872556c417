"""A DuckDB database of views over every Parquet table of the lake, hive-partitioned by coin and date, so that
`SELECT ... FROM features WHERE coin = 'BTC' AND date BETWEEN ...` works from the duckdb CLI, Python or
`hl-assets sql`. Views read the files at query time; refreshing only (re)declares them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from hyperliquid_assets.lake import Lake, StagedFile

# view name -> glob under the lake root (coin=*/date=* folders)
LAKE_TABLES = {
    "l2_book": "clean/l2_book/coin=*/date=*/*.parquet",
    "trades": "clean/trades/coin=*/date=*/*.parquet",
    "book_features": "features/book_features/coin=*/date=*/*.parquet",
    "trade_flow_features": "features/trade_flow_features/coin=*/date=*/*.parquet",
    "features": "features/features/coin=*/date=*/*.parquet",
    "labels": "labels/coin=*/date=*/*.parquet",
}


def view_sql(name: str, glob: str) -> str:
    return (
        f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true, "
        "hive_types = {'coin': VARCHAR, 'date': DATE})"
    )


def refresh_warehouse(lake: Lake) -> dict[str, int]:
    """Rebuild the database beside the lake (temp file, then rename) with a view per table that has files;
    returns each view's row count."""
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
                    if not any(lake.root.glob(pattern)):
                        continue
                    db.execute(view_sql(name, str(lake.root / pattern)))
                    counts[name] = db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                db.execute("CHECKPOINT")
            staged.commit()
        finally:
            wal.unlink(missing_ok=True)
    return counts


def query(database: Path, sql: str) -> duckdb.DuckDBPyRelation:
    return duckdb.connect(str(database), read_only=True).sql(sql)
