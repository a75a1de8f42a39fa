#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_gateway
short_description: Create, update or delete an Azure NAT gateway
version_added: 0.1.0
description:
  - Ensures a Standard NAT gateway with the given public IP addresses and idle timeout exists.
  - Attach it to a subnet with M(airgap.aks_inference.subnet) and its O(airgap.aks_inference.subnet#module:nat_gateway)
    option. In a network-isolated design only the jump box's subnet gets one; never attach it to a node or API
    server subnet.
  - Azure refuses to delete a NAT gateway that a subnet still uses. With O(state=absent) the module refuses too,
    naming the subnets, unless O(detach_subnets=true), which first removes the NAT gateway from those subnets
    (every other subnet property is kept).
options:
  resource_group:
    description: Resource group of the NAT gateway.
    type: str
    required: true
  name:
    description: Name of the NAT gateway.
    type: str
    required: true
  location:
    description: Azure region. Required to create it; cannot change afterwards.
    type: str
  public_ip_addresses:
    description:
      - Names (in O(resource_group)) or resource ids of Standard static public IPv4 addresses in the same region,
        1 to 16. Required to create the NAT gateway. The list is the whole set.
    type: list
    elements: str
  idle_timeout:
    description: TCP idle timeout in minutes (4 to 120).
    type: int
  zones:
    description: At most one availability zone (zonal NAT gateway); none for a regional one. Cannot change.
    type: list
    elements: str
    choices: ['1', '2', '3']
  detach_subnets:
    description:
      - With O(state=absent), remove the NAT gateway from the subnets that still use it before deleting it.
      - Without it the module refuses to delete a NAT gateway in use, before any write.
    type: bool
    default: false
  state:
    description: Whether the NAT gateway should exist.
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
- name: NAT gateway of the jump box
  airgap.aks_inference.nat_gateway:
    resource_group: rg-llm-isolated
    name: ng-jumpbox
    location: westeurope
    public_ip_addresses: [pip-ng-jumpbox]
    idle_timeout: 10

- name: Detach it from its subnet and delete it
  airgap.aks_inference.nat_gateway:
    resource_group: rg-llm-isolated
    name: ng-jumpbox
    state: absent
    detach_subnets: true
"""

RETURN = r"""
id:
  description: Resource id of the NAT gateway.
  returned: always
  type: str
subnets:
  description: Ids of the subnets that use the NAT gateway.
  returned: when it exists
  type: list
  elements: str
detached_subnets:
  description: Ids of the subnets the NAT gateway was (or in check mode would be) removed from.
  returned: with state=absent and detach_subnets=true
  type: list
  elements: str
state:
  description: The NAT gateway as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
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
PUBLIC_IP = "Microsoft.Network/publicIPAddresses"
# What a subnet GET reports but a subnet PUT does not take.
SUBNET_READ_ONLY = ("provisioningState", "ipConfigurations", "privateEndpoints", "purpose", "ipConfigurationProfiles",
                    "resourceNavigationLinks", "serviceAssociationLinks", "natGateway")


class NatGateway(ArmResource):
    resource_type = "Microsoft.Network/natGateways"
    api_version = API_VERSION
    required_on_create = ("location", "public_ip_addresses")
    read_only_properties = ("provisioningState", "resourceGuid", "subnets")
    fields = FieldTable(
        {
            "location": Field("ci", updatable=False),
            "sku.name": Field("ci", updatable=False),
            "zones": Field("set", updatable=False),
            "properties.idleTimeoutInMinutes": Field("exact"),
            "properties.publicIpAddresses": Field("ci_set"),
        }
    )

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def validate(self):
        p = self.params
        check_name("name", p["name"])
        idle = p.get("idle_timeout")
        if idle is not None and not 4 <= idle <= 120:
            raise InputError("idle_timeout", "must be 4 to 120 minutes, got %d" % idle)
        ips = p.get("public_ip_addresses")
        if ips is not None:
            if p.get("state") == "present" and not 1 <= len(ips) <= 16:
                raise InputError("public_ip_addresses", "a NAT gateway takes 1 to 16 public IP addresses, got %d"
                                 % len(ips))
            for index, value in enumerate(ips):
                if not str(value).startswith("/subscriptions/"):
                    check_name("public_ip_addresses[%d]" % index, value)
        if len(p.get("zones") or []) > 1:
            raise InputError("zones", "a NAT gateway lives in one zone at most, got %s" % ", ".join(p["zones"]))

    def desired(self):
        p = self.params
        ips = p.get("public_ip_addresses")
        return {
            "location": p.get("location"),
            "sku": {"name": "Standard"},
            "zones": list(p["zones"]) if p.get("zones") is not None else None,
            "properties": {
                "idleTimeoutInMinutes": p.get("idle_timeout"),
                "publicIpAddresses": [reference_id(self.module, ip, PUBLIC_IP) for ip in ips]
                if ips is not None else None,
            },
        }

    def normalize(self, body):
        out = dict(body)
        props = dict(body.get("properties") or {})
        # A GET has {"id": ...} references; a check-mode preview (current + desired) may have ids already.
        for key in ("publicIpAddresses", "subnets"):
            props[key] = [ref.get("id") if isinstance(ref, dict) else ref for ref in props.get(key) or []]
        out["properties"] = props
        out["zones"] = list(body.get("zones") or [])
        return out

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        props = body.setdefault("properties", {})
        if "publicIpAddresses" in (desired.get("properties") or {}):
            props["publicIpAddresses"] = [{"id": rid} for rid in desired["properties"]["publicIpAddresses"]]
        return body

    def before_delete(self, client, current):
        subnets = self.normalize(current)["properties"]["subnets"]
        if subnets and not self.params.get("detach_subnets"):
            raise InputError("detach_subnets", "NAT gateway %s is still attached to subnet(s) %s: set "
                             "detach_subnets=true to remove it from them first" % (current.get("id"), ", ".join(subnets)))

    def result(self, body):
        out = super().result(body)
        if body:
            out["subnets"] = self.normalize(body)["properties"]["subnets"]
        return out


def detach(module, resource, subnets):
    """Remove the NAT gateway from each subnet (read-modify-write, nothing else changes)."""
    client = module.client()
    poll = module.params.get("poll_interval") or azure_wait.DEFAULT_POLL
    for subnet_id in subnets:
        current = client.get(subnet_id, API_VERSION)
        if current is None or module.check_mode:
            continue
        props = dict((k, v) for k, v in (current.get("properties") or {}).items() if k not in SUBNET_READ_ONLY)
        response = client.put(subnet_id, API_VERSION, {"properties": props})
        what = "remove NAT gateway %s from subnet %s" % (resource.resource_id(), subnet_id)
        if module.params.get("wait", True):
            azure_wait.wait_for_operation(client, response, module.deadline(), what, poll=poll)


def run(module):
    resource = NatGateway(module)
    detached = []
    if module.params["state"] == "absent" and module.params["detach_subnets"]:
        resource.validate()
        module.check_settings()
        current = module.client().get(resource.resource_id(), API_VERSION)
        if current is not None:
            detached = resource.normalize(current)["properties"]["subnets"]
            detach(module, resource, detached)
    result = ensure(module, resource)
    if module.params["state"] == "absent" and module.params["detach_subnets"]:
        result["detached_subnets"] = detached
        result["changed"] = result["changed"] or bool(detached)
    elif result.get("state"):
        result["subnets"] = result["state"].get("subnets") or []
    return result


ARGUMENT_SPEC = dict(
    resource_group=dict(type="str", required=True),
    name=dict(type="str", required=True),
    location=dict(type="str"),
    public_ip_addresses=dict(type="list", elements="str"),
    idle_timeout=dict(type="int"),
    zones=dict(type="list", elements="str", choices=["1", "2", "3"]),
    detach_subnets=dict(type="bool", default=False),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


def main():
    module = AzureModule(ARGUMENT_SPEC, tags=True)
    module.run(run)


if __name__ == "__main__":
    main()
