#!/usr/bin/env bash
# Start the Dagster UI for hippograph on 127.0.0.1 (`make ui`): `dagster dev` runs the web
# server plus the daemon (schedules, the inbox sensor, run queue), with the Dagster instance kept
# under the data directory, so the runs of `python -m dagster_project.run` (make demo) show too.
#
#   scripts/ui.sh                 # http://127.0.0.1:3000
#   DAGSTER_PORT=3001 scripts/ui.sh
#
# Environment: HIPPOGRAPH_DATA_DIR (default ./data), DAGSTER_HOME (default $DATA_DIR/dagster),
# DAGSTER_HOST (default 127.0.0.1), DAGSTER_PORT (default 3000). Stop it with Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${VENV_BIN:-$ROOT/.venv/bin}"
if [ ! -x "$BIN/dagster" ]; then
    echo "error: $BIN/dagster not found; run 'make setup' first" >&2
    exit 1
fi

DATA_DIR="${HIPPOGRAPH_DATA_DIR:-$ROOT/data}"
export DAGSTER_HOME="${DAGSTER_HOME:-$DATA_DIR/dagster}"
mkdir -p "$DAGSTER_HOME"
touch "$DAGSTER_HOME/dagster.yaml"
HOST="${DAGSTER_HOST:-127.0.0.1}"
PORT="${DAGSTER_PORT:-3000}"

echo "Dagster UI: http://$HOST:$PORT  (DAGSTER_HOME=$DAGSTER_HOME)"
exec "$BIN/dagster" dev -m dagster_project -h "$HOST" -p "$PORT"
