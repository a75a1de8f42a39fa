"""Run the emulator standalone.

    PYTHONPATH=tests/emulator python -m armemu --workdir .emulator --port 8443 [--time-scale 0.01]
    PYTHONPATH=tests/emulator python -m armemu --workdir .emulator --stop
"""
import argparse
import json
import os
import signal
import sys
import threading
import time

from .emulator import Emulator, check_loopback


def _is_armemu(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"armemu" in f.read()
    except OSError:
        return True  # no /proc: trust the pid file


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited child its parent has not reaped yet (zombie) has stopped
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def stop(workdir):
    path = os.path.join(workdir, "emulator.json")
    try:
        with open(path, encoding="utf-8") as f:
            pid = int(json.load(f)["pid"])
    except (OSError, ValueError, KeyError):
        print(f"armemu: no running emulator recorded in {path}", file=sys.stderr)
        return 1
    if not _alive(pid) or not _is_armemu(pid):
        print(f"armemu: pid {pid} is not a running emulator; removing {path}", file=sys.stderr)
        os.unlink(path)
        return 1
    os.kill(pid, signal.SIGTERM)
    for _attempt in range(100):
        if not _alive(pid):
            print(f"armemu: stopped pid {pid}", file=sys.stderr)
            return 0
        time.sleep(0.1)
    print(f"armemu: pid {pid} did not stop within 10s", file=sys.stderr)
    return 1


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m armemu", description="Local Azure Resource Manager emulator")
    p.add_argument("--workdir", default=".emulator", help="CA, certificates and emulator.json (default .emulator)")
    p.add_argument("--host", default="127.0.0.1", help="listen address, must be in 127.0.0.0/8")
    p.add_argument("--port", type=int, default=8443, help="0 picks a free port (default 8443)")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="multiplier for operation durations (0 = instant, default 1)")
    p.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    p.add_argument("--stop", action="store_true", help="stop the emulator recorded in WORKDIR/emulator.json")
    args = p.parse_args(argv)

    workdir = os.path.abspath(args.workdir)
    if args.stop:
        return stop(workdir)
    try:
        host = check_loopback(args.host)
    except ValueError as e:
        p.error(str(e))
    emu = Emulator(workdir=workdir, port=args.port, host=host, time_scale=args.time_scale,
                   log_requests=not args.quiet)
    try:
        emu.start()
    except OSError as e:
        print(f"armemu: cannot listen on {host}:{args.port}: {e}", file=sys.stderr)
        return 1
    info_path = emu.write_info(extra={"pid": os.getpid()})
    print(f"armemu: listening on {emu.url} (CA {emu.ca_path}, info {info_path})", file=sys.stderr, flush=True)

    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not done.wait(1.0):
        pass
    emu.stop()
    try:
        with open(info_path, encoding="utf-8") as f:
            if json.load(f).get("pid") == os.getpid():
                os.unlink(info_path)
    except (OSError, ValueError):
        pass
    print("armemu: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
