# -*- coding: utf-8 -*-
"""The inference_workload role run by ansible-playbook (connection local), without a cluster.

* Each weights source x runtime that makes sense renders its files, which are valid for the
  cluster's Kubernetes version (checked here again with kubernetes-validate) and clean under the
  policy; the second run with the same input changes nothing; the role says plainly that applying
  needs a cluster (inference_workload_apply_via=none, the local default).
* Each bad input (public registry image, API key in the variables, model path outside the cache,
  taint/toleration mismatch) fails before anything is applied, naming the variable or the object
  and field. "Applied" is watched for real: these runs set apply_via=local with a kubeconfig that
  points at a fake API server on 127.0.0.1, which must see no request at all (the control case
  shows that a valid workload does reach it).
"""
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kubernetes_validate
import pytest
import yaml

from ansible_collections.airgap.aks_inference.plugins.module_utils import k8s_policy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "inference_workload.yml")
REGISTRY = "contosoacr.azurecr.io"
VLLM_IMAGE = REGISTRY + "/vllm/vllm-openai:v0.8.5"
NIM_IMAGE = REGISTRY + "/nim/meta/llama-3.1-8b-instruct:1.8.6"
WEIGHTS_IMAGE = REGISTRY + "/weights/llama-3.1-8b-instruct:2024-07"
FAKE_NGC_KEY = "nvapi-" + "Z" * 48
COMMON = {
    "inference_workload_registry_login_server": REGISTRY,
    "inference_workload_image": VLLM_IMAGE,
    "inference_workload_served_model_name": "llama-3.1-8b-instruct",
    "inference_workload_model_path": "/models/llama-3.1-8b-instruct",
    "inference_workload_storage": {"provider": "nfs", "server": "contosomodels.file.core.windows.net",
                                   "path": "/contosomodels/models"},
    "inference_workload_service": {"port": 8000, "static_ip": "10.40.1.50", "subnet": "snet-nodes"},
    "inference_workload_ingress_cidrs": ["10.40.0.0/16"],
    "inference_workload_kubernetes_version": "1.34",
}
AZURE_FILES = {"provider": "azure_files", "resource_group": "rg-llm-isolated", "storage_account": "contosomodels",
               "share_name": "models"}
BASE_FILES = ["00-namespace-inference.yaml", "10-serviceaccount-llm.yaml"]
TAIL = ["networkpolicy-llm-isolation.yaml", "deployment-llm.yaml", "service-llm.yaml", "poddisruptionbudget-llm.yaml"]


def numbered(names, start):
    return ["%02d-%s" % (start + 10 * i, name) for i, name in enumerate(names)]


NFS_FILES = BASE_FILES + numbered(["persistentvolume-inference-llm-weights.yaml",
                                   "persistentvolumeclaim-llm-weights.yaml"] + TAIL, 20)
VARIANTS = {
    "vllm-image": ({"inference_workload_weights_source": "image"}, BASE_FILES + numbered(TAIL, 20)),
    "vllm-nfs": ({"inference_workload_weights_source": "nfs"}, NFS_FILES),
    "vllm-nfs-azure-files-csi": ({"inference_workload_weights_source": "nfs", "inference_workload_storage": AZURE_FILES},
                                 BASE_FILES + numbered(["storageclass-azurefile-nfs-private.yaml",
                                                        "persistentvolume-inference-llm-weights.yaml",
                                                        "persistentvolumeclaim-llm-weights.yaml"] + TAIL, 20)),
    "nim-nfs": ({"inference_workload_runtime": "nim", "inference_workload_weights_source": "nfs",
                 "inference_workload_image": NIM_IMAGE, "inference_workload_model_path": "",
                 "inference_workload_served_model_name": "meta/llama-3.1-8b-instruct"}, NFS_FILES),
    "vllm-weights-image-volume-1.35": ({"inference_workload_weights_source": "weights_image",
                                        "inference_workload_weights_image": WEIGHTS_IMAGE,
                                        "inference_workload_kubernetes_version": "1.35"},
                                       BASE_FILES + numbered(TAIL, 20)),
    "vllm-weights-image-init-copy-1.34": ({"inference_workload_weights_source": "weights_image",
                                           "inference_workload_weights_image": WEIGHTS_IMAGE},
                                          BASE_FILES + numbered(TAIL, 20)),
}


class Run:
    def __init__(self, proc, events):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.events = events or {}

    def plays(self):
        return self.events.get("plays", [])

    def results(self, play=None):
        for index, entry in enumerate(self.plays()):
            if play is not None and index != play:
                continue
            for task in entry.get("tasks", []):
                for result in task.get("hosts", {}).values():
                    yield task["task"]["name"].split(" : ", 1)[-1], result

    def changed(self, play):
        return [name for name, result in self.results(play) if result.get("changed")]

    def failed(self):
        return [(name, result) for name, result in self.results() if result.get("failed")]

    def result(self, name):
        return [r for n, r in self.results() if n == name]

    def __repr__(self):
        failed = self.failed()
        return "rc=%s failed=%s\n%s" % (self.rc, [(n, r.get("msg")) for n, r in failed], self.output[-3000:])


def run_role(variables, tmp_path, second_run=False):
    extra = dict(COMMON)
    extra.update(variables)
    extra.setdefault("inference_workload_manifest_dir", str(tmp_path / "manifests"))
    extra["workload_second_run"] = second_run
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra))
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("AZURE_"):
            del env[key]
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_PIPELINING="1",
               no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    cmd = [playbook_bin if os.path.exists(playbook_bin) else shutil.which("ansible-playbook"),
           "-i", os.path.join(ROOT, "tests", "integration", "inventory.yml"), PLAYBOOK, "-e", "@" + str(vars_file)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    start = proc.stdout.find("{")
    return Run(proc, json.loads(proc.stdout[start:]) if start >= 0 else None)


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_renders_valid_clean_files_and_is_idempotent(variant, tmp_path):
    variables, expected_files = VARIANTS[variant]
    run = run_role(variables, tmp_path, second_run=True)
    assert run.rc == 0, run
    assert len(run.plays()) == 2
    assert "Render the manifests, one object per file" in run.changed(0), run
    assert run.changed(1) == [], run     # second run with the same input: changed=0

    dest = tmp_path / "manifests"
    assert sorted(os.listdir(dest)) == expected_files
    merged = dict(COMMON, **variables)
    version = merged["inference_workload_kubernetes_version"]
    manifests = []
    for name in expected_files:
        obj = load(dest / name)
        assert kubernetes_validate.validate(obj, version + ".0", strict=True) == version, name
        manifests.append(k8s_policy.Manifest(obj, name))
    deployment = next(m for m in manifests if m.kind == "Deployment").obj
    pod = deployment["spec"]["template"]["spec"]
    runtime = merged.get("inference_workload_runtime", "vllm")
    cache = "/opt/nim/.cache" if runtime == "nim" else "/models"
    options = k8s_policy.PolicyOptions([REGISTRY], runtime=runtime, model_cache_path=cache,
                                       gpu_pool_labels={"kubernetes.azure.com/agentpool": "gpu"},
                                       require_cache_mount=merged["inference_workload_weights_source"] != "image",
                                       ingress_cidrs=["10.40.0.0/16"])
    assert k8s_policy.check_policy(manifests, options) == []
    text = "".join((dest / name).read_text() for name in expected_files)
    assert "NGC_API_KEY" not in text and "HF_TOKEN" not in text
    if variant.startswith("vllm-weights-image-volume"):
        assert any("image" in volume for volume in pod["volumes"]) and "initContainers" not in pod
    if variant.startswith("vllm-weights-image-init"):
        assert pod["initContainers"][0]["image"] == WEIGHTS_IMAGE

    gpu_job = tmp_path / "manifests-gpu-check" / "job-llm-gpu-check.yaml"
    job = load(gpu_job)
    assert kubernetes_validate.validate(job, version + ".0", strict=True) == version
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][0] == "nvidia-smi"

    said = run.result("Say plainly that nothing was applied")
    assert len(said) == 2 and said[0]["msg"].startswith("Applying needs a cluster")
    assert "GPU check Job" in said[0]["msg"]
    facts = [r["ansible_facts"]["inference_workload"] for r in run.result("Publish what later stages need")]
    assert len(facts) == 2 and facts[0] == facts[1]
    assert facts[0]["applied"] is False and facts[0]["manifest_dir"] == str(dest)
    assert facts[0]["files"] == expected_files
    assert (facts[0]["service_name"], facts[0]["service_port"], facts[0]["base_url"]) == \
        ("llm", 8000, "http://10.40.1.50:8000")


class FakeApiServer:
    """Answers every request with 401 and counts them: any request means something was being applied."""

    def __init__(self):
        requests = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                requests.append((self.command, self.path))
                body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                   "reason": "Unauthorized", "message": "fake API server", "code": 401}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def kubeconfig(self, path):
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": "http://127.0.0.1:%d" % self.server.server_port}}],
            "users": [{"name": "fake", "user": {}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
        }))
        return str(path)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api_server():
    server = FakeApiServer()
    yield server
    server.stop()


def applying_locally(api_server, tmp_path, **variables):
    variables.update(inference_workload_apply_via="local", inference_workload_gpu_check=False,
                     inference_workload_kubeconfig=api_server.kubeconfig(tmp_path / "kubeconfig"))
    return variables


def test_control_a_valid_workload_does_reach_the_api_server(api_server, tmp_path):
    run = run_role(applying_locally(api_server, tmp_path, inference_workload_weights_source="nfs"), tmp_path)
    assert run.rc != 0
    assert [name for name, _r in run.failed()] == ["Apply the manifests (server-side apply) and wait for the rollout"]
    assert api_server.requests, "the apply task never reached the fake API server"


BAD_INPUTS = {
    "public-registry-image": (
        {"inference_workload_image": "docker.io/vllm/vllm-openai:v0.8.5"},
        "Validate the manifests against the Kubernetes schemas and the air-gap policy",
        ["Deployment/inference/llm spec.template.spec.containers[0].image [private-registry]", "docker.io"]),
    "api-key-in-env": (
        {"inference_workload_env": {"NGC_API_KEY": FAKE_NGC_KEY}},
        "Refuse credentials in the workload's variables",
        ["inference_workload_env.NGC_API_KEY:", "nothing was rendered or applied"]),
    "api-key-in-args": (
        {"inference_workload_extra_args": ["--max-model-len", "8192", "--api-key", "s3cr3t-value"]},
        "Refuse credentials in the workload's variables",
        ["inference_workload_extra_args[2]:", "--api-key"]),
    "token-value-in-a-variable": (
        {"inference_workload_annotations": {"build-note": "pulled with " + FAKE_NGC_KEY}},
        "Refuse credentials in the workload's variables",
        ["inference_workload_annotations.build-note:", "NGC API key"]),
    "model-path-outside-the-cache": (
        {"inference_workload_weights_source": "nfs", "inference_workload_model_path": "/data/llama-3.1-8b-instruct"},
        "Validate the manifests against the Kubernetes schemas and the air-gap policy",
        ["Deployment/inference/llm spec.template.spec.containers[0].args[0] [model-path-in-cache]", "/models"]),
    "taint-toleration-mismatch": (
        {"inference_workload_tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
        "Validate the manifests against the Kubernetes schemas and the air-gap policy",
        ["Deployment/inference/llm spec.template.spec.tolerations [gpu-toleration]", "sku=gpu:NoSchedule"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_before_anything_is_applied(case, api_server, tmp_path):
    variables, failing_task, expected = BAD_INPUTS[case]
    run = run_role(applying_locally(api_server, tmp_path, **variables), tmp_path)
    assert run.rc != 0
    failed = run.failed()
    assert [name for name, _r in failed] == [failing_task], run
    message = failed[0][1]["msg"]
    for text in expected:
        assert text in message, message
    assert FAKE_NGC_KEY not in run.output and "s3cr3t-value" not in message
    assert api_server.requests == []
    assert not run.result("Apply the manifests (server-side apply) and wait for the rollout")
    if failing_task.startswith("Refuse credentials"):
        assert not (tmp_path / "manifests").exists()      # nothing rendered either


def test_the_workload_playbook_with_the_local_inventory(tmp_path):
    """playbooks/workload.yml as `ansible-playbook playbooks/workload.yml` runs it (inventories/local)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_PIPELINING="1")
    dest = tmp_path / "gitops"
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           os.path.join(ROOT, "playbooks", "workload.yml"),
                           "-e", "inference_workload_manifest_dir=%s" % dest],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Applying needs a cluster" in proc.stdout
    assert sorted(os.listdir(dest)) == NFS_FILES
