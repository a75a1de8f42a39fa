#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: render_inference_manifests
short_description: Render the Kubernetes objects of an LLM inference workload (vLLM or NVIDIA NIM) to a directory
version_added: 0.1.0
description:
  - Builds the objects an inference workload in a network-isolated AKS cluster needs and writes them to
    O(dest), one object per file, named C(NN-kind-name.yaml) in the order they must be applied. Users with
    GitOps commit that directory.
  - "Objects: a namespace with pod-security labels; a service account that mounts no token; for weights on
    the NFS share a read-only PersistentVolume and claim (plain NFS with C(nconnect), or an Azure Files CSI
    static volume with a private-endpoint StorageClass); a NetworkPolicy that denies all egress but DNS and
    lets in only O(ingress_cidrs); the Deployment; an internal LoadBalancer Service; a PodDisruptionBudget."
  - The Deployment asks for O(gpu_count) C(nvidia.com/gpu), tolerates the GPU pool's taints, is pinned to the
    pool's labels, mounts C(/dev/shm) as a memory C(emptyDir), runs as O(run_as_user)/O(run_as_group) without
    privileges, sets the runtime's offline environment, and probes the runtime's own endpoints (vLLM C(/health)
    and C(/v1/models); NIM C(/v1/health/ready) and C(/v1/health/live)) with a startup budget of
    O(startup_budget) seconds for loading the weights.
  - "Weights: O(weights_source=image) baked into the serving image (vLLM); O(weights_source=nfs) on the NFS
    share (vLLM or NIM); O(weights_source=weights_image) a weights-only image (vLLM), mounted as an image
    volume on Kubernetes 1.35 and later, else copied into an C(emptyDir) by an init container."
  - Files are rewritten only when their content changes; files an earlier run wrote that the current input no
    longer produces are removed (only files carrying this module's header line). A second run with the same
    input reports no change.
  - Input that looks like a credential (C(NGC_API_KEY), C(HF_TOKEN), C(nvapi-...) or C(hf_...) values, C(--api-key)
    arguments, ...) in O(env), O(extra_args), O(labels), O(annotations) or O(service.annotations) fails before
    anything is written. Validate the result with M(airgap.aks_inference.k8s_manifest_check).
options:
  dest:
    description: Directory to write the manifests to; created when missing.
    type: path
    required: true
  variable_prefix:
    description:
      - Put in front of option names in error messages, for example V(inference_workload_) so a role's user
        reads the name of the variable to fix.
    type: str
    default: ""
  name:
    description: Name of the Deployment, Service, service account and budget (a DNS-1035 label).
    type: str
    default: llm
  namespace:
    description: Namespace of the workload; created with pod-security labels.
    type: str
    default: inference
  runtime:
    description: The serving runtime.
    type: str
    choices: [vllm, nim]
    default: vllm
  weights_source:
    description:
      - Where the weights come from. V(image) and V(weights_image) are for vLLM; NIM reads its model cache from
        the NFS share (V(nfs)).
    type: str
    choices: [image, nfs, weights_image]
    default: nfs
  image:
    description:
      - The serving image, from the private registry, for example V(contosoacr.azurecr.io/vllm/vllm-openai:v0.8.5).
    type: str
    required: true
  image_pull_policy:
    description: Pull policy of the images.
    type: str
    choices: [IfNotPresent, Always, Never]
    default: IfNotPresent
  model_path:
    description:
      - Path of the model directory the runtime loads; must lie under O(model_cache_path).
      - Required for vLLM (passed as C(vllm serve <path>)). For NIM optional; when set it is passed as
        C(NIM_MODEL_NAME) (a local model directory on the share).
    type: str
    default: ""
  model_cache_path:
    description:
      - Where the weights are in the container. The NFS share or the weights image is mounted there; for
        O(weights_source=image) the directory of the image holding the weights.
      - Defaults to V(/models) for vLLM and V(/opt/nim/.cache) (C(NIM_CACHE_PATH)) for NIM.
    type: str
    default: ""
  served_model_name:
    description: The model id clients ask for (vLLM C(--served-model-name), NIM C(NIM_SERVED_MODEL_NAME)).
    type: str
    required: true
  gpu_count:
    description: GPUs per pod (the C(nvidia.com/gpu) limit); vLLM's tensor parallel size.
    type: int
    default: 1
  replicas:
    description: Pods of the Deployment.
    type: int
    default: 1
  resources:
    description: C(requests) and C(limits) of the serving container (cpu, memory); the GPU limit is added.
    type: dict
    default: {}
  shm_size:
    description: Size of the memory C(emptyDir) mounted at C(/dev/shm).
    type: str
    default: 16Gi
  port:
    description: Port the runtime listens on.
    type: int
    default: 8000
  vllm_command:
    description: Command that starts vLLM's OpenAI-compatible server; the model path and options follow as arguments.
    type: list
    elements: str
    default: [vllm, serve]
  extra_args:
    description: More arguments for the runtime, for example V([--max-model-len, "8192"]). No credentials.
    type: list
    elements: str
    default: []
  env:
    description:
      - More environment variables of the serving container (name to value); a name the module sets overrides
        its value. No credentials.
    type: dict
    default: {}
  nim_model_profile:
    description: C(NIM_MODEL_PROFILE) for NIM, the profile staged in the cache; empty lets NIM choose.
    type: str
    default: ""
  weights_image:
    description: The weights-only image (from the private registry) for O(weights_source=weights_image).
    type: str
    default: ""
  weights_image_path:
    description: Directory of the weights inside O(weights_image); what appears at O(model_cache_path).
    type: str
    default: /models
  weights_copy_command:
    description:
      - Command of the init container that copies the weights image into the C(emptyDir) (Kubernetes before 1.35).
      - Defaults to C(cp -R <weights_image_path>/. /airgap-weights/) (keeping no ownership, as the pod runs
        unprivileged), which needs C(cp) in the weights image.
    type: list
    elements: str
    default: []
  weights_copy_size_limit:
    description: Size limit of the C(emptyDir) the init container copies the weights to.
    type: str
    default: 64Gi
  storage:
    description: The NFS share of the weights, for O(weights_source=nfs).
    type: dict
    default: {}
    suboptions:
      provider:
        description:
          - V(nfs) mounts the share with the in-tree NFS volume; V(azure_files) through the Azure Files CSI driver
            as a static volume with a StorageClass for the private endpoint.
        type: str
        choices: [nfs, azure_files]
        default: nfs
      server:
        description: NFS server, for example V(contosomodels.file.core.windows.net) (resolves to the private endpoint).
        type: str
      path:
        description: Export path, for example V(/contosomodels/models) (C(/<account>/<share>) for Azure Files).
        type: str
      sub_path:
        description: Directory of the share to mount instead of its root.
        type: str
        default: ""
      mount_options:
        description:
          - NFS mount options. Default V([vers=4, minorversion=1, sec=sys, nconnect=4]) for V(nfs), and
            V([nconnect=4, noresvport, actimeo=30]) for V(azure_files) (the driver sets the version itself).
        type: list
        elements: str
      capacity:
        description: Capacity written on the volume and claim (NFS does not enforce it).
        type: str
        default: 1Ti
      resource_group:
        description: Resource group of the storage account (V(azure_files)).
        type: str
      storage_account:
        description: Storage account of the share (V(azure_files)).
        type: str
      share_name:
        description: Name of the NFS share (V(azure_files)).
        type: str
      storage_class_name:
        description: Name of the StorageClass (V(azure_files)).
        type: str
        default: azurefile-nfs-private
      sku_name:
        description: SKU of the storage account (V(azure_files)); NFS shares need a premium one.
        type: str
        default: Premium_LRS
  service:
    description: The internal LoadBalancer Service.
    type: dict
    default: {}
    suboptions:
      port:
        description: Port of the Service. Defaults to O(port).
        type: int
      static_ip:
        description: Private IPv4 address for the load balancer, from the subnet; empty lets Azure pick one.
        type: str
        default: ""
      subnet:
        description: Subnet of the load balancer's frontend; empty for the nodes' subnet.
        type: str
        default: ""
      annotations:
        description: More annotations of the Service.
        type: dict
        default: {}
  ingress_cidrs:
    description:
      - Client CIDRs allowed to reach the model (NetworkPolicy ipBlocks and the load balancer's source ranges).
      - At least one.
    type: list
    elements: str
    required: true
  gpu_pool_taints:
    description: Taints of the GPU node pool; the pod tolerates exactly these unless O(tolerations) is set.
    type: list
    elements: dict
    default: [{key: sku, value: gpu, effect: NoSchedule}]
  gpu_pool_labels:
    description: Labels of the GPU pool's nodes the pod is pinned to by a required node affinity.
    type: dict
    default: {kubernetes.azure.com/agentpool: gpu}
  tolerations:
    description:
      - Tolerations of the pod, instead of those derived from O(gpu_pool_taints).
      - M(airgap.aks_inference.k8s_manifest_check) fails when they do not cover the pool's taints.
    type: list
    elements: dict
    default: []
  kubernetes_version:
    description:
      - Kubernetes minor version of the cluster, for example V("1.34"); from 1.35 on a weights image is mounted
        as an image volume. Also the pod-security version of the namespace.
    type: str
    default: "1.34"
  startup_budget:
    description:
      - Seconds the startup probe gives the runtime to load the weights before the pod is restarted.
      - Loading tens of GB from an NFS share takes minutes; the Deployment's progress deadline is this plus 600.
    type: int
    default: 1800
  run_as_user:
    description: User id of the pod (NIM images run as 1000).
    type: int
    default: 1000
  run_as_group:
    description: Group id of the pod.
    type: int
    default: 1000
  fs_group:
    description: Group of the pod's volumes.
    type: int
    default: 1000
  pod_security_level:
    description: Pod Security Standard the namespace enforces.
    type: str
    choices: [restricted, baseline, privileged]
    default: restricted
  pdb_max_unavailable:
    description: C(maxUnavailable) of the PodDisruptionBudget (a number or a percentage).
    type: raw
    default: 1
  labels:
    description: More labels of every object. No credentials.
    type: dict
    default: {}
  annotations:
    description: Annotations of the pod template. No credentials.
    type: dict
    default: {}
  gpu_check_dest:
    description:
      - Directory to write the GPU check Job to (C(job-<name>.yaml)); empty for no GPU check.
      - "The Job runs C(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader) once on
        the GPU pool: it asks for one C(nvidia.com/gpu), tolerates the pool like the workload, is pinned to
        O(gpu_pool_labels), runs unprivileged without a service-account token, and is deleted an hour after it
        finishes."
      - Keep it out of O(dest), so applying the workload (or syncing it with GitOps) does not run it.
    type: path
  gpu_check_image:
    description: Image of the GPU check, from the private registry; empty for O(image).
    type: str
    default: ""
  gpu_check_name:
    description: Name of the GPU check Job; empty for O(name) followed by C(-gpu-check).
    type: str
    default: ""
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    description: Reports which files would be written or removed and writes nothing.
  diff_mode:
    support: full
    description: Shows the old and new content of each file written or removed.
  platform:
    platforms: posix
requirements:
  - PyYAML
seealso:
  - module: airgap.aks_inference.k8s_manifest_check
  - name: Kubernetes image volumes
    description: Mounting an OCI image as a read-only volume.
    link: https://kubernetes.io/docs/tasks/configure-pod-container/image-volumes/
"""

EXAMPLES = r"""
- name: vLLM with the weights on the NFS share
  airgap.aks_inference.render_inference_manifests:
    dest: "{{ playbook_dir }}/../manifests/inference"
    image: contosoacr.azurecr.io/vllm/vllm-openai:v0.8.5
    served_model_name: llama-3.1-8b-instruct
    model_path: /models/llama-3.1-8b-instruct
    ingress_cidrs: [10.40.0.0/16]
    storage:
      server: contosomodels.file.core.windows.net
      path: /contosomodels/models

- name: NIM reading its cache from the share through the Azure Files CSI driver
  airgap.aks_inference.render_inference_manifests:
    dest: /srv/gitops/inference
    runtime: nim
    image: contosoacr.azurecr.io/nim/meta/llama-3.1-8b-instruct:1.8.6
    served_model_name: meta/llama-3.1-8b-instruct
    ingress_cidrs: [10.40.0.0/16]
    storage:
      provider: azure_files
      resource_group: rg-llm-isolated
      storage_account: contosomodels
      share_name: models
    service:
      static_ip: 10.40.1.50

- name: vLLM with a weights-only image (image volume on Kubernetes 1.35)
  airgap.aks_inference.render_inference_manifests:
    dest: /srv/gitops/inference
    weights_source: weights_image
    kubernetes_version: "1.35"
    image: contosoacr.azurecr.io/vllm/vllm-openai:v0.8.5
    weights_image: contosoacr.azurecr.io/weights/llama-3.1-8b-instruct:2024-07
    model_path: /models/llama-3.1-8b-instruct
    served_model_name: llama-3.1-8b-instruct
    ingress_cidrs: [10.40.0.0/16]
"""

RETURN = r"""
dest:
  description: The manifest directory.
  returned: always
  type: str
  sample: /srv/gitops/inference
files:
  description: The rendered objects in apply order, with their file names.
  returned: success
  type: list
  elements: dict
  sample:
    - {file: 00-namespace-inference.yaml, kind: Namespace, name: inference, namespace: null}
    - {file: 50-deployment-llm.yaml, kind: Deployment, name: llm, namespace: inference}
written:
  description: Files written by this run (or that would be, in check mode).
  returned: success
  type: list
  elements: str
removed:
  description: Stale files of an earlier render removed by this run.
  returned: success
  type: list
  elements: str
workload:
  description: What later tasks need about the workload.
  returned: success
  type: dict
  sample:
    namespace: inference
    deployment: llm
    service_name: llm
    service_port: 8000
    service_ip: 10.40.1.50
    served_model_name: llama-3.1-8b-instruct
    runtime: vllm
    weights_source: nfs
    model_cache_path: /models
    model_path: /models/llama-3.1-8b-instruct
    image_volume: false
    kubernetes_version: "1.34"
gpu_check:
  description: The GPU check Job, when O(gpu_check_dest) is set.
  returned: success
  type: dict
  sample: {dest: /srv/manifests/inference-gpu-check, file: job-llm-gpu-check.yaml, name: llm-gpu-check}
field:
  description: The option at fault, when the input is refused.
  returned: failure on bad input
  type: str
  sample: inference_workload_env.NGC_API_KEY
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airgap.aks_inference.plugins.module_utils.k8s_render import (
    HAS_YAML,
    RenderError,
    WorkloadSpec,
    dump,
    gpu_check,
    render,
    summary,
    write_manifests,
)

ARGUMENT_SPEC = dict(
    dest=dict(type="path", required=True),
    variable_prefix=dict(type="str", default=""),
    name=dict(type="str", default="llm"),
    namespace=dict(type="str", default="inference"),
    runtime=dict(type="str", choices=["vllm", "nim"], default="vllm"),
    weights_source=dict(type="str", choices=["image", "nfs", "weights_image"], default="nfs"),
    image=dict(type="str", required=True),
    image_pull_policy=dict(type="str", choices=["IfNotPresent", "Always", "Never"], default="IfNotPresent"),
    model_path=dict(type="str", default=""),
    model_cache_path=dict(type="str", default=""),
    served_model_name=dict(type="str", required=True),
    gpu_count=dict(type="int", default=1),
    replicas=dict(type="int", default=1),
    resources=dict(type="dict", default={}),
    shm_size=dict(type="str", default="16Gi"),
    port=dict(type="int", default=8000),
    vllm_command=dict(type="list", elements="str", default=["vllm", "serve"]),
    extra_args=dict(type="list", elements="str", default=[]),
    env=dict(type="dict", default={}),
    nim_model_profile=dict(type="str", default=""),
    weights_image=dict(type="str", default=""),
    weights_image_path=dict(type="str", default="/models"),
    weights_copy_command=dict(type="list", elements="str", default=[]),
    weights_copy_size_limit=dict(type="str", default="64Gi"),
    storage=dict(type="dict", default={}, options=dict(
        provider=dict(type="str", choices=["nfs", "azure_files"], default="nfs"),
        server=dict(type="str"),
        path=dict(type="str"),
        sub_path=dict(type="str", default=""),
        mount_options=dict(type="list", elements="str"),
        capacity=dict(type="str", default="1Ti"),
        resource_group=dict(type="str"),
        storage_account=dict(type="str"),
        share_name=dict(type="str"),
        storage_class_name=dict(type="str", default="azurefile-nfs-private"),
        sku_name=dict(type="str", default="Premium_LRS"),
    )),
    service=dict(type="dict", default={}, options=dict(
        port=dict(type="int"),
        static_ip=dict(type="str", default=""),
        subnet=dict(type="str", default=""),
        annotations=dict(type="dict", default={}),
    )),
    ingress_cidrs=dict(type="list", elements="str", required=True),
    gpu_pool_taints=dict(type="list", elements="dict",
                         default=[{"key": "sku", "value": "gpu", "effect": "NoSchedule"}]),
    gpu_pool_labels=dict(type="dict", default={"kubernetes.azure.com/agentpool": "gpu"}),
    tolerations=dict(type="list", elements="dict", default=[]),
    kubernetes_version=dict(type="str", default="1.34"),
    startup_budget=dict(type="int", default=1800),
    run_as_user=dict(type="int", default=1000),
    run_as_group=dict(type="int", default=1000),
    fs_group=dict(type="int", default=1000),
    pod_security_level=dict(type="str", choices=["restricted", "baseline", "privileged"], default="restricted"),
    pdb_max_unavailable=dict(type="raw", default=1),
    labels=dict(type="dict", default={}),
    annotations=dict(type="dict", default={}),
    gpu_check_dest=dict(type="path"),
    gpu_check_image=dict(type="str", default=""),
    gpu_check_name=dict(type="str", default=""),
)


def run(params, check_mode):
    """The module's result for ``params``; raises RenderError on bad input."""
    prefix = params.get("variable_prefix") or ""
    spec = WorkloadSpec.from_params(params, prefix=prefix)
    rendered = render(spec)
    job = None
    if params.get("gpu_check_dest"):
        job = gpu_check(spec, params.get("gpu_check_image") or None, params.get("gpu_check_name") or None, prefix)
    outcome = write_manifests(params["dest"], [(name, dump(obj)) for name, obj in rendered], check_mode=check_mode)
    result_job = None
    if job is not None:
        job_outcome = write_manifests(params["gpu_check_dest"], [(job[0], dump(job[1]))], check_mode=check_mode)
        for key in ("written", "removed", "diff"):
            outcome[key] = outcome[key] + job_outcome[key]
        outcome["changed"] = outcome["changed"] or job_outcome["changed"]
        result_job = {"dest": params["gpu_check_dest"], "file": job[0], "name": job[1]["metadata"]["name"]}
    return {
        "gpu_check": result_job,
        "changed": outcome["changed"],
        "dest": params["dest"],
        "files": [{"file": name, "kind": obj["kind"], "name": obj["metadata"]["name"],
                   "namespace": obj["metadata"].get("namespace")} for name, obj in rendered],
        "written": outcome["written"],
        "removed": outcome["removed"],
        "workload": summary(spec),
        "diff": outcome["diff"],
    }


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    try:
        result = run(module.params, module.check_mode)
    except RenderError as err:
        # Keep suspected credentials out of the logged invocation too (short ones would mask too much).
        module.no_log_values.update(value for value in err.secrets if len(value) >= 4)
        module.fail_json(msg="%s (nothing was written)" % err, field=err.field, dest=module.params["dest"])
    except (IOError, OSError) as err:
        module.fail_json(msg="cannot write the manifests to %s: %s" % (module.params["dest"], err))
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
