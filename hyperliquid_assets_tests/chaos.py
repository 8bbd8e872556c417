"""The chaos backfill harness: real upstream servers with injected faults, a window run as real separate
processes that are SIGKILLed at seeded moments and run again until they succeed, and a digest of the lake to
compare with a clean run's.

- `Upstreams`: moto's S3 server holding the archive's L2 objects (bucket `hyperliquid-archive`, requester-pays)
  and a local HTTP file server holding the Binance files, each behind a `FaultProxy`; `env()` points the code
  location at them (HL_SOURCE=remote, HL_S3_ENDPOINT_URL, HL_BINANCE_BASE_URL).
- `window_steps`: the commands that materialize a window. THE ONE PLACE TO SWAP: today one
  `dagster asset materialize` process per job over the window's partition range; tomorrow a daemon backfill.
- `run_window`: runs each step as its own process group, SIGKILLs it at the moments a `KillPlan` draws, and
  runs it again until it exits 0.
- `lake_digest`: sha256 of every raw file and of every Parquet table with its rows; temp and set-aside files.

Also runnable at a larger size: `python -m hyperliquid_assets_tests.chaos --coins BTC,ETH --days 2`.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import boto3
import polars as pl

from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET
from hyperliquid_assets_tests.fault_proxy import FaultProxy, QuietServer

log = logging.getLogger(__name__)

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def write_small_demo_mirror(mirror: Path, coins: list[str], first_day: date, days: int, seed: int = 3) -> None:
    """The demo archive at a size for CI: a snapshot every ~30 s and ~300 trades an hour."""
    write_demo_archive(mirror, coins, first_day, days, DEFAULT_LISTINGS,
                       DemoMarketParams(snapshot_gap_s=30.0, trades_per_hour=300), seed=seed)


class _QuietFiles(SimpleHTTPRequestHandler):
    """The Binance mirror folder over HTTP (404 for a file not there, like the real host)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass


class Upstreams:
    """moto's S3 and a file server holding a demo mirror, each behind a fault proxy (`fault_rate` 0: none)."""

    def __init__(self, mirror: Path, *, fault_rate: float = 0.0, seed: int = 0) -> None:
        self.mirror, self.fault_rate, self.seed = mirror, fault_rate, seed

    def __enter__(self) -> "Upstreams":
        from moto.server import ThreadedMotoServer

        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        s3_url = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket=HYPERLIQUID_BUCKET)
        client.put_bucket_request_payment(Bucket=HYPERLIQUID_BUCKET,
                                          RequestPaymentConfiguration={"Payer": "Requester"})
        archive = self.mirror / HYPERLIQUID_BUCKET
        for path in sorted(archive.rglob("*.lz4")):
            client.put_object(Bucket=HYPERLIQUID_BUCKET, Key=path.relative_to(archive).as_posix(),
                              Body=path.read_bytes())
        handler = functools.partial(_QuietFiles, directory=str(self.mirror / BINANCE_HOST))
        self._files = QuietServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._files.serve_forever, daemon=True).start()
        files_url = f"http://127.0.0.1:{self._files.server_address[1]}"
        self.s3 = FaultProxy(s3_url, fault_rate=self.fault_rate, seed=self.seed).__enter__()
        self.binance = FaultProxy(files_url, fault_rate=self.fault_rate, seed=self.seed + 1).__enter__()
        return self

    def env(self) -> dict[str, str]:
        return {"HL_SOURCE": "remote", "HL_S3_ENDPOINT_URL": self.s3.url, "HL_S3_REGION": "us-east-1",
                "HL_BINANCE_BASE_URL": self.binance.url, **AWS_ENV}

    def faults(self) -> dict[str, dict[str, int]]:
        return {name: {"gets": proxy.gets, **proxy.injected}
                for name, proxy in (("s3", self.s3), ("binance", self.binance))}

    def __exit__(self, *exc) -> None:
        self.s3.__exit__()
        self.binance.__exit__()
        self._files.shutdown()
        self._files.server_close()
        self._moto.stop()


@dataclass(frozen=True)
class WindowStep:
    name: str
    argv: list[str]


def window_steps(coins: list[str], first_day: date, last_day: date) -> list[WindowStep]:
    """The processes that materialize the window, in order: per coin the upstream inventory, the L2 and Binance
    ingest and the research tables, each one `dagster asset materialize` over its partition range (one run), then
    the warehouse. The swap point for a daemon backfill: return steps whose process is the run worker to kill."""
    dagster = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "hyperliquid_assets.definitions"]
    first, last = f"{first_day:%Y-%m-%d}", f"{last_day:%Y-%m-%d}"
    steps = []
    for coin in coins:
        steps += [
            WindowStep(f"{coin} inventory", [*dagster, "--select", "upstream_inventory",
                                             "--partition-range", f"{coin}|{first}...{coin}|{last}"]),
            WindowStep(f"{coin} l2", [*dagster, "--select", "hyperliquid_l2_raw,l2_book",
                                      "--partition-range", f"{coin}|{first}-00:00...{coin}|{last}-23:00"]),
            WindowStep(f"{coin} trades", [*dagster, "--select", "binance_trades_raw,binance_trades",
                                          "--partition-range", f"{coin}|{first}...{coin}|{last}"]),
            WindowStep(f"{coin} research", [*dagster, "--select",
                                            "book_features,trade_flow_features,features,labels",
                                            "--partition-range", f"{coin}|{first}...{coin}|{last}"]),
        ]
    steps.append(WindowStep("warehouse", [*dagster, "--select", "lake_warehouse"]))
    return steps


@dataclass
class KillPlan:
    """Seeded SIGKILLs, at most `max_kills`: each attempt of a step is killed with probability `probability`,
    at a moment drawn as progress (after the k-th file the step creates in the lake, temp files included, so
    many kills land mid-write) or, one time in four, as a time after start (in start-up, loading, fetching)."""

    seed: int
    probability: float = 0.5
    max_kills: int = 6
    kills: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self, files_in_clean_run: int, seconds_in_clean_run: float) -> tuple[str, float] | None:
        if self.kills >= self.max_kills or self._rng.random() >= self.probability:
            return None
        if files_in_clean_run >= 2 and self._rng.random() < 0.75:
            return "files", float(self._rng.randint(1, max(1, int(files_in_clean_run * 0.8))))
        return "seconds", self._rng.uniform(0.2, 1.0) * seconds_in_clean_run


@dataclass
class StepReport:
    name: str
    attempts: int = 0
    kills: int = 0
    failures: int = 0  # attempts that exited non-zero on their own (e.g. a partition's retries exhausted)
    seconds: float = 0.0
    files_created: int = 0  # in the lake, temp files included, in the successful attempt


@dataclass
class WindowReport:
    steps: list[StepReport] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def kills(self) -> int:
        return sum(s.kills for s in self.steps)

    @property
    def reruns(self) -> int:
        return sum(s.attempts - 1 for s in self.steps)


def _lake_entries(root: Path) -> set[str]:
    """Every file under the lake, temp files included."""
    return {p.as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def run_window(steps: list[WindowStep], env: dict[str, str], lake_root: Path, logs: Path,
               kill_plan: KillPlan | None = None, clean_run: WindowReport | None = None,
               max_attempts: int = 20, step_timeout_s: float = 900.0) -> WindowReport:
    """Run each step as a process (its own process group) until it exits 0; a `kill_plan` SIGKILLs attempts at
    its moments (scaled by the `clean_run`'s files and seconds per step)."""
    report = WindowReport()
    logs.mkdir(parents=True, exist_ok=True)
    baseline = {s.name: s for s in clean_run.steps} if clean_run else {}
    for step in steps:
        step_report = StepReport(step.name)
        report.steps.append(step_report)
        while True:
            step_report.attempts += 1
            if step_report.attempts > max_attempts:
                raise RuntimeError(f"{step.name}: no success in {max_attempts} attempts; see {logs}")
            clean = baseline.get(step.name)
            moment = kill_plan.draw(clean.files_created, clean.seconds) if kill_plan and clean else None
            before, started = _lake_entries(lake_root), time.monotonic()
            log_path = logs / f"{step.name.replace(' ', '_')}.{step_report.attempts}.log"
            with open(log_path, "wb") as output:
                process = subprocess.Popen(step.argv, env={**os.environ, **env}, stdout=output,
                                           stderr=subprocess.STDOUT, start_new_session=True)
                killed = _wait_or_kill(process, moment, lake_root, before, started, step_timeout_s)
            step_report.seconds += time.monotonic() - started
            if killed:
                step_report.kills += 1
                kill_plan.kills += 1
                log.info("%s: attempt %d SIGKILLed at %s", step.name, step_report.attempts, moment)
                continue
            if process.returncode == 0:
                step_report.files_created = len(_lake_entries(lake_root) - before)
                break
            step_report.failures += 1
            log.info("%s: attempt %d failed (exit %d); see %s", step.name, step_report.attempts,
                     process.returncode, log_path)
    return report


def _wait_or_kill(process: subprocess.Popen, moment: tuple[str, float] | None, lake_root: Path,
                  before: set[str], started: float, timeout_s: float) -> bool:
    """Wait for the process; SIGKILL its whole group at `moment`. Returns whether it was killed."""
    while process.poll() is None:
        elapsed = time.monotonic() - started
        if elapsed > timeout_s:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise TimeoutError(f"{process.args} ran for more than {timeout_s} s")
        due = moment is not None and (
            (moment[0] == "seconds" and elapsed >= moment[1])
            or (moment[0] == "files" and len(_lake_entries(lake_root) - before) >= moment[1])
        )
        if due:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.02)
    return False


def lake_digest(root: Path) -> dict[str, object]:
    """What a run leaves in the lake: sha256 of every raw file; of every Parquet table, its rows and sha256; and
    the temp and set-aside files found anywhere. (warehouse.duckdb holds absolute paths: compared by views.)"""
    raw = {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in sorted((root / "raw").rglob("*")) if p.is_file()}
    tables = {p.relative_to(root).as_posix(): (pl.read_parquet(p).height, hashlib.sha256(p.read_bytes()).hexdigest())
              for p in sorted(root.rglob("*.parquet")) if "mirror" not in p.relative_to(root).parts}
    temp = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if ".tmp" in p.name)
    set_aside = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.corrupt-*"))
    return {"raw": raw, "tables": tables, "temp_files": temp, "set_aside": set_aside}


def warehouse_views(root: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as db:
        views = [name for (name,) in db.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
        return {name: db.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in sorted(views)}


def backfill(workdir: Path, mirror: Path, coins: list[str], first_day: date, last_day: date, *,
             fault_rate: float, seed: int, kill_plan: KillPlan | None, clean_run: WindowReport | None = None
             ) -> tuple[WindowReport, dict[str, dict[str, int]]]:
    """One backfill of the window into `workdir/lake` (its own Dagster instance in `workdir/dagster_home`)."""
    home, lake_root = workdir / "dagster_home", workdir / "lake"
    home.mkdir(parents=True, exist_ok=True)
    env = {"DAGSTER_HOME": str(home), "HL_LAKE_ROOT": str(lake_root), "HL_COINS": ",".join(coins),
           "HL_START_DATE": f"{first_day:%Y-%m-%d}"}
    with Upstreams(mirror, fault_rate=fault_rate, seed=seed) as upstreams:
        report = run_window(window_steps(coins, first_day, last_day), {**env, **upstreams.env()}, lake_root,
                            workdir / "logs", kill_plan, clean_run)
        return report, upstreams.faults()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--coins", default="BTC")
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--max-kills", type=int, default=6)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    coins, first = args.coins.split(","), date(2026, 1, 1)
    last = first + timedelta(days=args.days - 1)
    mirror = args.workdir / "mirror"
    write_small_demo_mirror(mirror, coins, first, args.days)
    clean, _ = backfill(args.workdir / "clean", mirror, coins, first, last, fault_rate=0.0, seed=args.seed,
                        kill_plan=None)
    chaos, faults = backfill(args.workdir / "chaos", mirror, coins, first, last, fault_rate=args.fault_rate,
                             seed=args.seed, kill_plan=KillPlan(args.seed, max_kills=args.max_kills), clean_run=clean)
    same = lake_digest(args.workdir / "clean" / "lake") == lake_digest(args.workdir / "chaos" / "lake")
    print(json.dumps({"identical": same, "faults": faults, "kills": chaos.kills, "reruns": chaos.reruns,
                      "clean_seconds": round(clean.seconds, 1), "chaos_seconds": round(chaos.seconds, 1),
                      "load_average": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
