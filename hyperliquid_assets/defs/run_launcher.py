"""The instance's run launcher: Dagster's default one (runs start in a process of the code server), plus the health
check that run monitoring needs to notice a run whose process died.

The default launcher cannot answer "is the run worker alive?", so a run worker killed with SIGKILL leaves its run
STARTED forever, holding a run slot and pool slots until the queue stops. The run worker records its pid in the
event log when it starts; this launcher checks that pid on the same machine: a process that is gone, a zombie, or
a different process that reused the pid (it started after the run worker reported in) means the worker is dead,
and run monitoring marks the run failed (and run retries, if enabled, launch it again).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dagster import DagsterEventType, DagsterRun, DefaultRunLauncher
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus

_STARTED = re.compile(r"^Started process for run \(pid: (\d+)\)")
_EXITED = re.compile(r"^Process for run exited \(pid: (\d+)\)")
# A process that started this long after the worker reported its pid is not the worker (the pid was reused).
_START_SLACK_S = 5.0


class LocalRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher with a run-worker health check for workers on this machine (see the module docstring)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        pid, reported_at, exited = self._worker_pid(run.run_id)
        if pid is None:
            # Between launch and the worker's first event there is no pid to check; the start timeout covers it.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run worker has not reported its pid yet")
        if exited:
            return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker (pid {pid}) exited before the run finished")
        problem = process_problem(pid, reported_at)
        if problem:
            return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker (pid {pid}) {problem}")
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker (pid {pid}) is running")

    def _worker_pid(self, run_id: str) -> tuple[int | None, float, bool]:
        """The pid the run's latest worker reported, when it reported it, and whether that worker said it exited."""
        pid, reported_at, exited = None, 0.0, False
        for record in self._instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT).records:
            message = record.event_log_entry.message or ""
            if match := _STARTED.match(message):
                pid, reported_at, exited = int(match.group(1)), record.event_log_entry.timestamp, False
            elif (match := _EXITED.match(message)) and pid == int(match.group(1)):
                exited = True
        return pid, reported_at, exited


def process_problem(pid: int, reported_at: float) -> str | None:
    """None if `pid` is a live process that existed when the worker reported it at `reported_at` (epoch seconds),
    else what is wrong with it."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return "is gone"
    except OSError:  # no /proc: fall back to a signal-0 probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "is gone"
        return None
    state, start_ticks = fields[0], int(fields[19])
    if state in ("Z", "X"):
        return "is dead (zombie)"
    boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
    started = boot + start_ticks / os.sysconf("SC_CLK_TCK")
    if started > reported_at + _START_SLACK_S:
        return "is gone (its pid now belongs to a process started after the run worker)"
    return None
