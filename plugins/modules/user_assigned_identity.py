#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: user_assigned_identity
short_description: Create, update or delete an Azure user-assigned managed identity
version_added: 0.1.0
description:
  - Ensures a user-assigned managed identity exists, for example the control-plane or the kubelet
    identity of an AKS cluster.
  - Returns the principal (object) id that role assignments need and the client id that workloads use.
  - Azure creates and deletes identities synchronously; O(wait) has nothing to wait for.
options:
  resource_group:
    description: Resource group of the identity.
    type: str
    required: true
  name:
    description: Name of the identity (3-128 letters, digits, C(-) and C(_), starting with a letter or digit).
    type: str
    required: true
  location:
    description: Azure region. Required to create the identity; cannot change afterwards.
    type: str
  state:
    description: Whether the identity should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.wait
  - airgap.aks_inference.azure.tags
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: Control-plane identity of the cluster
  airgap.aks_inference.user_assigned_identity:
    resource_group: rg-llm-isolated
    name: id-aks-llm-control-plane
    location: westeurope
  register: control_plane

- name: Network Contributor on the node subnet for it
  airgap.aks_inference.role_assignment:
    scope: "{{ isolated_network.subnet_ids.nodes }}"
    role: Network Contributor
    principal_id: "{{ control_plane.principal_id }}"
"""

RETURN = r"""
id:
  description: Resource id of the identity.
  returned: always
  type: str
principal_id:
  description: Object id of the identity's service principal in Entra ID (for role assignments).
  returned: when the identity exists (or would, in check mode, once created)
  type: str
client_id:
  description: Application (client) id of the identity.
  returned: when the identity exists
  type: str
tenant_id:
  description: Entra ID tenant of the identity.
  returned: when the identity exists
  type: str
state:
  description: The identity as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    check_name,
    ensure,
    provider_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable

IDENTITY_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")


class UserAssignedIdentity(ArmResource):
    resource_type = "Microsoft.ManagedIdentity/userAssignedIdentities"
    api_version = "2024-11-30"
    required_on_create = ("location",)
    read_only_properties = ("provisioningState", "tenantId", "principalId", "clientId")
    fields = FieldTable({"location": Field("ci", updatable=False)})

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def validate(self):
        check_name("name", self.params["name"], IDENTITY_NAME_RE,
                   "an identity name (3-128 letters, digits, - and _, starting with a letter or digit)")

    def desired(self):
        return {"location": self.params.get("location")}


def run(module):
    resource = UserAssignedIdentity(module)
    result = ensure(module, resource)
    props = (result.get("state") or {}).get("properties") or {}
    for key, option in (("principalId", "principal_id"), ("clientId", "client_id"), ("tenantId", "tenant_id")):
        result[option] = props.get(key)
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
