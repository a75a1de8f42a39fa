#!/usr/bin/env bash
# Run every molecule scenario of the collection (extensions/molecule/*):
# podman set-up, the base image when missing, then `molecule test` for each
# scenario, printing the time each took and the total.
#
# Usage: bash hack/molecule.sh [scenario ...]     (default: all scenarios)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

start_all=$(date +%s)
bash hack/podman-setup.sh
bash hack/bootstrap.sh
bash hack/build-base-image.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections"

if [ "$#" -gt 0 ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <(find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' \
    | sed 's|^extensions/molecule/||' | sort)
fi

failed=()
timings=()
for scenario in "${scenarios[@]}"; do
  echo "=== molecule test -s $scenario"
  t0=$(date +%s)
  if molecule test -s "$scenario"; then status=passed; else status=FAILED; failed+=("$scenario"); fi
  t1=$(date +%s)
  timings+=("$(printf '%-10s %-7s %4ds' "$scenario" "$status" $((t1 - t0)))")
done

echo "=== molecule summary"
printf '%s\n' "${timings[@]}"
echo "total $(( $(date +%s) - start_all ))s (set-up included)"
echo "$(( ${#scenarios[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ]
