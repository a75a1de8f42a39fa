#!/usr/bin/env bash
# The main job on the local default: start the ARM emulator on 127.0.0.1, run
# playbooks/site.yml against it with inventories/local, stop the emulator.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash hack/bootstrap.sh
PY="$ROOT/.venv/bin/python"
WORKDIR="$ROOT/.emulator"
mkdir -p "$WORKDIR"
rm -f "$WORKDIR/emulator.json"
PYTHONPATH="$ROOT/tests/emulator" "$PY" -m armemu --workdir "$WORKDIR" --port "${EMULATOR_PORT:-0}" \
  --time-scale "${EMULATOR_TIME_SCALE:-0.01}" 2>"$WORKDIR/emulator.log" &
EMU_PID=$!
trap 'kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -s "$WORKDIR/emulator.json" ] && break
  kill -0 "$EMU_PID" 2>/dev/null || { cat "$WORKDIR/emulator.log" >&2; exit 1; }
  sleep 0.1
done
echo "ARM emulator: $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORKDIR/emulator.json") (log: $WORKDIR/emulator.log)"
"$ROOT/.venv/bin/ansible-playbook" -i inventories/local playbooks/site.yml "$@"
