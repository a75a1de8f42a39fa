#!/usr/bin/env bash
# Build the collection tarball and check it carries no caches, venvs or tests output.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/.cache/build}"
mkdir -p "$OUT"
rm -f "$OUT"/airgap-aks_inference-*.tar.gz
"$ROOT/.venv/bin/ansible-galaxy" collection build "$ROOT" --output-path "$OUT" --force >/dev/null
tarball="$(ls "$OUT"/airgap-aks_inference-*.tar.gz)"
bad="$(tar -tzf "$tarball" | grep -E '(^|/)(\.venv|\.cache|\.collections|\.emulator|\.pytest_cache|__pycache__|\.git)(/|$)|\.pyc$|tests/output/' || true)"
if [ -n "$bad" ]; then
  echo "the tarball carries files it must not:" >&2
  echo "$bad" | head -20 >&2
  exit 1
fi
echo "built $tarball ($(tar -tzf "$tarball" | wc -l) files, $(du -h "$tarball" | cut -f1))"
