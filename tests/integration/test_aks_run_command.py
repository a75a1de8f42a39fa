# -*- coding: utf-8 -*-
"""Reaching a private cluster over ARM: aks_run_command and aks_token against the ARM emulator,
and the inference_workload role with inference_workload_apply_via=run_command.

The emulator's managedClusters/runCommand records the command and the files of its context zip
and answers through commandResults/{id} (202 while running, then 200 with exit code and logs);
it runs nothing, so what is asserted is what was sent and how the answer was awaited.
"""
import base64
import io
import json
import os
import zipfile

import pytest
from armemu.testing import ArmClient, sdk_pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE_PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "inference_workload.yml")
AKS_API = "2025-10-01"
RG = "rg-llm-local"
CLUSTER = "aks-llm"
REGISTRY = "contosoacr.azurecr.io"
WORKLOAD = {
    "inference_workload_registry_login_server": REGISTRY,
    "inference_workload_image": REGISTRY + "/vllm/vllm-openai:v0.8.5",
    "inference_workload_served_model_name": "llama-3.1-8b-instruct",
    "inference_workload_model_path": "/models/llama-3.1-8b-instruct",
    "inference_workload_storage": {"provider": "nfs", "server": "contosomodels.file.core.windows.net",
                                   "path": "/contosomodels/models"},
    "inference_workload_ingress_cidrs": ["10.40.0.0/16"],
    "inference_workload_apply_via": "run_command",
    "inference_workload_cluster_resource_group": RG,
    "inference_workload_cluster_name": CLUSTER,
    "inference_workload_gpu_check": False,
}


def make_cluster(arm, name=CLUSTER, disable_run_command=False):
    client = ArmClient(arm, sdk_pipeline(arm))
    client.make_rg(RG)
    path = "%s/providers/Microsoft.ContainerService/managedClusters/%s" % (client.rg(RG), name)
    body = {"location": "westeurope", "properties": {
        "kubernetesVersion": "1.34",
        "aadProfile": {"managed": True, "enableAzureRBAC": True},
        "disableLocalAccounts": True,
        "apiServerAccessProfile": {"enablePrivateCluster": True, "disableRunCommand": disable_run_command},
        "agentPoolProfiles": [{"name": "system", "mode": "System", "vmSize": "Standard_D4s_v5", "count": 1}],
    }}
    response = client.put(path, body, api_version=AKS_API)
    assert response.status_code in (200, 201), response.text()
    assert client.poll(response)["status"] == "Succeeded"
    return path


def write_playbook(tmp_path, tasks):
    path = tmp_path / "playbook.yml"
    path.write_text(json.dumps([{
        "name": "run-command", "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"airgap.aks_inference.aks_run_command": "{{ azure_connection }}",
                            "airgap.aks_inference.aks_token": "{{ azure_connection }}"},
        "tasks": tasks,
    }]))
    return str(path)


def run_commands(arm):
    return [entry for entry in arm.writes() if entry["method"] == "POST" and entry["path"].endswith("/runCommand")]


def unzip(context):
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(context)))
    return dict((info.filename, archive.read(info).decode()) for info in archive.infolist())


def result_of(run, name):
    return [result for task, result in run.tasks() if task.split(" : ", 1)[-1] == name]


def test_role_applies_the_manifests_through_run_command(arm, playbook, tmp_path):
    make_cluster(arm)
    arm.clear_requests()
    dest = tmp_path / "manifests"
    run = playbook(ROLE_PLAYBOOK, dict(WORKLOAD, inference_workload_manifest_dir=str(dest)),
                   env={"ANSIBLE_PIPELINING": "1"})
    assert run.rc == 0, run
    (post,) = run_commands(arm)
    assert post["path"].endswith("/managedClusters/%s/runCommand" % CLUSTER) and post["api_version"] == AKS_API
    body = post["body"]
    assert body["command"].startswith("if kubectl diff --server-side --field-manager=airgap.aks_inference "
                                      "--force-conflicts -f manifests/")
    assert body["command"].endswith("kubectl -n inference rollout status deployment/llm --timeout=2400s")
    assert body["clusterToken"]                       # Entra ID cluster: the caller's token for the AKS server app
    files = unzip(body["context"])
    assert sorted(files) == ["manifests/" + name for name in sorted(os.listdir(dest))]
    assert files["manifests/00-namespace-inference.yaml"] == (dest / "00-namespace-inference.yaml").read_text()
    (applied,) = result_of(run, "Apply the manifests through the AKS run-command API and wait for the rollout")
    assert applied["changed"] and applied["exit_code"] == 0 and applied["provisioning_state"] == "succeeded"
    assert "context file manifests/50-deployment-llm.yaml" in applied["logs"]
    (fact,) = result_of(run, "Publish what later stages need")
    assert fact["ansible_facts"]["inference_workload"]["applied"] is True
    assert body["clusterToken"] not in run.stdout


def test_check_mode_sends_no_command(arm, playbook, tmp_path):
    make_cluster(arm)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "00-ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    arm.clear_requests()
    run = playbook(write_playbook(tmp_path, [{
        "name": "apply", "airgap.aks_inference.aks_run_command": {
            "resource_group": RG, "cluster_name": CLUSTER, "apply_dir": str(tmp_path / "m")}}]), check=True)
    assert run.rc == 0, run
    assert arm.writes() == []
    (result,) = result_of(run, "apply")
    assert result["changed"] and result["files"] == ["manifests/00-ns.yaml"]


def test_a_running_command_is_awaited_at_its_result(arm, playbook, tmp_path):
    make_cluster(arm)
    arm.set_time_scale(0.05)          # the command takes 20 emulated seconds: one real second
    arm.clear_requests()
    run = playbook(write_playbook(tmp_path, [{
        "name": "nodes", "register": "out", "airgap.aks_inference.aks_run_command": {
            "resource_group": RG, "cluster_name": CLUSTER, "command": "kubectl get nodes",
            "cluster_token": False, "poll_interval": 0.2}}]))
    assert run.rc == 0, run
    (post,) = run_commands(arm)
    assert "clusterToken" not in post["body"]
    assert post["status"] == 202      # accepted: the result is awaited at commandResults/{id}
    polls = [e for e in arm.requests() if "/commandResults/" in e["path"] and e["method"] == "GET"]
    assert polls and polls[-1]["status"] == 200
    (result,) = result_of(run, "nodes")
    assert result["changed"] and result["command_id"] and "$ kubectl get nodes" in result["logs"]


def test_a_cluster_with_run_command_disabled_fails_with_azures_error(arm, playbook, tmp_path):
    make_cluster(arm, disable_run_command=True)
    run = playbook(write_playbook(tmp_path, [{
        "name": "nodes", "airgap.aks_inference.aks_run_command": {
            "resource_group": RG, "cluster_name": CLUSTER, "command": "kubectl get nodes"}}]))
    assert run.rc != 0
    assert "RunCommandDisabled" in run.failure_message()


@pytest.mark.parametrize("args, field", [
    ({"command": "  "}, "command"),
    ({"apply_dir": "/nonexistent/dir"}, "context_dir"),
    ({"command": "kubectl get ns", "files": ["/nonexistent/file"]}, "files"),
])
def test_bad_input_fails_before_any_request(arm, playbook, tmp_path, args, field):
    arm.clear_requests()
    run = playbook(write_playbook(tmp_path, [{"name": "bad", "airgap.aks_inference.aks_run_command": dict(
        args, resource_group=RG, cluster_name=CLUSTER)}]))
    assert run.rc != 0 and run.failure_message().startswith(field + ":"), run
    assert arm.writes() == []


def test_aks_token_for_the_aks_server_application(arm, playbook, tmp_path):
    shown = ("{{ {'len': tok.token | length, 'scope': tok.scope, 'expires_on': tok.expires_on, "
             "'changed': tok.changed} }}")
    run = playbook(write_playbook(tmp_path, [
        {"name": "token", "airgap.aks_inference.aks_token": {}, "register": "tok", "no_log": True},
        {"name": "show", "ansible.builtin.debug": {"msg": shown}},
    ]))
    assert run.rc == 0, run
    (shown,) = result_of(run, "show")
    assert shown["msg"]["len"] > 10 and shown["msg"]["changed"] is False
    assert shown["msg"]["scope"] == "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
    assert shown["msg"]["expires_on"] > 0
    (hidden,) = result_of(run, "token")
    assert "token" not in hidden or hidden.get("censored")
