"""The run launcher's worker health check, on real processes: what run monitoring relies on to fail a run whose
worker died when nothing else noticed (the code server that started it restarted, say)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg
from dagster._core.launcher.base import WorkerStatus

from hyperliquid_assets.defs.run_launcher import LocalRunLauncher, process_problem


def _started_run(instance, pid: int) -> dg.DagsterRun:
    """A run whose worker reported `pid`, as a run worker does when it starts (same message, same event type)."""
    run = instance.create_run_for_job(dg.GraphDefinition(name="g").to_job())
    instance.report_engine_event(f"Started process for run (pid: {pid}).", run)
    return run


def test_a_live_worker_is_running_and_a_killed_one_failed(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        launcher = LocalRunLauncher()
        launcher.register_instance(instance)
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        try:
            run = _started_run(instance, worker.pid)
            assert launcher.supports_check_run_worker_health
            assert launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
            os.kill(worker.pid, signal.SIGKILL)
            time.sleep(0.2)  # not reaped yet: a zombie, which a signal-0 probe would call alive
            result = launcher.check_run_worker_health(run)
            assert result.status == WorkerStatus.FAILED and f"pid {worker.pid}) is dead (zombie)" in result.msg
            worker.wait()
            result = launcher.check_run_worker_health(run)
            assert result.status == WorkerStatus.FAILED and "is gone" in result.msg
        finally:
            worker.kill()
            worker.wait()


def test_an_exited_worker_and_a_reused_pid_are_failures_and_no_pid_yet_is_not(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        launcher = LocalRunLauncher()
        launcher.register_instance(instance)
        pending = instance.create_run_for_job(dg.GraphDefinition(name="g").to_job())
        assert launcher.check_run_worker_health(pending).status == WorkerStatus.RUNNING  # start timeout covers it
        run = _started_run(instance, os.getpid())
        instance.report_engine_event(f"Process for run exited (pid: {os.getpid()}).", run)
        assert launcher.check_run_worker_health(run).status == WorkerStatus.FAILED
    # A pid that now belongs to a process started after the worker reported in is not the worker.
    newcomer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        time.sleep(0.5)
        assert process_problem(newcomer.pid, reported_at=time.time() - 60).startswith("is gone (its pid now belongs")
        assert process_problem(newcomer.pid, reported_at=time.time()) is None
    finally:
        newcomer.kill()
        newcomer.wait()
