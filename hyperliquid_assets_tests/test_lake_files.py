"""How files reach the lake, under real processes: the leftovers of a writer killed mid-write go with the next
write of the same file while a live writer's temp file is never touched; set-aside copies never collide, also
when several processes set aside the same copy at once; files get the mode the umask says."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest

from hyperliquid_assets.lake import (
    Lake,
    read_stored,
    remove_dead_writers_leftovers,
    set_aside,
    write_bytes_atomic,
    write_parquet_atomic,
    writer_id,
)
from hyperliquid_assets.warehouse import refresh_warehouse

DAY = date(2026, 1, 1)
FRAME = pl.DataFrame({"x": list(range(1000)), "y": [0.5] * 1000})


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if ".tmp" in p.name)


def _start(script: str, *args: str) -> subprocess.Popen:
    """A Python process running `script`; it prints one line when it is in the middle of its write."""
    process = subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "writing", "the writer did not start"
    return process


# Writes the file forever through a staged temp file (a write that is never done), saying so once it has begun.
ENDLESS_WRITER = """
import sys
from pathlib import Path
from hyperliquid_assets.lake import StagedFile
staged = StagedFile(Path(sys.argv[1]))
with open(staged.tmp, "wb") as handle:
    handle.write(b"x" * 65536); handle.flush()
    print("writing", flush=True)
    while True:
        handle.write(b"x" * 65536)
        handle.flush()
        handle.seek(0)
"""

# Opens the warehouse's temp database and writes a view to its WAL, then waits to be killed.
WAREHOUSE_WRITER = """
import sys, time
from pathlib import Path
import duckdb
from hyperliquid_assets.lake import StagedFile
staged = StagedFile(Path(sys.argv[1]))
staged.tmp.unlink()
db = duckdb.connect(str(staged.tmp))
db.execute("CREATE VIEW v AS SELECT 42 AS answer")
print("writing", flush=True)
time.sleep(600)
"""

# Stages a file, says so, and commits it when told to (a live writer slower than the test's own write).
SLOW_WRITER = """
import sys
from pathlib import Path
from hyperliquid_assets.lake import StagedFile
with StagedFile(Path(sys.argv[1])) as staged:
    staged.tmp.write_bytes(b"from the slow writer")
    print("writing", flush=True)
    sys.stdin.readline()
    staged.commit()
print("committed", flush=True)
"""


def test_the_leftover_of_a_writer_killed_mid_write_goes_with_the_next_write(tmp_path):
    lake = Lake(tmp_path)
    path = lake.clean_l2_path("BTC", datetime(2026, 1, 1, 5, tzinfo=timezone.utc))
    killed = _start(ENDLESS_WRITER, str(path))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    (leftover,) = _temp_files(tmp_path)
    assert leftover.startswith(".05.parquet.") and leftover.endswith(".tmp")
    assert (path.parent / leftover).stat().st_size > 0

    write_parquet_atomic(FRAME, path, {})
    assert _temp_files(tmp_path) == []
    assert pl.read_parquet(path).equals(FRAME)


def test_a_killed_warehouse_refresh_leaves_nothing_after_the_next_refresh(tmp_path):
    lake = Lake(tmp_path)
    write_parquet_atomic(FRAME, lake.labels_path("BTC", DAY), {})
    killed = _start(WAREHOUSE_WRITER, str(lake.warehouse_path))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    leftovers = _temp_files(tmp_path)
    assert any(name.endswith(".tmp.wal") for name in leftovers), leftovers

    assert refresh_warehouse(lake) == {"labels": 1000}
    assert _temp_files(tmp_path) == []
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as db:
        assert db.execute("SELECT sum(x) FROM labels").fetchall() == [(sum(range(1000)),)]


def test_a_failed_warehouse_refresh_leaves_no_temp_file_or_wal(tmp_path):
    lake = Lake(tmp_path)
    write_parquet_atomic(FRAME, lake.labels_path("BTC", DAY), {})
    bad = lake.feature_path("features", "BTC", DAY)
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"PAR1 not really parquet PAR1")
    with pytest.raises(duckdb.Error):
        refresh_warehouse(lake)
    assert _temp_files(tmp_path) == []
    assert not lake.warehouse_path.exists()


def test_a_live_concurrent_writers_temp_file_is_never_removed(tmp_path):
    path = tmp_path / "clean" / "trades.parquet"
    slow = _start(SLOW_WRITER, str(path))
    try:
        (theirs,) = _temp_files(tmp_path)
        write_parquet_atomic(FRAME, path, {})  # our write of the same file, meanwhile
        assert _temp_files(tmp_path) == [theirs]
        assert pl.read_parquet(path).equals(FRAME)
        slow.stdin.write("go\n")
        slow.stdin.flush()
        assert slow.stdout.readline().strip() == "committed"
    finally:
        slow.kill()
        slow.wait()
    assert path.read_bytes() == b"from the slow writer"  # the last rename wins, whole
    assert _temp_files(tmp_path) == []


def test_a_temp_file_of_a_reused_pid_is_a_dead_writers_and_this_processs_own_is_live(tmp_path):
    path = tmp_path / "t.parquet"
    host, pid, start = writer_id().split("-")
    mine = path.with_name(f".t.parquet.{host}-{pid}-{start}-aa.tmp")
    reused = path.with_name(f".t.parquet.{host}-{pid}-{int(start) - 1}-bb.tmp")  # same pid, earlier process
    other_host = path.with_name(f".t.parquet.{int(host, 16) ^ 1:08x}-1-1-cc.tmp")
    other_file = path.with_name(f".u.parquet.{host}-1-1-dd.tmp")
    for name in (mine, reused, other_host, other_file):
        name.write_bytes(b"")
    assert remove_dead_writers_leftovers(path) == [reused]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (mine, other_host, other_file))


def test_set_aside_twice_within_a_second_keeps_both_copies(tmp_path):
    path = tmp_path / "BTC.lz4"
    targets = []
    for body in (b"first bad copy", b"second bad copy", b"third bad copy"):
        path.write_bytes(body)
        targets.append(set_aside(path))
    assert [t.read_bytes() for t in targets] == [b"first bad copy", b"second bad copy", b"third bad copy"]
    assert all(t.name.startswith("BTC.lz4.corrupt-") for t in targets)
    assert not path.exists()


def _set_aside_in_rounds(path: str, rounds: int, barrier, results) -> None:
    for _ in range(rounds):
        barrier.wait()
        try:
            target = set_aside(Path(path))
            results.put(("moved", str(target)) if target else ("gone", ""))
        except Exception as exc:  # noqa: BLE001 - any exception is what the test counts
            results.put(("error", repr(exc)))
        barrier.wait()


def test_concurrent_processes_setting_aside_the_same_copy_never_fail_and_move_it_exactly_once(tmp_path):
    """8 processes x 12 rounds: each round one bad copy, all processes set it aside at the same instant."""
    workers, rounds = 8, 12
    context = multiprocessing.get_context("fork")
    path = tmp_path / "BTC.lz4"
    path.write_bytes(b"round 0")
    barrier, results = context.Barrier(workers + 1), context.Queue()
    processes = [context.Process(target=_set_aside_in_rounds, args=(str(path), rounds, barrier, results))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    outcomes = []
    try:
        for round_number in range(rounds):
            path.write_bytes(f"round {round_number}".encode())
            barrier.wait(timeout=60)  # all set aside at once
            barrier.wait(timeout=60)  # all done
            outcomes.append([results.get(timeout=60) for _ in range(workers)])
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    errors = [detail for round_outcomes in outcomes for kind, detail in round_outcomes if kind == "error"]
    assert errors == []
    assert [sum(kind == "moved" for kind, _ in r) for r in outcomes] == [1] * rounds
    kept = sorted(p.read_bytes() for p in tmp_path.glob("BTC.lz4.corrupt-*"))
    assert kept == sorted(f"round {n}".encode() for n in range(rounds))  # nothing lost, nothing twice


def test_set_aside_by_identity_leaves_a_newer_copy_stored_meanwhile_in_place(tmp_path):
    path = tmp_path / "BTC.lz4"
    path.write_bytes(b"bad copy")
    read_by_us = read_stored(path)
    assert set_aside(path) is not None  # another run set the bad copy aside first ...
    write_bytes_atomic(path, b"good copy")  # ... and stored a good one
    assert set_aside(path, read_by_us.identity) is None
    assert path.read_bytes() == b"good copy"
    assert [p.read_bytes() for p in tmp_path.glob("BTC.lz4.corrupt-*")] == [b"bad copy"]


UMASK_WRITER = """
import os, sys
from pathlib import Path
import polars as pl
from hyperliquid_assets.lake import Lake, write_bytes_atomic, write_parquet_atomic
from hyperliquid_assets.warehouse import refresh_warehouse
os.umask(int(sys.argv[2], 8))
root = Path(sys.argv[1])
write_bytes_atomic(root / "raw" / "BTC.lz4", b"raw bytes")
write_parquet_atomic(pl.DataFrame({"x": [1]}), root / "labels" / "coin=BTC" / "date=2026-01-01" / "labels.parquet", {})
refresh_warehouse(Lake(root))
"""


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077, 0o027])
def test_lake_files_get_the_mode_the_umask_gives(tmp_path, umask):
    subprocess.run([sys.executable, "-c", UMASK_WRITER, str(tmp_path), f"{umask:o}"], check=True)
    files = {p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o777 for p in tmp_path.rglob("*") if p.is_file()}
    assert files == dict.fromkeys(
        ["raw/BTC.lz4", "labels/coin=BTC/date=2026-01-01/labels.parquet", "warehouse.duckdb"], 0o666 & ~umask
    )


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs: a real full disk (needs root and mount rights, as in CI's container; skipped otherwise)."""
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_disk_fails_the_write_and_leaves_the_stored_file_and_no_temp_file(small_disk):
    lake = Lake(small_disk)
    labels = lake.labels_path("BTC", DAY)
    write_parquet_atomic(FRAME, labels, {})
    before = labels.read_bytes()
    noise = pl.DataFrame({"x": list(range(200_000))}).with_columns(y=pl.col("x").hash())
    with pytest.raises(OSError):
        write_parquet_atomic(noise, labels, {})
    with pytest.raises(duckdb.Error, match="No space left on device"):
        refresh_warehouse(lake)  # DuckDB's 256 KiB blocks do not fit
    assert labels.read_bytes() == before
    assert _temp_files(small_disk) == [] and not lake.warehouse_path.exists()
