"""The model stage's inputs: where a coin-day's feature and label tables live (`partition_files`, the only place
that knows the lake layout), and reading one with the content digest that traces a model to it."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Sequence

import polars as pl

from hyperliquid_assets.lake import Lake

FEATURES, LABELS = "features", "labels"


class TrainingDataError(ValueError):
    """A model partition cannot be built from what is in the lake (missing day, short window, bad table)."""


@dataclass(frozen=True)
class PartitionFiles:
    features: Path
    labels: Path

    def path(self, table: str) -> Path:
        return {FEATURES: self.features, LABELS: self.labels}[table]


def partition_files(lake_root: Lake | Path | str, coin: str, day: date, bar: str) -> PartitionFiles:
    """The joined feature table and the label table of one coin-day at `bar` bars. Pass a Lake to read a lake set
    up with other listings than the defaults (its bar must be `bar`)."""
    lake = lake_root if isinstance(lake_root, Lake) else Lake(lake_root, bar=bar)
    if lake.bar != bar:
        raise ValueError(f"lake at {lake.root} is set up for {lake.bar} bars, not {bar}")
    return PartitionFiles(features=lake.feature_path(FEATURES, coin, day), labels=lake.labels_path(coin, day))


@dataclass(frozen=True)
class InputPartition:
    """One input file a model read: what it is, where, and a digest of its exact bytes."""

    table: str
    coin: str
    day: date
    path: Path
    sha256: str
    bytes: int
    rows: int

    @property
    def digest(self) -> str:
        """The first 32 hex digits of the file's sha256 (MLflow keeps dataset digests of at most 36 chars)."""
        return self.sha256[:32]

    @property
    def name(self) -> str:
        return f"{self.table}/{self.coin}/{self.day.isoformat()}"


def read_partition_table(
    lake_root: Path | str, table: str, coin: str, day: date, bar: str, columns: Sequence[str] | None = None
) -> tuple[pl.DataFrame, InputPartition]:
    """The table's rows (only `columns` if given) and its InputPartition. The bytes are read once: hashed, then
    parsed, so the digest is of exactly what was used."""
    path = partition_files(lake_root, coin, day, bar).path(table)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise TrainingDataError(f"{coin} {day}: no {table} table (expected {path})") from None
    schema = pl.read_parquet_schema(io.BytesIO(blob))
    if columns is not None:
        missing = [c for c in columns if c not in schema]
        if missing:
            raise TrainingDataError(f"{coin} {day}: the {table} table at {path} lacks columns {missing}")
    frame = pl.read_parquet(io.BytesIO(blob), columns=list(columns) if columns is not None else None)
    return frame, InputPartition(table, coin, day, path, hashlib.sha256(blob).hexdigest(), len(blob), frame.height)
