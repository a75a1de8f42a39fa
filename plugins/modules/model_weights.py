#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: model_weights
short_description: Stage model weights onto a mounted share with a sha256 manifest, or verify a staged share
version_added: 0.1.0
description:
  - Runs on the GPU jump box. Copies a model from a Hugging Face repository (or a mirror of the Hub), from a NIM
    cache made by the NIM container's C(download-to-cache), or from a directory already on the jump box, to a
    directory on the mounted NFS share that the inference pods read.
  - Writes a manifest at the root of O(dest) (C(.weights-manifest.json)) listing every file with its size and
    sha256, the source and the revision, and one digest over all of it; then writes a completion marker
    (C(.weights-complete)) last. A share without the marker is never complete. The marker is removed first
    whenever a run starts changing the share.
  - Files already at the destination with the right size and hash are not copied again. A file is known to be
    unchanged without reading it when its size, mtime, ctime and inode are those staging recorded in
    C(.weights-state.json); otherwise it is hashed. Every copied file is hashed while it is copied (one read of
    the source), written under a temporary name (with O_DIRECT where possible), fsynced, read back from the
    storage and compared, given its owner and mode, and renamed into place. An interrupted copy is resumed
    after its prefix was checked.
  - For Hugging Face sources every LFS file must hash to the sha256 the Hub publishes, and every other file to the
    git blob id the Hub publishes. A downloaded file that does not match is evicted from the download cache and
    downloaded once more; a second mismatch fails the run and leaves the share unmarked.
  - With O(state=verified) every file the manifest lists is hashed again; bad files are returned and fail the
    task, and the completion marker is removed so the next stage run copies them again.
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
requirements:
  - huggingface_hub >= 0.30.0 on the host running the module, for O(source=huggingface) only.
  - A container runtime (docker or podman) on that host, for O(source=nim) only.
attributes:
  check_mode:
    support: full
    details: Reports what would be copied, pruned and re-owned; copies nothing and does not run the NIM container.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description:
      - V(present) stages the model so that O(dest) matches the source.
      - V(verified) only verifies O(dest) against its manifest (every file hashed); no source is read.
    type: str
    choices: [present, verified]
    default: present
  dest:
    description:
      - Directory on the mounted share that receives the model (created if missing), for example
        C(/mnt/models/llama-3.1-8b-instruct).
    type: path
    required: true
  source:
    description:
      - Where the weights come from. Required when O(state=present).
    type: str
    choices: [huggingface, nim, directory]
  repo_id:
    description:
      - Hugging Face repository, for example C(meta-llama/Llama-3.1-8B-Instruct). Required for O(source=huggingface).
    type: str
  revision:
    description:
      - For O(source=huggingface), a commit id (40 hex digits), or a branch or tag. A branch or tag is resolved
        once to its commit; the commit is recorded in the manifest (with the branch or tag as C(revision_ref)) and
        later runs stay on it, unless O(allow_unpinned=true).
      - For O(source=directory), a free-form label recorded in the manifest (for example the commit the media was
        made from).
    type: str
  allow_unpinned:
    description:
      - Follow a branch or tag (or C(main) when O(revision) is omitted) to its current commit on every run.
    type: bool
    default: false
  allow_patterns:
    description:
      - Only files matching one of these glob patterns are staged (same rules as huggingface_hub; a pattern ending
        in C(/) matches everything below that directory). Applies to O(source=huggingface) and O(source=directory).
    type: list
    elements: str
  ignore_patterns:
    description:
      - Files matching one of these glob patterns are not staged.
    type: list
    elements: str
  hf_token:
    description:
      - Hugging Face access token for private or gated repositories. When omitted, huggingface_hub's usual lookup
        applies (C(HF_TOKEN), a saved login). Never logged nor returned.
    type: str
  endpoint:
    description:
      - Hub endpoint or mirror, passed to huggingface_hub as C(endpoint=). Defaults to huggingface_hub's default
        (C(HF_ENDPOINT), else the public Hub).
    type: str
  download_dir:
    description:
      - Local directory on the jump box the source downloads into before staging.
      - For O(source=huggingface) the Hugging Face cache directory (C(cache_dir=)); defaults to huggingface_hub's
        cache. Only files the share lacks are downloaded.
      - For O(source=nim) the NIM cache directory mounted into the container; required. Use one directory per
        model, all of it is staged.
    type: path
  nim_image:
    description:
      - NIM container image whose C(download-to-cache) makes the cache, for example
        C(myregistry.azurecr.io/nim/meta/llama-3.1-8b-instruct:1.8.4). Required for O(source=nim).
    type: str
  nim_profile:
    description:
      - NIM profile ids passed to C(download-to-cache --profile). Omitted, NIM picks its default profile.
    type: list
    elements: str
  container_runtime:
    description:
      - Container runtime binary (name on C(PATH) or absolute path) that runs the NIM container.
    type: str
    default: docker
  nim_user:
    description:
      - C(--user) for the NIM container. Defaults to the uid:gid of the module process so the cache it writes is
        readable; an empty string passes no C(--user).
    type: str
  nim_cache_mount:
    description:
      - Path of the NIM cache inside the container.
    type: str
    default: /opt/nim/.cache
  nim_run_args:
    description:
      - Extra arguments for C(run), placed before the image, for example C(--gpus=all) (docker) or
        C(--device=nvidia.com/gpu=all) (podman) so that NIM picks the profile that fits the jump box's GPUs when
        O(nim_profile) is not given. Must not carry the NGC key.
    type: list
    elements: str
  ngc_api_key:
    description:
      - NGC API key for O(source=nim). Given to the container runtime process as the environment variable
        C(NGC_API_KEY) and named on its command line only as C(-e NGC_API_KEY), so the value never appears in a
        process listing. When omitted, C(NGC_API_KEY) from the task's environment is used. Never logged nor
        returned.
    type: str
  src:
    description:
      - Directory on the jump box to stage, for O(source=directory). Symbolic links inside the tree are kept as
        links; links leaving it are followed. When it carries a complete manifest of this module (staged elsewhere
        and carried over), every file must match it.
    type: path
  prune:
    description:
      - Remove files and directories under O(dest) that the manifest does not list. When false they are kept and
        returned in RV(extra_files).
    type: bool
    default: false
  owner:
    description:
      - Owner (name or uid) of the staged files and directories. Defaults to C(1000) for O(source=nim), the user
        NIM runs as; otherwise ownership is left as created.
    type: str
  group:
    description:
      - Group (name or gid) of the staged files and directories. Defaults to C(2000) for O(source=nim).
    type: str
  mode:
    description:
      - Mode of the staged files, as an octal string.
    type: raw
    default: '0644'
  dir_mode:
    description:
      - Mode of the staged directories (including O(dest)), as an octal string.
    type: raw
    default: '0755'
  quota_gib:
    description:
      - Quota of the share in GiB. The run fails before copying anything when the model is larger.
    type: float
  require_mount:
    description:
      - Fail unless O(dest) is on a mounted filesystem other than the root filesystem, so that a share that failed
        to mount never fills the jump box's own disk.
    type: bool
    default: true
  verify_copy:
    description:
      - Read every copied file back from the storage (page cache dropped) and compare its sha256 before it is
        renamed into place.
    type: bool
    default: true
  direct_io:
    description:
      - Write the copies with O_DIRECT, bypassing the jump box's page cache, where the filesystem allows it
        (otherwise, and for the unaligned end of a file, writes are buffered). The read-back then comes from the
        storage too.
    type: bool
    default: true
  checksum:
    description:
      - Hash every destination file (and directory source file) instead of trusting the recorded size, mtime,
        ctime and inode.
    type: bool
    default: false
  workers:
    description:
      - Files copied or hashed at the same time.
    type: int
    default: 4
  chunk_mib:
    description:
      - Size of each worker's I/O buffer in MiB; memory use is about O(workers) times this.
    type: int
    default: 8
notes:
  - Run it with C(become) when O(owner) or O(group) are set (or for O(source=nim), whose defaults are 1000:2000).
  - The manifest, completion marker, state file, lock file and the C(.weights-partial) directory live at the root of
    O(dest) and are never pruned.
seealso:
  - name: huggingface_hub download guide
    description: How huggingface_hub downloads and caches files.
    link: https://huggingface.co/docs/huggingface_hub/guides/download
"""

EXAMPLES = r"""
- name: Stage a Hugging Face model pinned to a commit
  airgap.aks_inference.model_weights:
    source: huggingface
    repo_id: meta-llama/Llama-3.1-8B-Instruct
    revision: 0e9e39f249a16976918f6564b8830bc894c89659
    allow_patterns: ["*.json", "*.safetensors", "tokenizer*"]
    hf_token: "{{ vault_hf_token }}"
    download_dir: /var/cache/hf
    dest: /mnt/models/llama-3.1-8b-instruct
    quota_gib: 100
    prune: true
  become: true

- name: Stage through a mirror of the Hub, following a tag once and recording its commit
  airgap.aks_inference.model_weights:
    source: huggingface
    repo_id: org/model
    revision: v1.2
    endpoint: https://hf-mirror.internal.example
    dest: /mnt/models/org-model

- name: Stage a NIM cache with podman, one profile
  airgap.aks_inference.model_weights:
    source: nim
    nim_image: nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4
    nim_profile: [09e2f8e68f78ce94bf79d15b40a21333cea5d09dbe01ede63f6c957f4fcfab7b]
    container_runtime: podman
    ngc_api_key: "{{ vault_ngc_api_key }}"
    download_dir: /var/cache/nim/llama-3.1-8b
    dest: /mnt/models/nim-llama-3.1-8b
  become: true

- name: Stage a model brought in on removable media, for vLLM running as uid 1001
  airgap.aks_inference.model_weights:
    source: directory
    src: /media/usb/llama-3.1-70b
    revision: 6f6073b423013f6a7d4d9f39144961bfbfbc386b
    dest: /mnt/models/llama-3.1-70b
    owner: "1001"
    group: "0"
    mode: "0640"
    dir_mode: "0750"

- name: Verify the share (every file hashed again)
  airgap.aks_inference.model_weights:
    state: verified
    dest: /mnt/models/llama-3.1-8b-instruct
  register: check
"""

RETURN = r"""
changed:
  description: Whether files were copied, pruned or re-owned, or the manifest was rewritten.
  type: bool
  returned: always
dest:
  description: The staged directory.
  type: str
  returned: always
mount_point:
  description: Mount point of the filesystem holding RV(dest).
  type: str
  returned: always
fstype:
  description: Filesystem type of RV(mount_point) (for example C(nfs4)).
  type: str
  returned: when state is present
source:
  description: The source as recorded in the manifest (no secrets).
  type: dict
  returned: always
  sample: {"type": "huggingface", "repo_id": "org/model", "endpoint": "https://huggingface.co", "revision_ref": "main"}
revision:
  description: Commit staged (Hugging Face), image (NIM) or label (directory).
  type: str
  returned: always
  sample: 0e9e39f249a16976918f6564b8830bc894c89659
revision_ref:
  description: The branch or tag the commit was resolved from, if any.
  type: str
  returned: when state is present
revision_pinned_from:
  description: C(manifest) when a branch or tag was not resolved again because the manifest records its commit.
  type: str
  returned: when the recorded commit was used
files:
  description: Number of files (and kept links) in the model.
  type: int
  returned: always
bytes:
  description: Total size of the model in bytes.
  type: int
  returned: always
bytes_copied:
  description: Bytes written to the share by this run (0 in check mode).
  type: int
  returned: when state is present
bytes_to_copy:
  description: Bytes of the files that were (or, in check mode, would be) copied.
  type: int
  returned: when state is present
bytes_resumed:
  description: Bytes of interrupted copies that were checked and kept instead of copied again.
  type: int
  returned: when state is present
bytes_hashed:
  description: Bytes read to compare destination (or source) files whose recorded state did not match.
  type: int
  returned: when state is present
bytes_read_back:
  description: Bytes read back from the share to check the copies.
  type: int
  returned: when state is present
bytes_verified:
  description: Bytes hashed by the verification.
  type: int
  returned: when state is verified
copied:
  description: Paths copied (or, in check mode, that would be copied).
  type: list
  elements: str
  returned: when state is present
pruned:
  description: Paths removed (or that would be removed) because the manifest does not list them.
  type: list
  elements: str
  returned: when state is present
extra_files:
  description: Paths under RV(dest) that the manifest does not list and that were kept.
  type: list
  elements: str
  returned: always
perms_changed:
  description: Files and directories whose owner or mode was (or would be) changed.
  type: int
  returned: when state is present
bad_files:
  description: Files that do not match the manifest, with the field that differs.
  type: list
  elements: dict
  returned: when state is verified
  sample: [{"path": "model-00002-of-00004.safetensors", "field": "sha256", "problem": "sha256 differs",
            "expected": "9f2c...", "actual": "03ab..."}]
seconds:
  description: Wall time of the run.
  type: float
  returned: always
throughput_mib_s:
  description: RV(bytes_copied) (or RV(bytes_verified)) per second, in MiB/s.
  type: float
  returned: always
manifest:
  description: Path of the manifest.
  type: str
  returned: always
digest:
  description: Digest over the manifest (source, revision, every file); null in check mode when files would be copied.
  type: str
  returned: always
  sample: sha256:5b1f0c7e0e5c54b8a04b5d1e9f4f6a3c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f60
marker:
  description: Path of the completion marker.
  type: str
  returned: always
complete:
  description: Whether the share is (in check mode, already was) complete at the end of the run.
  type: bool
  returned: always
download:
  description: What happened to the NIM download (C(download-to-cache ran) or C(skipped in check mode)).
  type: str
  returned: when source is nim
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airgap.aks_inference.plugins.module_utils.weights import run
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import MissingLibrary, WeightsError

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "verified"], default="present"),
    dest=dict(type="path", required=True),
    source=dict(type="str", choices=["huggingface", "nim", "directory"]),
    repo_id=dict(type="str"),
    revision=dict(type="str"),
    allow_unpinned=dict(type="bool", default=False),
    allow_patterns=dict(type="list", elements="str"),
    ignore_patterns=dict(type="list", elements="str"),
    hf_token=dict(type="str", no_log=True),
    endpoint=dict(type="str"),
    download_dir=dict(type="path"),
    nim_image=dict(type="str"),
    nim_profile=dict(type="list", elements="str"),
    container_runtime=dict(type="str", default="docker"),
    nim_user=dict(type="str"),
    nim_cache_mount=dict(type="str", default="/opt/nim/.cache"),
    nim_run_args=dict(type="list", elements="str"),
    ngc_api_key=dict(type="str", no_log=True),
    src=dict(type="path"),
    prune=dict(type="bool", default=False),
    owner=dict(type="str"),
    group=dict(type="str"),
    mode=dict(type="raw", default="0644"),
    dir_mode=dict(type="raw", default="0755"),
    quota_gib=dict(type="float"),
    require_mount=dict(type="bool", default=True),
    verify_copy=dict(type="bool", default=True),
    direct_io=dict(type="bool", default=True),
    checksum=dict(type="bool", default=False),
    workers=dict(type="int", default=4),
    chunk_mib=dict(type="int", default=8),
)

REQUIRED_IF = [
    ("state", "present", ["source"]),
    ("source", "huggingface", ["repo_id"]),
    ("source", "nim", ["nim_image", "download_dir"]),
    ("source", "directory", ["src"]),
]


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)

    def runner(argv, env_update):
        return module.run_command(argv, environ_update=env_update)

    try:
        result = run(module.params, check_mode=module.check_mode, runner=runner)
    except MissingLibrary as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.traceback)
    except WeightsError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (getattr(exc, "filename", None) or "dest", exc.strerror or exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
