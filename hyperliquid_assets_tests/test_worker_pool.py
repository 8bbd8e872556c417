"""worker_pool.map_in_workers: every item comes back once (result or its own exception), thread limits hold, a
dead worker does not sink the window, and the real per-hour ingest work runs in it."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.sources.layout import l2_book_key
from hyperliquid_assets.worker_pool import WorkerError, map_in_workers, start_fork_server
from hyperliquid_assets_tests.conftest import REAL_L2_HOUR


# Module-level functions: what the workers run.
def square_or_fail(n: int) -> int:
    if n % 3 == 0:
        raise CorruptObjectError(f"item-{n}", "divisible by three")
    return n * n


class Unpicklable(Exception):
    def __init__(self, a, b):  # pickling rebuilds it with one argument and fails
        super().__init__(f"{a}/{b}")


def raise_unpicklable(n: int) -> None:
    raise Unpicklable(n, threading.Lock())


def thread_limits(_: int) -> tuple[int, str, int]:
    return pl.thread_pool_size(), os.environ["POLARS_MAX_THREADS"], os.getpid()


def die_once(job: tuple[str, int]) -> int:
    """Kills its own worker the first time it sees item 2 (a marker file remembers), then succeeds."""
    marker, n = job
    if n == 2 and not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def always_die(n: int) -> int:
    if n == 99:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def store_and_clean_hour(job: tuple[str, str, str]) -> str:
    from hyperliquid_assets.clean_tables import clean_l2_hour
    from hyperliquid_assets.raw_objects import store_l2_hour
    from hyperliquid_assets.sources.object_sources import LocalMirror

    mirror, lake_root, hour = job
    lake, when = Lake(lake_root), datetime.fromisoformat(hour)
    store_l2_hour(LocalMirror(Path(mirror)), lake, "BTC", when)
    return clean_l2_hour(lake, "BTC", when).status


def test_every_item_comes_back_once_with_its_result_or_its_own_exception():
    results = dict(map_in_workers(square_or_fail, range(1, 11), workers=2, threads_per_worker=1))
    assert sorted(results) == list(range(1, 11))
    for n, outcome in results.items():
        if n % 3 == 0:
            assert isinstance(outcome, CorruptObjectError) and outcome.source == f"item-{n}"
            assert outcome.problem == "divisible by three"
        else:
            assert outcome == n * n


def test_an_exception_that_cannot_be_pickled_comes_back_as_text():
    [(item, outcome)] = list(map_in_workers(raise_unpicklable, [7], workers=1))
    assert item == 7 and isinstance(outcome, WorkerError)
    assert "Unpicklable" in str(outcome) and "raise_unpicklable" in str(outcome)


@pytest.mark.parametrize("threads", [1, 2])
def test_each_worker_is_limited_to_its_threads(threads):
    # The first setting in this process starts the fork server with its limit; the other falls back to spawned
    # workers, which must honour their own limit as well.
    outcomes = [outcome for _, outcome in map_in_workers(thread_limits, range(4), workers=2, threads_per_worker=threads)]
    assert {(size, variable) for size, variable, _ in outcomes} == {(threads, str(threads))}
    assert os.getpid() not in {pid for _, _, pid in outcomes}


def test_a_killed_worker_costs_one_retry_not_the_window(tmp_path):
    marker = str(tmp_path / "died")
    results = dict(map_in_workers(die_once, [(marker, n) for n in range(1, 6)], workers=2))
    assert Path(marker).exists()
    assert {job[1]: outcome for job, outcome in results.items()} == {n: n for n in range(1, 6)}


def test_an_item_that_kills_every_worker_is_returned_with_the_error():
    results = dict(map_in_workers(always_die, [1, 2, 3, 99], workers=1))
    assert sorted(results) == [1, 2, 3, 99]
    assert isinstance(results[99], BrokenProcessPool)
    assert [results[n] for n in (1, 2, 3)] == [1, 2, 3]


def test_leaving_early_shuts_the_pool_down():
    stream = map_in_workers(square_or_fail, range(1, 50), workers=2)
    next(stream)
    stream.close()
    assert multiprocessing.active_children() == []


def test_the_ingest_work_of_an_hour_runs_in_workers(real_data, tmp_path):
    blob = (real_data / REAL_L2_HOUR).read_bytes()
    mirror = tmp_path / "mirror"
    hours = [datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(hours=h) for h in range(4)]
    for hour in hours:
        path = mirror / l2_book_key("BTC", hour)
        path.parent.mkdir(parents=True)
        path.write_bytes(blob)
    jobs = [(str(mirror), str(tmp_path / "lake"), hour.isoformat()) for hour in hours]
    statuses = dict(map_in_workers(store_and_clean_hour, jobs, workers=2, threads_per_worker=1))
    assert set(statuses.values()) == {"written"} and len(statuses) == 4
    expected = parse_l2_book(blob, "x", "BTC")
    for hour in hours:
        assert pl.read_parquet(Lake(tmp_path / "lake").clean_l2_path("BTC", hour)).equals(expected)


def test_start_fork_server_says_whether_its_thread_limit_holds():
    from hyperliquid_assets import worker_pool

    start_fork_server(1)  # starts it, unless an earlier test in this process did (with whatever limit)
    limit = worker_pool._fork_server_threads
    assert start_fork_server(limit) is True and start_fork_server(limit + 1) is False
    assert [outcome for _, outcome in map_in_workers(thread_limits, [0], workers=1, threads_per_worker=limit + 1)][0][0] \
        == limit + 1  # spawned workers, honouring their own limit


def test_workers_die_when_the_process_that_started_them_is_killed(tmp_path):
    """A run worker SIGKILLed mid-window cannot stop its pool: its workers must not outlive it (one blocked in a
    read would never exit by itself)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    fifo = tmp_path / "blocks"
    os.mkfifo(fifo)
    pids = tmp_path / "pids"
    parent = subprocess.Popen([sys.executable, "-c", f"""
import os, pathlib
from hyperliquid_assets.worker_pool import map_in_workers
from hyperliquid_assets_tests.test_worker_pool import record_pid_then_block
for _ in map_in_workers(record_pid_then_block, [("{pids}", "{fifo}")] * 2, workers=2):
    pass
"""])
    deadline = time.monotonic() + 60
    while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers), "pool workers outlived the killed parent"


def record_pid_then_block(args: tuple[str, str]) -> None:
    import os

    pids, fifo = args
    with open(pids, "a") as out:
        out.write(f"{os.getpid()}\n")
    with open(fifo, "rb") as blocked:  # no writer ever comes: blocks until killed
        blocked.read()


def _alive(pid: int) -> bool:
    from hyperliquid_assets.defs.run_launcher import process_problem

    return process_problem(pid, reported_at=float("inf")) is None
