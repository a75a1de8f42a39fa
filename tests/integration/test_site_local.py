# -*- coding: utf-8 -*-
"""playbooks/site.yml on the local inventory, the cheap parts: no emulator, no container.

* The stages run in order of dependency, each with its tag, and the cluster stage is split around the jump
  box stages (created without waiting, finished before the workload).
* The host side follows the Azure side: with the facts the storage and registry stages publish, the weights
  stage (connection local instead of the podman container) stages the generated model where the workload's
  manifests read it, on the share they mount, from the registry the jump box logs into; the summary says so.

The whole thing, emulator and jump box container included, is `make site` (hack/site-local.sh).
"""
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from weights_model import make_model  # noqa: E402  pylint: disable=wrong-import-position

# (tag, what the entry runs): an imported playbook, or a role entry point of a play in site.yml itself
STAGES = [
    ("network", "isolated_network:start"),
    ("registry", "container_registry:start"),
    ("network", "network.yml"),
    ("registry", "registry.yml"),
    ("cluster", "aks_cluster:start"),
    ("storage", "storage.yml"),
    ("jumpbox", "jumpbox.yml"),
    ("jumpbox_host", "jumpbox_host.yml"),
    ("weights", "weights.yml"),
    ("model_image", "model_image.yml"),
    ("cluster", "aks_cluster:finish"),
    ("workload", "workload.yml"),
    ("verify", "verify.yml"),
    ("summary", "site_summary"),
]
STORAGE = {"account_name": "stwiring01", "share_name": "models", "quota_gib": 100,
           "nfs_server": "stwiring01.file.core.windows.net", "nfs_export": "/stwiring01/models",
           "mount_source": "stwiring01.file.core.windows.net:/stwiring01/models", "private_ip_addresses": ["10.40.5.9"]}
REGISTRY = {"login_server": "acrwiring.azurecr.io", "name": "acrwiring"}


def _env():
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_PIPELINING="1")


def _entry(play):
    if "ansible.builtin.import_playbook" in play:
        return play["ansible.builtin.import_playbook"]
    for role in play.get("roles") or []:
        return role["role"].split(".")[-1]
    return ["%s:%s" % (task["ansible.builtin.import_role"]["name"].split(".")[-1],
                       task["ansible.builtin.import_role"]["tasks_from"]) for task in play["tasks"]]


def _stages(play):
    """(tag, entry) of each stage a play runs: the play's own tag, or each task's when they differ."""
    entries = _entry(play)
    if isinstance(entries, str):
        return [(play["tags"][0], entries)]
    if "tags" in play:
        return [(play["tags"][0], entry) for entry in entries]
    return [(task["tags"][0], entry) for task, entry in zip(play["tasks"], entries)]


def test_site_runs_every_stage_in_order_with_its_tag():
    with open(os.path.join(ROOT, "playbooks", "site.yml")) as handle:
        plays = yaml.safe_load(handle)
    assert [stage for play in plays for stage in _stages(play)] == STAGES
    for play in plays:
        if "ansible.builtin.import_playbook" in play:
            assert os.path.exists(os.path.join(ROOT, "playbooks", play["ansible.builtin.import_playbook"]))
    # weight images only when asked; the summary whatever --tags says
    assert plays[8]["when"] == "site_model_image | default(false) | bool"
    assert "always" in plays[-1]["tags"]
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "inventories/local", "playbooks/site.yml",
                           "--list-tags"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for tag, _what in STAGES:
        assert tag in proc.stdout


def test_the_weights_land_where_the_workload_reads_them(tmp_path):
    share, model, manifests, reports = (tmp_path / n for n in ("share", "model", "manifests", "reports"))
    share.mkdir()
    sums = make_model(str(model), shards=3, shard_bytes=64 * 1024, seed=3)
    extra = {
        # the jump box runs here instead of in its container, on a plain directory instead of the share
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False,
        "gpu_jumpbox_nfs_mount_point": str(share), "model_weights_src": str(model),
        "model_weights_require_mount": False,
        # what the storage and registry stages publish when they ran earlier in the run
        "model_storage": STORAGE, "container_registry": REGISTRY,
        "inference_workload_manifest_dir": str(manifests), "site_summary_report_dir": str(reports),
    }
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(extra))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "inventories/local", "playbooks/site.yml",
                           "--tags", "weights,workload,summary", "-e", "@%s" % extra_file],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # the weights stage: every file of the model under <mount point>/<model_weights_name>, with its manifest
    staged = share / "tiny-llm"
    with open(staged / ".weights-manifest.json") as handle:
        listed = {entry["path"] for entry in json.load(handle)["files"]}
    assert listed == set(sums) and (staged / ".weights-complete").exists()

    # the workload: the share the storage stage made, the model directory the weights stage filled
    docs = {}
    for name in os.listdir(manifests):
        with open(manifests / name) as handle:
            doc = yaml.safe_load(handle)
        docs[doc["kind"]] = doc
    assert docs["PersistentVolume"]["spec"]["nfs"]["server"] == STORAGE["nfs_server"]
    assert docs["PersistentVolume"]["spec"]["nfs"]["path"] == STORAGE["nfs_export"]
    (container,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    model_path = container["args"][0]
    assert os.path.relpath(model_path, mounts["weights"]) == os.path.relpath(str(staged), str(share)) == "tiny-llm"
    assert container["image"].startswith(REGISTRY["login_server"] + "/")

    # the jump box mounts that share and logs into that registry
    proc = subprocess.run([os.path.join(BIN, "ansible"), "-i", "inventories/local", "airgap-jumpbox-local",
                           "-m", "ansible.builtin.debug",
                           "-a", json.dumps({"msg": "{{ gpu_jumpbox_nfs_src }} {{ gpu_jumpbox_acr_login_server }}"}),
                           "-e", "@%s" % extra_file], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "%s %s" % (STORAGE["mount_source"], REGISTRY["login_server"]) in proc.stdout

    # the summary names what ran and where the manifests are, and says the workload was not applied
    summary = (reports / "site-summary.txt").read_text()
    assert "NOT APPLIED" in summary and str(manifests) in summary and str(staged) in summary
    assert "jump box host   not run" in summary
