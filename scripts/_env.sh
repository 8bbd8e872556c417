# Sourced by the scripts: create or reuse .venv with everything installed, and the project's environment.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3.11}"
STAMP=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi
if [ ! -f "$STAMP" ]; then
  echo "installing into .venv (uv, about 40 s)" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv 2>&1 | grep -v "is ignored" >&2 || true
  .venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -e ".[test]"
  rm -f .venv/.installed-*
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export DAGSTER_HOME="$ROOT"
export MLFLOW_TRACKING_URI="${MLFLOW_TRACKING_URI:-sqlite:///$ROOT/mlruns/mlflow.db}"
