#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: virtual_network
short_description: Create, update or delete an Azure virtual network
version_added: 0.1.0
description:
  - Ensures a virtual network with the given address space (and optionally DNS servers) exists.
  - Subnets are managed with M(airgap.aks_inference.subnet). This module never drops a subnet, because
    an update sends every existing subnet back to Azure as it is (a virtual network C(PUT) that
    omits a subnet would delete it).
options:
  resource_group:
    description: Resource group of the virtual network.
    type: str
    required: true
  name:
    description: Name of the virtual network.
    type: str
    required: true
  location:
    description: Azure region. Required to create the network; cannot change afterwards.
    type: str
  address_prefixes:
    description:
      - Address space in CIDR form, for example V(10.40.0.0/16). Required to create the network.
      - Compared as a set; every existing subnet must stay inside it.
    type: list
    elements: str
  dns_servers:
    description:
      - Custom DNS servers, in order. Leave unset to keep Azure-provided DNS, which private DNS zones need.
    type: list
    elements: str
  state:
    description: Whether the network should exist.
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
- name: VNet of the isolated cluster
  airgap.aks_inference.virtual_network:
    resource_group: rg-llm-isolated
    name: vnet-llm
    location: westeurope
    address_prefixes: [10.40.0.0/16]
"""

RETURN = r"""
id:
  description: Resource id of the virtual network.
  returned: always
  type: str
state:
  description: The virtual network as Azure reports it (empty when absent).
  returned: always
  type: dict
  contains:
    properties:
      description: Azure's properties, including C(addressSpace) and C(subnets).
      type: dict
      returned: when present
    provisioning_state:
      description: Provisioning state.
      type: str
      returned: when present
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

import ipaddress

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    check_name,
    provider_id,
    run_resource,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.cidr import check_no_overlap, parse_network
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable


class VirtualNetwork(ArmResource):
    resource_type = "Microsoft.Network/virtualNetworks"
    api_version = "2024-05-01"
    required_on_create = ("location", "address_prefixes")
    fields = FieldTable(
        {
            "location": Field("ci", updatable=False),
            "properties.addressSpace.addressPrefixes": Field("cidr_set"),
            "properties.dhcpOptions.dnsServers": Field("list"),
        }
    )

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def validate(self):
        check_name("name", self.params["name"])
        prefixes = self.params.get("address_prefixes")
        if prefixes is not None:
            if not prefixes:
                raise InputError("address_prefixes", "must list at least one CIDR prefix")
            nets = [("address_prefixes[%d]" % i, parse_network(p, "address_prefixes[%d]" % i))
                    for i, p in enumerate(prefixes)]
            check_no_overlap(nets)
        for i, server in enumerate(self.params.get("dns_servers") or []):
            try:
                ipaddress.ip_address(server)
            except ValueError:
                raise InputError("dns_servers[%d]" % i, "%r is not an IP address" % server)

    def desired(self):
        p = self.params
        props = {}
        if p.get("address_prefixes") is not None:
            props["addressSpace"] = {"addressPrefixes": list(p["address_prefixes"])}
        if p.get("dns_servers") is not None:
            props["dhcpOptions"] = {"dnsServers": list(p["dns_servers"])}
        return {"location": p.get("location"), "properties": props}

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        # The existing subnets go back as they are: omitting one deletes it.
        subnets = ((current or {}).get("properties") or {}).get("subnets")
        if subnets is not None:
            body.setdefault("properties", {})["subnets"] = subnets
        new_space = [ipaddress.ip_network(p, strict=False)
                     for p in body.get("properties", {}).get("addressSpace", {}).get("addressPrefixes", [])]
        for subnet in subnets or []:
            props = subnet.get("properties") or {}
            for prefix in [props.get("addressPrefix")] + list(props.get("addressPrefixes") or []):
                if not prefix:
                    continue
                net = ipaddress.ip_network(prefix, strict=False)
                if new_space and not any(net.version == s.version and net.subnet_of(s) for s in new_space):
                    raise InputError(
                        "address_prefixes",
                        "the new address space would leave subnet %s (%s) outside it" % (subnet.get("name"), net),
                    )
        return body


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            address_prefixes=dict(type="list", elements="str"),
            dns_servers=dict(type="list", elements="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    run_resource(module, VirtualNetwork)


if __name__ == "__main__":
    main()
