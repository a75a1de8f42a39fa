#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: private_endpoint
short_description: Create or delete an Azure private endpoint to a resource
version_added: 0.1.0
description:
  - Ensures a private endpoint in a subnet connects to a resource (a container registry, a key vault, a
    storage account, ...) through Azure Private Link, so the resource is reached on private addresses of
    the subnet.
  - Pair it with M(airgap.aks_inference.private_dns_zone_group) so the resource's public name resolves
    to those addresses inside the network.
  - The subnet, target and group of an existing endpoint cannot change; delete and recreate it.
  - A container registry must be Premium to get a private endpoint; that is checked (by reading the
    registry) before the endpoint is created.
options:
  resource_group:
    description: Resource group of the private endpoint.
    type: str
    required: true
  name:
    description: Name of the private endpoint.
    type: str
    required: true
  location:
    description: Azure region; the region of the subnet's virtual network. Required to create the endpoint.
    type: str
  subnet:
    description:
      - Resource id of the subnet, or its name together with O(virtual_network). Required to create the endpoint.
    type: str
  virtual_network:
    description: Name (in O(resource_group)) of the virtual network when O(subnet) is a name.
    type: str
  target:
    description:
      - Resource id of the resource to connect to. Required to create the endpoint.
    type: str
  group_id:
    description:
      - Sub-resource of the target to connect to, for example V(registry) for a container registry, V(vault)
        for a key vault, V(file) or V(blob) for a storage account. Required to create the endpoint.
    type: str
  connection_name:
    description: Name of the private link service connection. Defaults to O(name).
    type: str
  custom_network_interface_name:
    description: Name of the network interface Azure creates for the endpoint (Azure picks one when unset).
    type: str
  state:
    description: Whether the private endpoint should exist.
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
- name: The registry on a private address of the private endpoint subnet
  airgap.aks_inference.private_endpoint:
    resource_group: rg-llm-isolated
    name: pe-acrllmisolated
    location: westeurope
    virtual_network: vnet-llm
    subnet: snet-private-endpoints
    target: "{{ registry.id }}"
    group_id: registry
"""

RETURN = r"""
id:
  description: Resource id of the private endpoint.
  returned: always
  type: str
connection_status:
  description: Status of the private link connection (V(Approved), V(Pending), V(Rejected), V(Disconnected)).
  returned: when present
  type: str
custom_dns_configs:
  description: Host names of the target and their private addresses in the subnet.
  returned: when present
  type: list
  elements: dict
  contains:
    fqdn:
      description: Host name, for example C(acrllmisolated.azurecr.io).
      type: str
    ip_addresses:
      description: Private addresses.
      type: list
      elements: str
network_interface_ids:
  description: Network interfaces Azure created for the endpoint.
  returned: when present
  type: list
  elements: str
state:
  description: The private endpoint as Azure reports it (empty when absent).
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

NETWORK_API_VERSION = "2024-05-01"
ACR_API_VERSION = "2023-07-01"
CONNECTIONS = "properties.privateLinkServiceConnections"
# Sub-resources (group ids) of the targets this collection connects to.
GROUP_IDS = {
    "microsoft.containerregistry/registries": ("registry",),
    "microsoft.keyvault/vaults": ("vault",),
    "microsoft.storage/storageaccounts": ("blob", "blob_secondary", "file", "file_secondary", "queue", "table",
                                          "web", "dfs"),
}


def target_type(resource_id):
    """``Microsoft.ContainerRegistry/registries`` of a resource id (None when it is not one)."""
    parts = str(resource_id or "").rstrip("/").split("/")
    low = [x.lower() for x in parts]
    if "providers" not in low:
        return None
    idx = len(low) - 1 - low[::-1].index("providers")
    rest = parts[idx + 1:]
    if len(rest) < 3 or len(rest) % 2 == 0:
        return None
    return "/".join([rest[0]] + rest[1::2])


class PrivateEndpoint(ArmResource):
    resource_type = "Microsoft.Network/privateEndpoints"
    api_version = NETWORK_API_VERSION
    required_on_create = ("location", "subnet", "target", "group_id")
    read_only_properties = ("provisioningState", "resourceGuid", "networkInterfaces", "customDnsConfigs")
    fields = FieldTable(
        {
            "location": Field("ci", updatable=False),
            "properties.subnet.id": Field("id", updatable=False),
            CONNECTIONS: Field("keyed", key="name", updatable=False),
            CONNECTIONS + "[].properties.privateLinkServiceId": Field("id"),
            CONNECTIONS + "[].properties.groupIds": Field("ci_set"),
            "properties.customNetworkInterfaceName": Field("exact", updatable=False),
        }
    )

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def subnet_id(self):
        p = self.params
        subnet = p.get("subnet")
        if subnet is None or subnet.startswith("/subscriptions/"):
            return subnet
        return provider_id(self.module.subscription_id, p["resource_group"], "Microsoft.Network/virtualNetworks/subnets",
                           p["virtual_network"], subnet)

    def validate(self):
        p = self.params
        check_name("name", p["name"])
        subnet = p.get("subnet")
        if subnet is not None and not subnet.startswith("/subscriptions/"):
            if not p.get("virtual_network"):
                raise InputError("virtual_network", "is required when subnet is a name (%s), not a subnet id" % subnet)
            check_name("subnet", subnet)
            check_name("virtual_network", p["virtual_network"])
        elif subnet is not None and "/subnets/" not in subnet.lower():
            raise InputError("subnet", "%r is not a subnet id (.../virtualNetworks/<vnet>/subnets/<subnet>)" % subnet)
        target = p.get("target")
        if target is not None:
            kind = target_type(target) if target.startswith("/subscriptions/") else None
            if kind is None:
                raise InputError("target", "%r is not a resource id" % target)
            groups = GROUP_IDS.get(kind.lower())
            if groups and p.get("group_id") is not None and p["group_id"] not in groups:
                raise InputError("group_id", "%r is not a private link sub-resource of %s (%s)"
                                 % (p["group_id"], kind, ", ".join(groups)))
        if p.get("connection_name") is not None:
            check_name("connection_name", p["connection_name"])

    def before_create(self, client):
        super().before_create(client)
        target = self.params["target"]
        if target_type(target).lower() == "microsoft.containerregistry/registries":
            registry = client.get(target, ACR_API_VERSION)
            if registry is None:
                if self.module.check_mode:  # created earlier in the same check-mode run: nothing to read yet
                    return
                raise InputError("target", "container registry %s does not exist" % target)
            sku = (registry.get("sku") or {}).get("name")
            if str(sku).lower() != "premium":
                raise InputError("target", "container registry %s is %s: only a Premium registry can have a private "
                                           "endpoint" % (registry.get("name"), sku))

    def desired(self):
        p = self.params
        connections = None
        if p.get("target") is not None or p.get("group_id") is not None:
            connections = [{
                "name": p.get("connection_name") or p["name"],
                "properties": {
                    "privateLinkServiceId": p.get("target"),
                    "groupIds": [p["group_id"]] if p.get("group_id") else None,
                },
            }]
        subnet = self.subnet_id()
        return {
            "location": p.get("location"),
            "properties": {
                "subnet": {"id": subnet} if subnet else None,
                "privateLinkServiceConnections": connections,
                "customNetworkInterfaceName": p.get("custom_network_interface_name"),
            },
        }

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        props = body.setdefault("properties", {})
        for conn in props.get("privateLinkServiceConnections") or []:
            cprops = conn.get("properties") or {}
            for key in ("provisioningState", "privateLinkServiceConnectionState"):
                cprops.pop(key, None)
            for key in ("id", "etag", "type"):
                conn.pop(key, None)
        return body


def ensure_private_endpoint(module):
    resource = PrivateEndpoint(module)
    result = ensure(module, resource)
    state = result.get("state") or {}
    if state:
        props = state.get("properties") or {}
        conns = props.get("privateLinkServiceConnections") or props.get("manualPrivateLinkServiceConnections") or []
        status = None
        if conns:
            status = ((conns[0].get("properties") or {}).get("privateLinkServiceConnectionState") or {}).get("status")
        result["connection_status"] = status
        result["custom_dns_configs"] = [
            {"fqdn": c.get("fqdn"), "ip_addresses": list(c.get("ipAddresses") or [])}
            for c in props.get("customDnsConfigs") or []
        ]
        result["network_interface_ids"] = [n.get("id") for n in props.get("networkInterfaces") or []]
        if status and status not in ("Approved",) and not module.check_mode:
            module.module.warn("the private link connection of %s is %s, not Approved" % (result["id"], status))
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            subnet=dict(type="str"),
            virtual_network=dict(type="str"),
            target=dict(type="str"),
            group_id=dict(type="str"),
            connection_name=dict(type="str"),
            custom_network_interface_name=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    module.run(ensure_private_endpoint)


if __name__ == "__main__":
    main()
