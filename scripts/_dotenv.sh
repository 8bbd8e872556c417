# Sourced by the scripts that run the pipeline (not by the tests): the optional .env at the project root, the
# user's local settings (HL_* variables; see the README). Dagster's own commands read it too.
if [ -f "$ROOT/.env" ]; then
  set -a
  # shellcheck disable=SC1091
  source "$ROOT/.env"
  set +a
fi
