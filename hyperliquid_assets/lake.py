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
    models|predictions|backtests/SPEC/bar=BAR/listing=LISTING/coin=COIN/date=YYYY-MM-DD/...   per model spec
    reports/SPEC/bar=BAR/listing=LISTING/coin=COIN/                         the walk-forward summary
    warehouse.duckdb                                       views over the configured variant of each table
LISTING is a coin's Binance listing (`spot-trades-BTCUSDT`), BAR the research bar (`1s`, `1m`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Mapping

import polars as pl

from hyperliquid_assets.settings import DEFAULT_LISTINGS, BinanceListing
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET, binance_trades_key, checksum_key, l2_book_key

PARQUET_COMPRESSION = "zstd"
# Tables computed from a coin's Binance trades: their paths carry the listing as well as the bar.
TRADE_DEPENDENT_TABLES = frozenset({"trade_flow_features", "features"})
log = logging.getLogger(__name__)


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

    def spec_dir(self, tree: str, spec: str, coin: str) -> Path:
        """A model spec's outputs of one coin (`tree`: models, predictions, backtests); they follow the features
        they read: the bar and the coin's listing are in the path."""
        return self.root / tree / spec / f"bar={self.bar}" / f"listing={self.listing_id(coin)}" / f"coin={coin}"

    def model_record_path(self, spec: str, coin: str, day: date) -> Path:
        """The record of day D's model: its MLflow run, registered version and headline metrics."""
        return self.spec_dir("models", spec, coin) / f"date={day:%Y-%m-%d}" / "model.json"

    def importance_path(self, spec: str, coin: str, day: date) -> Path:
        """Day D's model's feature importance (also an artifact of its MLflow run), beside its record."""
        return self.model_record_path(spec, coin, day).with_name("feature_importance.parquet")

    def predictions_path(self, spec: str, coin: str, day: date) -> Path:
        return self.spec_dir("predictions", spec, coin) / f"date={day:%Y-%m-%d}" / "predictions.parquet"

    def backtest_dir(self, spec: str, coin: str, day: date) -> Path:
        """Day D's backtest of a spec's predictions: report.html, its figures, and the tables behind them."""
        return self.spec_dir("backtests", spec, coin) / f"date={day:%Y-%m-%d}"

    def summary_dir(self, spec: str, coin: str) -> Path:
        """The walk-forward summary of a spec's backtests of a coin over every backtested day."""
        return self.spec_dir("reports", spec, coin)

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"


class StagedFile:
    """A temp path beside `path`. `commit()` renames it into place; leaving the `with` block without committing
    removes it. Readers see the old file or the whole new one, never a partial write.

    The temp file is created with mode 0666 minus the process umask (what a plain `open(path, "w")` gives), so a
    shared lake stays readable. Its name says who writes it, `.NAME.<writer>-<token>.tmp` (see `writer_id`), so
    that the next writer of the same file can remove the leftovers of writers that died (SIGKILL, power loss)
    while never touching the temp file of a writer that is still running."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_writers_leftovers(path)
        while True:
            tmp = path.with_name(f".{path.name}.{writer_id()}-{secrets.token_hex(4)}{TEMP_SUFFIX}")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            except FileExistsError:
                continue
            os.close(fd)
            break
        self.tmp = tmp

    def commit(self) -> int:
        """Flush the temp file to disk, rename it into place, and flush the directory entry: after a crash the
        final path holds the old file or the whole new one."""
        with open(self.tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.tmp, self.path)
        _fsync_directory(self.path.parent)
        return self.path.stat().st_size

    def __enter__(self) -> "StagedFile":
        return self

    def __exit__(self, *exc) -> None:
        self.tmp.unlink(missing_ok=True)


TEMP_SUFFIX = ".tmp"
# .NAME.<host>-<pid>-<start>-<token>.tmp, and anything a library appends to it (DuckDB's `.tmp.wal`).
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-(?P<start>\d+)-[0-9a-f]+\.tmp(\..*)?$")


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/PID/stat (state first), or None where the process is not visible there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses


@functools.cache
def _host_tag() -> str:
    """8 hex digits naming this host, boot and pid namespace: a pid means something only where they agree (two
    containers or two NFS clients sharing a lake must never judge each other's writers)."""
    parts = [socket.gethostname()]
    for source in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            parts.append(os.readlink(source) if source.endswith("/pid") else Path(source).read_text().strip())
        except OSError:
            parts.append("?")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


def writer_id() -> str:
    """`<host>-<pid>-<start>` of this process, start being its start time in clock ticks since boot
    (/proc/PID/stat field 22; 0 where there is no /proc). Pid and start time together name a process for good:
    a pid is reused, but not with the same start time."""
    pid = os.getpid()
    fields = _proc_stat(pid)
    return f"{_host_tag()}-{pid}-{fields[19] if fields else 0}"


def _writer_alive(pid: int, start: int) -> bool:
    fields = _proc_stat(pid)
    if fields is not None:
        # A zombie (killed, not yet reaped) writes nothing; another start time is another process on a reused pid.
        return fields[0] not in ("Z", "X") and (start == 0 or int(fields[19]) == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process, hidden from /proc (hidepid): assume it is the writer
        return True
    return True


def remove_dead_writers_leftovers(path: Path) -> list[Path]:
    """Delete the temp files beside `path` left by writers of `path` that have died on this host; a live
    writer's temp file, or one from another host or container, is left alone. Returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except FileNotFoundError:
        return removed
    host = _host_tag()
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or match["name"] != path.name or match["host"] != host:
            continue
        if _writer_alive(int(match["pid"]), int(match["start"])):
            continue
        leftover = path.parent / entry.name
        try:
            leftover.unlink()
        except FileNotFoundError:  # another writer of the same file cleaned it first
            continue
        removed.append(leftover)
        log.info("removed %s, left by a writer that died (pid %s)", leftover, match["pid"])
    return removed


@dataclass(frozen=True)
class StoredCopy:
    """A stored file's bytes and the identity (device, inode) of the file they were read from."""

    path: Path
    blob: bytes
    identity: tuple[int, int]


def read_stored(path: Path) -> StoredCopy:
    with open(path, "rb") as handle:
        status = os.fstat(handle.fileno())
        return StoredCopy(path, handle.read(), (status.st_dev, status.st_ino))


def set_aside(path: Path, identity: tuple[int, int] | None = None) -> Path | None:
    """Rename a stored file that failed its check to `NAME.corrupt-<UTC time, us>-<pid>-<token>` beside it (kept
    for inspection, never deleted) and return that path; the next run then fetches the object again.

    Safe when several processes set aside the same copy at once: exactly one of them moves it and the others
    get None. With `identity` (from `read_stored`), only that very file is moved: a copy another process has
    stored since, after setting the bad one aside, is left in place (None)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}-{os.getpid()}-{secrets.token_hex(3)}")
    try:
        os.rename(path, target)  # atomic: of racing renames of one file, one wins, the rest find it gone
    except FileNotFoundError:
        return None
    moved = target.stat()
    if identity is not None and (moved.st_dev, moved.st_ino) != identity:
        # We took a newer copy another process stored after setting the bad one aside: give it back, unless an
        # even newer one is already there (then this one stays set aside: identical bytes, nothing lost).
        try:
            os.link(target, path)
        except FileExistsError:
            return target
        target.unlink()
        return None
    _fsync_directory(path.parent)
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
        try:
            frame.write_parquet(
                staged.tmp, compression=PARQUET_COMPRESSION, compression_level=compression_level,
                metadata=dict(metadata),
            )
        except pl.exceptions.ComputeError as exc:
            # polars reports an I/O failure (a full disk) as a ComputeError; say what it is, and of which file.
            failed_io = _OS_ERROR.search(str(exc))
            if failed_io is None:
                raise
            code = int(failed_io.group(1))
            raise OSError(code, f"{os.strerror(code)} (writing Parquet)", str(path)) from exc
        return staged.commit()


_OS_ERROR = re.compile(r"\(os error (\d+)\)")
