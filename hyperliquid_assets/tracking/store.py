"""Opening the tracking store: MLflow's fluent API keeps the tracking URI in process state, so it is set for the
duration of a `using_store` block and restored after; the experiment is created on first use with an absolute
artifact location (runs started from any directory write their artifacts to the same place)."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from hyperliquid_assets.tracking.config import TrackingConfig

log = logging.getLogger(__name__)

# MLflow draws a tqdm bar on stderr for every artifact it downloads (loading a champion, reading a run's files):
# a wall of redraws in a run's log. Off unless the user turns it on.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

# The MLflow 3 UI opens an experiment as a GenAI (traces) dashboard unless told it holds trained models.
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"


@contextmanager
def using_store(config: TrackingConfig) -> Iterator["object"]:
    """Point MLflow at the store for the block; yields an MlflowClient on it."""
    import mlflow
    from mlflow import MlflowClient

    config.prepare()
    previous_tracking, previous_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(config.tracking_uri)
    mlflow.set_registry_uri(config.tracking_uri)
    try:
        yield MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)
    finally:
        mlflow.set_tracking_uri(previous_tracking)
        mlflow.set_registry_uri(previous_registry)


def experiment_id(client, config: TrackingConfig) -> str:
    """The experiment's id, creating it (artifact location = the configured root) if it does not exist."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(config.experiment)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            raise RuntimeError(f"MLflow experiment {config.experiment!r} is deleted; restore it or choose another name")
        if found.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return found.experiment_id
    if "://" in config.artifact_root:
        location = f"{config.artifact_root.rstrip('/')}/{config.experiment}"
    else:
        location = str(Path(config.artifact_root) / config.experiment)
    try:
        return client.create_experiment(config.experiment, artifact_location=location,
                                        tags={"project": "hyperliquid_assets", EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    except MlflowException:  # created by a concurrent run in between
        found = client.get_experiment_by_name(config.experiment)
        if found is None:
            raise
        return found.experiment_id
