"""Where runs and models are tracked: the tracking URI, the artifact root, the experiment and the UI's address.

Defaults: `sqlite:///<project>/mlruns/mlflow.db` (or MLFLOW_TRACKING_URI when set) with artifacts under
`<project>/mlruns/`, experiment `hyperliquid_assets`, UI at http://127.0.0.1:5000 (what `scripts/mlflow-ui`
serves). MLflow's file store is not supported by MLflow 3.17 without an opt-in; use SQLite or a server.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from hyperliquid_assets.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "hyperliquid_assets"
DEFAULT_UI_URL = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class TrackingConfig:
    tracking_uri: str
    artifact_root: str  # an absolute local path or a URI (s3://...); new experiments put their artifacts here
    experiment: str = DEFAULT_EXPERIMENT
    ui_url: str = DEFAULT_UI_URL

    def __post_init__(self) -> None:
        if not self.tracking_uri:
            raise ValueError("tracking_uri must not be empty")
        if not self.experiment:
            raise ValueError("experiment must not be empty")
        if "://" not in self.artifact_root and not Path(self.artifact_root).is_absolute():
            raise ValueError(f"artifact_root {self.artifact_root!r} must be an absolute path or a URI")

    @classmethod
    def local(cls, directory: Path | str, experiment: str = DEFAULT_EXPERIMENT, ui_url: str = DEFAULT_UI_URL) -> TrackingConfig:
        """A SQLite store `<directory>/mlflow.db` with artifacts under `<directory>`."""
        root = Path(directory).resolve()
        return cls(f"sqlite:///{root / 'mlflow.db'}", str(root), experiment, ui_url)

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"

    def model_version_url(self, name: str, version: str) -> str:
        return f"{self.ui_url.rstrip('/')}/#/models/{name}/versions/{version}"

    def prepare(self) -> None:
        """Create the local directories a SQLite store and a local artifact root need."""
        if self.tracking_uri.startswith("sqlite:///"):
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        if "://" not in self.artifact_root:
            Path(self.artifact_root).mkdir(parents=True, exist_ok=True)


def default_tracking_config(project_root: Path = PROJECT_ROOT, env: Mapping[str, str] = os.environ) -> TrackingConfig:
    """The project's store: MLFLOW_TRACKING_URI / HL_MLFLOW_ARTIFACT_ROOT / HL_MLFLOW_EXPERIMENT / HL_MLFLOW_UI_URL
    when set, else `<project>/mlruns/` (SQLite database and artifacts)."""
    mlruns = (Path(project_root) / "mlruns").resolve()
    return TrackingConfig(
        tracking_uri=env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{mlruns / 'mlflow.db'}",
        artifact_root=env.get("HL_MLFLOW_ARTIFACT_ROOT") or str(mlruns),
        experiment=env.get("HL_MLFLOW_EXPERIMENT") or DEFAULT_EXPERIMENT,
        ui_url=env.get("HL_MLFLOW_UI_URL") or DEFAULT_UI_URL,
    )
