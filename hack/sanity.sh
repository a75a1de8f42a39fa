#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection placed where ansible-test
# wants it (ansible_collections/airgap/aks_inference), with the current venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${SANITY_WORKDIR:-${XDG_CACHE_HOME:-$HOME/.cache}/airgap-aks-inference/sanity}"
DEST="$WORK/ansible_collections/airgap/aks_inference"
mkdir -p "$DEST"
rsync -a --delete \
  --exclude .git --exclude .ansible --exclude .venv --exclude .cache --exclude .collections --exclude .emulator \
  --exclude .pytest_cache --exclude __pycache__ --exclude 'tests/output' --exclude 'benchmarks/results' \
  "$ROOT/" "$DEST/"
# ansible-test bootstraps pip in its venvs with a script from a host we cannot
# reach; give it the stand-in for the pip version it pins.
PIP_VERSION="$(python - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)"
mkdir -p "$HOME/.ansible/test/cache"
cp "$ROOT/hack/get-pip-standin.py" "$HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py"
cd "$DEST"
PY="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
# Only the files of the collection, as git would list them (ansible-test reads this when there is no .git).
exec ansible-test sanity --color no --python "$PY" "$@"
