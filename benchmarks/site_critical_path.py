"""Benchmark: site.yml so far (network -> registry -> cluster) against the ARM emulator, wall time against the
critical path.

The emulator runs with realistic operation durations scaled down (default 1/100: a 10-minute cluster takes
6 s). From the emulator's operations and request log the script builds the graph of dependent operations
(a child after its parent, a resource after what its body references, the cluster after the registry's private
endpoint and its identities' role assignments, the GPU pool after the preview feature registration, the
kubeconfig after the cluster) and takes its longest chain, weighted by each operation's actual duration: the
critical path, the least wall time any tool could reach. Prints wall time, critical path, their ratio and the
chain. Target: wall <= 1.2 x critical path. Asserts nothing.

    .venv/bin/python benchmarks/site_critical_path.py [--scale 100] [--runs 1] [--playbooks network.yml,...]
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
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from armemu import Emulator  # noqa: E402 pylint: disable=wrong-import-position
from armemu.registry import get_type  # noqa: E402 pylint: disable=wrong-import-position
from cluster_seed import collections_overlay  # noqa: E402 pylint: disable=wrong-import-position

# Realistic seconds (Azure, as observed and documented); the other types keep the emulator's defaults.
REALISTIC = {
    "Microsoft.ContainerService/managedClusters": 600,
    "Microsoft.ContainerService/managedClusters/agentPools": 300,
    "Microsoft.ContainerRegistry/registries": 60,
    "Microsoft.Network/privateEndpoints": 60,
    "Microsoft.Features/providers/features": 240,
}
STAGE_MODULES = ("resource_group", "virtual_network", "subnet", "network_security_group", "private_dns_zone",
                 "private_dns_zone_link", "container_registry", "container_registry_info", "acr_cache_rule",
                 "acr_credential_set", "acr_import", "key_vault", "key_vault_secret", "private_endpoint",
                 "private_dns_zone_group", "role_assignment", "user_assigned_identity", "aks_cluster", "aks_agent_pool",
                 "aks_credentials", "feature_registration")
FEATURE = "Microsoft.Features/providers/features"
MANAGED_GPU_FEATURE = "microsoft.containerservice/features/managedgpuexperiencepreview"


class Node:
    def __init__(self, key, what, start, end, body=None):
        self.key = key          # lower-cased resource id the operation is about
        self.what = what        # label for the report
        self.start = start
        self.end = end
        self.body = body or {}
        self.deps = []

    @property
    def duration(self):
        return max(0.0, self.end - self.start)


def ids_in(obj):
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            stack.extend(cur.values())
            stack.extend(k for k in cur if isinstance(k, str) and k.lower().startswith("/subscriptions/"))
        elif isinstance(cur, list):
            stack.extend(cur)
        elif isinstance(cur, str) and cur.lower().startswith("/subscriptions/"):
            yield cur.lower().rstrip("/")


def label(key):
    if "/providers/" not in key:
        return "resourceGroups/" + key.rsplit("/", 1)[-1]
    parts = key.split("/providers/")[-1].split("/")
    return "/".join(parts[1:])


def nodes_from(emu):
    """One node per operation: async ones with their real span, synchronous writes and credential reads
    as instants, feature registrations from the POST to Registered."""
    app = emu.app
    scale = app.time_scale
    nodes = []
    bodies = {}
    for entry in emu.requests():
        if entry["kind"] != "arm" or entry["status"] >= 300:
            continue
        path = entry["path"].lower().rstrip("/")
        if entry["method"] == "PUT":
            bodies.setdefault(path, []).append((entry["time"], entry["body"] or {}))
    async_keys = set()
    for op in app.store.ops.values():
        if op.kind not in ("put", "action"):
            continue
        key = op.targets[0]
        async_keys.add((key, round(op.start, 3)))
        body = next((b for t, b in reversed(bodies.get(key, [])) if t >= op.start - 1e-6), {})
        nodes.append(Node(key, "%s %s" % ("create/update" if op.kind == "put" else "action", label(key)),
                          op.start, op.deadline, body))
    for entry in emu.requests():
        if entry["kind"] != "arm" or entry["status"] >= 300 or entry["method"] not in ("PUT", "POST"):
            continue
        path = entry["path"].lower().rstrip("/")
        if entry["method"] == "POST" and path.endswith("/register") and "/microsoft.features/" in path:
            key = path[:-len("/register")]
            seconds = app.durations.get(FEATURE.lower(), get_type(FEATURE).duration) * scale
            nodes.append(Node(key, "register feature " + key.rsplit("/", 1)[-1], entry["time"],
                              entry["time"] + seconds))
            continue
        credentials = ("listclusterusercredential", "listclusteradmincredential")
        if entry["method"] == "POST" and path.rsplit("/", 1)[-1] in credentials:
            nodes.append(Node(path, "kubeconfig " + label(path.rsplit("/", 1)[0]), entry["time"], entry["time"]))
            continue
        if entry["method"] == "PUT" and entry["status"] in (200, 201) and \
                not any(k == path and abs(s - entry["time"]) < 0.5 for k, s in async_keys):
            nodes.append(Node(path, "create/update %s (synchronous)" % label(path), entry["time"], entry["time"],
                              entry["body"]))
    nodes.sort(key=lambda n: n.start)
    return nodes


def principal_owner(emu):
    """principal id -> lower-cased id of the user-assigned identity that has it."""
    out = {}
    for rid, body in emu.resources().items():
        if "/microsoft.managedidentity/userassignedidentities/" in rid.lower():
            out[str((body.get("properties") or {}).get("principalId", "")).lower()] = rid.lower()
    return out


def link(nodes, emu):
    """Each node depends on the latest earlier node of: its parent, what its body references, and the
    stage rules (cluster after the registry's private endpoints and the role assignments of its identities;
    GPU pool after the feature registration)."""
    owners = principal_owner(emu)
    endpoints_of = collections.defaultdict(set)   # registry -> private endpoint keys (and their zone groups)
    for node in nodes:
        if "/microsoft.network/privateendpoints/" in node.key:
            for rid in ids_in(node.body):
                if "/microsoft.containerregistry/registries/" in rid:
                    endpoints_of[rid].add(node.key)
    grants_of = collections.defaultdict(set)      # identity -> role assignment keys of its principal
    for node in nodes:
        if "/providers/microsoft.authorization/roleassignments/" in node.key:
            owner = owners.get(str((node.body.get("properties") or {}).get("principalId", "")).lower())
            if owner:
                grants_of[owner].add(node.key)

    def prefixes(key):
        parts = key.split("/")
        return ["/".join(parts[:i]) for i in range(5, len(parts), 1)]   # .../resourcegroups/{rg} and below

    for index, node in enumerate(nodes):
        wanted = set(p for p in prefixes(node.key) if p != node.key)
        wanted |= set(r for r in ids_in(node.body) if r != node.key)
        if "/providers/microsoft.authorization/roleassignments/" in node.key:
            owner = owners.get(str((node.body.get("properties") or {}).get("principalId", "")).lower())
            if owner:
                wanted.add(owner)
        for rid in list(wanted):
            if "/microsoft.containerregistry/registries/" in rid and "/managedclusters/" in node.key:
                for endpoint in endpoints_of.get(rid.split("/cacherules/")[0], ()):
                    wanted.add(endpoint)
                    wanted |= set(n.key for n in nodes if n.key.startswith(endpoint + "/"))
            if "/microsoft.managedidentity/userassignedidentities/" in rid and "/managedclusters/" in node.key:
                wanted |= grants_of.get(rid, set())
        if "/agentpools/" in node.key:
            wanted |= set(n.key for n in nodes if n.key.endswith(MANAGED_GPU_FEATURE))
        if node.what.startswith("kubeconfig"):
            wanted.add(node.key.rsplit("/", 1)[0])
            wanted |= set(n.key for n in nodes if "/agentpools/" in n.key)
        for key in wanted:
            earlier = [n for n in nodes[:index] if n.key == key]
            if earlier:
                node.deps.append(earlier[-1])


def critical_path(nodes):
    best = {}
    for node in nodes:
        before = max((best[id(d)] for d in node.deps), key=lambda b: b[0], default=(0.0, []))
        best[id(node)] = (before[0] + node.duration, before[1] + [node])
    # ties go to the chain that ends later (the kubeconfig read after the pool takes no time of its own)
    return max(best.values(), key=lambda b: (round(b[0], 6), b[1][-1].start if b[1] else 0.0), default=(0.0, []))


def write_playbook(workdir, names):
    path = os.path.join(workdir, "site-so-far.yml")
    with open(path, "w") as handle:
        handle.write("---\n# network -> registry -> cluster, as site.yml will chain them.\n")
        for name in names:
            handle.write("- name: %s\n  ansible.builtin.import_playbook: %s\n"
                         % (name, os.path.join(ROOT, "playbooks", name)))
    return path


def run_once(emu, workdir, playbook, collections_path, verbose):
    extra = {"azure_connection": {
        "subscription_id": emu.subscription_id, "auth_source": "credentials", "client_id": emu.client_id,
        "client_secret": emu.client_secret, "tenant_id": emu.tenant_id, "arm_endpoint": emu.url,
        "authority": emu.url, "ca_bundle": emu.ca_path},
        "aks_cluster_kubeconfig_path": os.path.join(workdir, "kube", "config")}
    vars_path = os.path.join(workdir, "vars.json")
    with open(vars_path, "w") as handle:
        json.dump(extra, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    if collections_path:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections_path
    if verbose:
        env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    start = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           os.path.join(ROOT, "inventories", "local"), playbook, "-e", "@" + vars_path],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("playbook failed:\n" + proc.stdout[-4000:] + proc.stderr[-2000:])
    if verbose:
        print(proc.stdout[-6000:])
    return wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=100.0,
                        help="divide realistic durations by this (default 100: a 10-minute cluster takes 6 s)")
    parser.add_argument("--runs", type=int, default=1, help="repetitions (default 1); medians are printed")
    parser.add_argument("--playbooks", default="network.yml,registry.yml,cluster.yml",
                        help="playbooks chained in one run (default network.yml,registry.yml,cluster.yml)")
    parser.add_argument("--verbose", action="store_true", help="print the per-task profile of the run")
    args = parser.parse_args()
    walls, paths, spans = [], [], []
    with tempfile.TemporaryDirectory() as workdir:
        collections_path = collections_overlay(ROOT, os.path.join(workdir, "collections"), STAGE_MODULES)
        playbook = write_playbook(workdir, args.playbooks.split(","))
        emu = Emulator(workdir=os.path.join(workdir, "emu"), port=0, time_scale=1.0 / args.scale,
                       durations=REALISTIC)
        emu.start()
        try:
            for _run in range(args.runs):
                emu.reset()
                wall = run_once(emu, workdir, playbook, collections_path, args.verbose)
                nodes = nodes_from(emu)
                link(nodes, emu)
                length, chain = critical_path(nodes)
                arm_times = [r["time"] for r in emu.requests() if r["kind"] in ("arm", "operation")]
                walls.append(wall)
                paths.append((length, chain))
                spans.append(max(arm_times) - min(arm_times))
        finally:
            emu.stop()
    wall = statistics.median(walls)
    length, chain = sorted(paths, key=lambda p: p[0])[len(paths) // 2]
    print("%s against the ARM emulator, realistic durations / %g (%d run%s, medians)"
          % (" -> ".join(args.playbooks.split(",")), args.scale, args.runs, "s" if args.runs > 1 else ""))
    print("  wall time (ansible-playbook)        %7.2f s" % wall)
    print("  first to last ARM request           %7.2f s" % statistics.median(spans))
    print("  critical path (operations)          %7.2f s   (%.1f min at realistic durations)"
          % (length, length * args.scale / 60.0))
    print("  wall / critical path                %7.2f     (target <= 1.2)" % (wall / length if length else 0.0))
    print("  time not spent on the critical path %7.2f s   (module start-up, reads, waits off the path)"
          % (wall - length))
    print("critical path:")
    for node in chain:
        print("  %6.2f s  %s" % (node.duration, node.what))


if __name__ == "__main__":
    main()
