#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: private_dns_zone_link
short_description: Link an Azure private DNS zone to a virtual network
version_added: 0.1.0
description:
  - Ensures a virtual network link of a private DNS zone exists, so machines in that network resolve
    the zone's records (for example the registry's private endpoint address).
options:
  resource_group:
    description: Resource group of the zone.
    type: str
    required: true
  zone:
    description: Name of the private DNS zone.
    type: str
    required: true
  name:
    description: Name of the link.
    type: str
    required: true
  virtual_network:
    description:
      - Name (in O(resource_group)) or resource id of the virtual network. Required to create the link;
        cannot change afterwards.
    type: str
  registration_enabled:
    description: Register the network's machines in the zone automatically (not for privatelink zones).
    type: bool
    default: false
  state:
    description: Whether the link should exist.
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
- name: Resolve the registry privately from the cluster's network
  airgap.aks_inference.private_dns_zone_link:
    resource_group: rg-llm-isolated
    zone: privatelink.azurecr.io
    name: vnet-llm
    virtual_network: vnet-llm
"""

RETURN = r"""
id:
  description: Resource id of the link.
  returned: always
  type: str
state:
  description: The link as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    check_name,
    provider_id,
    reference_id,
    run_resource,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable


class PrivateDnsZoneLink(ArmResource):
    resource_type = "Microsoft.Network/privateDnsZones/virtualNetworkLinks"
    api_version = "2024-06-01"
    required_on_create = ("virtual_network",)
    read_only_properties = ("provisioningState", "virtualNetworkLinkState")
    fields = FieldTable({"properties.virtualNetwork.id": Field("id", updatable=False)})

    def resource_id(self):
        p = self.params
        return provider_id(self.module.subscription_id, p["resource_group"], self.resource_type,
                           p["zone"].rstrip("."), p["name"])

    def validate(self):
        check_name("name", self.params["name"])

    def desired(self):
        props = {"registrationEnabled": self.params["registration_enabled"]}
        vnet = reference_id(self.module, self.params.get("virtual_network"), "Microsoft.Network/virtualNetworks")
        if vnet:
            props["virtualNetwork"] = {"id": vnet}
        return {"location": "global", "properties": props}


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            zone=dict(type="str", required=True),
            name=dict(type="str", required=True),
            virtual_network=dict(type="str"),
            registration_enabled=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    run_resource(module, PrivateDnsZoneLink)


if __name__ == "__main__":
    main()
