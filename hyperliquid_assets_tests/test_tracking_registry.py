"""Champion and challenger in a real MLflow registry: a first champion, a champion replaced, a champion kept,
an older model never displacing a newer champion, each with its recorded reason; `models:/<name>@champion`
loads and scores features. Plus the promotion rule on hand-made metrics."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from hyperliquid_assets.modeling.inputs import partition_files
from hyperliquid_assets.modeling.partition import train_partition
from hyperliquid_assets.modeling.predict import predict_day, predict_partition
from hyperliquid_assets.modeling.specs import LOGREG, ModelSpec, TrainingWindow
from hyperliquid_assets.tracking.config import TrackingConfig
from hyperliquid_assets.tracking.model_runs import log_model_run
from hyperliquid_assets.tracking.promotion import PromotionPolicy, decide_promotion
from hyperliquid_assets.tracking.registry import load_probability_model, promote_challenger
from hyperliquid_assets_tests.research_lake import shared_research_lake

D3, D4 = date(2026, 1, 3), date(2026, 1, 4)
WINDOW = TrainingWindow(days=2, stride=10)
# The same registered model (hl_logreg_BTC), fitted on one book feature only: a real but weaker model.
WEAK = ModelSpec("logreg", "logreg", features=("book_imbalance_5",))
NAME = "hl_logreg_BTC"


def version_tags(client, version: str) -> dict[str, str]:
    return client.get_model_version(NAME, version).tags


def test_champion_first_replaced_kept_and_never_displaced_by_an_older_model(tmp_path):
    from mlflow import MlflowClient

    lake = shared_research_lake(strength=0.5, seed=7, days=4)
    config = TrackingConfig.local(tmp_path / "mlruns")
    client = MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)

    def tracked(spec: ModelSpec, day: date):
        result = train_partition(lake.root, "BTC", day, spec, WINDOW)
        return result, log_model_run(config, result)

    # v1, weak, day 3: no champion yet; it clears the baseline, so it becomes the first champion.
    weak3, run1 = tracked(WEAK, D3)
    first = promote_challenger(config, NAME, run1.version, weak3.evaluation)
    assert first.promote and first.reason.startswith("promoted: no champion yet; candidate roc_auc 0.5")
    assert 0.51 < first.candidate < 0.57
    assert version_tags(client, "1")["promotion.decision"] == "promoted"
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"

    # v2, full, day 4: beats the weak champion scored on the same day 4 -> replaced.
    full4, run2 = tracked(LOGREG, D4)
    replaced = promote_challenger(config, NAME, run2.version, full4.evaluation)
    assert replaced.promote and replaced.champion_version == "1"
    assert replaced.champion is not None and replaced.candidate > replaced.champion + 0.02
    assert "beats champion v1 (2026-01-03)'s" in replaced.reason
    tags = version_tags(client, "2")
    assert tags["promotion.decision"] == "promoted" and tags["promotion.reason"] == replaced.reason
    assert tags["promotion.champion_version"] == "1" and tags["promotion.evaluated_on"] == "2026-01-04"
    assert version_tags(client, "1")["promotion.replaced_by"] == "2"
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "2"

    # v3, weak, day 4: challenger, but worse than champion v2 on day 4 -> kept, with the reason.
    weak4, run3 = tracked(WEAK, D4)
    kept = promote_challenger(config, NAME, run3.version, weak4.evaluation)
    assert not kept.promote and kept.champion_version == "2"
    assert kept.reason.startswith("kept champion v2 (2026-01-04): candidate roc_auc")
    assert "does not beat champion v2 (2026-01-04)'s" in kept.reason
    assert kept.champion == pytest.approx(replaced.candidate, abs=1e-9)  # the champion scored again on day 4
    tags = version_tags(client, "3")
    assert tags["promotion.decision"] == "not promoted" and tags["promotion.reason"] == kept.reason
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "2"
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == "3"

    # v4, full, day 3: day 3 is inside champion v2's training window, so it cannot be judged there.
    full3, run4 = tracked(LOGREG, D3)
    older = promote_challenger(config, NAME, run4.version, full3.evaluation)
    assert not older.promote and "trained for a later day than 2026-01-03" in older.reason
    assert version_tags(client, "4")["promotion.decision"] == "not promoted"

    # The champion loads by alias and scores a frame of features exactly as the model that was trained.
    champion = load_probability_model(config, f"models:/{NAME}@champion")
    table = pl.read_parquet(partition_files(lake.root, "BTC", D4, "1s").features)
    scored = predict_day(champion, table, LOGREG, "1s")
    assert scored.drop_nulls().height > 86_000
    assert scored.equals(predict_day(full4.model, table, LOGREG, "1s"))
    # The predictions asset's path: the exact version, applied to the day read from the lake.
    exact = load_probability_model(config, full4_version_uri := f"models:/{NAME}/{run2.version}")
    from_lake, features_file = predict_partition(exact, lake.root, "BTC", D4, LOGREG)
    assert from_lake.equals(scored) and features_file.day == D4 and full4_version_uri.endswith("/2")
    with pytest.raises(ValueError, match="it is judged on its own day"):
        promote_challenger(config, NAME, run4.version, full4.evaluation)


DAY_METRICS = {"roc_auc": 0.56, "prior_roc_auc": 0.5, "majority_roc_auc": 0.5, "log_loss": 0.98, "prior_log_loss": 1.0,
               "accuracy": 0.53, "prior_accuracy": 0.44, "majority_accuracy": 0.44}


def test_promotion_rule_on_hand_made_metrics():
    assert decide_promotion(DAY_METRICS, None).promote
    assert not decide_promotion({**DAY_METRICS, "roc_auc": 0.505}, None).promote
    worse_than_prior = decide_promotion({**DAY_METRICS, "log_loss": 1.001}, None)
    assert not worse_than_prior.promote and "is not below the prior baseline's 1.0000" in worse_than_prior.reason
    # "Promote only above 55% accuracy", against the majority class.
    rule = PromotionPolicy(metric="accuracy", baseline="majority", min_gain_over_baseline=0.0, min_value=0.55)
    missed = decide_promotion(DAY_METRICS, None, rule)
    assert not missed.promote and missed.reason.endswith("misses the minimum 0.55")
    assert decide_promotion({**DAY_METRICS, "accuracy": 0.56}, None, rule).promote
    # Beating the champion needs the margin, not just any gain.
    assert not decide_promotion(DAY_METRICS, {"roc_auc": 0.559}, PromotionPolicy(min_gain_over_champion=0.002)).promote
    assert decide_promotion(DAY_METRICS, {"roc_auc": 0.557}, PromotionPolicy(min_gain_over_champion=0.002)).promote
    # Log loss as the metric: lower is better.
    by_loss = PromotionPolicy(metric="log_loss", min_gain_over_baseline=0.01)
    assert decide_promotion(DAY_METRICS, {"log_loss": 0.99}, by_loss).promote
    assert not decide_promotion(DAY_METRICS, {"log_loss": 0.975}, by_loss).promote
    assert not decide_promotion({**DAY_METRICS, "roc_auc": float("nan")}, None).promote
    with pytest.raises(ValueError, match="promotion metric"):
        PromotionPolicy(metric="sharpe")
    assert np.isclose(by_loss.gain(0.98, 1.0), 0.02)
