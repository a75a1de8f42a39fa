#!/usr/bin/env bash
# Prepare a checkout: virtualenv with requirements-dev.txt, and the collection
# linked where ansible looks for it. Idempotent; a second run only checks.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r requirements-dev.txt
  echo "$want" > "$STAMP"
fi
mkdir -p .collections/ansible_collections/airgap
ln -sfn ../../.. .collections/ansible_collections/airgap/aks_inference
