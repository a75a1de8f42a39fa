#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acr_cache_rule
short_description: Create, update or delete an artifact cache rule of an Azure Container Registry
version_added: 0.1.0
description:
  - Ensures a cache rule maps an upstream repository (for example C(docker.io/library/nginx) or
    C(mcr.microsoft.com/*)) to a repository of the registry, optionally with a credential set for
    authenticated pulls.
  - "Checked before any request: the name (5-50 letters, digits and '-'), the upstream (one the
    artifact cache serves: docker.io, mcr.microsoft.com, public.ecr.aws, ghcr.io, nvcr.io, quay.io,
    registry.k8s.io, gcr.io), the wildcard syntax (only a trailing C(/*), on both sides or neither),
    and the rule AKS needs for network-isolated bootstrap: a rule named C(aks-managed-mcr) must map
    C(mcr.microsoft.com/*) to C(aks-managed-repository/*) exactly."
  - Checked after reading the registry's rules and before the rule is created (the documented rules of
    the artifact cache); a wildcard rule must not overlap another wildcard rule, two rules cannot serve
    one repository, a registry holds at most 1,000 rules, and the credential set must exist.
  - The source and target of a rule cannot change; its credential set can.
options:
  resource_group:
    description: Resource group of the registry.
    type: str
    required: true
  registry:
    description: Name of the registry.
    type: str
    required: true
  name:
    description: Name of the cache rule.
    type: str
    required: true
  source_repository:
    description:
      - Upstream repository, including the registry, for example V(docker.io/library/ubuntu), V(ghcr.io/org/*)
        or V(mcr.microsoft.com/*). Required to create the rule; cannot change afterwards.
    type: str
  target_repository:
    description:
      - Repository of the registry the upstream is served as, for example V(ubuntu) or
        V(aks-managed-repository/*). Required to create the rule; cannot change afterwards.
    type: str
  credential_set:
    description:
      - Name (in the same registry) or resource id of the credential set used to pull from the upstream.
      - An empty string removes the credential set from the rule.
    type: str
  state:
    description: Whether the cache rule should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.wait
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: The cache rule AKS needs to bootstrap network-isolated nodes
  airgap.aks_inference.acr_cache_rule:
    resource_group: rg-llm-isolated
    registry: acrllmisolated
    name: aks-managed-mcr
    source_repository: mcr.microsoft.com/*
    target_repository: aks-managed-repository/*

- name: Docker Hub through a credential set
  airgap.aks_inference.acr_cache_rule:
    resource_group: rg-llm-isolated
    registry: acrllmisolated
    name: dockerhub
    source_repository: docker.io/*
    target_repository: docker.io/*
    credential_set: dockerhub
"""

RETURN = r"""
id:
  description: Resource id of the cache rule.
  returned: always
  type: str
state:
  description: The cache rule as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.acr import (
    cache_rule_problems,
    check_cache_rule,
    check_child_name,
    check_registry_name,
    parse_cache_source,
    parse_cache_target,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    provider_id,
    run_resource,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable

ACR_API_VERSION = "2023-07-01"
REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"
FIELDS = {"source": "source_repository", "target": "target_repository"}


class CacheRule(ArmResource):
    resource_type = "Microsoft.ContainerRegistry/registries/cacheRules"
    api_version = ACR_API_VERSION
    has_tags = False
    writable_top_level = ("properties",)
    read_only_properties = ("provisioningState", "creationDate")
    required_on_create = ("source_repository", "target_repository")
    fields = FieldTable(
        {
            "properties.sourceRepository": Field("exact", updatable=False),
            "properties.targetRepository": Field("exact", updatable=False),
            "properties.credentialSetResourceId": Field("id"),
        }
    )

    def registry_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], REGISTRY_TYPE,
                           self.params["registry"])

    def resource_id(self):
        return self.registry_id() + "/cacheRules/" + self.params["name"]

    def credential_set_id(self):
        value = self.params.get("credential_set")
        if value is None or value == "":
            return value
        if value.startswith("/subscriptions/"):
            return value
        return self.registry_id() + "/credentialSets/" + value

    def validate(self):
        p = self.params
        check_registry_name("registry", p["registry"])
        check_child_name("name", p["name"], "cache rule name")
        source, target = p.get("source_repository"), p.get("target_repository")
        try:
            if source is not None and target is not None:
                check_cache_rule("", p["name"], source, target)
            elif source is not None:
                parse_cache_source("source", source)
            elif target is not None:
                parse_cache_target("target", target)
        except InputError as err:
            raise InputError(FIELDS.get(err.field, err.field), err.problem)
        cred = p.get("credential_set")
        if cred and not cred.startswith("/subscriptions/"):
            check_child_name("credential_set", cred, "credential set name")

    def before_create(self, client):
        super().before_create(client)
        p = self.params
        try:
            listed = client.list(self.registry_id() + "/cacheRules", self.api_version)
        except ArmError as err:
            if err.status != 404:  # no registry (yet, in check mode): no rules to collide with
                raise
            listed = []
        existing = [
            {"name": r.get("name"), "source": (r.get("properties") or {}).get("sourceRepository"),
             "target": (r.get("properties") or {}).get("targetRepository")}
            for r in listed if (r.get("properties") or {}).get("targetRepository")
        ]
        rule = {"name": p["name"], "source": p["source_repository"], "target": p["target_repository"]}
        problems = cache_rule_problems([rule], existing=existing, prefix="rule")
        if problems:
            field, problem = problems[0]
            raise InputError("target_repository" if field.endswith("target") else "name", problem)
        cred = self.credential_set_id()
        # In check mode a credential set created by an earlier task of the run does not exist yet.
        if cred and client.get(cred, self.api_version) is None and not self.module.check_mode:
            raise InputError("credential_set", "credential set %s does not exist in registry %s; create it first"
                             % (cred.rsplit("/", 1)[-1], p["registry"]))

    def desired(self):
        p = self.params
        return {
            "properties": {
                "sourceRepository": p.get("source_repository"),
                "targetRepository": p.get("target_repository"),
                "credentialSetResourceId": self.credential_set_id(),
            }
        }

    def normalize(self, body):
        out = dict(body)
        props = dict(body.get("properties") or {})
        props.setdefault("credentialSetResourceId", "")
        if props["credentialSetResourceId"] is None:
            props["credentialSetResourceId"] = ""
        out["properties"] = props
        return out

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        props = body.setdefault("properties", {})
        if not props.get("credentialSetResourceId"):
            props.pop("credentialSetResourceId", None)
        return body


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            registry=dict(type="str", required=True),
            name=dict(type="str", required=True),
            source_repository=dict(type="str"),
            target_repository=dict(type="str"),
            credential_set=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
    )
    run_resource(module, CacheRule)


if __name__ == "__main__":
    main()
