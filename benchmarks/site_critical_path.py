"""Benchmark: the Azure stages of site.yml against the ARM emulator, wall time against the critical path.

Runs playbooks/site.yml itself, limited with --tags to the stages that talk to Azure (by default network,
registry, cluster, storage and jumpbox: the jump box host, weights, workload and verify stages need a
machine and a cluster API, not ARM), in site.yml's own order. The emulator runs with realistic operation
durations scaled down (--scale 10: a 10-minute cluster takes 60 s), and so are its Retry-After hints and the
modules' poll interval (AIRGAP_AZURE_POLL_INTERVAL). From the emulator's operations and request log the script
builds the graph of dependent operations (a child after its parent, a resource after what its body
references, the cluster after the registry's private endpoint, its DNS zone group and the link of that zone
to the network, and after the role assignments of its identities; the GPU pool after the preview feature
registration; the kubeconfig after the cluster) and takes its longest chain, weighted by each operation's
actual duration: the critical path, the least wall time any tool could reach. Prints wall time, critical
path, their ratio and the chain. Target: wall <= 1.2 x critical path. Asserts nothing.

With several scales (--scale 100,10,4) it also fits wall = fixed + factor x critical path: the fixed part
is what every run of a module costs whatever Azure does (Ansible's task start, Python, the token), the
factor how far the waits overlap; wall / critical path at Azure's own pace (scale 1) follows from both.

    .venv/bin/python benchmarks/site_critical_path.py [--scale 10] [--runs 1] [--tags network,registry,...]
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
from armemu.registry import get_type  # noqa: E402 pylint: disable=wrong-import-position

# Realistic seconds (Azure, as observed and documented); the other types keep the emulator's defaults.
REALISTIC = {
    "Microsoft.ContainerService/managedClusters": 600,
    "Microsoft.ContainerService/managedClusters/agentPools": 300,
    "Microsoft.ContainerRegistry/registries": 60,
    "Microsoft.Network/privateEndpoints": 60,
    "Microsoft.Features/providers/features": 240,
}
AZURE_STAGES = "network,registry,cluster,storage,jumpbox"
DEFAULT_POLL = 5.0      # the modules' poll_interval at Azure's pace
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
    stage rules (cluster after the registry's private endpoints, their DNS zone groups and the links of those
    zones to the network, and after the role assignments of its identities; GPU pool after the feature
    registration)."""
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
                    groups = [n for n in nodes if n.key.startswith(endpoint + "/")]
                    wanted |= set(n.key for n in groups)
                    # the nodes resolve the registry through its zone, so the zone must be linked to the network
                    zones = set(z for g in groups for z in ids_in(g.body) if "/privatednszones/" in z)
                    wanted |= set(n.key for n in nodes
                                  if any(n.key.startswith(z + "/virtualnetworklinks/") for z in zones))
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


def run_once(emu, workdir, tags, scale, profile):
    extra = {"azure_connection": {
        "subscription_id": emu.subscription_id, "auth_source": "credentials", "client_id": emu.client_id,
        "client_secret": emu.client_secret, "tenant_id": emu.tenant_id, "arm_endpoint": emu.url,
        "authority": emu.url, "ca_bundle": emu.ca_path},
        "aks_cluster_kubeconfig_path": os.path.join(workdir, "kube", "config")}
    vars_path = os.path.join(workdir, "vars.json")
    with open(vars_path, "w") as handle:
        json.dump(extra, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               AIRGAP_AZURE_POLL_INTERVAL="%g" % (DEFAULT_POLL / scale))
    if profile:
        env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    start = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           os.path.join(ROOT, "inventories", "local"), os.path.join(ROOT, "playbooks", "site.yml"),
                           "--tags", tags, "--skip-tags", "summary", "-e", "@" + vars_path],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("playbook failed:\n" + proc.stdout[-4000:] + proc.stderr[-2000:])
    if profile:
        with open(profile, "a") as handle:
            handle.write(proc.stdout)
    return wall


def measure(scale, runs, tags, profile):
    """Median wall time, critical path and chain, module runs and ARM span over `runs` runs at one scale."""
    walls, paths, spans, logins = [], [], [], []
    with tempfile.TemporaryDirectory() as workdir:
        emu = Emulator(workdir=os.path.join(workdir, "emu"), port=0, time_scale=1.0 / scale, durations=REALISTIC)
        emu.start()
        try:
            for _run in range(runs):
                emu.reset()
                wall = run_once(emu, workdir, tags, scale, profile)
                nodes = nodes_from(emu)
                link(nodes, emu)
                paths.append(critical_path(nodes))
                arm_times = [r["time"] for r in emu.requests() if r["kind"] in ("arm", "operation")]
                spans.append(max(arm_times) - min(arm_times))
                # every module run that talks to Azure asks for one token: the number of module runs
                logins.append(len([r for r in emu.requests() if r["kind"] == "token" and r["method"] == "POST"]))
                walls.append(wall)
        finally:
            emu.stop()
    length, chain = sorted(paths, key=lambda p: p[0])[len(paths) // 2]
    return {"scale": scale, "wall": statistics.median(walls), "length": length, "chain": chain,
            "span": statistics.median(spans), "module_runs": int(statistics.median(logins))}


def report(result, runs, tags):
    wall, length, scale = result["wall"], result["length"], result["scale"]
    print("site.yml --tags %s against the ARM emulator, realistic durations / %g (%d run%s, medians)"
          % (tags, scale, runs, "s" if runs > 1 else ""))
    print("  wall time (ansible-playbook)        %7.2f s" % wall)
    print("  first to last ARM request           %7.2f s" % result["span"])
    print("  critical path (operations)          %7.2f s   (%.1f min at realistic durations)"
          % (length, length * scale / 60.0))
    print("  wall / critical path                %7.2f     (target <= 1.2)" % (wall / length if length else 0.0))
    print("  time not spent on the critical path %7.2f s   (module start-up, reads, waits off the path)"
          % (wall - length))
    print("  module runs that called Azure       %7d" % result["module_runs"])
    print("critical path:")
    for node in result["chain"]:
        print("  %6.2f s  %s" % (node.duration, node.what))


def fit(results):
    """Least squares wall = fixed + factor x critical path over the scales measured."""
    xs = [r["length"] for r in results]
    ys = [r["wall"] for r in results]
    mean_x, mean_y = statistics.mean(xs), statistics.mean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    factor = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread
    fixed = mean_y - factor * mean_x
    at_pace = results[0]["length"] * results[0]["scale"]     # the critical path at realistic durations
    print("fit over scales %s: wall = %.1f s + %.3f x critical path"
          % (", ".join("%g" % r["scale"] for r in results), fixed, factor))
    print("  fixed cost %.1f s over %d module runs (%.2f s each); at realistic durations (scale 1, critical path "
          "%.1f min) wall / critical path = %.3f"
          % (fixed, results[0]["module_runs"], fixed / max(1, results[0]["module_runs"]), at_pace / 60.0,
             (fixed + factor * at_pace) / at_pace))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="10",
                        help="divide realistic durations by this; several, comma-separated, also fit the fixed "
                             "cost (default 10: a 10-minute cluster takes 60 s)")
    parser.add_argument("--runs", type=int, default=1, help="repetitions per scale (default 1); medians are printed")
    parser.add_argument("--tags", default=AZURE_STAGES, help="site.yml stages to run (default %s)" % AZURE_STAGES)
    parser.add_argument("--profile", metavar="FILE", help="append the per-task profile (profile_tasks) to FILE")
    args = parser.parse_args()
    results = []
    for scale in [float(s) for s in args.scale.split(",")]:
        results.append(measure(scale, args.runs, args.tags, args.profile))
        report(results[-1], args.runs, args.tags)
    if len(results) > 1:
        fit(results)


if __name__ == "__main__":
    main()
