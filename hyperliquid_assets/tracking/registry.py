"""The registry side: loading a registered model as a probability model, and promoting a challenger.

`promote_challenger` scores the current champion on the challenger's day D (out of sample for both), applies
the PromotionPolicy (promotion.py) to the challenger's logged oos_* metrics and the champion's score, records
the decision on the challenger's model version as tags (promotion.decision / reason / metric / candidate /
baseline / champion / champion_version / evaluated_on / policy / decided_at), moves the `champion` alias when
it promotes, and returns the decision for the Dagster materialization. Promotions of one registered model must
not run concurrently (the alias move is read-then-write).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import polars as pl

from hyperliquid_assets.modeling.evaluate import evaluate_predictions
from hyperliquid_assets.modeling.inputs import FEATURES
from hyperliquid_assets.modeling.predict import predict_day, predict_rows
from hyperliquid_assets.modeling.training_set import EvaluationDay
from hyperliquid_assets.tracking.config import TrackingConfig
from hyperliquid_assets.tracking.model_runs import CHAMPION, DAY_TAG
from hyperliquid_assets.tracking.promotion import PromotionDecision, PromotionPolicy, decide_promotion
from hyperliquid_assets.tracking.store import using_store

log = logging.getLogger(__name__)


class PyfuncProbabilityModel:
    """A logged model loaded through pyfunc (its predict is predict_proba), as a modeling ProbabilityModel."""

    def __init__(self, pyfunc_model) -> None:
        self.pyfunc_model = pyfunc_model

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pyfunc_model.predict(features), dtype=np.float64)


def load_probability_model(config: TrackingConfig, model_uri: str) -> PyfuncProbabilityModel:
    """`models:/<name>/<version>`, `models:/<name>@champion`, `models:/m-<id>` or `runs:/<run>/model`."""
    import mlflow.pyfunc

    with using_store(config):
        return PyfuncProbabilityModel(mlflow.pyfunc.load_model(model_uri))


def _alias_version(client, name: str, alias: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def promote_challenger(
    config: TrackingConfig,
    registered_model: str,
    version: str,
    evaluation: EvaluationDay,
    policy: PromotionPolicy = PromotionPolicy(),
) -> PromotionDecision:
    """Decide whether `version` replaces the champion (module docstring); `evaluation` is the version's day D."""
    with using_store(config) as client:
        candidate = client.get_model_version(registered_model, version)
        candidate_day = candidate.tags.get(DAY_TAG)
        if candidate_day != evaluation.day.isoformat():
            raise ValueError(f"{registered_model} v{version} was trained for {candidate_day}; it is judged on its own "
                             f"day, not on {evaluation.day}")
        logged = client.get_run(candidate.run_id).data.metrics
        candidate_metrics = {k.removeprefix("oos_"): v for k, v in logged.items() if k.startswith("oos_")}
        champion = _alias_version(client, registered_model, CHAMPION)
        champion_metrics = None
        label = "the champion"
        if champion is not None:
            champion_day = champion.tags.get(DAY_TAG, "")
            label = f"champion v{champion.version} ({champion_day})"
            if str(champion.version) == str(version):
                decision = PromotionDecision(True, f"already {CHAMPION}: v{version} holds the alias", policy.metric,
                                             candidate_metrics[policy.metric],
                                             candidate_metrics[f"{policy.baseline}_{policy.metric}"])
                return replace(decision, champion_version=str(champion.version), version=str(version),
                               registered_model=registered_model)
            if date.fromisoformat(champion_day) > evaluation.day:
                decision = PromotionDecision(
                    False, f"kept {label}: it was trained for a later day than {evaluation.day}, so "
                           f"{evaluation.day} is not out of sample for it and an older model does not replace it",
                    policy.metric, candidate_metrics[policy.metric],
                    candidate_metrics[f"{policy.baseline}_{policy.metric}"])
                return _record(client, registered_model, str(version), champion, decision, evaluation, policy)
            champion_metrics = _score_champion(registered_model, str(champion.version), evaluation)
        decision = decide_promotion(candidate_metrics, champion_metrics, policy, label)
        return _record(client, registered_model, str(version), champion, decision, evaluation, policy)


def _score_champion(name: str, version: str, evaluation: EvaluationDay) -> dict[str, float]:
    """The champion's metrics on the candidate's day, from the same feature file, on its own declared features."""
    import mlflow.models
    import mlflow.pyfunc

    uri = f"models:/{name}/{version}"
    info = mlflow.models.get_model_info(uri)
    target = evaluation.spec.target
    if list(info.metadata.get("class_names", [])) != list(target.class_names) or \
            info.metadata.get("target") != target.direction_column:
        raise ValueError(f"{name} v{version} predicts {info.metadata.get('target')} {info.metadata.get('class_names')}, "
                         f"the challenger {target.direction_column} {list(target.class_names)}: one registered model "
                         "must keep one target")
    columns = tuple(info.signature.inputs.input_names())
    model = PyfuncProbabilityModel(mlflow.pyfunc.load_model(uri))
    if set(columns) <= set(evaluation.features.columns):  # the usual case: the same features as the challenger
        predictions = predict_rows(model, evaluation.features.select("bar_time", *columns), evaluation.book_known, target)
    else:  # a champion with other features: read them from the same file the challenger was judged on
        features = next(i for i in evaluation.inputs if i.table == FEATURES)
        table = pl.read_parquet(features.path)
        if table.height != evaluation.features.height:
            raise ValueError(f"{features.path} changed since the challenger was evaluated")
        predictions = predict_day(model, table, replace(evaluation.spec, features=columns), evaluation.bar)
    prior = np.full(len(target.directions), 1.0 / len(target.directions))  # baselines are not used for the champion
    return dict(evaluate_predictions(predictions, evaluation.target_class, prior, target).metrics)


def _record(client, name: str, version: str, champion, decision: PromotionDecision, evaluation: EvaluationDay,
            policy: PromotionPolicy) -> PromotionDecision:
    tags = {
        "promotion.decision": "promoted" if decision.promote else "not promoted",
        "promotion.reason": decision.reason,
        "promotion.metric": decision.metric,
        "promotion.candidate": f"{decision.candidate:.6f}",
        "promotion.baseline": f"{decision.baseline:.6f}",
        "promotion.champion": "none" if decision.champion is None else f"{decision.champion:.6f}",
        "promotion.champion_version": "none" if champion is None else str(champion.version),
        "promotion.evaluated_on": evaluation.day.isoformat(),
        "promotion.policy": json.dumps(asdict(policy)),
        "promotion.decided_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    if decision.promote:
        client.set_registered_model_alias(name, CHAMPION, version)
        if champion is not None:
            client.set_model_version_tag(name, str(champion.version), "promotion.replaced_by", version)
    log.info("%s v%s: %s", name, version, decision.reason)
    return replace(decision, champion_version=None if champion is None else str(champion.version), version=version,
                   registered_model=name)
