"""Benchmark: playbooks/network.yml against the ARM emulator.

Prints the ARM requests (by method) and the wall time of the first converge
and of the no-op re-run. Target: the re-run sends only GETs, at most one per
managed resource. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/network.py [--time-scale 0.01] [--runs 3]
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))

from armemu import Emulator  # noqa: E402 pylint: disable=wrong-import-position

# rg, vnet, 4 NSGs, 4 subnets, 3 private DNS zones, 3 links
MANAGED_RESOURCES = 16


def run_playbook(emu, workdir, name="network.yml"):
    extra = {
        "azure_connection": {
            "subscription_id": emu.subscription_id, "auth_source": "credentials", "client_id": emu.client_id,
            "client_secret": emu.client_secret, "tenant_id": emu.tenant_id, "arm_endpoint": emu.url,
            "authority": emu.url, "ca_bundle": emu.ca_path,
        }
    }
    path = os.path.join(workdir, "vars.json")
    with open(path, "w") as handle:
        json.dump(extra, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    start = time.monotonic()
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
         os.path.join(ROOT, "tests", "integration", "inventory.yml"), os.path.join(ROOT, "playbooks", name),
         "-e", "@" + path], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("playbook failed:\n" + proc.stdout[-3000:] + proc.stderr[-2000:])
    return elapsed


def summarize(requests):
    arm = [r for r in requests if r["kind"] == "arm"]
    methods = collections.Counter(r["method"] for r in arm)
    polls = sum(1 for r in requests if r["kind"] == "operation")
    tokens = sum(1 for r in requests if r["kind"] == "token")
    return methods, polls, tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.01,
                        help="operation durations x this (default 0.01: a 30 s DNS zone takes 0.3 s)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each phase (default 3)")
    args = parser.parse_args()
    firsts, reruns = [], []
    with tempfile.TemporaryDirectory() as workdir:
        emu = Emulator(workdir=workdir, port=0, time_scale=args.time_scale)
        emu.start()
        try:
            for _run in range(args.runs):
                emu.reset()
                first = run_playbook(emu, workdir)
                first_requests = summarize(emu.requests())
                emu.clear_requests()
                rerun = run_playbook(emu, workdir)
                rerun_requests = summarize(emu.requests())
                firsts.append(first)
                reruns.append(rerun)
        finally:
            emu.stop()
    (m1, p1, t1), (m2, p2, t2) = first_requests, rerun_requests
    print("playbooks/network.yml against the ARM emulator (time scale %g, %d runs, median wall time)"
          % (args.time_scale, args.runs))
    print("%-14s %8s  %s" % ("phase", "wall s", "ARM requests"))
    for label, wall, methods, polls, tokens in (("first converge", statistics.median(firsts), m1, p1, t1),
                                                ("no-op re-run", statistics.median(reruns), m2, p2, t2)):
        detail = ", ".join("%s %d" % (k, v) for k, v in sorted(methods.items()))
        print("%-14s %8.2f  %d (%s; + %d operation polls, %d token requests)"
              % (label, wall, sum(methods.values()), detail, polls, tokens))
    writes = sum(v for k, v in m2.items() if k != "GET")
    print("re-run: %d writes, %d GETs for %d managed resources (%.2f GET per resource; target <= 1, 0 writes)"
          % (writes, m2.get("GET", 0), MANAGED_RESOURCES, m2.get("GET", 0) / float(MANAGED_RESOURCES)))


if __name__ == "__main__":
    main()
