#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_manifest_check
short_description: Validate Kubernetes manifests against the upstream schemas and the air-gap policy
version_added: 0.1.0
description:
  - Loads every object of the YAML/JSON files in O(path) (directories, not recursive, or files) and
    validates each against the schemas of Kubernetes O(kubernetes_version) shipped by C(kubernetes-validate).
    When that minor version is not shipped the nearest one is used (the newest for a newer cluster) and
    RV(schema_note) says so.
  - "Then applies the policy of a network-isolated cluster: every image (containers, init containers, image
    volumes) from O(allowed_registries); no env var, argument, label or annotation whose name or value looks
    like a credential (C(NGC_API_KEY), C(HF_TOKEN), C(HUGGING_FACE_HUB_TOKEN), C(OPENAI_API_KEY), C(*_TOKEN),
    C(*_SECRET), C(*_PASSWORD), C(nvapi-...), C(hf_...) values, C(--api-key) ...) and no env from a Secret;
    the runtime's offline environment on the serving containers (vLLM C(HF_HUB_OFFLINE=1) and
    C(TRANSFORMERS_OFFLINE=1); NIM C(NIM_CACHE_PATH) and C(HF_HUB_OFFLINE=1)); pods that ask for
    C(nvidia.com/gpu) tolerate every taint in O(gpu_pool_taints) and are pinned to O(gpu_pool_labels);
    the model path the runtime loads lies under O(model_cache_path) (and a volume is mounted there with
    O(require_cache_mount)); a NetworkPolicy selects the pods, denies all egress but DNS (port 53) and lets in
    only ipBlocks inside O(ingress_cidrs); LoadBalancer Services carry the Azure internal annotation."
  - Fails listing every violation, each naming the object (C(Deployment/namespace/name)), the field
    (C(spec.template.spec.containers[0].env[3])), the rule and the problem. Nothing is sent anywhere, so run
    it before applying.
  - The values of suspected secrets are never repeated in the result.
options:
  path:
    description:
      - Directories of manifest files (C(*.yaml), C(*.yml), C(*.json); not recursive) or files, checked together
        (a NetworkPolicy in one covers the pods of another).
    type: list
    elements: path
    required: true
  kubernetes_version:
    description: Kubernetes minor version of the target cluster, for example V("1.34").
    type: str
    required: true
  strict:
    description: Refuse fields the schema does not know (catches misspelt fields).
    type: bool
    default: true
  allowed_registries:
    description:
      - Registries images may come from, for example V([contosoacr.azurecr.io]); an entry with a path
        (V(contosoacr.azurecr.io/approved)) allows only repositories under it.
    type: list
    elements: str
    required: true
  runtime:
    description:
      - The runtime of the serving containers (the containers that ask for C(nvidia.com/gpu) in a Deployment,
        StatefulSet, DaemonSet, ReplicaSet or Pod; Jobs such as the GPU check are not serving); decides which
        offline environment and model path are required. V(none) skips those two rules.
    type: str
    choices: [vllm, nim, none]
    default: none
  gpu_pool_taints:
    description: Taints of the GPU node pool that pods asking for GPUs must tolerate.
    type: list
    elements: dict
    default: [{key: sku, value: gpu, effect: NoSchedule}]
  gpu_pool_labels:
    description: Labels of the GPU pool's nodes that pods asking for GPUs must be pinned to; empty to skip.
    type: dict
    default: {}
  model_cache_path:
    description:
      - Where the weights are in the serving container; the model path must lie under it.
      - For NIM defaults to the container's C(NIM_CACHE_PATH), which must then equal it.
    type: str
  require_cache_mount:
    description: Require a volume mounted at O(model_cache_path) (weights on the share or in a weights image).
    type: bool
    default: false
  require_network_policy:
    description: Require every pod-bearing object to be covered by NetworkPolicies restricting ingress and egress.
    type: bool
    default: true
  ingress_cidrs:
    description: Client CIDRs NetworkPolicy ipBlocks must lie inside; empty accepts any ipBlock.
    type: list
    elements: str
    default: []
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    description: The module only reads files; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - kubernetes-validate >= 1.31.0
  - PyYAML
seealso:
  - module: airgap.aks_inference.render_inference_manifests
  - name: kubernetes-validate
    description: Validation of Kubernetes objects against the upstream JSON schemas.
    link: https://github.com/willthames/kubernetes-validate
"""

EXAMPLES = r"""
- name: Validate the rendered workload and its GPU check before applying them
  airgap.aks_inference.k8s_manifest_check:
    path: ["{{ manifest_dir }}", "{{ manifest_dir }}-gpu-check"]
    kubernetes_version: "1.34"
    allowed_registries: [contosoacr.azurecr.io]
    runtime: vllm
    model_cache_path: /models
    require_cache_mount: true
    ingress_cidrs: [10.40.0.0/16]

- name: Check a GitOps directory written by hand, without failing the play
  airgap.aks_inference.k8s_manifest_check:
    path: /srv/gitops/inference
    kubernetes_version: "1.35"
    allowed_registries: [contosoacr.azurecr.io]
  register: check
  ignore_errors: true
"""

RETURN = r"""
objects:
  description: The objects found, in file order.
  returned: when the files could be read
  type: list
  elements: dict
  sample: [{object: Deployment/inference/llm, kind: Deployment, name: llm, namespace: inference,
            file: /srv/gitops/inference/50-deployment-llm.yaml}]
schema_version:
  description: The Kubernetes minor version whose schemas were used.
  returned: when the files could be read
  type: str
  sample: "1.34"
schema_note:
  description: Why another version than O(kubernetes_version) was used; V(null) when it was the one asked for.
  returned: when the files could be read
  type: str
  sample: kubernetes-validate has no schema for Kubernetes 1.38; validated against 1.37 (the newest it ships)
violations:
  description: Schema and policy violations; empty on success.
  returned: when the files could be read
  type: list
  elements: dict
  sample:
    - object: Deployment/inference/llm
      field: spec.template.spec.containers[0].image
      rule: private-registry
      message: image docker.io/vllm/vllm-openai:v0.8.5 comes from docker.io, not from the private registry
      file: /srv/gitops/inference/50-deployment-llm.yaml
schema_warnings:
  description: Objects that could not be validated (no schema for their kind, for example custom resources).
  returned: when the files could be read
  type: list
  elements: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airgap.aks_inference.plugins.module_utils.k8s_policy import (
    HAS_KUBERNETES_VALIDATE,
    HAS_YAML,
    KUBERNETES_VALIDATE_IMPORT_ERROR,
    PolicyError,
    PolicyOptions,
    check,
    describe,
    manifest_files,
)

ARGUMENT_SPEC = dict(
    path=dict(type="list", elements="path", required=True),
    kubernetes_version=dict(type="str", required=True),
    strict=dict(type="bool", default=True),
    allowed_registries=dict(type="list", elements="str", required=True),
    runtime=dict(type="str", choices=["vllm", "nim", "none"], default="none"),
    gpu_pool_taints=dict(type="list", elements="dict",
                         default=[{"key": "sku", "value": "gpu", "effect": "NoSchedule"}]),
    gpu_pool_labels=dict(type="dict", default={}),
    model_cache_path=dict(type="str"),
    require_cache_mount=dict(type="bool", default=False),
    require_network_policy=dict(type="bool", default=True),
    ingress_cidrs=dict(type="list", elements="str", default=[]),
)


def run(params):
    """Result of the check; ``failed`` set when there are violations. Raises PolicyError for unreadable input."""
    options = PolicyOptions(
        params["allowed_registries"],
        runtime=params["runtime"],
        gpu_pool_taints=params["gpu_pool_taints"],
        gpu_pool_labels=params["gpu_pool_labels"],
        model_cache_path=params.get("model_cache_path"),
        require_cache_mount=params["require_cache_mount"],
        require_network_policy=params["require_network_policy"],
        ingress_cidrs=params["ingress_cidrs"],
    )
    files = manifest_files(params["path"])
    if not files:
        raise PolicyError("path: %s holds no manifest file" % ", ".join(params["path"]))
    result = check(files, params["kubernetes_version"], options, strict=params["strict"])
    result["changed"] = False
    if result["violations"]:
        result["failed"] = True
        result["msg"] = "%d violation(s) in %s, nothing was applied: %s" % (
            len(result["violations"]), ", ".join(params["path"]), describe(result["violations"]))
    else:
        result["msg"] = "%d object(s) valid for Kubernetes %s and within the policy" % (
            len(result["objects"]), result["schema_version"])
    return result


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    if not HAS_KUBERNETES_VALIDATE:
        module.fail_json(msg=missing_required_lib("kubernetes-validate"),
                         exception=str(KUBERNETES_VALIDATE_IMPORT_ERROR))
    try:
        result = run(module.params)
    except PolicyError as err:
        module.fail_json(msg=str(err))
    except (IOError, OSError) as err:
        module.fail_json(msg="cannot read the manifests: %s" % err, exception=traceback.format_exc())
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
