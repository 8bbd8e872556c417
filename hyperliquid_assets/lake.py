"""Where each table lives under the lake root, and the only way files get there: write a temp file, then rename.

Layout (coin and date as hive partitions so DuckDB and polars can prune on them; every setting that changes a
table's content is a path component too, so variants never overwrite each other):
    raw/hyperliquid-archive/market_data/YYYYMMDD/H/l2Book/COIN.lz4      byte for byte as upstream
    raw/data.binance.vision/data/.../SYMBOL-kind-YYYY-MM-DD.zip(.CHECKSUM)
    clean/l2_book/coin=COIN/date=YYYY-MM-DD/HH.parquet
    clean/trades/listing=LISTING/coin=COIN/date=YYYY-MM-DD/trades.parquet
    features/book_features/bar=BAR/coin=COIN/date=YYYY-MM-DD/book_features.parquet
    features/<trade_flow_features|features>/bar=BAR/listing=LISTING/coin=COIN/date=YYYY-MM-DD/<table>.parquet
    labels/bar=BAR/coin=COIN/date=YYYY-MM-DD/labels.parquet (apart from features: the only forward-looking table)
    warehouse.duckdb                                       views over the configured variant of each table
LISTING is a coin's Binance listing (`spot-trades-BTCUSDT`), BAR the research bar (`1s`, `1m`).
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Mapping

import polars as pl

from hyperliquid_assets.settings import DEFAULT_LISTINGS, BinanceListing
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET, binance_trades_key, checksum_key, l2_book_key

PARQUET_COMPRESSION = "zstd"
# Tables computed from a coin's Binance trades: their paths carry the listing as well as the bar.
TRADE_DEPENDENT_TABLES = frozenset({"trade_flow_features", "features"})


class Lake:
    """The lake under `root`, seen with one research identity: the bar of the feature and label tables and each
    coin's Binance listing (the defaults are the settings' defaults)."""

    def __init__(
        self, root: Path | str, bar: str = "1s", listings: Mapping[str, BinanceListing] = DEFAULT_LISTINGS
    ) -> None:
        self.root = Path(root)
        self.bar = bar
        self.listings = listings

    def listing_id(self, coin: str) -> str:
        try:
            return self.listings[coin].listing_id
        except KeyError:
            raise KeyError(f"coin {coin} has no Binance listing; set it in HL_BINANCE_LISTINGS") from None

    def raw_l2_path(self, coin: str, hour: datetime) -> Path:
        return self.root / "raw" / HYPERLIQUID_BUCKET / l2_book_key(coin, hour)

    def raw_trades_path(self, listing: BinanceListing, day: date) -> Path:
        return self.root / "raw" / BINANCE_HOST / binance_trades_key(listing, day)

    def raw_trades_checksum_path(self, listing: BinanceListing, day: date) -> Path:
        return self.root / "raw" / BINANCE_HOST / checksum_key(binance_trades_key(listing, day))

    def clean_l2_path(self, coin: str, hour: datetime) -> Path:
        return self.root / "clean" / "l2_book" / f"coin={coin}" / f"date={hour:%Y-%m-%d}" / f"{hour:%H}.parquet"

    def clean_trades_path(self, coin: str, day: date) -> Path:
        return (self.root / "clean" / "trades" / f"listing={self.listing_id(coin)}" / f"coin={coin}"
                / f"date={day:%Y-%m-%d}" / "trades.parquet")

    def feature_path(self, table: str, coin: str, day: date) -> Path:
        variant = self.root / "features" / table / f"bar={self.bar}"
        if table in TRADE_DEPENDENT_TABLES:
            variant = variant / f"listing={self.listing_id(coin)}"
        return variant / f"coin={coin}" / f"date={day:%Y-%m-%d}" / f"{table}.parquet"

    def labels_path(self, coin: str, day: date) -> Path:
        return self.root / "labels" / f"bar={self.bar}" / f"coin={coin}" / f"date={day:%Y-%m-%d}" / "labels.parquet"

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"


class StagedFile:
    """A temp path beside `path`. `commit()` renames it into place; leaving the `with` block without committing
    removes it. Readers see the old file or the whole new one, never a partial write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        self.tmp = Path(name)

    def commit(self) -> int:
        """Flush the temp file to disk, rename it into place, and flush the directory entry: after a crash the
        final path holds the old file or the whole new one."""
        with open(self.tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.tmp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return self.path.stat().st_size

    def __enter__(self) -> "StagedFile":
        return self

    def __exit__(self, *exc) -> None:
        self.tmp.unlink(missing_ok=True)


def set_aside(path: Path) -> Path:
    """Rename a stored file that failed its integrity check out of the way (kept for inspection, never deleted)."""
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
    os.replace(path, target)
    return target


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with StagedFile(path) as staged:
        staged.tmp.write_bytes(data)
        staged.commit()


def write_parquet_atomic(
    frame: pl.DataFrame, path: Path, metadata: Mapping[str, str], compression_level: int | None = None
) -> int:
    """Write `frame` as Parquet (zstd) with provenance key-value metadata; returns the file's size in bytes."""
    with StagedFile(path) as staged:
        frame.write_parquet(
            staged.tmp, compression=PARQUET_COMPRESSION, compression_level=compression_level, metadata=dict(metadata)
        )
        return staged.commit()
