"""MLflow runs of model partitions in a real SQLite tracking store: what a run holds, re-materialization, a
failure inside a run, the code version, the store's configuration."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from hyperliquid_assets.modeling.partition import PartitionModel, train_partition
from hyperliquid_assets.modeling.predict import predict_rows
from hyperliquid_assets.modeling.specs import LOGREG, XGBOOST, TrainingWindow
from hyperliquid_assets.settings import PROJECT_ROOT
from hyperliquid_assets.tracking.code_version import CodeVersion, git_code_version
from hyperliquid_assets.tracking.config import TrackingConfig, default_tracking_config
from hyperliquid_assets.tracking.lineage import LINEAGE_TAGS, dagster_lineage_tags
from hyperliquid_assets.tracking.model_runs import fail_unfinished_runs, log_model_run
from hyperliquid_assets.tracking.registry import load_probability_model
from hyperliquid_assets_tests.research_lake import shared_research_lake

DAY = date(2026, 1, 3)
WINDOW = TrainingWindow(days=2, stride=10)


@pytest.fixture(scope="module")
def results() -> dict[str, PartitionModel]:
    lake = shared_research_lake(strength=0.5, seed=7, days=4)
    return {spec.name: train_partition(lake.root, "BTC", DAY, spec, WINDOW) for spec in (LOGREG, XGBOOST)}


def client_of(config: TrackingConfig):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)


def lineage(result: PartitionModel, run_id: str = "dagster-run-1") -> dict[str, str]:
    versions = {f"{i.table}/{i.coin}|{i.day}": f"dv-{i.sha256[:12]}" for i in result.inputs}
    return dagster_lineage_tags(run_id, f"model_{result.spec.name}", f"BTC|{DAY}", git_code_version(), versions)


def test_a_run_holds_params_metrics_inputs_model_artifacts_and_lineage(tmp_path, results):
    result = results["logreg"]
    config = TrackingConfig.local(tmp_path / "mlruns")
    tracked = log_model_run(config, result, lineage(result))
    client = client_of(config)
    run = client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "logreg BTC 2026-01-03" == tracked.run_name
    assert tracked.run_url == f"http://127.0.0.1:5000/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"

    params = run.data.params
    assert {k: params[k] for k in ("window_days", "purge", "embargo", "stride", "target_horizon", "target_kind",
                                   "target_threshold_bps", "label_threshold_bps", "hp_C", "hp_class_weight")} == {
        "window_days": "2", "purge": "1m", "embargo": "0s", "stride": "10", "target_horizon": "1m",
        "target_kind": "three_class", "target_threshold_bps": "labels table", "label_threshold_bps": "1.0",
        "hp_C": "1.0", "hp_class_weight": "None"}
    assert params["features"].split(",") == list(LOGREG.features)

    metrics, expected = run.data.metrics, result.metrics()
    for name in ("log_loss", "roc_auc", "accuracy", "balanced_accuracy"):
        for key in (f"val_{name}", f"oos_{name}", f"oos_prior_{name}", f"oos_majority_{name}", f"val_prior_{name}"):
            assert metrics[key] == pytest.approx(expected[key], rel=1e-12), key
    assert tracked.metrics["oos_roc_auc"] == expected["oos_roc_auc"] and isinstance(tracked.metrics["oos_log_loss"], float)

    tags = run.data.tags
    assert all(tags[k] for k in LINEAGE_TAGS)
    assert tags["dagster.run_id"] == "dagster-run-1" and tags["dagster.partition_key"] == "BTC|2026-01-03"
    assert tags["hl.partition"] == "BTC|2026-01-03" and tags["hl.rematerialization"] == "1"
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", tags["code.version"])

    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 6  # features and labels of the two window days and of day D
    by_name = {i.dataset.name: i for i in inputs}
    for item in result.inputs:
        logged = by_name[item.name]
        assert logged.dataset.digest == hashlib.sha256(item.path.read_bytes()).hexdigest()[:32]
        assert len(logged.dataset.digest) <= 36 and str(item.path) in logged.dataset.source
        input_tags = {t.key: t.value for t in logged.tags}
        assert input_tags["mlflow.data.context"] == ("evaluation" if item.day == DAY else "training")
        assert input_tags["sha256"] == item.sha256 and input_tags["dagster_data_version"] == f"dv-{item.sha256[:12]}"

    artifacts = {a.path for a in client.list_artifacts(tracked.run_id)} | \
        {a.path for a in client.list_artifacts(tracked.run_id, "plots")}
    assert {"feature_importance.csv", "calibration_oos.csv", "leakage_screen.csv", "training_window.json",
            "plots/feature_importance.png", "plots/calibration_oos.png", "plots/confusion_matrix_oos.png",
            "plots/roc_oos.png"} <= artifacts
    local = Path(client.download_artifacts(tracked.run_id, "plots", str(tmp_path / "dl")))
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5_000 for p in local.glob("*.png"))
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.artifact_location == str((tmp_path / "mlruns" / "hyperliquid_assets").resolve())


def test_the_logged_model_has_a_signature_an_example_and_predict_proba_as_pyfunc(tmp_path, results):
    import mlflow

    config = TrackingConfig.local(tmp_path / "mlruns")
    for name, result in results.items():
        tracked = log_model_run(config, result, lineage(result))
        mlflow.set_tracking_uri(config.tracking_uri)
        info = mlflow.models.get_model_info(tracked.logged_model_uri)
        assert info.signature.inputs.input_names() == list(result.spec.features)
        assert info.saved_input_example_info is not None
        assert info.metadata["class_names"] == ["down", "flat", "up"]
        # Loaded back from the registry through pyfunc, it gives exactly the day's predictions.
        loaded = load_probability_model(config, tracked.model_uri)
        evaluation = result.evaluation
        reloaded = predict_rows(loaded, evaluation.features, evaluation.book_known, result.spec.target)
        assert_frame_equal(reloaded, result.predictions, check_exact=True)
        assert tracked.model_uri == f"models:/hl_{name}_BTC/1"


def test_rematerialization_makes_a_new_run_and_both_are_found_by_the_partition_tag(tmp_path, results):
    result = results["xgboost"]
    config = TrackingConfig.local(tmp_path / "mlruns")
    first = log_model_run(config, result, lineage(result, "dagster-run-1"))
    second = log_model_run(config, result, lineage(result, "dagster-run-2"))
    assert first.run_id != second.run_id and (first.rematerialization, second.rematerialization) == (1, 2)
    client = client_of(config)
    found = client.search_runs([first.experiment_id], "tags.`hl.partition` = 'BTC|2026-01-03' and tags.`hl.spec` = 'xgboost'")
    assert {r.info.run_id for r in found} == {first.run_id, second.run_id}
    assert {r.data.tags["dagster.run_id"] for r in found} == {"dagster-run-1", "dagster-run-2"}
    assert all(r.info.status == "FINISHED" for r in found)
    assert (first.version, second.version) == ("1", "2")
    assert str(client.get_model_version_by_alias("hl_xgboost_BTC", "challenger").version) == "2"


class _BrokenEstimator:
    """An estimator whose predictions fail: logging its model fails inside the run."""

    def predict_proba(self, features):
        raise RuntimeError("estimator cannot score")


def test_a_failure_inside_the_run_ends_it_failed_never_running(tmp_path, results):
    result = results["logreg"]
    broken = dataclasses.replace(result, model=dataclasses.replace(result.model, estimator=_BrokenEstimator()))
    config = TrackingConfig.local(tmp_path / "mlruns")
    with pytest.raises(RuntimeError, match="estimator cannot score"):
        log_model_run(config, broken, lineage(result))
    client = client_of(config)
    experiment = client.get_experiment_by_name(config.experiment)
    runs = client.search_runs([experiment.experiment_id])
    assert [(r.info.run_name, r.info.status) for r in runs] == [("logreg BTC 2026-01-03", "FAILED")]
    # Nothing was registered for the failed run.
    assert client.search_model_versions("name = 'hl_logreg_BTC'") == []


def test_runs_left_running_by_a_killed_process_are_failed_by_dagster_run_id(tmp_path):
    """A process killed mid-run (here: a child python killed with SIGKILL while its run is open) leaves the MLflow
    run RUNNING; fail_unfinished_runs ends exactly the runs of that Dagster run."""
    config = TrackingConfig.local(tmp_path / "mlruns")
    child = (
        "import os, signal, mlflow\n"
        "from hyperliquid_assets.tracking.config import TrackingConfig\n"
        "from hyperliquid_assets.tracking.store import using_store, experiment_id\n"
        f"config = TrackingConfig.local({str(tmp_path / 'mlruns')!r})\n"
        "with using_store(config) as client:\n"
        "    run = mlflow.start_run(experiment_id=experiment_id(client, config), tags={'dagster.run_id': 'killed-run'})\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=120)
    assert done.returncode == -9
    client = client_of(config)
    experiment = client.get_experiment_by_name(config.experiment)
    other = client.create_run(experiment.experiment_id, tags={"dagster.run_id": "alive-run"})
    assert [r.info.status for r in client.search_runs([experiment.experiment_id], "tags.`dagster.run_id` = 'killed-run'")] == ["RUNNING"]
    ended = fail_unfinished_runs(config, "killed-run")
    assert len(ended) == 1 and client.get_run(ended[0]).info.status == "FAILED"
    assert client.get_run(other.info.run_id).info.status == "RUNNING"  # another Dagster run's run is left alone
    assert fail_unfinished_runs(config, "killed-run") == []


def test_code_version_is_the_checkout_or_unknown_never_an_error(tmp_path):
    here = git_code_version(PROJECT_ROOT)
    head = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert here.git_sha == head and isinstance(here.dirty, bool)
    assert str(here) == head + ("-dirty" if here.dirty else "")
    assert git_code_version(tmp_path) == CodeVersion(None, None) and str(git_code_version(tmp_path)) == "unknown"
    assert git_code_version(PROJECT_ROOT, timeout_s=1e-6) == CodeVersion(None, None)


def test_store_configuration(tmp_path):
    config = default_tracking_config(tmp_path, env={})
    assert config.tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlruns/mlflow.db"
    assert config.artifact_root == str(tmp_path.resolve() / "mlruns")
    other = default_tracking_config(tmp_path, env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:5999",
                                                   "HL_MLFLOW_UI_URL": "http://127.0.0.1:5999"})
    assert other.tracking_uri == "http://127.0.0.1:5999" and other.run_url("3", "abc") == \
        "http://127.0.0.1:5999/#/experiments/3/runs/abc"
    with pytest.raises(ValueError, match="absolute path or a URI"):
        TrackingConfig("sqlite:///x.db", "relative/mlruns")
    with pytest.raises(ValueError, match="exceed"):
        log_model_run(TrackingConfig.local(tmp_path), None, {"dagster.input_data_versions": "x" * 8001})  # type: ignore[arg-type]


def test_the_run_failure_sensor_fails_the_mlflow_runs_a_failed_dagster_run_left_running(tmp_path):
    """The sensor Dagster's daemon calls when a run fails, on a real failed run: the MLflow run carrying that
    run's id (left RUNNING, as a killed process leaves it: see the test above) is marked FAILED."""
    import dagster as dg

    from hyperliquid_assets.defs.models.sensors import end_mlflow_runs_of_failed_runs
    from hyperliquid_assets.defs.resources import MlflowTracking
    from hyperliquid_assets.tracking.store import experiment_id, using_store

    @dg.asset
    def model_step_that_dies() -> None:
        raise RuntimeError("the process died here")

    config = TrackingConfig.local(tmp_path / "mlruns")
    with dg.DagsterInstance.ephemeral() as instance:
        failed = dg.materialize([model_step_that_dies], instance=instance, raise_on_error=False)
        assert not failed.success
        client = client_of(config)
        with using_store(config) as store_client:
            left = store_client.create_run(experiment_id(store_client, config), tags={"dagster.run_id": failed.run_id})
        assert client.get_run(left.info.run_id).info.status == "RUNNING"
        context = dg.build_run_status_sensor_context(
            sensor_name=end_mlflow_runs_of_failed_runs.name, dagster_instance=instance, dagster_run=failed.dagster_run,
            dagster_event=failed.get_run_failure_event(),
            resources={"mlflow": MlflowTracking(tracking_uri=config.tracking_uri, artifact_root=config.artifact_root,
                                                experiment=config.experiment)},
        ).for_run_failure()
        end_mlflow_runs_of_failed_runs(context)
    assert client.get_run(left.info.run_id).info.status == "FAILED"
