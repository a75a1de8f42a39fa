#!/usr/bin/env bash
# A real OCI registry on the loopback for tests: Debian's docker-registry
# (distribution 2.8), listening on 127.0.0.1 only, storage in a directory of
# its own. Installs docker-registry and skopeo (the tools of the model_image
# tests) when they are missing; the packaged service (which would listen on
# :5000 on every interface) is stopped and disabled when this script installed it.
#
# Usage:
#   bash hack/local-registry.sh install
#   bash hack/local-registry.sh start --dir DIR [--port N] [--tls-cert PEM --tls-key PEM] [--htpasswd FILE]
#   bash hack/local-registry.sh stop  --dir DIR
#   bash hack/local-registry.sh status --dir DIR
#
# start prints the registry's address (127.0.0.1:PORT) as its last line, and is a
# no-op printing the same when the registry of DIR already answers. DIR holds
# config.yml, registry.pid, registry.log and the storage (DIR/storage).
# Without --port a free port is chosen. Without --tls-cert the registry speaks
# plain HTTP (use --tls-verify=false on the loopback); --htpasswd needs TLS.
set -euo pipefail

PACKAGES=(docker-registry skopeo)
BIN=/usr/bin/docker-registry

die() { echo "local-registry: $*" >&2; exit 1; }

install_packages() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (run as root or install them)"
  echo "local-registry: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if printf '%s\n' "${missing[@]}" | grep -qx docker-registry && command -v systemctl >/dev/null \
     && [ -d /run/systemd/system ]; then
    # the package's own service listens on :5000 on every interface; tests start their own
    systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

answers() {  # answers DIR: the registry of DIR answers on its address
  local dir="$1" addr scheme
  [ -s "$dir/address" ] || return 1
  addr="$(cat "$dir/address")"
  scheme=http
  grep -q '^  tls:' "$dir/config.yml" 2>/dev/null && scheme=https
  python3 - "$scheme://$addr/v2/" <<'PY'
import ssl, sys, urllib.error, urllib.request
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    urllib.request.urlopen(sys.argv[1], timeout=2, context=ctx)
except urllib.error.HTTPError as exc:
    sys.exit(0 if exc.code == 401 else 1)  # a registry with auth answers 401
except OSError:
    sys.exit(1)
PY
}

pid_alive() {
  local dir="$1" pid
  [ -s "$dir/registry.pid" ] || return 1
  pid="$(cat "$dir/registry.pid")"
  kill -0 "$pid" 2>/dev/null
}

cmd="${1:-}"
[ -n "$cmd" ] || die "usage: $0 install | start --dir DIR [--port N] [--tls-cert PEM --tls-key PEM] [--htpasswd FILE] | stop --dir DIR | status --dir DIR"
shift
dir="" port="" cert="" key="" htpasswd=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --tls-cert) cert="$2"; shift 2 ;;
    --tls-key) key="$2"; shift 2 ;;
    --htpasswd) htpasswd="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done

case "$cmd" in
  install)
    install_packages
    ;;
  start)
    [ -n "$dir" ] || die "start: --dir DIR is required"
    install_packages
    [ -x "$BIN" ] || die "$BIN is missing"
    mkdir -p "$dir/storage"
    dir="$(cd "$dir" && pwd)"
    if pid_alive "$dir" && answers "$dir"; then
      echo "local-registry: already running (pid $(cat "$dir/registry.pid"))" >&2
      cat "$dir/address"
      exit 0
    fi
    if { [ -n "$cert" ] && [ -z "$key" ]; } || { [ -z "$cert" ] && [ -n "$key" ]; }; then
      die "start: --tls-cert and --tls-key go together"
    fi
    [ -z "$htpasswd" ] || [ -n "$cert" ] || die "start: --htpasswd needs --tls-cert/--tls-key"
    [ -n "$port" ] || port="$(free_port)"
    {
      echo "version: 0.1"
      echo "log:"
      echo "  level: warn"
      echo "  accesslog:"
      echo "    disabled: true"
      echo "storage:"
      echo "  filesystem:"
      echo "    rootdirectory: $dir/storage"
      echo "  delete:"
      echo "    enabled: true"
      echo "http:"
      echo "  addr: 127.0.0.1:$port"
      echo "  secret: local-registry-test-only"
      if [ -n "$cert" ]; then
        echo "  tls:"
        echo "    certificate: $(readlink -f "$cert")"
        echo "    key: $(readlink -f "$key")"
      fi
      if [ -n "$htpasswd" ]; then
        echo "auth:"
        echo "  htpasswd:"
        echo "    realm: local-registry"
        echo "    path: $(readlink -f "$htpasswd")"
      fi
    } > "$dir/config.yml"
    echo "127.0.0.1:$port" > "$dir/address"
    setsid "$BIN" serve "$dir/config.yml" >> "$dir/registry.log" 2>&1 < /dev/null &
    echo $! > "$dir/registry.pid"
    for _ in $(seq 1 100); do
      if answers "$dir"; then
        echo "local-registry: listening on $(cat "$dir/address") (pid $(cat "$dir/registry.pid"), storage $dir/storage)" >&2
        cat "$dir/address"
        exit 0
      fi
      pid_alive "$dir" || { tail -20 "$dir/registry.log" >&2; die "docker-registry exited"; }
      sleep 0.1
    done
    tail -20 "$dir/registry.log" >&2
    die "docker-registry does not answer on $(cat "$dir/address")"
    ;;
  stop)
    [ -n "$dir" ] || die "stop: --dir DIR is required"
    if pid_alive "$dir"; then
      pid="$(cat "$dir/registry.pid")"
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "local-registry: stopped (pid $pid)" >&2
    else
      echo "local-registry: not running" >&2
    fi
    rm -f "$dir/registry.pid"
    ;;
  status)
    [ -n "$dir" ] || die "status: --dir DIR is required"
    if pid_alive "$dir" && answers "$dir"; then
      echo "local-registry: running on $(cat "$dir/address") (pid $(cat "$dir/registry.pid"))"
    else
      echo "local-registry: not running"
      exit 1
    fi
    ;;
  *)
    die "unknown command $cmd"
    ;;
esac
