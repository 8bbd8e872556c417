"""Checks on a written research table: the facts its Dagster asset checks report. Each returns None when the table
passes, else what is wrong."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterable

import polars as pl

from hyperliquid_assets.features.bars import BAR_TIME, BarGrid
from hyperliquid_assets.features.schemas import NEEDS_PREVIOUS_DAY, NULL_WITHOUT_TRADES, research_table_schema

MAX_NULL_SHARE = 0.5  # a column more often null than this is worth a look (bars without trades are expected nulls)


def schema_problem(path: Path, table: str, bar: str) -> str | None:
    """The file's columns and dtypes must equal the table's declared schema."""
    written, declared = pl.read_parquet_schema(path), research_table_schema(table, bar)
    if dict(written) == dict(declared) and list(written) == list(declared):
        return None
    missing = [c for c in declared if c not in written]
    extra = [c for c in written if c not in declared]
    changed = [f"{c}: {written[c]} (declared {declared[c]})" for c in declared if c in written and written[c] != declared[c]]
    return f"schema differs from the declaration: missing {missing}, extra {extra}, changed {changed}"


def bar_grid_problem(path: Path, day: date, bar: str) -> str | None:
    """One row per bar of the day's grid, in order: bar_time = day start + every, ..., day end."""
    grid = BarGrid.for_day(day, bar)
    times = pl.read_parquet(path, columns=[BAR_TIME])[BAR_TIME]
    expected = grid.frame().collect()[BAR_TIME]
    if times.len() != expected.len():
        return f"{times.len()} rows for a grid of {expected.len()} bars"
    if not times.equals(expected):
        return f"bar_time differs from the day's {bar} grid (first {times[0]}, last {times[-1]})"
    return None


def null_shares_above(null_share: dict[str, float], has_previous_day: bool,
                      limit: float = MAX_NULL_SHARE) -> dict[str, float]:
    """Columns null more often than `limit`, a warning of a gap in the data. Not counted: columns null by definition
    when a bar has no trade, and on a day without the day before, the columns that need it."""
    return {name: share for name, share in null_share.items()
            if share > limit and name not in NULL_WITHOUT_TRADES and (has_previous_day or name not in NEEDS_PREVIOUS_DAY)}


def shared_columns_problem(labels_path: Path, feature_columns: Iterable[str]) -> str | None:
    """Labels are the only forward-looking table: no column of the written labels file but bar_time may be a
    feature column (the features files are held to their declared columns by their own check)."""
    shared = (set(pl.read_parquet_schema(labels_path)) & set(feature_columns)) - {BAR_TIME}
    return f"columns in both features and labels: {sorted(shared)}" if shared else None
