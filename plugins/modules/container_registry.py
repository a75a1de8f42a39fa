#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_registry
short_description: Create, update or delete an Azure Container Registry
version_added: 0.1.0
description:
  - Ensures an Azure Container Registry exists with the given SKU and network and access settings.
  - For a network-isolated cluster use O(sku=Premium) (the only tier with private endpoints),
    O(public_network_access=Disabled), O(admin_user_enabled=false), O(anonymous_pull_enabled=false);
    O(zone_redundancy) and O(data_endpoint_enabled) are Premium features too. These combinations are
    checked before any request.
  - Registry tags whose names start with C(acr-import.) record images imported by
    M(airgap.aks_inference.acr_import); this module keeps them whatever O(tags) and O(purge_tags) say.
  - Deleting the registry deletes its repositories, cache rules and credential sets; private endpoints
    pointing at it stay and show their connection as C(Disconnected).
options:
  resource_group:
    description: Resource group of the registry.
    type: str
    required: true
  name:
    description: Name of the registry, 5-50 letters and digits, unique in Azure (the login server is C(<name>.azurecr.io)).
    type: str
    required: true
  location:
    description: Azure region. Required to create the registry; cannot change afterwards.
    type: str
  sku:
    description: Service tier. Required to create the registry.
    type: str
    choices: [Basic, Standard, Premium]
  admin_user_enabled:
    description: Whether the admin user (a shared username and password) is enabled.
    type: bool
  public_network_access:
    description: Whether the registry accepts connections from public networks. V(Disabled) needs V(Premium).
    type: str
    choices: [Enabled, Disabled]
  anonymous_pull_enabled:
    description: Whether unauthenticated clients may pull. Needs V(Standard) or V(Premium).
    type: bool
  zone_redundancy:
    description: Spread the registry over availability zones. Needs V(Premium); cannot change after creation.
    type: bool
  data_endpoint_enabled:
    description: Dedicated data endpoints (C(<name>.<region>.data.azurecr.io)) serve layers. Needs V(Premium).
    type: bool
  network_rule_bypass_options:
    description: Whether trusted Azure services may reach a network-restricted registry.
    type: str
    choices: [AzureServices, None]
  state:
    description: Whether the registry should exist.
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
- name: Private Premium registry for an isolated cluster
  airgap.aks_inference.container_registry:
    resource_group: rg-llm-isolated
    name: acrllmisolated
    location: westeurope
    sku: Premium
    public_network_access: Disabled
    admin_user_enabled: false
    anonymous_pull_enabled: false
    zone_redundancy: true
    data_endpoint_enabled: true
"""

RETURN = r"""
id:
  description: Resource id of the registry.
  returned: always
  type: str
login_server:
  description: Host name clients pull from, for example C(acrllmisolated.azurecr.io).
  returned: when present
  type: str
data_endpoint_host_names:
  description: Dedicated data endpoint host names (when enabled).
  returned: when present
  type: list
  elements: str
state:
  description: The registry as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.acr import check_registry_name, is_ledger_tag
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    ensure,
    provider_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable

ACR_API_VERSION = "2023-07-01"
PREMIUM_ONLY = (
    ("public_network_access", lambda v: v == "Disabled", "public_network_access=Disabled"),
    ("zone_redundancy", lambda v: v is True, "zone_redundancy"),
    ("data_endpoint_enabled", lambda v: v is True, "data_endpoint_enabled"),
)


def _enabled(value):
    if value is None:
        return None
    return "Enabled" if value else "Disabled"


class ContainerRegistry(ArmResource):
    resource_type = "Microsoft.ContainerRegistry/registries"
    api_version = ACR_API_VERSION
    required_on_create = ("location", "sku")
    read_only_properties = ("provisioningState", "loginServer", "creationDate", "status", "dataEndpointHostNames",
                            "privateEndpointConnections")
    fields = FieldTable(
        {
            "location": Field("ci", updatable=False),
            "sku.name": Field("ci"),
            "properties.publicNetworkAccess": Field("ci"),
            "properties.zoneRedundancy": Field("ci", updatable=False),
            "properties.networkRuleBypassOptions": Field("ci"),
        }
    )

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def validate(self):
        p = self.params
        check_registry_name("name", p["name"])
        sku = p.get("sku")
        if sku and sku != "Premium":
            for option, needs_premium, label in PREMIUM_ONLY:
                if needs_premium(p.get(option)):
                    raise InputError(option, "%s needs sku=Premium (the registry is %s)" % (label, sku))
        if sku == "Basic" and p.get("anonymous_pull_enabled"):
            raise InputError("anonymous_pull_enabled", "needs sku=Standard or Premium (the registry is Basic)")

    def desired(self):
        p = self.params
        return {
            "location": p.get("location"),
            "sku": {"name": p.get("sku")},
            "properties": {
                "adminUserEnabled": p.get("admin_user_enabled"),
                "publicNetworkAccess": p.get("public_network_access"),
                "anonymousPullEnabled": p.get("anonymous_pull_enabled"),
                "zoneRedundancy": _enabled(p.get("zone_redundancy")),
                "dataEndpointEnabled": p.get("data_endpoint_enabled"),
                "networkRuleBypassOptions": p.get("network_rule_bypass_options"),
            },
        }

    def desired_tags(self, current):
        tags = super().desired_tags(current)
        if tags is None or not current:
            return tags
        kept = dict((k, v) for k, v in (current.get("tags") or {}).items() if is_ledger_tag(k))
        kept.update(tags)
        return kept

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        body.get("sku", {}).pop("tier", None)
        return body

    def result(self, body):
        out = super().result(body)
        if body:
            out["sku"] = (body.get("sku") or {}).get("name")
        return out


def ensure_registry(module):
    result = ensure(module, ContainerRegistry(module))
    state = result.get("state") or {}
    if state:
        props = state.get("properties") or {}
        result["login_server"] = props.get("loginServer") or "%s.azurecr.io" % module.params["name"].lower()
        result["data_endpoint_host_names"] = props.get("dataEndpointHostNames") or []
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            sku=dict(type="str", choices=["Basic", "Standard", "Premium"]),
            admin_user_enabled=dict(type="bool"),
            public_network_access=dict(type="str", choices=["Enabled", "Disabled"]),
            anonymous_pull_enabled=dict(type="bool"),
            zone_redundancy=dict(type="bool"),
            data_endpoint_enabled=dict(type="bool"),
            network_rule_bypass_options=dict(type="str", choices=["AzureServices", "None"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )

    module.run(ensure_registry)


if __name__ == "__main__":
    main()
