#!/usr/bin/env bash
# The execution environment of execution-environment.yml, for AWX / Automation Platform.
#   hack/ee.sh create [CONTEXT]                     collection tarball + build context (no container engine needed)
#   hack/ee.sh build [TAG] [ansible-builder build options...]
#       e.g. hack/ee.sh build registry.example/airgap/aks-inference-ee:0.1.0 \
#              --build-arg EE_BASE_IMAGE=mirror.example/centos/centos:stream9
# EE_RUNTIME picks the container engine for build (podman, the default, or docker).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATH="$ROOT/.venv/bin:$PATH"
mode="${1:-create}"
shift || true

mkdir -p "$ROOT/.cache/ee"
rm -f "$ROOT"/.cache/ee/airgap-aks_inference*.tar.gz
ansible-galaxy collection build "$ROOT" --output-path "$ROOT/.cache/ee" --force >/dev/null
# A fixed name, so execution-environment.yml need not follow the version (ansible-galaxy reads the
# collection's name and version from the tarball's MANIFEST.json).
mv "$ROOT"/.cache/ee/airgap-aks_inference-*.tar.gz "$ROOT/.cache/ee/airgap-aks_inference.tar.gz"

case "$mode" in
  create)
    context="${1:-$ROOT/.cache/ee/context}"
    ansible-builder create --file "$ROOT/execution-environment.yml" --context "$context" \
      --output-filename Containerfile
    ;;
  build)
    version="$(sed -n 's/^version: *//p' "$ROOT/galaxy.yml")"
    tag="${1:-airgap-aks-inference-ee:$version}"
    shift || true
    ansible-builder build --file "$ROOT/execution-environment.yml" --context "$ROOT/.cache/ee/context" \
      --tag "$tag" --container-runtime "${EE_RUNTIME:-podman}" "$@"
    ;;
  *)
    echo "usage: $0 create [CONTEXT] | build [TAG] [ansible-builder options]" >&2
    exit 2
    ;;
esac
