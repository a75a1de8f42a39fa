#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_interface
short_description: Create, update or delete an Azure network interface with a private IP address only
version_added: 0.1.0
description:
  - Ensures a network interface with one IP configuration in the given subnet, a dynamic or static private
    IP address and, optionally, its own network security group.
  - The module has no public IP option on purpose, and it removes a public IP address that was attached out of
    band (shown in the diff). Outbound traffic of the jump box goes through its subnet's NAT gateway.
  - The IP configuration listed is the whole set; other IP configurations are removed.
  - Azure refuses to delete a network interface that a virtual machine uses (C(NicInUse)); delete the virtual
    machine first.
options:
  resource_group:
    description: Resource group of the network interface.
    type: str
    required: true
  name:
    description: Name of the network interface.
    type: str
    required: true
  location:
    description: Azure region, the one of the virtual network. Required to create it; cannot change afterwards.
    type: str
  subnet:
    description:
      - Resource id of the subnet, or its name together with O(virtual_network) (in O(resource_group)).
      - Required to create the network interface.
    type: str
  virtual_network:
    description: Name of the virtual network when O(subnet) is a name.
    type: str
  private_ip_allocation_method:
    description:
      - V(Dynamic) lets Azure pick the next free address of the subnet (kept for the life of the interface);
        V(Static) uses O(private_ip_address).
      - Defaults to V(Static) when O(private_ip_address) is set, else V(Dynamic).
    type: str
    choices: [Dynamic, Static]
  private_ip_address:
    description: The private IPv4 address, inside the subnet and not one of the five Azure reserves.
    type: str
  network_security_group:
    description: Name (in O(resource_group)) or resource id of an NSG for the interface itself.
    type: str
  accelerated_networking:
    description: Enable accelerated networking (the VM size must support it; GPU sizes such as NC A100 v4 do).
    type: bool
  ip_configuration_name:
    description: Name of the IP configuration.
    type: str
    default: ipconfig1
  state:
    description: Whether the network interface should exist.
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
- name: Jump box interface, private address only
  airgap.aks_inference.network_interface:
    resource_group: rg-llm-isolated
    name: vm-jumpbox-nic
    location: westeurope
    virtual_network: vnet-llm
    subnet: snet-jumpbox
    accelerated_networking: true

- name: Static address
  airgap.aks_inference.network_interface:
    resource_group: rg-llm-isolated
    name: vm-jumpbox-nic
    location: westeurope
    subnet: "{{ isolated_network.subnet_ids.jumpbox }}"
    private_ip_address: 10.40.6.10
"""

RETURN = r"""
id:
  description: Resource id of the network interface.
  returned: always
  type: str
private_ip_address:
  description: The private IP address of the IP configuration (unknown in check mode before it exists).
  returned: when known
  type: str
virtual_machine:
  description: Id of the virtual machine using the interface.
  returned: when attached
  type: str
state:
  description: The network interface as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description:
    - Before and after of the managed properties. A public IP address attached out of band shows as its id
      before and an empty string after.
  returned: always
  type: dict
"""

import ipaddress
import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    check_name,
    ensure,
    provider_id,
    reference_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable

API_VERSION = "2024-05-01"
SUBNET = "Microsoft.Network/virtualNetworks/subnets"
SUBNET_ID_RE = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/"
                          r"[^/]+/subnets/[^/]+/?$", re.IGNORECASE)
IPCONFIG = "properties.ipConfigurations[].properties."
# The IP configuration's own read-only fields (an ipconfig PUT body carries none of them).
IPCONFIG_READ_ONLY = ("provisioningState", "privateIPAddressPrefixLength", "loadBalancerBackendAddressPools",
                      "loadBalancerInboundNatRules", "applicationGatewayBackendAddressPools",
                      "virtualNetworkTaps", "privateLinkConnectionProperties", "gatewayLoadBalancer")


class NetworkInterface(ArmResource):
    resource_type = "Microsoft.Network/networkInterfaces"
    api_version = API_VERSION
    required_on_create = ("location", "subnet")
    read_only_properties = ("provisioningState", "resourceGuid", "macAddress", "virtualMachine", "primary",
                            "hostedWorkloads", "tapConfigurations", "vnetEncryptionSupported", "dscpConfiguration",
                            "privateEndpoint", "privateLinkService", "defaultOutboundConnectivityEnabled")
    fields = FieldTable(
        {
            "location": Field("ci", updatable=False),
            "properties.ipConfigurations": Field("keyed", key="name", purge=True),
            IPCONFIG + "subnet.id": Field("id"),
            IPCONFIG + "privateIPAllocationMethod": Field("ci"),
            IPCONFIG + "publicIPAddress": Field("id"),
            "properties.networkSecurityGroup.id": Field("id"),
        }
    )

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def validate(self):
        p = self.params
        check_name("name", p["name"])
        check_name("ip_configuration_name", p["ip_configuration_name"])
        subnet = p.get("subnet")
        if subnet:
            if str(subnet).startswith("/subscriptions/"):
                if not SUBNET_ID_RE.match(subnet):
                    raise InputError("subnet", "%r is not a subnet resource id "
                                     "(.../virtualNetworks/<vnet>/subnets/<name>)" % subnet)
            else:
                check_name("subnet", subnet)
                if not p.get("virtual_network"):
                    raise InputError("virtual_network", "is required when subnet is a name (%s)" % subnet)
                check_name("virtual_network", p["virtual_network"])
        address = p.get("private_ip_address")
        if address:
            try:
                parsed = ipaddress.ip_address(address)
            except ValueError:
                raise InputError("private_ip_address", "%r is not an IP address" % address) from None
            if parsed.version != 4:
                raise InputError("private_ip_address", "%s is not an IPv4 address" % address)
            if p.get("private_ip_allocation_method") == "Dynamic":
                raise InputError("private_ip_allocation_method", "Dynamic contradicts private_ip_address %s: use "
                                 "Static, or leave the address out" % address)
        elif p.get("private_ip_allocation_method") == "Static":
            raise InputError("private_ip_address", "is required with private_ip_allocation_method=Static")

    def subnet_id(self):
        subnet = self.params.get("subnet")
        if not subnet:
            return None
        if str(subnet).startswith("/subscriptions/"):
            return subnet.rstrip("/")
        return provider_id(self.module.subscription_id, self.params["resource_group"], SUBNET,
                           self.params["virtual_network"], subnet)

    def desired(self):
        p = self.params
        address = p.get("private_ip_address") or None
        ipconfig = {
            "primary": True,
            "privateIPAllocationMethod": p.get("private_ip_allocation_method") or ("Static" if address else "Dynamic"),
            "privateIPAddress": address,
            # No public IP, ever: "" is "none" (normalize maps an attached one to its id).
            "publicIPAddress": "",
        }
        subnet = self.subnet_id()
        if subnet:
            ipconfig["subnet"] = {"id": subnet}
        props = {
            "ipConfigurations": [{"name": p["ip_configuration_name"], "properties": ipconfig}],
            "enableAcceleratedNetworking": p.get("accelerated_networking"),
        }
        nsg = reference_id(self.module, p.get("network_security_group"), "Microsoft.Network/networkSecurityGroups")
        if nsg:
            props["networkSecurityGroup"] = {"id": nsg}
        return {"location": p.get("location"), "properties": props}

    def normalize(self, body):
        out = dict(body)
        props = dict(body.get("properties") or {})
        configs = []
        for config in props.get("ipConfigurations") or []:
            cprops = dict(config.get("properties") or {})
            cprops["publicIPAddress"] = (cprops.get("publicIPAddress") or {}).get("id") or ""
            configs.append({"name": config.get("name"), "properties": cprops})
        props["ipConfigurations"] = configs
        out["properties"] = props
        return out

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        props = body.setdefault("properties", {})
        current_configs = dict((str(c.get("name")).lower(), c) for c in
                               ((current or {}).get("properties") or {}).get("ipConfigurations") or [])
        configs = []
        for config in (desired.get("properties") or {}).get("ipConfigurations") or []:
            old = (current_configs.get(config["name"].lower()) or {}).get("properties") or {}
            cprops = dict((k, v) for k, v in old.items() if k not in IPCONFIG_READ_ONLY)
            cprops.update(config["properties"])
            cprops.pop("publicIPAddress", None)  # never sent: this removes one attached out of band
            if cprops.get("privateIPAllocationMethod") == "Dynamic":
                same_subnet = str((old.get("subnet") or {}).get("id", "")).lower() == \
                    str((cprops.get("subnet") or {}).get("id", "")).lower()
                if same_subnet and old.get("privateIPAddress"):
                    cprops["privateIPAddress"] = old["privateIPAddress"]  # keep the address Azure gave
                else:
                    cprops.pop("privateIPAddress", None)
            configs.append({"name": config["name"], "properties": cprops})
        props["ipConfigurations"] = configs
        return body

    def result(self, body):
        out = super().result(body)
        configs = ((body or {}).get("properties") or {}).get("ipConfigurations") or []
        if configs:
            out["private_ip_address"] = (configs[0].get("properties") or {}).get("privateIPAddress")
        return out


def run(module):
    result = ensure(module, NetworkInterface(module))
    state = result.get("state") or {}
    if state.get("private_ip_address"):
        result["private_ip_address"] = state["private_ip_address"]
    vm = ((state.get("properties") or {}).get("virtualMachine") or {}).get("id")
    if vm:
        result["virtual_machine"] = vm
    return result


ARGUMENT_SPEC = dict(
    resource_group=dict(type="str", required=True),
    name=dict(type="str", required=True),
    location=dict(type="str"),
    subnet=dict(type="str"),
    virtual_network=dict(type="str"),
    private_ip_allocation_method=dict(type="str", choices=["Dynamic", "Static"]),
    private_ip_address=dict(type="str"),
    network_security_group=dict(type="str"),
    accelerated_networking=dict(type="bool"),
    ip_configuration_name=dict(type="str", default="ipconfig1"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


def main():
    module = AzureModule(ARGUMENT_SPEC, tags=True)
    module.run(run)


if __name__ == "__main__":
    main()
