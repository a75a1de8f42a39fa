#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: public_ip_address
short_description: Create, update or delete a Standard static public IP address in Azure
version_added: 0.1.0
description:
  - Ensures a public IP address of the Standard SKU with static allocation exists, for example the
    outbound address of the jump box's NAT gateway.
  - Azure requires Standard public IPs to be static; the module offers nothing else. SKU, version and zones
    cannot change after creation.
options:
  resource_group:
    description: Resource group of the public IP address.
    type: str
    required: true
  name:
    description: Name of the public IP address.
    type: str
    required: true
  location:
    description: Azure region. Required to create it; cannot change afterwards.
    type: str
  zones:
    description:
      - Availability zones. One zone makes a zonal address, several a zone-redundant one, none a regional one.
      - A zonal NAT gateway takes addresses of its own zone or zone-redundant ones.
    type: list
    elements: str
    choices: ['1', '2', '3']
  idle_timeout:
    description: TCP idle timeout in minutes (4 to 30).
    type: int
  state:
    description: Whether the public IP address should exist.
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
- name: Outbound address of the jump box's NAT gateway
  airgap.aks_inference.public_ip_address:
    resource_group: rg-llm-isolated
    name: pip-ng-jumpbox
    location: westeurope
    tags:
      role: gpu-jumpbox-egress
"""

RETURN = r"""
id:
  description: Resource id of the public IP address.
  returned: always
  type: str
ip_address:
  description: The allocated address (absent in check mode before it exists).
  returned: when it exists
  type: str
state:
  description: The public IP address as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    check_name,
    ensure,
    provider_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable

API_VERSION = "2024-05-01"


class PublicIpAddress(ArmResource):
    resource_type = "Microsoft.Network/publicIPAddresses"
    api_version = API_VERSION
    required_on_create = ("location",)
    read_only_properties = ("provisioningState", "resourceGuid", "ipAddress", "ipConfiguration", "natGateway")
    fields = FieldTable(
        {
            "location": Field("ci", updatable=False),
            "sku.name": Field("ci", updatable=False),
            "zones": Field("set", updatable=False),
            "properties.publicIPAllocationMethod": Field("ci", updatable=False),
            "properties.publicIPAddressVersion": Field("ci", updatable=False),
            "properties.idleTimeoutInMinutes": Field("exact"),
        }
    )

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def validate(self):
        check_name("name", self.params["name"])
        idle = self.params.get("idle_timeout")
        if idle is not None and not 4 <= idle <= 30:
            raise InputError("idle_timeout", "must be 4 to 30 minutes, got %d" % idle)

    def desired(self):
        zones = self.params.get("zones")
        return {
            "location": self.params.get("location"),
            "sku": {"name": "Standard"},
            "zones": sorted(set(zones)) if zones is not None else None,
            "properties": {
                "publicIPAllocationMethod": "Static",
                "publicIPAddressVersion": "IPv4",
                "idleTimeoutInMinutes": self.params.get("idle_timeout"),
            },
        }

    def normalize(self, body):
        out = dict(body)
        out["zones"] = list(body.get("zones") or [])
        return out


def run(module):
    resource = PublicIpAddress(module)
    result = ensure(module, resource)
    address = ((result.get("state") or {}).get("properties") or {}).get("ipAddress")
    if address:
        result["ip_address"] = address
    return result


ARGUMENT_SPEC = dict(
    resource_group=dict(type="str", required=True),
    name=dict(type="str", required=True),
    location=dict(type="str"),
    zones=dict(type="list", elements="str", choices=["1", "2", "3"]),
    idle_timeout=dict(type="int"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


def main():
    module = AzureModule(ARGUMENT_SPEC, tags=True)
    module.run(run)


if __name__ == "__main__":
    main()
