"""Models, predictions, champions, backtests and their summaries through Dagster on the demo market, with a real
MLflow store: what the materializations record, what MLflow holds, and what a short window does."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import mlflow
import polars as pl
import pytest

from hyperliquid_assets.defs.backtests.assets import backtest_summaries, backtests
from hyperliquid_assets.defs.ingest.assets import binance_daily_trades, hyperliquid_l2, upstream_inventory
from hyperliquid_assets.defs.models.assets import model_champions, walk_forward_models
from hyperliquid_assets.defs.research.assets import book_features, features, labels, trade_flow_features
from hyperliquid_assets.defs.resources import BinanceVision, HyperliquidArchive, LakeResource, MlflowTracking
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.formats.schemas import PREDICTIONS_SCHEMA
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.modeling.predict import predict_partition
from hyperliquid_assets.modeling.specs import LOGREG, XGBOOST
from hyperliquid_assets.tracking.registry import load_probability_model
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET

DAYS = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
SPECS_BY_NAME = {s.name: s for s in (LOGREG, XGBOOST)}
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def _run(assets, resources, instance, first: str, last: str):
    return dg.materialize(assets, resources=resources, instance=instance, tags=dict(zip(RANGE, (first, last))),
                          raise_on_error=False)


@pytest.fixture(scope="module")
def modelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    mirror, lake_root = root / "mirror", root / "lake"
    write_demo_archive(mirror, ["BTC"], DAYS[0], 3, DEFAULT_LISTINGS,
                       DemoMarketParams(signal_strength=1.0, trades_per_hour=2000), seed=9)
    tracking = MlflowTracking(tracking_uri=f"sqlite:///{root / 'mlruns' / 'mlflow.db'}", artifact_root=str(root / "mlruns"))
    resources = {
        "hyperliquid_archive": HyperliquidArchive(backend="local", mirror_root=str(mirror / HYPERLIQUID_BUCKET)),
        "binance_vision": BinanceVision(backend="local", mirror_root=str(mirror / BINANCE_HOST)),
        "lake": LakeResource(root=str(lake_root)), "mlflow": tracking,
    }
    instance = dg.DagsterInstance.ephemeral()
    days = ("BTC|2026-01-01", "BTC|2026-01-03")
    for assets, window in [([upstream_inventory, binance_daily_trades], days),
                           ([hyperliquid_l2], ("BTC|2026-01-01-00:00", "BTC|2026-01-03-23:00")),
                           ([book_features, trade_flow_features, features, labels], days)]:
        assert _run(assets, resources, instance, *window).success
    # Model days begin after the 2-day training window (2026-01-03); the lake has no 2026-01-04 to score.
    results = {"models": _run([walk_forward_models], resources, instance, "BTC|2026-01-03", "BTC|2026-01-04")}
    model_day = ("BTC|2026-01-03", "BTC|2026-01-03")
    results["champions"] = _run([model_champions], resources, instance, *model_day)
    results["backtests"] = _run([backtests], resources, instance, *model_day)
    results["summaries"] = dg.materialize([backtest_summaries], resources=resources, instance=instance)
    return {"lake": Lake(lake_root), "instance": instance, "results": results, "tracking": tracking.config()}


def _materialized(instance, asset: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(asset)))


def test_model_days_begin_after_the_training_window():
    partitions = walk_forward_models.specs_by_key[dg.AssetKey("model_logreg")].partitions_def
    days = partitions.get_partitions_def_for_dimension("date")
    assert days.start.date() == date(2026, 1, 3)  # HL_START_DATE 2026-01-01 + HL_MODEL_WINDOW_DAYS 2


def test_a_day_missing_from_the_lake_stays_unmaterialized_with_the_reason(modelled):
    instance, result = modelled["instance"], modelled["results"]["models"]
    assert result.success  # a missing input is not a failure: the day's model waits for it
    for asset in ("model_logreg", "model_xgboost", "predictions_logreg", "predictions_xgboost"):
        assert _materialized(instance, asset) == {"BTC|2026-01-03"}, asset
    reasons = {(o.asset_key.to_user_string(), o.partition): o.metadata["reason"].value for o in (
        e.event_specific_data.asset_observation for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION")}
    assert set(reasons) == {(a, "BTC|2026-01-04") for a in ("model_logreg", "model_xgboost", "predictions_logreg",
                                                            "predictions_xgboost")}
    assert "2026-01-04" in reasons[("model_logreg", "BTC|2026-01-04")], reasons


def test_each_model_is_one_finished_mlflow_run_with_its_lineage_and_a_registered_challenger(modelled):
    lake, tracking, result = modelled["lake"], modelled["tracking"], modelled["results"]["models"]
    client = mlflow.MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)
    events = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    for spec in ("logreg", "xgboost"):
        record = json.loads(lake.model_record_path(spec, "BTC", DAYS[2]).read_bytes())
        run = client.get_run(record["mlflow_run_id"])
        assert run.info.status == "FINISHED" and run.info.run_name == f"{spec} BTC 2026-01-03"
        tags = run.data.tags
        assert tags["dagster.run_id"] == result.run_id and tags["dagster.partition_key"] == "BTC|2026-01-03"
        assert tags["dagster.asset_key"] == f"model_{spec}" and tags["code.git_sha"]
        versions = json.loads(tags["dagster.input_data_versions"])
        assert set(versions) == {f"{t}/BTC|{d}" for t in ("features", "labels")
                                 for d in ("2026-01-01", "2026-01-02", "2026-01-03")}
        assert run.data.params["window_days"] == "2" and run.data.params["stride"] == "5"
        assert run.data.params["window_first_day"] == "2026-01-01" and run.data.params["window_last_day"] == "2026-01-02"
        meta = events[f"model_{spec}"]
        assert meta["mlflow_run"].value == record["mlflow_run_url"] and "/#/experiments/" in record["mlflow_run_url"]
        assert meta["model_uri"].value == f"models:/hl_{spec}_BTC/{record['version']}"
        assert 0.0 <= meta["oos_roc_auc"].value <= 1.0 and "oos_prior_roc_auc" in meta
        version = client.get_model_version(f"hl_{spec}_BTC", record["version"])
        assert "challenger" in version.aliases or "champion" in version.aliases
        predictions = pl.read_parquet(lake.predictions_path(spec, "BTC", DAYS[2]))
        assert predictions.schema == PREDICTIONS_SCHEMA and predictions.height == 86_400
    assert not client.search_runs([client.get_experiment_by_name(tracking.experiment).experiment_id],
                                  "attributes.status = 'RUNNING'")


def test_the_champion_decision_is_a_materialization_and_a_tag_on_the_version(modelled):
    tracking, result = modelled["tracking"], modelled["results"]["champions"]
    assert result.success
    client = mlflow.MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)
    for event in result.get_asset_materialization_events():
        meta = {k: v.value for k, v in event.materialization.metadata.items()}
        version = client.get_model_version(meta["registered_model"], str(meta["candidate_version"]))
        assert version.tags["promotion.reason"] == meta["reason"]
        assert version.tags["promotion.decision"] == ("promoted" if meta["promoted"] else "not promoted")
        if meta["promoted"]:  # the champion, loaded by alias, reproduces the stored predictions of its day
            spec = SPECS_BY_NAME[meta["registered_model"].split("_")[1]]
            model = load_probability_model(tracking, f"models:/{meta['registered_model']}@champion")
            rescored, _ = predict_partition(model, modelled["lake"].root, "BTC", DAYS[2], spec)
            stored = pl.read_parquet(modelled["lake"].predictions_path(spec.name, "BTC", DAYS[2]))
            assert rescored.equals(stored) or rescored.select(pl.exclude("bar_time")).fill_null(-1).to_numpy() == \
                pytest.approx(stored.select(pl.exclude("bar_time")).fill_null(-1).to_numpy(), abs=1e-12)


def test_backtests_write_a_report_logged_to_the_models_run_and_a_summary(modelled):
    lake, tracking = modelled["lake"], modelled["tracking"]
    result = modelled["results"]["backtests"]
    assert result.success
    assert _materialized(modelled["instance"], "backtest_logreg") == {"BTC|2026-01-03"}
    client = mlflow.MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        spec = event.asset_key.to_user_string().removeprefix("backtest_")
        report = lake.backtest_dir(spec, "BTC", DAYS[2]) / "report.html"
        assert meta["report"].value == str(report) and report.exists()
        for name in ("model.net_pnl", "flat.net_pnl", "buy_and_hold.net_pnl", "feature_rule.net_pnl", "random.net_pnl"):
            assert isinstance(meta[name].value, float), name
        run_id = json.loads(lake.model_record_path(spec, "BTC", DAYS[2]).read_bytes())["mlflow_run_id"]
        logged = {a.path for a in client.list_artifacts(run_id, "backtest")}
        assert "backtest/report.html" in logged
        # The report's importance plot reads the table the model step wrote beside the model, the run's own.
        importance = pl.read_parquet(lake.importance_path(spec, "BTC", DAYS[2]))
        logged_importance = pl.read_csv(mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="feature_importance.csv", tracking_uri=tracking.tracking_uri))
        assert importance["feature"].to_list() == logged_importance["feature"].to_list()
        assert client.get_run(run_id).data.metrics["bt_model.net_pnl"] == pytest.approx(meta["model.net_pnl"].value)
    summaries = modelled["results"]["summaries"]
    assert summaries.success
    for spec in ("logreg", "xgboost"):
        assert (lake.summary_dir(spec, "BTC") / "summary.html").exists()
