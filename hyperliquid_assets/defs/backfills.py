"""Whole-graph backfills through Dagster's own machinery: the GraphQL mutation the UI sends, run by the daemon.

`window_selection` names every asset's partitions over a window of days and coins (hours for the hourly assets,
days for the daily ones, the unpartitioned ones whole), each asset over exactly the window, so assets with the
same partitioning share runs. Dagster puts a child in its parent's run only when every targeted partition of the
parent is requested in the same daemon tick; coins finish their runs at their own pace, so a backfill per coin
keeps each coin's chain in a few runs whatever the other coin does. `DagsterServer` is a `dagster dev` (webserver
and daemon) for the instance, started under its own process group so that stopping it stops every process it
started, or an already running one found at a URL. `follow` reports each run as it finishes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

TERMINAL_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
TERMINAL_RUN = {"SUCCESS", "FAILURE", "CANCELED"}

_LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
    ... on UnauthorizedError { message }
  }
}"""
_REEXECUTE = """
mutation Reexecute($params: ReexecutionParams!) {
  reexecutePartitionBackfill(reexecutionParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}"""
_BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      assetBackfillData {
        assetBackfillStatuses {
          ... on AssetPartitionsStatusCounts {
            assetKey { path } numPartitionsTargeted numPartitionsMaterialized numPartitionsFailed
          }
          ... on UnpartitionedAssetStatus { assetKey { path } materialized failed }
        }
      }
    }
    ... on PythonError { message }
  }
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
    ... on Runs {
      results { runId status startTime endTime tags { key value } assetSelection { path } }
    }
  }
}"""


def window_selection(asset_graph, coins: list[str], first_day: date, last_day: date,
                     unpartitioned: bool = True, first_model_day: date | None = None) -> list[dict]:
    """`partitionsByAssets` for every materializable asset over the window (ranges per coin); the unpartitioned
    assets too unless `unpartitioned` is False. The model-day assets (models, predictions, champions, backtests)
    from `first_model_day` when given (a model needs its training days in the lake)."""
    from hyperliquid_assets.defs.partitions import coin_model_day_partitions

    selection = []
    for node in asset_graph.asset_nodes:
        if not node.is_materializable or (node.partitions_def is None and not unpartitioned):
            continue
        entry: dict = {"assetKey": {"path": node.key.path}}
        partitions = node.partitions_def
        if partitions is not None:
            dims = {d.name for d in partitions.partitions_defs}
            # An asset's days may begin after the lake's (a model needs its training window first).
            (time_dimension,) = (d for d in partitions.partitions_defs if d.name != "coin")
            start = max(first_day, time_dimension.partitions_def.start.date())
            if first_model_day is not None and partitions == coin_model_day_partitions:
                start = max(start, first_model_day)
            if start > last_day:
                continue
            first, last = (f"{start:%Y-%m-%d}-00:00", f"{last_day:%Y-%m-%d}-23:00") if "hour" in dims else (
                f"{start:%Y-%m-%d}", f"{last_day:%Y-%m-%d}")
            entry["partitions"] = {"ranges": [{"start": f"{coin}|{first}", "end": f"{coin}|{last}"} for coin in coins]}
        selection.append(entry)
    return selection


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DagsterServer:
    """A Dagster webserver + daemon for the instance at DAGSTER_HOME: the one already answering at `url`, or a
    `dagster dev` this object starts (in its own process group) and stops."""

    def __init__(self, url: str | None = None, workspace: Path | None = None, log_path: Path | None = None,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.url = url
        self.workspace = workspace
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> DagsterServer:
        if self.url and self._answers(self.url) and self._serves_this_instance():
            return self
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(self.log_path or os.devnull, "ab")
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(self.workspace), "-h", "127.0.0.1", "-p", str(port)]
        # A new session: `dagster dev` then stops all its children on SIGTERM (a plain background start inherits
        # SIGINT as ignored and cannot), and the whole group can be signalled at once.
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                        env=self.env, cwd=self.cwd)
        deadline = time.monotonic() + 180
        while not self._answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dagster dev did not start (see {self.log_path})")
            time.sleep(0.5)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self, timeout: float = 60) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _serves_this_instance(self) -> bool:
        """Whether the server found at the URL uses the instance at DAGSTER_HOME (never launch into another one)."""
        home = (self.env or os.environ).get("DAGSTER_HOME")
        info = self.graphql("{ instance { info } }")["instance"]["info"] or ""
        return bool(home) and str(Path(home).resolve()) in info

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            payload = json.load(response)
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL error: {payload['errors']}")
        return payload["data"]

    def launch_backfill(self, partitions_by_assets: list[dict], title: str, tags: dict[str, str] | None = None) -> str:
        params: dict = {"partitionsByAssets": partitions_by_assets, "title": title,
                        "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        result = self.graphql(_LAUNCH, {"params": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill not launched: {result}")
        return result["backfillId"]

    def reexecute_backfill(self, backfill_id: str, strategy: str = "FROM_FAILURE") -> str:
        """A new backfill of the partitions that failed in `backfill_id` (and what depends on them)."""
        result = self.graphql(_REEXECUTE, {"params": {"parentRunId": backfill_id, "strategy": strategy}})
        result = result["reexecutePartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill not re-executed: {result}")
        return result["backfillId"]

    def backfill(self, backfill_id: str) -> tuple[dict, list[dict]]:
        data = self.graphql(_BACKFILL, {"id": backfill_id})
        return data["partitionBackfillOrError"], data["runsOrError"]["results"]


@dataclass(frozen=True)
class FinishedRun:
    run_id: str
    status: str
    assets: list[str]
    first_partition: str
    last_partition: str
    seconds: float


def follow(server: DagsterServer, backfill_ids: list[str], on_run: Callable[[FinishedRun], None],
           poll_s: float = 2.0, timeout_s: float = 3600) -> dict[str, dict]:
    """Wait for the backfills to finish, calling `on_run` once for each of their runs as it finishes; returns each
    backfill's final state (status and per-asset counts)."""
    reported: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while True:
        states, all_runs = {}, []
        for backfill_id in backfill_ids:
            states[backfill_id], runs = server.backfill(backfill_id)
            all_runs += runs
        for run in sorted(all_runs, key=lambda r: r["endTime"] or 0):
            if run["status"] in TERMINAL_RUN and run["runId"] not in reported:
                reported.add(run["runId"])
                tags = {t["key"]: t["value"] for t in run["tags"]}
                on_run(FinishedRun(run["runId"], run["status"], sorted("/".join(a["path"]) for a in run["assetSelection"]),
                                   tags.get("dagster/asset_partition_range_start", tags.get("dagster/partition", "")),
                                   tags.get("dagster/asset_partition_range_end", tags.get("dagster/partition", "")),
                                   (run["endTime"] or 0) - (run["startTime"] or run["endTime"] or 0)))
        done = all(state.get("status") in TERMINAL_BACKFILL for state in states.values())
        if done and all(r["status"] in TERMINAL_RUN for r in all_runs):
            return states
        if time.monotonic() > deadline:
            raise TimeoutError(f"backfills {backfill_ids} not finished after {timeout_s:.0f} s")
        time.sleep(poll_s)
