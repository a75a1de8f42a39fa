#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acr_import
short_description: Import a container image into an Azure Container Registry
version_added: 0.1.0
description:
  - Copies an image from a public or authenticated registry (or another Azure Container Registry) into the
    registry with the Azure Resource Manager action C(importImage), the equivalent of C(az acr import).
    The copy runs inside Azure, so it works for a registry with public network access disabled and needs
    no network path or container runtime on the control node.
  - Use it for images the artifact cache does not serve or that must be present before a cluster can
    pull through a cache rule (for example NVIDIA NIM or vLLM serving images).
  - "Idempotence: Azure Resource Manager has no operation that lists a registry's repositories or tags
    (that is the registry's data plane, private here), and C(importImage) returns nothing, not even the
    digest. So the module records every import it completes in a registry tag, C(acr-import.<hash of the
    target>) = the source reference, and imports again only when the source of a target differs from the
    record. It reads the registry (one GET) to decide, so a repeated run sends no write."
  - "Honest limits of that record: it says what this module imported, not what the registry holds now. Pin
    the source by digest (C(repository@sha256:...)) to make the record mean one exact image; a source by tag
    is imported once and not again when the upstream tag moves (change the source or use
    O(existing_tag=overwrite) to refresh it). Removing an image from the registry through the data plane
    leaves the record; delete the registry tag to import again."
  - The import runs with C(mode=NoForce) unless O(existing_tag=overwrite), so a target tag that exists
    without a record (pushed or imported by something else) is never overwritten silently; see O(existing_tag).
  - The module returns the digest when the source is pinned by digest; otherwise Azure does not report it.
options:
  resource_group:
    description: Resource group of the registry.
    type: str
    required: true
  registry:
    description: Name of the registry to import into.
    type: str
    required: true
  source:
    description:
      - The image to import, with its registry, for example V(nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.3),
        V(docker.io/vllm/vllm-openai:v0.6.3) or V(ghcr.io/org/app@sha256:<64 hex digits>).
      - With O(source_registry_id), the repository in that registry without a host name (V(app:1.0)).
    type: str
    required: true
  source_registry_id:
    description: Resource id of an Azure Container Registry to import from (authenticated by Azure, no credentials).
    type: str
  target_tags:
    description:
      - Tags to create in the registry, each C(repository:tag). Defaults to the source repository and tag
        (C(latest) when the source has no tag), as C(az acr import) does.
    type: list
    elements: str
  username:
    description:
      - Username for an authenticated source registry (for nvcr.io V($oauthtoken)).
    type: str
  password:
    description:
      - Password or token for an authenticated source registry (for nvcr.io the NGC API key). Never logged
        or returned; sent only in the import request to Azure.
    type: str
  existing_tag:
    description:
      - What to do when a target tag already exists in the registry but the module has no record of
        importing this source into it.
      - V(fail) fails the task and leaves the tag alone.
      - V(keep) leaves the tag as it is and records it as imported (without any way to verify its content).
      - V(overwrite) imports with C(mode=Force), replacing the tag.
    type: str
    choices: [fail, keep, overwrite]
    default: fail
  wait_timeout:
    description:
      - Seconds the module may spend waiting for the import and the record. The import always runs to its
        end before the module returns, as it is recorded only once it succeeded.
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds between two polls of the import when Azure does not say (C(Retry-After)).
      - If not set, the environment variable E(AIRGAP_AZURE_POLL_INTERVAL) is used, then 5 seconds.
    type: float
    default: 5.0
extends_documentation_fragment:
  - airgap.aks_inference.azure
attributes:
  check_mode:
    support: full
    description: Reports which targets would be imported and sends no write request.
  diff_mode:
    support: full
    description: Shows the recorded source of each target before and after.
  action_group:
    support: full
    description: Use C(group/airgap.aks_inference.azure) in C(module_defaults) to set the Azure connection once.
    membership:
      - airgap.aks_inference.azure
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: vLLM, pinned by digest
  airgap.aks_inference.acr_import:
    resource_group: rg-llm-isolated
    registry: acrllmisolated
    source: docker.io/vllm/vllm-openai@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    target_tags: [vllm/vllm-openai:v0.6.3]

- name: An NVIDIA NIM image from NGC
  airgap.aks_inference.acr_import:
    resource_group: rg-llm-isolated
    registry: acrllmisolated
    source: nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.3
    username: $oauthtoken
    password: "{{ vault_ngc_api_key }}"
"""

RETURN = r"""
id:
  description: Resource id of the registry.
  returned: always
  type: str
source:
  description: The source reference that was (or would be) imported.
  returned: always
  type: str
digest:
  description: Digest of the image when the source is pinned by digest, else null.
  returned: always
  type: str
imported:
  description: Target tags imported by this run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
kept:
  description: Target tags that existed without a record and were kept (O(existing_tag=keep)).
  returned: always
  type: list
  elements: str
present:
  description: Target tags already recorded as imported from this source.
  returned: always
  type: list
  elements: str
diff:
  description: Recorded source of each target before and after.
  returned: always
  type: dict
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.acr import (
    check_registry_name,
    check_target_tag,
    default_target,
    ledger_key,
    ledger_value,
    parse_image_reference,
    source_image,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import POLL_INTERVAL_SPEC, AzureModule, provider_id

ACR_API_VERSION = "2023-07-01"
REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"


def plan(params):
    """Parse and check the input; returns (reference, source string, targets). No request."""
    check_registry_name("registry", params["registry"])
    from_acr = params.get("source_registry_id")
    if from_acr is not None and "/providers/microsoft.containerregistry/registries/" not in from_acr.lower():
        raise InputError("source_registry_id", "%r is not a container registry id" % from_acr)
    ref = parse_image_reference("source", params["source"], registry_required=not from_acr)
    if from_acr and ref["registry"]:
        raise InputError("source", "%r names a registry host; with source_registry_id give the repository only"
                         % params["source"])
    if from_acr and (params.get("username") or params.get("password")):
        raise InputError("password", "credentials are not used with source_registry_id (Azure authenticates the copy)")
    if params.get("username") and not params.get("password"):
        raise InputError("password", "is required with username")
    targets = params.get("target_tags")
    if targets is None:
        targets = [default_target(ref)]
    if not targets:
        raise InputError("target_tags", "must not be empty")
    checked = []
    for index, target in enumerate(targets):
        target = check_target_tag("target_tags[%d]" % index, target)
        if target.lower() in [t.lower() for t in checked]:
            raise InputError("target_tags[%d]" % index, "%s is listed twice" % target)
        checked.append(target)
    source = (from_acr.rstrip("/") + "/" if from_acr else ref["registry"] + "/") + source_image(ref)
    return ref, source, checked


def import_body(params, ref, targets, force):
    source = {"sourceImage": source_image(ref)}
    if params.get("source_registry_id"):
        source["resourceId"] = params["source_registry_id"]
    else:
        source["registryUri"] = ref["registry"]
    if params.get("password"):
        source["credentials"] = {"password": params["password"]}
        if params.get("username"):
            source["credentials"]["username"] = params["username"]
    return {"source": source, "targetTags": list(targets), "mode": "Force" if force else "NoForce"}


def tag_exists_error(err):
    return isinstance(err, ArmError) and (
        err.code == "TagAlreadyExists" or "already exists" in (err.arm_message or "").lower())


def run_import(module, client, registry_id, body):
    poll = module.params.get("poll_interval") or azure_wait.DEFAULT_POLL
    response = client.post(registry_id + "/importImage", ACR_API_VERSION, body,
                           action="import %s into %s" % (body["source"]["sourceImage"], registry_id))
    azure_wait.wait_for_operation(client, response, module.deadline(), "import into " + registry_id, poll=poll)


def ensure_import(module):
    p = module.params
    ref, source, targets = plan(p)
    module.check_settings()
    registry_id = provider_id(module.subscription_id, p["resource_group"], REGISTRY_TYPE, p["registry"])
    client = module.client()
    registry = client.get(registry_id, ACR_API_VERSION)
    if registry is None and not module.check_mode:
        raise InputError("registry", "registry %s does not exist in resource group %s"
                         % (p["registry"], p["resource_group"]))
    tags = dict((registry or {}).get("tags") or {})
    record = ledger_value(source)
    present = [t for t in targets if tags.get(ledger_key(t)) == record]
    pending = [t for t in targets if t not in present]
    before = dict((t, tags.get(ledger_key(t))) for t in targets)
    after = dict((t, record) for t in targets)
    result = {"changed": bool(pending), "id": registry_id, "source": source, "digest": ref.get("digest"),
              "imported": [], "kept": [], "present": present, "diff": {"before": before, "after": after}}
    if not pending:
        return result
    if module.check_mode:
        result["imported"] = pending
        return result

    policy = p["existing_tag"]
    try:
        run_import(module, client, registry_id, import_body(p, ref, pending, policy == "overwrite"))
        result["imported"] = list(pending)
    except ArmError as err:
        if not tag_exists_error(err) or policy == "overwrite":
            raise
        if policy == "fail":
            raise InputError(
                "existing_tag",
                "%s: a target tag already exists in registry %s and this module has no record of importing %s into "
                "it; it was left alone. Set existing_tag=keep to accept the tag as it is, or existing_tag=overwrite "
                "to replace it (Azure: %s)" % (", ".join(pending), p["registry"], source, err.arm_message))
        for target in pending:  # keep: import one by one; those that exist are kept
            try:
                run_import(module, client, registry_id, import_body(p, ref, [target], False))
                result["imported"].append(target)
            except ArmError as single:
                if not tag_exists_error(single):
                    raise
                result["kept"].append(target)

    tags.update((ledger_key(t), record) for t in pending)
    response = client.patch(registry_id, ACR_API_VERSION, {"tags": tags})
    azure_wait.wait_for_operation(client, response, module.deadline(), "record the import on " + registry_id,
                                  poll=p.get("poll_interval") or azure_wait.DEFAULT_POLL)
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            registry=dict(type="str", required=True),
            source=dict(type="str", required=True),
            source_registry_id=dict(type="str"),
            target_tags=dict(type="list", elements="str"),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            existing_tag=dict(type="str", choices=["fail", "keep", "overwrite"], default="fail"),
            wait_timeout=dict(type="int", default=1800),
            poll_interval=dict(POLL_INTERVAL_SPEC),
        ),
        wait=False,
    )
    module.run(ensure_import)


if __name__ == "__main__":
    main()
