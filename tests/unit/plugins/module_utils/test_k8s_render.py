# -*- coding: utf-8 -*-
"""plugins/module_utils/k8s_render.py: each weights source and runtime, input checks, stable files."""
import os

import pytest
import yaml

from ansible_collections.airgap.aks_inference.plugins.module_utils import k8s_render as render

REGISTRY = "contosoacr.azurecr.io"
BASE = {
    "image": REGISTRY + "/vllm/vllm-openai:v0.8.5",
    "served_model_name": "llama",
    "model_path": "/models/llama",
    "ingress_cidrs": ["10.40.0.0/16"],
    "gpu_pool_taints": [{"key": "sku", "value": "gpu", "effect": "NoSchedule"}],
    "gpu_pool_labels": {"kubernetes.azure.com/agentpool": "gpu"},
    "storage": {"server": "acct.file.core.windows.net", "path": "/acct/models"},
}


def build(**overrides):
    params = dict(BASE)
    params.update(overrides)
    spec = render.WorkloadSpec.from_params(params)
    return spec, dict((obj["kind"], obj) for _name, obj in render.render(spec))


def deployment_pod(objs):
    return objs["Deployment"]["spec"]["template"]["spec"]


def env(container):
    return dict((e["name"], e.get("value")) for e in container["env"])


def test_vllm_on_nfs():
    spec, objs = build()
    assert list(objs) == ["Namespace", "ServiceAccount", "PersistentVolume", "PersistentVolumeClaim", "NetworkPolicy",
                          "Deployment", "Service", "PodDisruptionBudget"]
    pod = deployment_pod(objs)
    (container,) = pod["containers"]
    assert container["command"] == ["vllm", "serve"]
    assert container["args"][:3] == ["/models/llama", "--served-model-name", "llama"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert env(container)["HF_HUB_OFFLINE"] == "1" and env(container)["TRANSFORMERS_OFFLINE"] == "1"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["periodSeconds"] * container["startupProbe"]["failureThreshold"] >= 1800
    assert {"name": "weights", "mountPath": "/models", "readOnly": True} in container["volumeMounts"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}} in pod["volumes"]
    assert pod["tolerations"] == [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    assert pod["automountServiceAccountToken"] is False
    assert objs["ServiceAccount"]["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsNonRoot"] is True
    pv = objs["PersistentVolume"]["spec"]
    assert pv["nfs"] == {"server": "acct.file.core.windows.net", "path": "/acct/models", "readOnly": True}
    assert pv["mountOptions"] == ["vers=4", "minorversion=1", "sec=sys", "nconnect=4"]
    assert pv["accessModes"] == ["ReadOnlyMany"] and pv["storageClassName"] == ""
    assert objs["PersistentVolumeClaim"]["spec"]["volumeName"] == objs["PersistentVolume"]["metadata"]["name"]
    assert "NGC_API_KEY" not in yaml.safe_dump(list(objs.values()))
    assert "HF_TOKEN" not in yaml.safe_dump(list(objs.values()))


def test_namespace_pod_security_labels():
    _spec, objs = build(kubernetes_version="1.35")
    labels = objs["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.35"


def test_vllm_weights_baked_into_the_image_mounts_nothing():
    _spec, objs = build(weights_source="image")
    assert "PersistentVolume" not in objs
    pod = deployment_pod(objs)
    assert [v["name"] for v in pod["volumes"]] == ["dshm", "tmp"]
    assert pod["containers"][0]["args"][0] == "/models/llama"


def test_nim_on_nfs():
    _spec, objs = build(runtime="nim", model_path="", image=REGISTRY + "/nim/meta/llama:1", nim_model_profile="p1")
    container = deployment_pod(objs)["containers"][0]
    assert "command" not in container and "args" not in container
    values = env(container)
    assert values["NIM_CACHE_PATH"] == "/opt/nim/.cache" and values["NIM_SERVED_MODEL_NAME"] == "llama"
    assert values["NIM_SERVER_PORT"] == "8000" and values["NIM_MODEL_PROFILE"] == "p1"
    assert "NIM_MODEL_NAME" not in values and "NGC_API_KEY" not in values
    assert container["startupProbe"]["httpGet"]["path"] == "/v1/health/ready"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v1/health/live"
    assert {"name": "weights", "mountPath": "/opt/nim/.cache", "readOnly": True} in container["volumeMounts"]


def test_weights_image_as_image_volume_from_135():
    spec, objs = build(weights_source="weights_image", weights_image=REGISTRY + "/weights/llama:1",
                       kubernetes_version="1.35")
    assert spec.image_volume
    pod = deployment_pod(objs)
    assert "initContainers" not in pod
    assert {"name": "weights", "image": {"reference": REGISTRY + "/weights/llama:1", "pullPolicy": "IfNotPresent"}} \
        in pod["volumes"]
    assert {"name": "weights", "mountPath": "/models", "readOnly": True, "subPath": "models"} in \
        pod["containers"][0]["volumeMounts"]


def test_weights_image_copied_by_an_init_container_before_135():
    spec, objs = build(weights_source="weights_image", weights_image=REGISTRY + "/weights/llama:1",
                       kubernetes_version="1.34", weights_copy_size_limit="40Gi")
    assert not spec.image_volume
    pod = deployment_pod(objs)
    (init,) = pod["initContainers"]
    assert init["image"] == REGISTRY + "/weights/llama:1"
    assert init["command"] == ["cp", "-R", "/models/.", "/airgap-weights/"]
    assert {"name": "weights", "emptyDir": {"sizeLimit": "40Gi"}} in pod["volumes"]
    assert {"name": "weights", "mountPath": "/models", "readOnly": True} in pod["containers"][0]["volumeMounts"]


def test_azure_files_csi_static_volume_with_private_endpoint_class():
    _spec, objs = build(storage={"provider": "azure_files", "resource_group": "rg", "storage_account": "acct",
                                 "share_name": "models"})
    sc = objs["StorageClass"]
    assert sc["provisioner"] == "file.csi.azure.com"
    assert sc["parameters"]["networkEndpointType"] == "privateEndpoint" and sc["parameters"]["protocol"] == "nfs"
    assert "nconnect=4" in sc["mountOptions"]
    csi = objs["PersistentVolume"]["spec"]["csi"]
    assert csi["volumeHandle"] == "rg#acct#models" and csi["readOnly"] is True
    assert objs["PersistentVolume"]["spec"]["storageClassName"] == sc["metadata"]["name"]
    assert objs["PersistentVolumeClaim"]["spec"]["storageClassName"] == sc["metadata"]["name"]


def test_internal_service_with_static_ip_and_subnet():
    _spec, objs = build(service={"static_ip": "10.40.1.50", "subnet": "snet-nodes", "port": 80})
    svc = objs["Service"]
    annotations = svc["metadata"]["annotations"]
    assert annotations[render.INTERNAL_LB] == "true"
    assert annotations[render.LB_IPV4] == "10.40.1.50"
    assert annotations[render.INTERNAL_LB_SUBNET] == "snet-nodes"
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["ports"][0]["port"] == 80
    assert svc["spec"]["loadBalancerSourceRanges"] == ["10.40.0.0/16"]


def test_network_policy_denies_egress_but_dns_and_admits_only_the_cidrs():
    _spec, objs = build(ingress_cidrs=["10.40.0.0/16", "192.168.10.0/24"])
    spec = objs["NetworkPolicy"]["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"] and spec["podSelector"] == {}
    assert [p["port"] for p in spec["egress"][0]["ports"]] == [53, 53]
    assert [p["ipBlock"]["cidr"] for p in spec["ingress"][0]["from"]] == ["10.40.0.0/16", "192.168.10.0/24"]


def test_tolerations_override_and_env_override():
    tolerations = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    _spec, objs = build(tolerations=tolerations, env={"VLLM_LOGGING_LEVEL": "DEBUG", "HF_HUB_OFFLINE": "0"})
    pod = deployment_pod(objs)
    assert pod["tolerations"] == tolerations
    values = env(pod["containers"][0])
    assert values["VLLM_LOGGING_LEVEL"] == "DEBUG" and values["HF_HUB_OFFLINE"] == "0"


@pytest.mark.parametrize("overrides, field", [
    ({"name": "Bad_Name"}, "name"),
    ({"namespace": "-x"}, "namespace"),
    ({"runtime": "tgi"}, "runtime"),
    ({"runtime": "nim", "weights_source": "image"}, "weights_source"),
    ({"image": ""}, "image"),
    ({"model_path": ""}, "model_path"),
    ({"model_path": "meta-llama/Llama-3.1-8B"}, "model_path"),
    ({"model_path": "/models/../etc"}, "model_path"),
    ({"served_model_name": ""}, "served_model_name"),
    ({"weights_source": "weights_image"}, "weights_image"),
    ({"storage": {"server": "x"}}, "storage.path"),
    ({"storage": {"provider": "azure_files", "resource_group": "rg"}}, "storage.storage_account"),
    ({"kubernetes_version": "latest"}, "kubernetes_version"),
    ({"ingress_cidrs": []}, "ingress_cidrs"),
    ({"ingress_cidrs": ["10.40.0.1/16"]}, "ingress_cidrs[0]"),
    ({"service": {"static_ip": "10.40.1"}}, "service.static_ip"),
    ({"gpu_pool_taints": [{"value": "gpu"}]}, "gpu_pool_taints[0]"),
    ({"gpu_pool_taints": [{"key": "sku", "effect": "Sometimes"}]}, "gpu_pool_taints[0].effect"),
    ({"gpu_count": 0}, "gpu_count"),
    ({"startup_budget": 10}, "startup_budget"),
    ({"shm_size": "lots"}, "shm_size"),
    ({"env": {"NGC_API_KEY": "x"}}, "env.NGC_API_KEY"),
    ({"env": {"HF_TOKEN": ""}}, "env.HF_TOKEN"),
    ({"extra_args": ["--api-key", "x"]}, "extra_args[0]"),
    ({"annotations": {"a": "nvapi-" + "k" * 30}}, "annotations.a"),
    ({"service": {"annotations": {"x-token": "abc"}}}, "service.annotations.x-token"),
])
def test_bad_input_names_the_option(overrides, field):
    params = dict(BASE)
    params.update(overrides)
    with pytest.raises(render.RenderError) as err:
        render.WorkloadSpec.from_params(params, prefix="inference_workload_")
    assert err.value.field == "inference_workload_" + field
    assert str(err.value).startswith("inference_workload_" + field + ":")


def test_file_names_are_ordered_and_unique():
    spec, _objs = build(storage={"provider": "azure_files", "resource_group": "rg", "storage_account": "acct",
                                 "share_name": "models"})
    names = [name for name, _obj in render.render(spec)]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert names[0] == "00-namespace-inference.yaml" and names[-1] == "80-poddisruptionbudget-llm.yaml"


def test_dump_is_stable_and_starts_with_the_header():
    spec, _objs = build()
    first = [render.dump(obj) for _name, obj in render.render(spec)]
    second = [render.dump(obj) for _name, obj in render.render(render.WorkloadSpec.from_params(dict(BASE)))]
    assert first == second
    assert all(text.startswith(render.HEADER) for text in first)
    assert yaml.safe_load(first[0])["kind"] == "Namespace"


def files_of(**overrides):
    spec, _objs = build(**overrides)
    return [(name, render.dump(obj)) for name, obj in render.render(spec)]


def test_write_manifests_idempotent_and_removes_only_its_stale_files(tmp_path):
    dest = str(tmp_path / "m")
    first = render.write_manifests(dest, files_of())
    assert first["changed"] and len(first["written"]) == 8 and first["removed"] == []
    again = render.write_manifests(dest, files_of())
    assert not again["changed"] and again["written"] == [] and len(again["unchanged"]) == 8

    (tmp_path / "m" / "kustomization.yaml").write_text("resources: []\n")   # not ours: kept
    switched = render.write_manifests(dest, files_of(weights_source="image"))
    assert switched["changed"]
    assert sorted(switched["removed"]) == ["20-persistentvolume-inference-llm-weights.yaml",
                                           "30-persistentvolumeclaim-llm-weights.yaml",
                                           "40-networkpolicy-llm-isolation.yaml", "50-deployment-llm.yaml",
                                           "60-service-llm.yaml", "70-poddisruptionbudget-llm.yaml"]
    assert sorted(os.listdir(dest)) == sorted([name for name, _t in files_of(weights_source="image")] +
                                              ["kustomization.yaml"])


def test_write_manifests_check_mode_touches_nothing(tmp_path):
    dest = str(tmp_path / "m")
    result = render.write_manifests(dest, files_of(), check_mode=True)
    assert result["changed"] and len(result["written"]) == 8 and not os.path.exists(dest)
    assert result["diff"][0]["before"] == "" and result["diff"][0]["after"].startswith(render.HEADER)


def test_summary():
    spec, _objs = build(service={"static_ip": "10.40.1.50"})
    assert render.summary(spec) == {
        "namespace": "inference", "deployment": "llm", "service_name": "llm", "service_port": 8000,
        "service_ip": "10.40.1.50", "served_model_name": "llama", "runtime": "vllm", "weights_source": "nfs",
        "model_cache_path": "/models", "model_path": "/models/llama", "image_volume": False,
        "kubernetes_version": "1.34",
    }


def test_gpu_check_job_follows_the_pool_and_passes_the_policy():
    from ansible_collections.airgap.aks_inference.plugins.module_utils import k8s_policy

    taints = [{"key": "sku", "value": "gpu", "effect": "NoSchedule"}, {"key": "dedicated", "effect": "NoExecute"}]
    labels = {"kubernetes.azure.com/agentpool": "gpu", "tier": "a100"}
    spec, objs = build(gpu_pool_taints=taints, gpu_pool_labels=labels)
    name, job = render.gpu_check(spec, REGISTRY + "/nvidia/cuda:12.4.1-base-ubuntu22.04")
    assert name == "job-llm-gpu-check.yaml" and job["metadata"]["namespace"] == "inference"
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == labels
    assert pod["tolerations"] == [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
                                  {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]
    assert pod["containers"][0]["command"][0] == "nvidia-smi"
    manifests = [k8s_policy.Manifest(obj, n) for n, obj in render.render(spec)] + [k8s_policy.Manifest(job, name)]
    options = k8s_policy.PolicyOptions([REGISTRY], runtime="vllm", gpu_pool_taints=taints, gpu_pool_labels=labels,
                                       model_cache_path="/models", require_cache_mount=True)
    # A Job is no serving container: no offline env or model path is asked of it; the NetworkPolicy covers it.
    assert k8s_policy.check_policy(manifests, options) == []
    assert k8s_policy.validate_schemas(manifests, "1.34")[2] == []


def test_gpu_check_job_refuses_a_bare_image_name():
    spec, _objs = build()
    with pytest.raises(render.RenderError) as err:
        render.gpu_check(spec, "cuda", prefix="inference_workload_")
    assert err.value.field == "inference_workload_gpu_check_image"
