#!/usr/bin/env bash
# Build the molecule base image localhost/airgap-debian12:latest from Debian's
# packages (no registry can be pulled from here): debootstrap a minimal bookworm
# with python3, python3-apt, sudo and ca-certificates, then `podman import` it.
# The root file system tarball is cached under ~/.cache/airgap-aks-inference/ so
# a rebuild (e.g. after `podman system reset`) takes seconds.
#
# Usage: bash hack/build-base-image.sh [--force|--rebuild]
#   --force     import again from the cached tarball
#   --rebuild   debootstrap again (refreshes the cached tarball), then import
#   DEBIAN_MIRROR   mirror for debootstrap (default http://deb.debian.org/debian)
#   IMAGE           image name (default localhost/airgap-debian12:latest)
set -euo pipefail

IMAGE="${IMAGE:-localhost/airgap-debian12:latest}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
INCLUDE=python3,python3-apt,sudo,ca-certificates
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/airgap-aks-inference"
TARBALL="$CACHE/debian12-minbase-rootfs.tar.gz"
force=false
rebuild=false
case "${1:-}" in
  --force) force=true ;;
  --rebuild) force=true; rebuild=true ;;
  "") ;;
  *) echo "usage: $0 [--force|--rebuild]" >&2; exit 2 ;;
esac

if ! $force && podman image exists "$IMAGE"; then
  echo "build-base-image: $IMAGE already present"
  exit 0
fi

mkdir -p "$CACHE"
if $rebuild || [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { echo "build-base-image: debootstrap missing, run hack/podman-setup.sh" >&2; exit 1; }
  [ "$(id -u)" -eq 0 ] || { echo "build-base-image: debootstrap needs root" >&2; exit 1; }
  work="$(mktemp -d /var/tmp/airgap-debian12.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  echo "build-base-image: debootstrap $SUITE from $MIRROR (a few minutes)"
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$work/rootfs" "$MIRROR" \
    > "$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  # Make it a container image: no caches, a sources list with the components
  # the role may switch on, and a policy-rc.d-free system (the role decides).
  cat > "$work/rootfs/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
SRC
  echo 'APT::Install-Recommends "false";' > "$work/rootfs/etc/apt/apt.conf.d/90-no-recommends"
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/archives/"*.deb
  : > "$work/rootfs/etc/machine-id"
  tar -C "$work/rootfs" --numeric-owner -czf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
else
  echo "build-base-image: reusing $TARBALL"
fi

podman import --quiet \
  --change 'CMD ["/bin/sh", "-c", "trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'LABEL org.opencontainers.image.title=airgap-debian12' \
  --change 'LABEL org.opencontainers.image.description=Debian 12 minbase for airgap.aks_inference molecule tests' \
  "$TARBALL" "$IMAGE" >/dev/null
echo "build-base-image: imported $IMAGE"
