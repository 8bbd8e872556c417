"""A process-parallel map for partition work (no Dagster): results as they complete, one failure per item.

`map_in_workers(fn, items, workers, threads_per_worker)` runs `fn(item)` in `workers` processes and yields
`(item, result)` or `(item, exception)` in completion order, so a caller can log progress and keep going past a
bad partition. Why processes: parsing and Parquet writing hold the GIL for long stretches. Why few threads per
worker: on a small machine, workers that each use one polars thread beat workers fighting over the cores
(bench/bench_ingest.py measures it).

Workers are forked from a fork server that has already imported `preload` (polars, the parsers, the lake code),
so a worker starts in milliseconds instead of paying those imports (~0.3-0.5 s) itself. Nothing has run on
polars' thread pool in the fork server (it is created on first use), so no pool thread is lost to the fork.
Polars sizes its pool from POLARS_MAX_THREADS when it is imported, so the fork server is started with the thread
limit in its environment; if a fork server with another limit is already running in this process, the pool falls
back to spawned workers (slower to start, same results). The fork server's own imports cost ~0.5-1 s once per
process; `start_fork_server` starts them early so they overlap the caller's other work.

`fn` must be a module-level function and items and results must pickle. An exception raised by `fn` is returned
for its item (re-raised exceptions keep the worker's traceback as `__cause__`); one that cannot be pickled comes
back as WorkerError with its type, message and traceback. If a worker process dies (killed, out of memory), the
pool is broken for every unfinished item: those are tried once more in a fresh pool, and if a worker dies again the
items still unfinished are returned with the BrokenProcessPool error. Leaving the loop early cancels what has not
started and waits for what has.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")

DEFAULT_PRELOAD = (
    "polars", "lz4.frame", "msgspec", "hyperliquid_assets.raw_objects", "hyperliquid_assets.clean_tables",
)
# Read by polars (its pool), Arrow and BLAS/OpenMP libraries when they start their thread pools.
_THREAD_VARIABLES = ("POLARS_MAX_THREADS", "OMP_NUM_THREADS", "OMP_THREAD_LIMIT", "OPENBLAS_NUM_THREADS",
                     "MKL_NUM_THREADS")
_fork_server_threads: int | None = None  # the thread limit the running fork server was started with
_OWNER_VARIABLE = "HL_POOL_OWNER_PID"  # set only in the fork server's environment (and so its workers')


class WorkerError(RuntimeError):
    """An exception from `fn` that could not be pickled back to the caller, as text."""


def map_in_workers(
    fn: Callable[[Item], Any],
    items: Iterable[Item],
    workers: int,
    threads_per_worker: int = 1,
    preload: Iterable[str] = DEFAULT_PRELOAD,
) -> Iterator[tuple[Item, Any]]:
    """`fn(item)` for every item in `workers` processes of `threads_per_worker` threads each, yielding
    (item, result or exception) as each completes. With workers=1 it still runs in a worker process, so the
    caller's own state never leaks into `fn`."""
    if workers < 1 or threads_per_worker < 1:
        raise ValueError(f"workers and threads_per_worker must be >= 1, got {workers} and {threads_per_worker}")
    pending = list(items)
    retried: set[int] = set()  # indexes tried again after a worker died
    while pending:
        executor = _executor(workers, threads_per_worker, tuple(preload))
        broken: list[int] = []
        try:
            futures: dict[Future, int] = {executor.submit(_call, fn, item): i for i, item in enumerate(pending)}
            not_done = set(futures)
            while not_done:
                done, not_done = wait(not_done, return_when=FIRST_COMPLETED)
                for future in done:
                    index = futures[future]
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool) and index not in retried:
                        broken.append(index)
                        continue
                    yield pending[index], error if error is not None else future.result()
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        if broken:
            log.warning("a worker process died; trying %d unfinished item(s) once more in a fresh pool", len(broken))
        retried = set(range(len(broken)))
        pending = [pending[i] for i in sorted(broken)]


def _call(fn: Callable[[Item], Any], item: Item) -> Any:
    """Runs in the worker: `fn(item)`, making sure whatever it raises can travel back to the parent."""
    try:
        return fn(item)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            raise WorkerError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}") from None
        raise


def _owner_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed owner not yet reaped is a zombie, which signal 0 still reaches
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return True


def _exit_with_owner() -> None:
    """In the fork server and in each worker: end this process as soon as the pool's owner is gone. A run worker
    killed with SIGKILL cannot stop its pool, and the fork server would not notice (multiprocessing gives every
    worker a copy of its "parent alive" pipe), so without this they would live on, a worker blocked in a read
    for ever."""
    owner = int(os.environ.get(_OWNER_VARIABLE) or 0)
    if not owner:
        return

    def watch() -> None:
        while _owner_alive(owner):
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="hl-pool-owner-watch", daemon=True).start()


def _limit_threads(threads: int) -> None:
    """Worker initializer: exit with the pool's owner; the thread limit for libraries imported from now on (spawned
    workers) and for Arrow if it is already loaded."""
    _exit_with_owner()
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].set_cpu_count(threads)
        sys.modules["pyarrow"].set_io_thread_count(threads)


def start_fork_server(threads_per_worker: int = 1, preload: Iterable[str] = DEFAULT_PRELOAD) -> bool:
    """Starts this process's fork server with the thread limit and preloaded modules, without waiting for its imports
    (~0.5-1 s) to finish: call it early (e.g. first thing in an asset) to overlap them with the caller's own work.
    Returns whether the fork server has this thread limit (False: one with another limit was already running, and
    map_in_workers will spawn workers instead)."""
    global _fork_server_threads
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)  # multiprocessing's fork server of this process, if started
    if getattr(server, "_forkserver_pid", None) is not None:
        return _fork_server_threads == threads_per_worker
    saved = {name: os.environ.get(name) for name in (*_THREAD_VARIABLES, _OWNER_VARIABLE)}
    os.environ.update({name: str(threads_per_worker) for name in _THREAD_VARIABLES})
    os.environ[_OWNER_VARIABLE] = str(os.getpid())  # the fork server and its workers exit when this process is gone
    try:
        multiprocessing.get_context("forkserver").set_forkserver_preload(["hyperliquid_assets.worker_pool", *preload])
        forkserver.ensure_running()  # returns once the server process exists; it imports `preload` on its own
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    _fork_server_threads = threads_per_worker
    return True


def _executor(workers: int, threads: int, preload: tuple[str, ...]) -> ProcessPoolExecutor:
    if start_fork_server(threads, preload):
        context = multiprocessing.get_context("forkserver")
    else:
        log.info("fork server runs with %s threads per worker, not %d: spawning workers", _fork_server_threads, threads)
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_limit_threads, initargs=(threads,))


_exit_with_owner()  # in the fork server, which imports this module first (see start_fork_server)
