#!/usr/bin/env bash
# The whole test suite: set-up, unit + emulator integration tests (pytest),
# molecule role tests in podman, ansible-test sanity, ansible-lint, build check.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
declare -a RESULTS=()
failed=0
passed=0

step() {
  local name="$1"; shift
  local start=$SECONDS
  echo "=== $name"
  if "$@"; then
    RESULTS+=("ok      $name ($((SECONDS - start))s)")
    passed=$((passed + 1))
  else
    RESULTS+=("FAILED  $name ($((SECONDS - start))s)")
    failed=$((failed + 1))
  fi
}

set -e
bash hack/system-packages.sh
bash hack/bootstrap.sh
# podman (configured for this machine), the Debian base image, and Debian's
# docker-registry + skopeo: the molecule scenarios and the weight-image tests need them.
bash hack/podman-setup.sh
bash hack/build-base-image.sh
bash hack/local-registry.sh install
set +e

step "pytest (unit, emulator, integration)" pytest -q -p no:cacheprovider tests
step "molecule (podman)" bash hack/molecule.sh
step "make site (the main job on the local default)" bash hack/site-local.sh
step "ansible-test sanity" bash hack/sanity.sh
step "ansible-lint (production profile)" ansible-lint --profile production
step "changelog fragments" antsibull-changelog lint
step "collection build" bash hack/build.sh

echo
echo "=== summary"
printf '%s\n' "${RESULTS[@]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
