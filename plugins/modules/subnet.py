#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: subnet
short_description: Create, update or delete a subnet of an Azure virtual network
version_added: 0.1.0
description:
  - Ensures a subnet with the given prefix, outbound policy, NSG association and delegation exists.
  - Properties the task does not set (route table, NAT gateway, service endpoints set elsewhere) are
    kept as they are.
  - For a network-isolated cluster the node and API server subnets need O(default_outbound_access=false);
    without it Azure gives their machines an implicit way out to the internet.
options:
  resource_group:
    description: Resource group of the virtual network.
    type: str
    required: true
  virtual_network:
    description: Name of the virtual network.
    type: str
    required: true
  name:
    description: Name of the subnet. Use V(GatewaySubnet) for a VPN gateway subnet.
    type: str
    required: true
  address_prefix:
    description: Prefix of the subnet in CIDR form. Required to create it (or O(address_prefixes)).
    type: str
  address_prefixes:
    description: Several prefixes (dual stack). Mutually exclusive with O(address_prefix).
    type: list
    elements: str
  default_outbound_access:
    description:
      - Whether machines in the subnet get Azure's implicit outbound internet access.
      - V(false) is what a network-isolated cluster requires.
    type: bool
  network_security_group:
    description: Name (in O(resource_group)) or resource id of the NSG to associate.
    type: str
  nat_gateway:
    description: Name (in O(resource_group)) or resource id of a NAT gateway to attach (jump box subnet only).
    type: str
  delegations:
    description:
      - Services the subnet is delegated to, for example V(Microsoft.ContainerService/managedClusters)
        for the API server subnet of a cluster with API server VNet integration.
    type: list
    elements: str
  private_endpoint_network_policies:
    description: Whether NSGs and route tables apply to private endpoints in the subnet.
    type: str
    choices: [Disabled, Enabled, NetworkSecurityGroupEnabled, RouteTableEnabled]
  state:
    description: Whether the subnet should exist.
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
- name: Node subnet without default outbound access
  airgap.aks_inference.subnet:
    resource_group: rg-llm-isolated
    virtual_network: vnet-llm
    name: snet-nodes
    address_prefix: 10.40.0.0/22
    default_outbound_access: false
    network_security_group: nsg-nodes

- name: API server subnet delegated to AKS
  airgap.aks_inference.subnet:
    resource_group: rg-llm-isolated
    virtual_network: vnet-llm
    name: snet-apiserver
    address_prefix: 10.40.4.0/28
    default_outbound_access: false
    delegations: [Microsoft.ContainerService/managedClusters]
"""

RETURN = r"""
id:
  description: Resource id of the subnet.
  returned: always
  type: str
state:
  description: The subnet as Azure reports it (empty when absent).
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
    provider_id,
    reference_id,
    run_resource,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.cidr import check_no_overlap, parse_network
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable


class Subnet(ArmResource):
    resource_type = "Microsoft.Network/virtualNetworks/subnets"
    api_version = "2024-05-01"
    has_tags = False
    writable_top_level = ("properties",)
    read_only_properties = ("provisioningState", "ipConfigurations", "privateEndpoints", "purpose",
                            "ipConfigurationProfiles", "resourceNavigationLinks", "serviceAssociationLinks")
    fields = FieldTable(
        {
            "properties.addressPrefix": Field("cidr"),
            "properties.addressPrefixes": Field("cidr_set"),
            "properties.networkSecurityGroup.id": Field("id"),
            "properties.natGateway.id": Field("id"),
            "properties.delegations": Field("ci_set"),
            "properties.privateEndpointNetworkPolicies": Field("ci"),
        }
    )

    def resource_id(self):
        p = self.params
        return provider_id(self.module.subscription_id, p["resource_group"], self.resource_type,
                           p["virtual_network"], p["name"])

    def validate(self):
        check_name("name", self.params["name"])
        check_name("virtual_network", self.params["virtual_network"])
        if self.params.get("address_prefix"):
            parse_network(self.params["address_prefix"], "address_prefix")
        prefixes = self.params.get("address_prefixes") or []
        check_no_overlap([("address_prefixes[%d]" % i, parse_network(v, "address_prefixes[%d]" % i))
                          for i, v in enumerate(prefixes)])

    def before_create(self, client):
        if not (self.params.get("address_prefix") or self.params.get("address_prefixes")):
            raise InputError("address_prefix", "is required to create %s" % self.describe())

    def desired(self):
        p = self.params
        props = {
            "addressPrefix": p.get("address_prefix"),
            "addressPrefixes": p.get("address_prefixes"),
            "defaultOutboundAccess": p.get("default_outbound_access"),
            "privateEndpointNetworkPolicies": p.get("private_endpoint_network_policies"),
            "delegations": list(p["delegations"]) if p.get("delegations") is not None else None,
        }
        nsg = reference_id(self.module, p.get("network_security_group"), "Microsoft.Network/networkSecurityGroups")
        if nsg:
            props["networkSecurityGroup"] = {"id": nsg}
        nat = reference_id(self.module, p.get("nat_gateway"), "Microsoft.Network/natGateways")
        if nat:
            props["natGateway"] = {"id": nat}
        return {"properties": props}

    def normalize(self, body):
        out = dict(body)
        props = dict(body.get("properties") or {})
        props["delegations"] = [
            (d.get("properties") or {}).get("serviceName") for d in props.get("delegations") or []
        ]
        out["properties"] = props
        return out

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        props = body.setdefault("properties", {})
        if "delegations" in (desired.get("properties") or {}):
            existing = {
                str((d.get("properties") or {}).get("serviceName")).lower(): d
                for d in ((current or {}).get("properties") or {}).get("delegations") or []
            }
            props["delegations"] = [
                existing.get(service.lower()) or {"name": service.replace("/", "."),
                                                  "properties": {"serviceName": service}}
                for service in desired["properties"]["delegations"]
            ]
        return body


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            virtual_network=dict(type="str", required=True),
            name=dict(type="str", required=True),
            address_prefix=dict(type="str"),
            address_prefixes=dict(type="list", elements="str"),
            default_outbound_access=dict(type="bool"),
            network_security_group=dict(type="str"),
            nat_gateway=dict(type="str"),
            delegations=dict(type="list", elements="str"),
            private_endpoint_network_policies=dict(
                type="str", choices=["Disabled", "Enabled", "NetworkSecurityGroupEnabled", "RouteTableEnabled"]
            ),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("address_prefix", "address_prefixes")],
    )
    run_resource(module, Subnet)


if __name__ == "__main__":
    main()
