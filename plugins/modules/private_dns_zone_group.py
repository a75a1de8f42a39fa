#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: private_dns_zone_group
short_description: Create, update or delete the private DNS zone group of an Azure private endpoint
version_added: 0.1.0
description:
  - Ensures a private endpoint has a DNS zone group, so Azure keeps A records for the endpoint's host
    names in the given private DNS zones (for a registry C(<registry>) and C(<registry>.<region>.data) in
    C(privatelink.azurecr.io)), and the target resolves to its private addresses in the linked networks.
  - The zones are the whole list; zones not listed are removed from the group.
options:
  resource_group:
    description: Resource group of the private endpoint.
    type: str
    required: true
  private_endpoint:
    description: Name of the private endpoint.
    type: str
    required: true
  name:
    description: Name of the zone group.
    type: str
    default: default
  zones:
    description:
      - Private DNS zones, each a resource id or a zone name in O(zone_resource_group).
      - Required to create the zone group.
    type: list
    elements: str
  zone_resource_group:
    description: Resource group of zones given by name. Defaults to O(resource_group).
    type: str
  state:
    description: Whether the zone group should exist.
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
- name: The registry resolves to its private endpoint
  airgap.aks_inference.private_dns_zone_group:
    resource_group: rg-llm-isolated
    private_endpoint: pe-acrllmisolated
    zones: [privatelink.azurecr.io]
"""

RETURN = r"""
id:
  description: Resource id of the zone group.
  returned: always
  type: str
record_sets:
  description: A records Azure keeps for the endpoint.
  returned: when present
  type: list
  elements: dict
  contains:
    zone:
      description: Id of the private DNS zone.
      type: str
    name:
      description: Record set name, for example C(acrllmisolated) or C(acrllmisolated.westeurope.data).
      type: str
    fqdn:
      description: Fully qualified name of the record set.
      type: str
    ip_addresses:
      description: Addresses of the record.
      type: list
      elements: str
state:
  description: The zone group as Azure reports it (empty when absent).
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
ZONE_TYPE = "Microsoft.Network/privateDnsZones"
CONFIGS = "properties.privateDnsZoneConfigs"


def config_name(zone_id):
    return zone_id.rstrip("/").rsplit("/", 1)[-1].replace(".", "-")


class PrivateDnsZoneGroup(ArmResource):
    resource_type = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"
    api_version = NETWORK_API_VERSION
    has_tags = False
    writable_top_level = ("properties",)
    required_on_create = ("zones",)
    fields = FieldTable(
        {
            CONFIGS: Field("keyed", key="name"),
            CONFIGS + "[].properties.privateDnsZoneId": Field("id"),
        }
    )

    def resource_id(self):
        p = self.params
        return provider_id(self.module.subscription_id, p["resource_group"], self.resource_type,
                           p["private_endpoint"], p["name"])

    def zone_ids(self):
        p = self.params
        out = []
        for zone in p.get("zones") or []:
            if zone.startswith("/subscriptions/"):
                out.append(zone.rstrip("/"))
            else:
                out.append(provider_id(self.module.subscription_id, p.get("zone_resource_group") or p["resource_group"],
                                       ZONE_TYPE, zone.rstrip(".")))
        return out

    def validate(self):
        p = self.params
        check_name("private_endpoint", p["private_endpoint"])
        check_name("name", p["name"])
        seen = set()
        for index, zone in enumerate(p.get("zones") or []):
            field = "zones[%d]" % index
            if zone.startswith("/subscriptions/"):
                if "/providers/microsoft.network/privatednszones/" not in zone.lower():
                    raise InputError(field, "%r is not a private DNS zone id" % zone)
            elif "." not in zone.strip(".") or " " in zone:
                raise InputError(field, "%r is not a DNS zone name (for example privatelink.azurecr.io)" % zone)
            key = zone.rstrip("/.").rsplit("/", 1)[-1].lower()
            if key in seen:
                raise InputError(field, "zone %s is listed twice" % key)
            seen.add(key)

    def desired(self):
        if self.params.get("zones") is None:
            return {}
        return {
            "properties": {
                "privateDnsZoneConfigs": [
                    {"name": config_name(zid), "properties": {"privateDnsZoneId": zid}} for zid in self.zone_ids()
                ]
            }
        }

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        configs = []
        for config in (body.get("properties") or {}).get("privateDnsZoneConfigs") or []:
            configs.append({"name": config["name"],
                            "properties": {"privateDnsZoneId": (config.get("properties") or {}).get("privateDnsZoneId")}})
        body["properties"] = {"privateDnsZoneConfigs": configs}
        return body


def ensure_zone_group(module):
    result = ensure(module, PrivateDnsZoneGroup(module))
    state = result.get("state") or {}
    if state:
        records = []
        for config in (state.get("properties") or {}).get("privateDnsZoneConfigs") or []:
            cprops = config.get("properties") or {}
            for record in cprops.get("recordSets") or []:
                records.append({"zone": cprops.get("privateDnsZoneId"), "name": record.get("recordSetName"),
                                "fqdn": record.get("fqdn"), "ip_addresses": list(record.get("ipAddresses") or [])})
        result["record_sets"] = records
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            private_endpoint=dict(type="str", required=True),
            name=dict(type="str", default="default"),
            zones=dict(type="list", elements="str"),
            zone_resource_group=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
    )
    module.run(ensure_zone_group)


if __name__ == "__main__":
    main()
