#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_registry_info
short_description: Read an Azure Container Registry, its private endpoint connections, cache rules and credential sets
version_added: 0.1.0
description:
  - Reads a registry through Azure Resource Manager only (no data-plane access), for example to check
    that the registry a cluster bootstraps from is Premium, private and has the cache rule AKS needs.
  - Sends read requests only.
options:
  resource_group:
    description: Resource group of the registry. Required unless O(id) is given.
    type: str
  name:
    description: Name of the registry. Required unless O(id) is given.
    type: str
  id:
    description: Resource id of the registry, instead of O(resource_group) and O(name).
    type: str
extends_documentation_fragment:
  - airgap.aks_inference.azure
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only.
  action_group:
    support: full
    description: Use C(group/airgap.aks_inference.azure) in C(module_defaults) to set the Azure connection once.
    membership:
      - airgap.aks_inference.azure
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: Read the registry the cluster bootstraps from
  airgap.aks_inference.container_registry_info:
    id: "{{ container_registry.id }}"
  register: acr

- name: The registry is ready for network-isolated bootstrap
  ansible.builtin.assert:
    that:
      - acr.exists
      - acr.sku == 'Premium'
      - acr.public_network_access == 'Disabled'
      - acr.cache_rules | selectattr('name', 'equalto', 'aks-managed-mcr') | list | length == 1
"""

RETURN = r"""
exists:
  description: Whether the registry exists.
  returned: always
  type: bool
id:
  description: Resource id of the registry.
  returned: always
  type: str
sku:
  description: Service tier (V(Basic), V(Standard), V(Premium)).
  returned: when it exists
  type: str
login_server:
  description: Login server, for example C(acrllmisolated.azurecr.io).
  returned: when it exists
  type: str
location:
  description: Azure region.
  returned: when it exists
  type: str
public_network_access:
  description: V(Enabled) or V(Disabled).
  returned: when it exists
  type: str
admin_user_enabled:
  description: Whether the admin user is enabled.
  returned: when it exists
  type: bool
anonymous_pull_enabled:
  description: Whether anonymous pull is enabled.
  returned: when it exists
  type: bool
data_endpoint_enabled:
  description: Whether dedicated data endpoints are enabled.
  returned: when it exists
  type: bool
data_endpoint_host_names:
  description: Dedicated data endpoint host names.
  returned: when it exists
  type: list
  elements: str
zone_redundancy:
  description: V(Enabled) or V(Disabled).
  returned: when it exists
  type: str
provisioning_state:
  description: Provisioning state of the registry.
  returned: when it exists
  type: str
private_endpoint_connections:
  description: Private endpoint connections of the registry.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Id of the connection.
      type: str
    name:
      description: Name of the connection.
      type: str
    private_endpoint_id:
      description: Id of the private endpoint.
      type: str
    status:
      description: V(Approved), V(Pending), V(Rejected) or V(Disconnected).
      type: str
    description:
      description: Reason given for the status.
      type: str
cache_rules:
  description: Cache rules of the registry.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the rule.
      type: str
    source_repository:
      description: Upstream repository, for example C(mcr.microsoft.com/*).
      type: str
    target_repository:
      description: Repository in the registry, for example C(aks-managed-repository/*).
      type: str
    credential_set:
      description: Name of the credential set the rule uses, or null.
      type: str
credential_sets:
  description: Credential sets of the registry.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the credential set.
      type: str
    login_server:
      description: Upstream login server.
      type: str
    principal_id:
      description: Principal id of its system-assigned identity.
      type: str
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.acr import check_registry_name
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import AzureModule, provider_id

ACR_API_VERSION = "2023-07-01"
REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"


def registry_id(module):
    p = module.params
    if p.get("id"):
        rid = p["id"].rstrip("/")
        parts = rid.split("/")
        if len(parts) != 9 or "/providers/microsoft.containerregistry/registries/" not in rid.lower():
            raise InputError("id", "%r is not a container registry id (/subscriptions/<sub>/resourceGroups/<rg>/"
                                   "providers/Microsoft.ContainerRegistry/registries/<name>)" % (p["id"],))
        return rid
    if not p.get("resource_group") or not p.get("name"):
        raise InputError("name", "resource_group and name (or id) are required")
    check_registry_name("name", p["name"])
    return provider_id(module.subscription_id, p["resource_group"], REGISTRY_TYPE, p["name"])


def _last_segment(resource_id):
    return str(resource_id).rstrip("/").rsplit("/", 1)[-1] if resource_id else None


def summarize(body, rules, credential_sets):
    props = body.get("properties") or {}
    connections = []
    for conn in props.get("privateEndpointConnections") or []:
        cprops = conn.get("properties") or {}
        state = cprops.get("privateLinkServiceConnectionState") or {}
        connections.append({
            "id": conn.get("id"),
            "name": conn.get("name"),
            "private_endpoint_id": (cprops.get("privateEndpoint") or {}).get("id"),
            "status": state.get("status"),
            "description": state.get("description"),
        })
    return {
        "exists": True,
        "id": body.get("id"),
        "sku": (body.get("sku") or {}).get("name"),
        "location": body.get("location"),
        "login_server": props.get("loginServer"),
        "public_network_access": props.get("publicNetworkAccess"),
        "admin_user_enabled": props.get("adminUserEnabled"),
        "anonymous_pull_enabled": props.get("anonymousPullEnabled"),
        "data_endpoint_enabled": props.get("dataEndpointEnabled"),
        "data_endpoint_host_names": props.get("dataEndpointHostNames") or [],
        "zone_redundancy": props.get("zoneRedundancy"),
        "provisioning_state": props.get("provisioningState"),
        "private_endpoint_connections": connections,
        "cache_rules": [
            {
                "name": rule.get("name"),
                "source_repository": (rule.get("properties") or {}).get("sourceRepository"),
                "target_repository": (rule.get("properties") or {}).get("targetRepository"),
                "credential_set": _last_segment((rule.get("properties") or {}).get("credentialSetResourceId")),
            }
            for rule in rules
        ],
        "credential_sets": [
            {
                "name": cred.get("name"),
                "login_server": (cred.get("properties") or {}).get("loginServer"),
                "principal_id": (cred.get("identity") or {}).get("principalId"),
            }
            for cred in credential_sets
        ],
    }


def read_registry(module):
    rid = registry_id(module)
    module.check_settings()
    client = module.client()
    body = client.get(rid, ACR_API_VERSION)
    if body is None:
        return {"changed": False, "exists": False, "id": rid, "private_endpoint_connections": [], "cache_rules": [],
                "credential_sets": []}
    rules = client.list(rid + "/cacheRules", ACR_API_VERSION)
    credential_sets = client.list(rid + "/credentialSets", ACR_API_VERSION)
    result = summarize(body, rules, credential_sets)
    result["changed"] = False
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str"),
            name=dict(type="str"),
            id=dict(type="str"),
        ),
        wait=False,
        mutually_exclusive=[("id", "name"), ("id", "resource_group")],
    )
    module.run(read_registry)


if __name__ == "__main__":
    main()
