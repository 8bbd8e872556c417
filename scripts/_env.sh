# Sourced by the scripts: create or reuse .venv with exactly what uv.lock pins, and the project's environment.
# EXTRAS (default "test") names the optional dependency groups to install, e.g. EXTRAS="test bench".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV_VERSION=0.13.9
PY="${PYTHON:-python3.11}"
EXTRAS="${EXTRAS:-test}"
STAMP=".venv/.installed-$( (cat uv.lock hyperliquid_assets/formats/_l2_scan.c; echo "$EXTRAS $UV_VERSION") | sha256sum | cut -c1-16)"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi
if [ ! -f "$STAMP" ]; then
  if [ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" 2>&1 | grep -v "is ignored" >&2 || true
  fi
  echo "installing the locked dependencies into .venv (uv sync --frozen; extras: $EXTRAS)" >&2
  extras=()
  for extra in $EXTRAS; do extras+=(--extra "$extra"); done
  UV_PROJECT_ENVIRONMENT="$ROOT/.venv" UV_PYTHON_DOWNLOADS=never \
    .venv/bin/uv sync --frozen --quiet --compile-bytecode --python .venv/bin/python "${extras[@]}"
  rm -f .venv/.installed-*
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export DAGSTER_HOME="$ROOT"
export MLFLOW_TRACKING_URI="${MLFLOW_TRACKING_URI:-sqlite:///$ROOT/mlruns/mlflow.db}"
