"""The MLflow UI in a real browser (Debian chromium via Playwright), served by `scripts/mlflow-ui` on a store this
test fills with two comparable model runs: the runs list shows the project's runs, a run page shows its metrics,
its registered model and the backtest report among its artifacts, the registry shows champion and challenger. Screenshots in test-artifacts/."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from hyperliquid_assets.modeling.partition import train_partition
from hyperliquid_assets.modeling.specs import LOGREG, TrainingWindow
from hyperliquid_assets.settings import PROJECT_ROOT
from hyperliquid_assets.tracking.config import TrackingConfig
from hyperliquid_assets.tracking.model_runs import TrackedModelRun, log_model_run
from hyperliquid_assets.tracking.registry import promote_challenger
from hyperliquid_assets_tests.browser import chromium_page, require_chromium, screenshot
from hyperliquid_assets_tests.research_lake import shared_research_lake

TIMEOUT_MS = 60_000
REPORT_HEADING = "Backtest logreg BTC 2026-01-04"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory) -> tuple[TrackingConfig, list[TrackedModelRun]]:
    require_chromium()
    lake = shared_research_lake(strength=0.5, seed=7, days=4)
    config = TrackingConfig.local(tmp_path_factory.mktemp("mlruns"))
    runs = []
    for day in (date(2026, 1, 3), date(2026, 1, 4)):
        result = train_partition(lake.root, "BTC", day, LOGREG, TrainingWindow(days=2, stride=20))
        tracked = log_model_run(config, result, {"dagster.run_id": f"ui-test-{day}"})
        promote_challenger(config, tracked.registered_model, tracked.version, result.evaluation)
        runs.append(tracked)
    # A backtest report, logged into the model's run the way the backtest assets log theirs (backtest/).
    report = tmp_path_factory.mktemp("backtest") / "report.html"
    report.write_text("<!doctype html><html><head><title>report</title></head><body>"
                      f"<h1>{REPORT_HEADING}</h1><p>net PnL -12.34</p></body></html>")
    from mlflow import MlflowClient

    MlflowClient(config.tracking_uri).log_artifacts(runs[1].run_id, str(report.parent), artifact_path="backtest")
    return config, runs


@pytest.fixture(scope="module")
def mlflow_ui(filled_store, tmp_path_factory):
    """`scripts/mlflow-ui` on a free loopback port over the filled store; stopped by process group."""
    config, _ = filled_store
    port = free_port()
    log_path = tmp_path_factory.mktemp("ui") / "mlflow-ui.log"
    env = {**os.environ, "MLFLOW_TRACKING_URI": config.tracking_uri, "HL_MLFLOW_ARTIFACT_ROOT": config.artifact_root,
           "MLFLOW_UI_PORT": str(port)}
    with open(log_path, "wb") as log:
        server = subprocess.Popen([str(PROJECT_ROOT / "scripts" / "mlflow-ui")], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if urllib.request.urlopen(f"{base}/health", timeout=2).read() == b"OK":
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow-ui did not come up on {base}: {Path(log_path).read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def test_the_ui_lists_the_runs_and_a_run_page_shows_its_metrics_and_model(filled_store, mlflow_ui):
    config, runs = filled_store
    experiment = runs[0].experiment_id
    with chromium_page() as page:
        # The runs list of the experiment ("Model training" view of the MLflow 3 UI).
        page.goto(f"{mlflow_ui}/#/experiments/{experiment}/runs?workflowType=machine_learning", wait_until="load")
        for tracked in runs:
            page.get_by_text(tracked.run_name, exact=True).first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_text(re.compile(r"features/BTC/2026-01-02 \([0-9a-f]{32}\)")).first.wait_for(timeout=TIMEOUT_MS)
        screenshot(page, "mlflow_runs")

        # A run page: the run URL we hand to Dagster, with its metrics and its registered model version.
        latest = runs[1]
        page.goto(latest.run_url.replace(config.ui_url, mlflow_ui), wait_until="load")
        page.get_by_role("heading", name=latest.run_name).wait_for(timeout=TIMEOUT_MS)
        metric = page.get_by_text("oos_roc_auc", exact=True).first
        metric.wait_for(timeout=TIMEOUT_MS)
        page.get_by_text(f"{latest.metrics['oos_roc_auc']:.4f}"[:5]).first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("oos_prior_roc_auc", exact=True).first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("link", name="hl_logreg_BTC").first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("dagster.run_id").first.wait_for(timeout=TIMEOUT_MS)
        screenshot(page, "mlflow_run_overview")
        metric.scroll_into_view_if_needed()
        screenshot(page, "mlflow_run_metrics")

        # The run's artifacts: the backtest report, rendered by the MLflow UI (an HTML artifact shows in a frame).
        page.goto(latest.run_url.replace(config.ui_url, mlflow_ui) + "/artifacts", wait_until="load")
        page.get_by_text("backtest", exact=True).first.click(timeout=TIMEOUT_MS)
        page.get_by_text("report.html", exact=True).first.click(timeout=TIMEOUT_MS)
        page.frame_locator("iframe").first.get_by_text(REPORT_HEADING).wait_for(timeout=TIMEOUT_MS)
        screenshot(page, "mlflow_run_backtest_report")

        # The registry: both versions, with the aliases.
        page.goto(f"{mlflow_ui}/#/models/hl_logreg_BTC", wait_until="load")
        # The alias chips ("@ champion", "@ challenger"), not just the words in the description.
        for alias in ("champion", "challenger"):
            page.locator(f'[role="status"][title="{alias}"]').first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("Version 2").first.wait_for(timeout=TIMEOUT_MS)
        screenshot(page, "mlflow_registered_model")
