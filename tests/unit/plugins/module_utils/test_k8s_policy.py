# -*- coding: utf-8 -*-
"""plugins/module_utils/k8s_policy.py: every rule on a clean workload and on one broken field at a time."""
import copy

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import k8s_policy as policy
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
NIM = dict(BASE, runtime="nim", model_path="", image=REGISTRY + "/nim/meta/llama-3.1-8b-instruct:1.8.6")
FAKE_NGC_KEY = "nvapi-" + "Q" * 40
FAKE_HF_TOKEN = "hf_" + "a1B2" * 9


def objects(**overrides):
    params = dict(BASE)
    params.update(overrides)
    spec = render.WorkloadSpec.from_params(params)
    return spec, [policy.Manifest(copy.deepcopy(obj), name) for name, obj in render.render(spec)]


def options(spec, **overrides):
    values = dict(allowed_registries=[REGISTRY], runtime=spec.runtime, gpu_pool_taints=spec.gpu_pool_taints,
                  gpu_pool_labels=spec.gpu_pool_labels, model_cache_path=spec.model_cache_path,
                  require_cache_mount=spec.mounts_weights, ingress_cidrs=spec.ingress_cidrs)
    values.update(overrides)
    return policy.PolicyOptions(**values)


def find(manifests, kind):
    return next(m for m in manifests if m.kind == kind)


def container(manifests):
    return find(manifests, "Deployment").obj["spec"]["template"]["spec"]["containers"][0]


def pod(manifests):
    return find(manifests, "Deployment").obj["spec"]["template"]["spec"]


def env_index(c, name):
    return next(i for i, e in enumerate(c["env"]) if e["name"] == name)


@pytest.mark.parametrize("overrides", [
    {"weights_source": "image"},
    {"weights_source": "nfs"},
    {"weights_source": "nfs", "storage": {"provider": "azure_files", "resource_group": "rg", "storage_account": "acct",
                                          "share_name": "models"}},
    {"weights_source": "weights_image", "weights_image": REGISTRY + "/weights/llama:1", "kubernetes_version": "1.35"},
    {"weights_source": "weights_image", "weights_image": REGISTRY + "/weights/llama:1", "kubernetes_version": "1.34"},
    dict(NIM, weights_source="nfs"),
    dict(NIM, weights_source="nfs", model_path="/opt/nim/.cache/local-model", nim_model_profile="tp1-fp8"),
], ids=["vllm-image", "vllm-nfs", "vllm-azurefiles", "vllm-image-volume", "vllm-init-copy", "nim-nfs", "nim-local"])
def test_rendered_variants_are_clean(overrides):
    spec, manifests = objects(**overrides)
    assert policy.check_policy(manifests, options(spec)) == []
    chosen, note, violations, warnings = policy.validate_schemas(manifests, "%d.%d" % spec.version)
    assert (violations, warnings, note) == ([], [], None)
    assert chosen == "%d.%d" % spec.version


def mutate_image(m):
    container(m)["image"] = "docker.io/vllm/vllm-openai:v0.8.5"


def mutate_image_implicit_hub(m):
    container(m)["image"] = "vllm/vllm-openai:latest"


def mutate_init_image(m):
    pod(m)["initContainers"] = [{"name": "copy", "image": "nvcr.io/nim/x:1"}]


def mutate_image_volume(m):
    pod(m)["volumes"].append({"name": "w2", "image": {"reference": "ghcr.io/acme/weights:1"}})


def add_env(name, value):
    def mutate(m):
        container(m)["env"].append({"name": name, "value": value})
    return mutate


def add_arg(*args):
    def mutate(m):
        container(m)["args"].extend(args)
    return mutate


def mutate_secret_ref(m):
    container(m)["env"].append({"name": "SOMETHING", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}})


def mutate_env_from(m):
    container(m)["envFrom"] = [{"secretRef": {"name": "ngc"}}]


def mutate_annotation(m):
    find(m, "Deployment").obj["metadata"]["annotations"] = {"example.com/build": "token " + FAKE_HF_TOKEN}


def mutate_pod_annotation(m):
    find(m, "Deployment").obj["spec"]["template"]["metadata"]["annotations"] = {"ngc-api-key": "x"}


def mutate_service_annotation(m):
    find(m, "Service").obj["metadata"]["annotations"]["hf-token"] = "x"


def drop_env(name):
    def mutate(m):
        c = container(m)
        c["env"] = [e for e in c["env"] if e["name"] != name]
    return mutate


def set_env(name, value):
    def mutate(m):
        c = container(m)
        c["env"][env_index(c, name)]["value"] = value
    return mutate


def mutate_tolerations(m):
    pod(m)["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def mutate_toleration_effect(m):
    pod(m)["tolerations"] = [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoExecute"}]


def mutate_no_affinity(m):
    pod(m).pop("affinity")


def mutate_wrong_pool(m):
    pod(m)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] = ["system"]


def mutate_model_path(m):
    container(m)["args"][0] = "/data/llama"


def mutate_model_hub_id(m):
    container(m)["args"][0] = "meta-llama/Llama-3.1-8B-Instruct"


def mutate_no_mount(m):
    c = container(m)
    c["volumeMounts"] = [v for v in c["volumeMounts"] if v["name"] != "weights"]


def mutate_egress_all(m):
    find(m, "NetworkPolicy").obj["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]})


def mutate_egress_https(m):
    find(m, "NetworkPolicy").obj["spec"]["egress"][0]["ports"].append({"protocol": "TCP", "port": 443})


def mutate_ingress_open(m):
    find(m, "NetworkPolicy").obj["spec"]["ingress"][0].pop("from")


def mutate_ingress_wide(m):
    find(m, "NetworkPolicy").obj["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"] = "0.0.0.0/0"


def mutate_ingress_pods(m):
    find(m, "NetworkPolicy").obj["spec"]["ingress"][0]["from"].append({"podSelector": {}})


def mutate_no_network_policy(m):
    m.remove(find(m, "NetworkPolicy"))


def mutate_policy_other_pods(m):
    find(m, "NetworkPolicy").obj["spec"]["podSelector"] = {"matchLabels": {"app": "other"}}


def mutate_public_service(m):
    find(m, "Service").obj["metadata"]["annotations"].pop(policy.INTERNAL_LB)


def mutate_nim_cache_path(m):
    set_env("NIM_CACHE_PATH", "/tmp/cache")(m)


def mutate_nim_model(m):
    container(m)["env"].append({"name": "NIM_MODEL_NAME", "value": "/srv/model"})


C0 = "spec.template.spec.containers[0]"
CASES = [
    # (id, render overrides, mutation, rule, field)
    ("public-image", {}, mutate_image, "private-registry", C0 + ".image"),
    ("implicit-docker-hub", {}, mutate_image_implicit_hub, "private-registry", C0 + ".image"),
    ("init-container-image", {}, mutate_init_image, "private-registry", "spec.template.spec.initContainers[0].image"),
    ("image-volume", {}, mutate_image_volume, "private-registry", "spec.template.spec.volumes[3].image.reference"),
    ("ngc-api-key-env", {}, add_env("NGC_API_KEY", "x"), "no-credentials", C0 + ".env[7]"),
    ("hf-token-env-empty", {}, add_env("HF_TOKEN", ""), "no-credentials", C0 + ".env[7]"),
    ("hub-token-env", {}, add_env("HUGGING_FACE_HUB_TOKEN", "x"), "no-credentials", C0 + ".env[7]"),
    ("openai-key-env", {}, add_env("OPENAI_API_KEY", "x"), "no-credentials", C0 + ".env[7]"),
    ("suffix-token-env", {}, add_env("MY_SERVICE_TOKEN", "abc"), "no-credentials", C0 + ".env[7]"),
    ("suffix-password-env", {}, add_env("DB_PASSWORD", "abc"), "no-credentials", C0 + ".env[7]"),
    ("nvapi-value", {}, add_env("EXTRA", FAKE_NGC_KEY), "no-credentials", C0 + ".env[7]"),
    ("hf-value", {}, add_env("EXTRA", FAKE_HF_TOKEN), "no-credentials", C0 + ".env[7]"),
    ("secret-key-ref", {}, mutate_secret_ref, "no-credentials", C0 + ".env[7]"),
    ("env-from-secret", {}, mutate_env_from, "no-credentials", C0 + ".envFrom[0]"),
    ("api-key-arg", {}, add_arg("--api-key", "abc"), "no-credentials", C0 + ".args[9]"),
    ("token-arg-equals", {}, add_arg("--hf-token=abc"), "no-credentials", C0 + ".args[9]"),
    ("token-value-arg", {}, add_arg("--note", FAKE_NGC_KEY), "no-credentials", C0 + ".args[10]"),
    ("annotation-value", {}, mutate_annotation, "no-credentials", 'metadata.annotations["example.com/build"]'),
    ("pod-annotation-name", {}, mutate_pod_annotation, "no-credentials",
     'spec.template.metadata.annotations["ngc-api-key"]'),
    ("service-annotation", {}, mutate_service_annotation, "no-credentials", 'metadata.annotations["hf-token"]'),
    ("hf-offline-missing", {}, drop_env("HF_HUB_OFFLINE"), "offline-env", C0 + ".env"),
    ("transformers-offline-missing", {}, drop_env("TRANSFORMERS_OFFLINE"), "offline-env", C0 + ".env"),
    ("hf-offline-zero", {}, set_env("HF_HUB_OFFLINE", "0"), "offline-env", C0 + ".env[0]"),
    ("nim-cache-missing", NIM, drop_env("NIM_CACHE_PATH"), "offline-env", C0 + ".env"),
    ("nim-cache-elsewhere", NIM, mutate_nim_cache_path, "offline-env", C0 + ".env[0]"),
    ("nim-offline-missing", NIM, drop_env("HF_HUB_OFFLINE"), "offline-env", C0 + ".env"),
    ("toleration-other-taint", {}, mutate_tolerations, "gpu-toleration", "spec.template.spec.tolerations"),
    ("toleration-wrong-effect", {}, mutate_toleration_effect, "gpu-toleration", "spec.template.spec.tolerations"),
    ("no-node-affinity", {}, mutate_no_affinity, "gpu-node-affinity", "spec.template.spec.affinity"),
    ("other-pool", {}, mutate_wrong_pool, "gpu-node-affinity", "spec.template.spec.affinity"),
    ("model-outside-cache", {}, mutate_model_path, "model-path-in-cache", C0 + ".args[0]"),
    ("model-hub-id", {}, mutate_model_hub_id, "model-path-in-cache", C0 + ".args[0]"),
    ("no-cache-mount", {}, mutate_no_mount, "model-path-in-cache", C0 + ".volumeMounts"),
    ("nim-model-outside-cache", NIM, mutate_nim_model, "model-path-in-cache", C0 + ".env[5]"),
    ("egress-anything", {}, mutate_egress_all, "network-policy", "spec.egress[1]"),
    ("egress-https", {}, mutate_egress_https, "network-policy", "spec.egress[0].ports[2]"),
    ("ingress-from-anyone", {}, mutate_ingress_open, "network-policy", "spec.ingress[0]"),
    ("ingress-too-wide", {}, mutate_ingress_wide, "network-policy", "spec.ingress[0].from[0].ipBlock.cidr"),
    ("ingress-from-pods", {}, mutate_ingress_pods, "network-policy", "spec.ingress[0].from[1]"),
    ("no-network-policy", {}, mutate_no_network_policy, "network-policy", "metadata.namespace"),
    ("policy-selects-other-pods", {}, mutate_policy_other_pods, "network-policy", "metadata.namespace"),
    ("public-service", {}, mutate_public_service, "internal-service",
     'metadata.annotations["service.beta.kubernetes.io/azure-load-balancer-internal"]'),
]


@pytest.mark.parametrize("overrides, mutate, rule, field", [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_each_rule_catches_its_violation(overrides, mutate, rule, field):
    spec, manifests = objects(**overrides)
    mutate(manifests)
    found = policy.check_policy(manifests, options(spec))
    assert [(v["rule"], v["field"]) for v in found if v["rule"] == rule][:1] == [(rule, field)], found
    assert all(v["object"].count("/") in (1, 2) for v in found)


def test_violation_names_object_field_rule_and_message():
    spec, manifests = objects()
    mutate_image(manifests)
    (found,) = policy.check_policy(manifests, options(spec))
    assert found["object"] == "Deployment/inference/llm"
    assert found["field"] == "spec.template.spec.containers[0].image"
    assert "docker.io" in found["message"] and REGISTRY in found["message"]
    assert found["file"].endswith("deployment-llm.yaml")


def test_secret_values_never_appear_in_messages():
    spec, manifests = objects()
    add_env("EXTRA", FAKE_NGC_KEY)(manifests)
    add_arg("--note", FAKE_HF_TOKEN)(manifests)
    found = policy.check_policy(manifests, options(spec))
    assert len(found) == 2
    text = repr(found)
    assert FAKE_NGC_KEY not in text and FAKE_HF_TOKEN not in text and "nvapi-" in text


@pytest.mark.parametrize("name, value, flagged", [
    ("HF_HUB_OFFLINE", "1", False),
    ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1", False),
    ("MAX_NUM_BATCHED_TOKENS", "8192", False),
    ("TOKENIZERS_PARALLELISM", "false", False),
    ("VLLM_ENABLE_TOKEN_THING", "1", False),   # a switch, not a credential
    ("NGC_API_KEY", "", True),
    ("ngc-api-key", "x", True),
    ("SOME_CLIENT_SECRET", "x", True),
    ("STORAGE_CONNECTION_STRING", "x", True),
    ("X_TOKEN", "", True),
])
def test_credential_names(name, value, flagged):
    assert bool(policy.credential_name(name, value)) is flagged


@pytest.mark.parametrize("value, flagged", [
    (FAKE_NGC_KEY, True),
    (FAKE_HF_TOKEN, True),
    ("sk-" + "x" * 30, True),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc", True),
    ("-----BEGIN RSA PRIVATE KEY-----", True),
    ("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" + "A" * 40, True),
    ("Bearer " + "t" * 30, True),
    ("hf_transfer", False),
    ("/models/llama", False),
    ("meta/llama-3.1-8b-instruct", False),
])
def test_credential_values(value, flagged):
    assert bool(policy.credential_value(value)) is flagged


def test_find_credentials_in_role_variables_names_the_variable():
    findings = policy.find_credentials({
        "inference_workload_env": {"NGC_API_KEY": FAKE_NGC_KEY, "HF_HUB_OFFLINE": "1"},
        "inference_workload_extra_args": ["--max-model-len", "8192", "--api-key", "abc"],
        "inference_workload_hf_token": "",
        "inference_workload_annotations": {"note": FAKE_HF_TOKEN},
        "inference_workload_gpu_count": 1,
        "inference_workload_service": {"annotations": {}},
    })
    assert [f["field"] for f in findings] == [
        "inference_workload_env.NGC_API_KEY",
        "inference_workload_extra_args[2]",
        "inference_workload_hf_token",
        "inference_workload_annotations.note",
    ]
    assert FAKE_NGC_KEY not in repr(findings) and FAKE_HF_TOKEN not in repr(findings)


def test_find_credentials_with_prefix():
    assert policy.find_credentials({"env": {"HF_TOKEN": "x"}}, prefix="inference_workload_")[0]["field"] == \
        "inference_workload_env.HF_TOKEN"


@pytest.mark.parametrize("tolerations, taint, expected", [
    ([{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}], None, True),
    ([{"key": "sku", "value": "gpu"}], None, True),                        # no effect: every effect
    ([{"key": "sku", "operator": "Exists"}], None, True),
    ([{"operator": "Exists"}], None, True),                                # tolerates everything
    ([{"key": "sku", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"}], None, False),
    ([{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "PreferNoSchedule"}], None, False),
    ([], None, False),
    ([{"key": "nvidia.com/gpu", "operator": "Exists"}], {"key": "nvidia.com/gpu", "value": "", "effect": "NoSchedule"},
     True),
])
def test_toleration_matching(tolerations, taint, expected):
    taint = taint or {"key": "sku", "value": "gpu", "effect": "NoSchedule"}
    assert policy.tolerates(tolerations, taint) is expected


def test_taint_mismatch_also_when_pool_has_another_taint():
    spec, manifests = objects()
    taints = spec.gpu_pool_taints + [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    found = policy.check_policy(manifests, options(spec, gpu_pool_taints=taints))
    assert [v["rule"] for v in found] == ["gpu-toleration"]
    assert "nvidia.com/gpu=present:NoSchedule" in found[0]["message"]


def test_gpu_rules_only_for_pods_asking_for_gpus():
    spec, manifests = objects()
    c = container(manifests)
    c["resources"]["limits"].pop("nvidia.com/gpu")
    pod(manifests).pop("tolerations")
    assert policy.check_policy(manifests, options(spec)) == []


def test_runtime_none_skips_offline_and_model_rules():
    spec, manifests = objects()
    drop_env("HF_HUB_OFFLINE")(manifests)
    mutate_model_path(manifests)
    assert policy.check_policy(manifests, options(spec, runtime=None)) == []


def test_registry_entries_with_a_path():
    assert policy.image_allowed(REGISTRY + "/approved/vllm:1", [REGISTRY + "/approved"])
    assert not policy.image_allowed(REGISTRY + "/other/vllm:1", [REGISTRY + "/approved"])
    assert policy.image_allowed("ContosoACR.azurecr.io/x:1", [REGISTRY])
    assert not policy.image_allowed("contosoacr.azurecr.io.evil.example/x:1", [REGISTRY])
    assert policy.split_image("localhost:5000/x") == ("localhost:5000", "x")
    assert policy.split_image("ubuntu") == ("docker.io", "ubuntu")


@pytest.mark.parametrize("command, args, expected", [
    (["vllm", "serve"], ["/models/a", "--port", "8000"], ("/models/a", "args[0]")),
    (["python3", "-m", "vllm.entrypoints.openai.api_server"], ["--model", "/models/b"], ("/models/b", "args[1]")),
    (None, ["--model=/models/c"], ("/models/c", "args[0]")),
    (["vllm", "serve", "/models/d"], ["--port", "8000"], ("/models/d", "command[2]")),
    (None, ["--port", "8000"], (None, None)),
])
def test_model_path_of_vllm(command, args, expected):
    c = {"args": args}
    if command:
        c["command"] = command
    assert policy.model_path_of(c, "vllm") == expected


@pytest.mark.parametrize("wanted, shipped, expected", [
    ("1.34", ["1.33.0", "1.34.0", "1.35.0"], ("1.34", None)),
    ("v1.34.2", ["1.33.0", "1.34.0"], ("1.34", None)),
    ("1.38", ["1.36.0", "1.37.0"], ("1.37", "the newest it ships")),
    ("1.20", ["1.25.0", "1.26.0"], ("1.25", "the oldest it ships")),
    ("1.30", ["1.29.0", "1.31.0"], ("1.29", "the nearest older one it ships")),
])
def test_schema_version_fallback(wanted, shipped, expected):
    chosen, note = policy.schema_version(wanted, shipped)
    assert chosen == expected[0]
    assert (note is None) if expected[1] is None else (expected[1] in note and wanted.lstrip("v")[:4] in note)


def test_schema_fallback_for_a_version_not_shipped_is_reported():
    spec, manifests = objects()
    chosen, note, violations, _warnings = policy.validate_schemas(manifests, "1.99")
    assert violations == [] and note and "1.99" in note and chosen in note


def test_schema_violation_names_the_field():
    spec, manifests = objects()
    container(manifests)["env"][0]["valu"] = "1"
    container(manifests)["resources"]["limits"]["memory"] = {"x": 1}
    _chosen, _note, violations, _warnings = policy.validate_schemas(manifests, "1.34")
    assert len(violations) == 1
    assert violations[0]["object"] == "Deployment/inference/llm" and violations[0]["rule"] == "schema"
    assert violations[0]["field"].startswith("spec.template.spec.containers[0]")


def test_unknown_kinds_are_warned_about_not_failed():
    manifests = [policy.Manifest({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})]
    _chosen, _note, violations, warnings = policy.validate_schemas(manifests, "1.34")
    assert violations == [] and "Widget" in warnings[0]


def test_image_volume_is_not_in_old_schemas():
    spec, manifests = objects(weights_source="weights_image", weights_image=REGISTRY + "/w:1", kubernetes_version="1.35")
    _chosen, _note, violations, _warnings = policy.validate_schemas(manifests, "1.30")
    assert [v["field"] for v in violations] == ["spec.template.spec.volumes[2]"]


def test_load_manifests_reads_multi_document_files(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n"
                                     "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s, namespace: a}\n")
    (tmp_path / "b.txt").write_text("ignored")
    (tmp_path / ".hidden.yaml").write_text("ignored: true")
    loaded = policy.load_manifests(policy.manifest_files(str(tmp_path)))
    assert [m.ref for m in loaded] == ["Namespace/a", "ServiceAccount/a/s"]


@pytest.mark.parametrize("text, match", [
    ("a: [", "not valid YAML"),
    ("- 1\n- 2\n", "not a Kubernetes object"),
    ("kind: Pod\n", "not a Kubernetes object"),
])
def test_load_manifests_refuses_what_is_not_an_object(tmp_path, text, match):
    (tmp_path / "x.yaml").write_text(text)
    with pytest.raises(policy.PolicyError, match=match):
        policy.load_manifests([str(tmp_path / "x.yaml")])


def test_options_need_a_registry():
    with pytest.raises(policy.PolicyError, match="allowed_registries"):
        policy.PolicyOptions([])


def test_describe_limits_its_length():
    violations = [{"object": "Pod/ns/p", "field": "f%d" % i, "rule": "r", "message": "m"} for i in range(12)]
    text = policy.describe(violations, limit=3)
    assert text.count("Pod/ns/p") == 3 and text.endswith("and 9 more")
