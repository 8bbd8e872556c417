"""The environment of a `dagster dev` a test starts: none of the developer's HL_* settings, the tests' model window
(conftest.py), and an MLflow store of the test's own, so that no run writes to the project's mlruns/."""

from __future__ import annotations

import os
from pathlib import Path


def isolated_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HL_") and not k.startswith("MLFLOW_")}
    mlruns = root / "mlruns"
    mlruns.mkdir(parents=True, exist_ok=True)
    env.update(
        HL_MODEL_WINDOW_DAYS=os.environ["HL_MODEL_WINDOW_DAYS"], HL_MODEL_STRIDE=os.environ["HL_MODEL_STRIDE"],
        MLFLOW_TRACKING_URI=f"sqlite:///{mlruns / 'mlflow.db'}", HL_MLFLOW_ARTIFACT_ROOT=str(mlruns),
    )
    return env
