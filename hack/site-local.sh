#!/usr/bin/env bash
# The main job on the local default (`make site`): playbooks/site.yml with inventories/local, end to end,
# without Azure. Nothing here talks to anything but 127.0.0.1 (and the Debian and PyPI mirrors that
# install packages). What it prepares, then runs and stops again:
#
#   * the ARM emulator on 127.0.0.1 (tests/emulator/; .emulator/emulator.json), Azure for every Azure stage;
#   * the stand-ins of the gpu_jumpbox molecule scenarios (tests/molecule_fixtures/standin_server.py) on
#     127.0.0.1: NVIDIA's apt repository (a stand-in toolkit), a PyPI mirror, IMDS and ACR's token exchange;
#   * the jump box: the podman container airgap-jumpbox-local from localhost/airgap-debian12:latest
#     (hack/podman-setup.sh and hack/build-base-image.sh when needed), host network, with
#       .cache/local-share  at /mnt/models (read-write): stands in for the NFS share (a bind mount is a mount
#                           point, so model_weights' require_mount holds);
#       .cache/local-model  at /media/model-source (read-only): the "removable media" with the model;
#       the stand-ins' CA   at /usr/local/share/airgap-local/standin-tls (read-only);
#   * a small generated model in .cache/local-model (tests/fixtures/weights_model.py: safetensors shards,
#     their index, config and tokenizer files; a few MiB).
#
# On exit the emulator and the stand-ins are stopped and the container is stopped but KEPT, so the next
# `make site` reuses what the jump box stages installed (a second run is much faster and the host stages
# report no changes). The emulator keeps its resources in memory only: every run builds the Azure side
# anew on a fresh emulator. The container is recreated when its image or mounts change.
#
# Usage: bash hack/site-local.sh [ansible-playbook options, e.g. --tags weights or -v]
#   SITE_LOCAL_JUMPBOX=remove   remove the container on exit instead of keeping it (stopped)
#   SITE_LOCAL_FRESH=1          start from nothing: remove the container, empty the share, regenerate the model
#   EMULATOR_PORT, EMULATOR_TIME_SCALE                      the emulator (default: a free port, 0.01)
#   AIRGAP_STANDIN_HTTP_PORT, AIRGAP_STANDIN_HTTPS_PORT     the stand-ins (default 38090, 38453)
# One `make site` at a time per machine (the container name and the stand-ins' ports are fixed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
START=$SECONDS

JUMPBOX=airgap-jumpbox-local                    # inventories/local/hosts.yml
IMAGE="${IMAGE:-localhost/airgap-debian12:latest}"
CACHE="$ROOT/.cache"
SHARE="$CACHE/local-share"                      # -> /mnt/models (gpu_jumpbox_nfs_mount_point)
MODEL="$CACHE/local-model"                      # -> /media/model-source (model_weights_src)
STATE="$CACHE/site-local"
STANDIN="$STATE/standin"                        # tls/ -> /usr/local/share/airgap-local/standin-tls
SUMMARY="$CACHE/reports/site-summary.txt"       # site_summary_file (the verify role's report directory)
WORKDIR="$ROOT/.emulator"
export AIRGAP_STANDIN_HTTP_PORT="${AIRGAP_STANDIN_HTTP_PORT:-38090}"
export AIRGAP_STANDIN_HTTPS_PORT="${AIRGAP_STANDIN_HTTPS_PORT:-38453}"
# the generated model: shards, bytes per shard, seed (4 x 1.5 MiB, about 6 MiB with config and tokenizer)
MODEL_ARGS="4 1572864 7"

say() { echo "site-local: $*"; }

EMU_PID=""
STANDIN_UP=""
JUMPBOX_STARTED=false
cleaned=false
cleanup() {
  $cleaned && return 0
  cleaned=true
  if [ -n "$STANDIN_UP" ]; then   # also when a killed run left them up: their state directory is ours
    wait "$STANDIN_UP" 2>/dev/null || true
    "$PY" tests/molecule_fixtures/standin_server.py down --dir "$STANDIN" | sed 's/^/site-local: /' || true
  fi
  if [ -n "$EMU_PID" ]; then
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
    say "ARM emulator stopped (its resources lived in memory only)"
  fi
  if $JUMPBOX_STARTED; then
    if [ "${SITE_LOCAL_JUMPBOX:-keep}" = remove ]; then
      podman rm -f -t 5 "$JUMPBOX" >/dev/null && say "jump box container $JUMPBOX removed"
    else
      podman stop -t 5 "$JUMPBOX" >/dev/null && say "jump box container $JUMPBOX stopped and kept for the next run" \
        "(SITE_LOCAL_JUMPBOX=remove removes it; podman rm -f $JUMPBOX)"
    fi
  fi
}
trap cleanup EXIT

# ------------------------------------------------------------------ tools
bash hack/bootstrap.sh
PY="$ROOT/.venv/bin/python"
# podman, runc, debootstrap, dpkg-dev, gnupg and the engine settings; idempotent and quick when all is there
out="$(bash hack/podman-setup.sh)"; grep -v -e 'already' -e 'runtime and storage' <<<"$out" || true
mkdir -p "$SHARE" "$MODEL" "$STANDIN/tls" "$WORKDIR" "$(dirname "$SUMMARY")"
rm -f "$SUMMARY"

if [ "${SITE_LOCAL_FRESH:-0}" = 1 ]; then
  say "SITE_LOCAL_FRESH=1: removing the container, emptying the share, regenerating the model"
  podman rm -f -t 5 "$JUMPBOX" >/dev/null 2>&1 || true
  find "$SHARE" "$MODEL" -mindepth 1 -delete
  rm -f "$STATE/local-model.args"
fi

# ------------------------------------------------------------------ stand-ins (in the background)
# The first run builds the signed apt repository and the PyPI mirror (wheels from PyPI, cached in
# ~/.cache/airgap-aks-inference/wheels); later runs reuse them.
"$PY" tests/molecule_fixtures/standin_server.py up --dir "$STANDIN" \
  --http-port "$AIRGAP_STANDIN_HTTP_PORT" --https-port "$AIRGAP_STANDIN_HTTPS_PORT" --lifetime 7200 \
  --pypi-requirement 'huggingface_hub>=0.23' >"$STATE/standin-up.log" 2>&1 &
STANDIN_UP=$!

# ------------------------------------------------------------------ the model on "removable media"
# Regenerated in place (same directory, so a container that mounts it keeps seeing it) when missing or
# when the generator's arguments changed.
if [ "$(cat "$STATE/local-model.args" 2>/dev/null)" != "$MODEL_ARGS" ] || [ -z "$(ls -A "$MODEL")" ]; then
  find "$MODEL" -mindepth 1 -delete
  # shellcheck disable=SC2086  # MODEL_ARGS: three numbers, split on purpose
  "$PY" - "$MODEL" $MODEL_ARGS <<'PY'
import os, sys
sys.path.insert(0, os.path.join("tests", "fixtures"))
from weights_model import make_model  # noqa: E402
root, shards, shard_bytes, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
files = make_model(root, shards=shards, shard_bytes=shard_bytes, seed=seed)
size = sum(os.path.getsize(os.path.join(root, name)) for name in files)
print("site-local: generated the model in %s: %d files, %.1f MiB" % (root, len(files), size / 1048576.0))
PY
  echo "$MODEL_ARGS" > "$STATE/local-model.args"
fi

# ------------------------------------------------------------------ the jump box container
out="$(bash hack/build-base-image.sh)"; grep -v 'already present' <<<"$out" || true   # only when missing
spec="$(printf '%s\n' "image=$(podman image inspect --format '{{.Id}}' "$IMAGE")" network=host \
  "$SHARE:/mnt/models:rw" "$MODEL:/media/model-source:ro" "$STANDIN/tls:/usr/local/share/airgap-local/standin-tls:ro" \
  | sha256sum | cut -c1-16)"
if podman container exists "$JUMPBOX"; then
  have="$(podman container inspect --format '{{index .Config.Labels "io.airgap.site-local.spec"}}' "$JUMPBOX")"
  if [ "$have" != "$spec" ]; then
    say "the jump box container's image or mounts changed: recreating $JUMPBOX"
    podman rm -f -t 5 "$JUMPBOX" >/dev/null
  fi
fi
if podman container exists "$JUMPBOX"; then
  if [ "$(podman container inspect --format '{{.State.Running}}' "$JUMPBOX")" = true ]; then
    say "jump box container $JUMPBOX already running (left running by someone else: not stopped at the end)"
  else
    podman start "$JUMPBOX" >/dev/null
    JUMPBOX_STARTED=true
    say "jump box container $JUMPBOX reused (started)"
  fi
else
  podman run -d --name "$JUMPBOX" --network host --label "io.airgap.site-local.spec=$spec" \
    -v "$SHARE:/mnt/models:rw" -v "$MODEL:/media/model-source:ro" \
    -v "$STANDIN/tls:/usr/local/share/airgap-local/standin-tls:ro" "$IMAGE" >/dev/null
  JUMPBOX_STARTED=true
  say "jump box container $JUMPBOX created from $IMAGE (host network; $SHARE at /mnt/models)"
fi

# ------------------------------------------------------------------ the ARM emulator
rm -f "$WORKDIR/emulator.json"
PYTHONPATH="$ROOT/tests/emulator" "$PY" -m armemu --workdir "$WORKDIR" --port "${EMULATOR_PORT:-0}" \
  --time-scale "${EMULATOR_TIME_SCALE:-0.01}" 2>"$WORKDIR/emulator.log" &
EMU_PID=$!
for _ in $(seq 1 100); do
  [ -s "$WORKDIR/emulator.json" ] && break
  kill -0 "$EMU_PID" 2>/dev/null || { cat "$WORKDIR/emulator.log" >&2; exit 1; }
  sleep 0.1
done
say "ARM emulator: $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORKDIR/emulator.json") (log: $WORKDIR/emulator.log)"

# ------------------------------------------------------------------ stand-ins up?
if ! wait "$STANDIN_UP"; then
  cat "$STATE/standin-up.log" >&2
  say "the stand-ins did not start (log: $STANDIN/standin.log)" >&2
  exit 1
fi
sed 's/^/site-local: /' "$STATE/standin-up.log"
say "prepared in $((SECONDS - START))s; running playbooks/site.yml"

# ------------------------------------------------------------------ site.yml
rc=0
"$ROOT/.venv/bin/ansible-playbook" -i inventories/local playbooks/site.yml "$@" || rc=$?
cleanup
if [ "$rc" -ne 0 ]; then
  say "playbooks/site.yml FAILED (rc $rc) after $((SECONDS - START))s"
  exit "$rc"
fi
echo
if [ -s "$SUMMARY" ]; then
  cat "$SUMMARY"
fi
say "done in $((SECONDS - START))s"
