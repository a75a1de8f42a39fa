#!/usr/bin/env bash
# Make this machine able to run the molecule scenarios (extensions/molecule/*):
# podman + runc + debootstrap from Debian's packages, and an engine configuration
# that works on a plain VM as root (runc as the OCI runtime, bounded default
# ulimits). Idempotent: a second run changes nothing and says so.
#
# Usage: sudo bash hack/podman-setup.sh
set -euo pipefail

CONF="${CONTAINERS_CONF_PATH:-/etc/containers/containers.conf}"
# podman/runc/debootstrap for the instances; dpkg-dev (dpkg-scanpackages) and
# gnupg build the signed stand-in apt repository (tests/molecule_fixtures/)
PACKAGES=(podman runc debootstrap dpkg-dev gnupg)

if [ "$(id -u)" -ne 0 ]; then
  echo "podman-setup: run as root (apt-get and $CONF need it)" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "podman-setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}" \
    uidmap slirp4netns fuse-overlayfs containernetworking-plugins iptables
else
  echo "podman-setup: ${PACKAGES[*]} already installed"
fi

# Merge the two settings into containers.conf, keeping every other line of an
# existing file (comments included). The TOML is edited line by line and the
# result is parsed with tomllib before it replaces the file.
mkdir -p "$(dirname "$CONF")"
python3 - "$CONF" <<'PY'
import os
import re
import sys
import tempfile
import tomllib

path = sys.argv[1]
WANT = {
    "engine": {"runtime": '"runc"'},
    "containers": {"default_ulimits": '["nofile=1024:1024", "nproc=4096:4096"]'},
}
try:
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
except FileNotFoundError:
    lines = []

header = re.compile(r"^\s*\[\[?([^\[\]]+)\]\]?\s*(#.*)?$")


def section_bounds(name):
    """Line range (header, end) of the table [name], or (None, None)."""
    start = None
    for i, line in enumerate(lines):
        m = header.match(line)
        if not m:
            continue
        if start is not None:
            return start, i
        if line.strip().startswith("[[") is False and m.group(1).strip() == name:
            start = i
    return (start, len(lines)) if start is not None else (None, None)


def value_end(i, end):
    """Last line of the value that starts on line i (arrays may span lines)."""
    depth = 0
    for j in range(i, end):
        text = lines[j].split("=", 1)[1] if j == i else lines[j]
        text = re.sub(r'"[^"]*"', "", text.split("#", 1)[0])
        depth += text.count("[") - text.count("]")
        if depth <= 0:
            return j
    return end - 1


for section, keys in WANT.items():
    for key, value in keys.items():
        start, end = section_bounds(section)
        if start is None:
            if lines and lines[-1].strip():
                lines.append("")
            lines += ["[%s]" % section, "%s = %s" % (key, value)]
            continue
        keyre = re.compile(r"^\s*%s\s*=" % re.escape(key))
        for i in range(start + 1, end):
            if keyre.match(lines[i]):
                last = value_end(i, end)
                lines[i:last + 1] = ["%s = %s" % (key, value)]
                break
        else:
            lines.insert(start + 1, "%s = %s" % (key, value))

text = "\n".join(lines) + "\n"
parsed = tomllib.loads(text)  # refuse to write a file podman could not read
assert parsed["engine"]["runtime"] == "runc"
try:
    with open(path, encoding="utf-8") as f:
        old = f.read()
except FileNotFoundError:
    old = None
if old == text:
    print("podman-setup: %s already configured" % path)
else:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    print("podman-setup: wrote %s" % path)
PY

podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}' \
  | sed 's/^/podman-setup: runtime and storage: /'
