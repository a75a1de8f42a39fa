#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: model_image
short_description: Bake staged, verified model weights into container images and push them to the private registry
version_added: 0.1.0
description:
  - Runs on the GPU jump box, after M(airgap.aks_inference.model_weights) staged the model and
    M(airgap.aks_inference.acr_login) logged the runtime into the registry.
  - Makes the C(fat) image (the serving image plus the weights in one more layer, C(HF_HUB_OFFLINE=1) and
    C(TRANSFORMERS_OFFLINE=1), the model path as the default argument) and the C(weights) image (the weights
    alone, C(FROM scratch) by default, for an image volume or an init container), and pushes them.
  - The share must be complete (manifest not edited, completion marker present) and every file is hashed again
    against the manifest before anything is built; a share that does not match is refused and nothing is built.
    The share is only read.
  - Only the files the manifest lists (and the manifest and marker) enter an image; a generated ignore file keeps
    everything else on the share out. The Containerfile has no C(ARG), so no token or build argument reaches a
    build. Environment variables that look like credentials are removed from the environment of podman, docker
    and skopeo.
  - Labels record the manifest digest (C(io.airgap.aks-inference.weights.digest)), the source, the revision and a
    recipe digest over the Containerfile and the build settings, besides the C(org.opencontainers.image.*)
    annotations. When the registry's tag carries the same digest and recipe, nothing is built nor pushed.
  - With C(podman) the build is reproducible (C(--timestamp), no identity label), so the weights layer of both images
    is the same blob, stored and uploaded once.
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
requirements:
  - podman (4.x) or docker with BuildKit on the host running the module.
  - skopeo on that host, to read the registry (labels and digests of tags, the digest of the base image).
attributes:
  check_mode:
    support: full
    details: Verifies the share and reads the registry; reports which images would be built and pushed.
  diff_mode:
    support: full
    details: The module's own labels of each image in the registry, before and after.
  platform:
    platforms: posix
options:
  weights_dir:
    description:
      - The staged share of the model (the O(airgap.aks_inference.model_weights#module:dest) of a stage run), with
        its manifest and completion marker. It is the build context.
    type: path
    required: true
  images:
    description:
      - Which images to make.
    type: list
    elements: str
    choices: [fat, weights]
    default: [fat, weights]
  registry:
    description:
      - Login server of the private registry (C(myregistry.azurecr.io), or C(127.0.0.1:5000) for a test
        registry). A reference without a registry gets it in front; a reference naming another registry is
        refused. Empty means every reference must name its registry.
    type: str
  base_image:
    description:
      - The serving image the fat image is built on, in the private registry, with a tag or a digest, for example
        C(myregistry.azurecr.io/vllm/vllm-openai:v0.8.5). Required when O(images) holds C(fat).
    type: str
  fat_image:
    description:
      - Target of the fat image, C(repository:tag). C({digest}) is replaced by the first 12 hex digits of the
        manifest digest and C({revision}) by the revision, so that new weights get a new tag, for example
        C(models/llama-3.1-8b:{revision}-{digest}). Required when O(images) holds C(fat).
    type: str
  weights_image:
    description:
      - Target of the weights-only image, like O(fat_image). Required when O(images) holds C(weights).
    type: str
  weights_base:
    description:
      - What the weights-only image is built on. C(scratch) gives an image of one layer; an image with a shell
        (from the private registry) lets an init container copy the weights with C(cp).
    type: str
    default: scratch
  name:
    description:
      - Name of the model (image title, default model path). Defaults to the last component of O(weights_dir).
    type: str
  model_path:
    description:
      - Directory of the model inside the images. Defaults to C(/models/<name>).
    type: str
  fat_args:
    description:
      - Default arguments (C(CMD)) of the fat image. Empty gives C([model_path]), which the C(vllm serve)
        entrypoint of the vLLM image takes as the model.
    type: list
    elements: str
    default: []
  fat_env:
    description:
      - More environment variables of the fat image (for example C(VLLM_NO_USAGE_STATS=1)). Names and values that
        look like credentials are refused; the offline flags are always set.
    type: dict
    default: {}
  labels:
    description:
      - More labels of both images. The C(io.airgap.aks-inference.*) labels are the module's own.
    type: dict
    default: {}
  uid:
    description:
      - Owner of the files in the images (C(COPY --chown)); the user the serving pod runs as.
    type: int
    default: 1000
  gid:
    description:
      - Group of the files in the images.
    type: int
    default: 1000
  runtime:
    description:
      - Container runtime that builds and pushes. With V(docker), BuildKit is used (the ignore file is read from
        C(Containerfile.dockerignore)), TLS settings come from the daemon and builds are not reproducible.
    type: str
    choices: [podman, docker]
    default: podman
  runtime_path:
    description:
      - Path of the runtime binary, when it is not O(runtime) on C(PATH).
    type: path
  skopeo:
    description:
      - skopeo binary (name on C(PATH) or path).
    type: str
    default: skopeo
  authfile:
    description:
      - Credential file written by M(airgap.aks_inference.acr_login). Empty uses the runtime's default lookup
        (C(~/.config/containers/auth.json), C(~/.docker/config.json), ...). With docker it must be a
        C(config.json) (its directory becomes C(DOCKER_CONFIG)).
    type: path
  tls_verify:
    description:
      - Require HTTPS and verify the registry's certificate (podman and skopeo). Turn off only for a test registry
        on the loopback.
    type: bool
    default: true
  cert_dir:
    description:
      - Directory of CA certificates (C(*.crt)) that verify the registry (podman and skopeo C(--cert-dir)).
    type: path
  format:
    description:
      - Manifest format of the built images (podman).
    type: str
    choices: [oci, docker]
    default: oci
  compression_format:
    description:
      - Layer compression used by the push (podman). C(zstd) is faster for large models; the nodes' containerd
        must support it.
    type: str
    choices: [gzip, zstd]
    default: gzip
  timestamp:
    description:
      - Creation time (seconds since the epoch) written into the image and its files (podman C(--timestamp)), so
        that the same weights give the same layer. C(-1) uses the current time.
    type: int
    default: 0
  pin_base:
    description:
      - Build on the base image's digest in the registry (C(FROM repo@sha256:...)), read with skopeo. A base tag
        that moves then changes the recipe, and the images are built again.
    type: bool
    default: true
  verify:
    description:
      - V(always) hashes every file of the share on every run. V(before_build) checks the manifest and marker on
        every run but hashes the files only when an image is to be built.
    type: str
    choices: [always, before_build]
    default: always
  workers:
    description:
      - Files hashed at the same time by the verification.
    type: int
    default: 4
  keep_local:
    description:
      - Keep the built images in local storage after the push. Off by default, as a fat image holds a copy of the
        weights on the jump box's disk.
    type: bool
    default: false
  force:
    description:
      - Build again even when the registry holds the images. The push is skipped when the rebuild is byte for
        byte what the registry holds.
    type: bool
    default: false
notes:
  - The jump box needs free disk space for about the model's size in the runtime's storage (each image is built,
    pushed and removed in turn unless O(keep_local)).
  - The share is checked again after the builds; a share staged again meanwhile fails the run.
seealso:
  - module: airgap.aks_inference.model_weights
  - module: airgap.aks_inference.acr_login
"""

EXAMPLES = r"""
- name: Bake the staged model into a fat image and a weights-only image
  airgap.aks_inference.model_image:
    weights_dir: /mnt/models/llama-3.1-8b-instruct
    registry: myregistry.azurecr.io
    base_image: vllm/vllm-openai:v0.8.5
    fat_image: models/llama-3.1-8b-instruct-vllm:{revision}-{digest}
    weights_image: models/llama-3.1-8b-instruct-weights:{revision}-{digest}
    fat_env:
      VLLM_NO_USAGE_STATS: "1"
      DO_NOT_TRACK: "1"
  become: true
  register: baked

- name: Only the weights-only image, on a base with a shell for the copy init container
  airgap.aks_inference.model_image:
    weights_dir: /mnt/models/llama-3.1-8b-instruct
    images: [weights]
    registry: myregistry.azurecr.io
    weights_base: base/busybox:1.36
    weights_image: models/llama-3.1-8b-instruct-weights:{digest}
"""

RETURN = r"""
changed:
  description: Whether an image was built or pushed (in check mode, would be).
  type: bool
  returned: always
weights_dir:
  description: The share the images were made from.
  type: str
  returned: always
weights_digest:
  description: Digest of the share's manifest, recorded in the images' labels.
  type: str
  returned: always
  sample: sha256:5b1f0c7e0e5c54b8a04b5d1e9f4f6a3c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f60
revision:
  description: Revision recorded in the manifest.
  type: str
  returned: always
model_path:
  description: Directory of the model inside the images.
  type: str
  returned: always
files:
  description: Number of files in the manifest.
  type: int
  returned: always
bytes:
  description: Size of the model in bytes.
  type: int
  returned: always
verified:
  description: What the verification hashed (null when O(verify=before_build) and nothing was built).
  type: dict
  returned: always
  sample: {"files": 9, "bytes": 612345, "seconds": 0.02, "extra_files": []}
images:
  description: One entry per image.
  type: list
  elements: dict
  returned: always
  contains:
    kind:
      description: C(fat) or C(weights).
      type: str
    image:
      description: The target C(registry/repository:tag).
      type: str
    action:
      description: C(unchanged), C(build) (check mode), C(built) or C(reused) (a local build with the same labels).
      type: str
    pushed:
      description: Whether this run pushed it.
      type: bool
    reason:
      description: Why it was (or was not) built.
      type: str
    digest:
      description: Manifest digest of the image in the registry (null in check mode when it would be built).
      type: str
    reference:
      description: C(registry/repository@digest), the pushed image pinned to its digest, for the workload.
      type: str
    base_from:
      description: What C(FROM) names (the base pinned to its digest).
      type: str
    labels:
      description: The image's labels as built.
      type: dict
    containerfile:
      description: The rendered Containerfile.
      type: str
refs:
  description: C(kind) to RV(images[].reference) (or the tag in check mode).
  type: dict
  returned: always
  sample: {"fat": "myregistry.azurecr.io/models/llama-vllm@sha256:..."}
ignore_file:
  description: The ignore file that limits the build context to the manifest's files.
  type: str
  returned: always
scrubbed_env:
  description: Names of environment variables removed before any command ran (never their values).
  type: list
  elements: str
  returned: always
seconds:
  description: Wall time of the run.
  type: float
  returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.airgap.aks_inference.plugins.module_utils.model_image import (
    ImageError,
    run,
    secret_env_names,
)

ARGUMENT_SPEC = dict(
    weights_dir=dict(type="path", required=True),
    images=dict(type="list", elements="str", choices=["fat", "weights"], default=["fat", "weights"]),
    registry=dict(type="str"),
    base_image=dict(type="str"),
    fat_image=dict(type="str"),
    weights_image=dict(type="str"),
    weights_base=dict(type="str", default="scratch"),
    name=dict(type="str"),
    model_path=dict(type="str"),
    fat_args=dict(type="list", elements="str", default=[]),
    fat_env=dict(type="dict", default={}),
    labels=dict(type="dict", default={}),
    uid=dict(type="int", default=1000),
    gid=dict(type="int", default=1000),
    runtime=dict(type="str", choices=["podman", "docker"], default="podman"),
    runtime_path=dict(type="path"),
    skopeo=dict(type="str", default="skopeo"),
    authfile=dict(type="path"),
    tls_verify=dict(type="bool", default=True),
    cert_dir=dict(type="path"),
    format=dict(type="str", choices=["oci", "docker"], default="oci"),
    compression_format=dict(type="str", choices=["gzip", "zstd"], default="gzip"),
    timestamp=dict(type="int", default=0),
    pin_base=dict(type="bool", default=True),
    verify=dict(type="str", choices=["always", "before_build"], default="always"),
    workers=dict(type="int", default=4),
    keep_local=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    scrubbed = secret_env_names(os.environ)
    for name in scrubbed:
        del os.environ[name]
    params = dict(module.params)
    params["runtime_path"] = params["runtime_path"] or module.get_bin_path(params["runtime"])
    params["skopeo"] = module.get_bin_path(params["skopeo"]) if not os.path.isabs(params["skopeo"]) else params["skopeo"]
    if not params["runtime_path"]:
        module.fail_json(msg="runtime: %s is not installed on this host (or set runtime_path)" % module.params["runtime"])
    if not params["skopeo"]:
        module.fail_json(msg="skopeo: %s is not installed on this host (Debian and Ubuntu package skopeo)"
                         % module.params["skopeo"])

    def runner(argv, env_update):
        return module.run_command(argv, environ_update=env_update or None)

    try:
        result = run(params, check_mode=module.check_mode, runner=runner)
    except ImageError as exc:
        module.fail_json(msg=exc.msg, scrubbed_env=scrubbed, **exc.details)
    for warning in result.pop("warnings"):
        module.warn(warning)
    diff = result.pop("diff")
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = diff
    result["scrubbed_env"] = scrubbed
    module.exit_json(**result)


if __name__ == "__main__":
    main()
