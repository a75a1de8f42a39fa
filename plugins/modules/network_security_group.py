#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_security_group
short_description: Create, update or delete an Azure network security group and its rules
version_added: 0.1.0
description:
  - Ensures a network security group exists with the given security rules.
  - Rules are matched by name. With O(purge_rules=true) (the default) rules that are not listed are
    removed, so the list is the whole policy; Azure's default rules are never touched.
options:
  resource_group:
    description: Resource group of the NSG.
    type: str
    required: true
  name:
    description: Name of the NSG.
    type: str
    required: true
  location:
    description: Azure region. Required to create the NSG; cannot change afterwards.
    type: str
  rules:
    description: Security rules.
    type: list
    elements: dict
    suboptions:
      name:
        description: Rule name, unique in the NSG.
        type: str
        required: true
      priority:
        description: 100 (evaluated first) to 4096, unique per direction.
        type: int
        required: true
      direction:
        description: Traffic direction.
        type: str
        choices: [Inbound, Outbound]
        required: true
      access:
        description: Allow or deny matching traffic.
        type: str
        choices: [Allow, Deny]
        default: Allow
      protocol:
        description: Protocol to match.
        type: str
        choices: [Tcp, Udp, Icmp, Esp, Ah, '*']
        default: '*'
      source_address_prefixes:
        description: CIDRs or service tags (V(VirtualNetwork), V(Internet), V(AzureLoadBalancer), V(*)).
        type: list
        elements: str
        default: ['*']
      source_port_ranges:
        description: Ports or ranges (V(443), V(8000-8100), V(*)).
        type: list
        elements: str
        default: ['*']
      destination_address_prefixes:
        description: CIDRs or service tags.
        type: list
        elements: str
        default: ['*']
      destination_port_ranges:
        description: Ports or ranges.
        type: list
        elements: str
        default: ['*']
      description:
        description: Free text shown in the portal.
        type: str
  purge_rules:
    description: Remove rules that are not in O(rules). Only applies when O(rules) is set.
    type: bool
    default: true
  state:
    description: Whether the NSG should exist.
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
- name: Nodes reach the API server subnet and nothing on the internet
  airgap.aks_inference.network_security_group:
    resource_group: rg-llm-isolated
    name: nsg-nodes
    location: westeurope
    rules:
      - name: allow-apiserver
        priority: 100
        direction: Outbound
        protocol: Tcp
        destination_address_prefixes: [10.40.4.0/28]
        destination_port_ranges: ['443', '4443']
      - name: deny-internet
        priority: 4096
        direction: Outbound
        access: Deny
        destination_address_prefixes: [Internet]
"""

RETURN = r"""
id:
  description: Resource id of the NSG.
  returned: always
  type: str
state:
  description: The NSG as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties (rules in normalized form).
  returned: always
  type: dict
"""

import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    check_name,
    provider_id,
    run_resource,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable

PORT_RE = re.compile(r"^(\*|\d{1,5}(-\d{1,5})?)$")
RULE_LISTS = (
    ("sourceAddressPrefix", "sourceAddressPrefixes", "source_address_prefixes"),
    ("sourcePortRange", "sourcePortRanges", "source_port_ranges"),
    ("destinationAddressPrefix", "destinationAddressPrefixes", "destination_address_prefixes"),
    ("destinationPortRange", "destinationPortRanges", "destination_port_ranges"),
)
RULE = "properties.securityRules[].properties."


def normalize_rule(rule):
    """One shape for a rule: every prefix/port field as a plural list."""
    props = dict(rule.get("properties") or {})
    for singular, plural, _option in RULE_LISTS:
        values = list(props.pop(plural, None) or [])
        one = props.pop(singular, None)
        if one not in (None, ""):
            values.append(one)
        props[plural] = values
    return {"name": rule.get("name"), "properties": props}


def wire_rule(rule):
    """ARM takes ``*`` and service tags only in the singular fields."""
    props = dict(rule["properties"])
    for singular, plural, _option in RULE_LISTS:
        values = props.pop(plural, [])
        if len(values) == 1:
            props[singular] = values[0]
        else:
            props[plural] = values
    return {"name": rule["name"], "properties": props}


class NetworkSecurityGroup(ArmResource):
    resource_type = "Microsoft.Network/networkSecurityGroups"
    api_version = "2024-05-01"
    required_on_create = ("location",)
    read_only_properties = ("provisioningState", "resourceGuid", "defaultSecurityRules", "subnets",
                            "networkInterfaces", "flowLogs")

    def __init__(self, module):
        super().__init__(module)
        fields = {
            "location": Field("ci", updatable=False),
            "properties.securityRules": Field("keyed", key="name", purge=module.params["purge_rules"]),
            RULE + "direction": Field("ci"),
            RULE + "access": Field("ci"),
            RULE + "protocol": Field("ci"),
        }
        for _singular, plural, _option in RULE_LISTS:
            fields[RULE + plural] = Field("ci_set")
        self.fields = FieldTable(fields)

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def validate(self):
        check_name("name", self.params["name"])
        seen_names = set()
        seen_priorities = {}
        for index, rule in enumerate(self.params.get("rules") or []):
            field = "rules[%d]" % index
            check_name(field + ".name", rule["name"])
            if rule["name"].lower() in seen_names:
                raise InputError(field + ".name", "duplicate rule name %r" % rule["name"])
            seen_names.add(rule["name"].lower())
            if not 100 <= rule["priority"] <= 4096:
                raise InputError(field + ".priority", "must be between 100 and 4096, got %d" % rule["priority"])
            key = (rule["direction"], rule["priority"])
            if key in seen_priorities:
                raise InputError(field + ".priority", "%d is already used by %s rule %r" % (
                    rule["priority"], rule["direction"], seen_priorities[key]))
            seen_priorities[key] = rule["name"]
            for _singular, _plural, option in RULE_LISTS:
                values = rule.get(option) or []
                if not values:
                    raise InputError("%s.%s" % (field, option), "must not be empty (use '*' for any)")
                if option.endswith("port_ranges"):
                    for value in values:
                        if not PORT_RE.match(str(value)):
                            raise InputError("%s.%s" % (field, option), "%r is not a port or range" % value)

    def desired(self):
        rules = self.params.get("rules")
        props = {}
        if rules is not None:
            props["securityRules"] = [
                {
                    "name": r["name"],
                    "properties": {
                        "priority": r["priority"],
                        "direction": r["direction"],
                        "access": r["access"],
                        "protocol": r["protocol"],
                        "sourceAddressPrefixes": list(r["source_address_prefixes"]),
                        "sourcePortRanges": [str(v) for v in r["source_port_ranges"]],
                        "destinationAddressPrefixes": list(r["destination_address_prefixes"]),
                        "destinationPortRanges": [str(v) for v in r["destination_port_ranges"]],
                        "description": r.get("description"),
                    },
                }
                for r in rules
            ]
        return {"location": self.params.get("location"), "properties": props}

    def normalize(self, body):
        out = dict(body)
        props = dict(body.get("properties") or {})
        props["securityRules"] = [normalize_rule(r) for r in props.get("securityRules") or []]
        out["properties"] = props
        return out

    def to_body(self, desired, current):
        body = super().to_body(desired, self.normalize(current) if current else None)
        props = body.setdefault("properties", {})
        rules = list(props.get("securityRules") or [])
        if current and not self.params["purge_rules"] and "securityRules" in desired.get("properties", {}):
            listed = {r["name"].lower() for r in rules}
            rules += [normalize_rule(r) for r in current["properties"].get("securityRules") or []
                      if r["name"].lower() not in listed]
        props["securityRules"] = [wire_rule(r) for r in rules]
        for rule in props["securityRules"]:
            rule["properties"] = {k: v for k, v in rule["properties"].items()
                                  if v is not None and k != "provisioningState"}
        return body


def main():
    rule_spec = dict(
        name=dict(type="str", required=True),
        priority=dict(type="int", required=True),
        direction=dict(type="str", choices=["Inbound", "Outbound"], required=True),
        access=dict(type="str", choices=["Allow", "Deny"], default="Allow"),
        protocol=dict(type="str", choices=["Tcp", "Udp", "Icmp", "Esp", "Ah", "*"], default="*"),
        source_address_prefixes=dict(type="list", elements="str", default=["*"]),
        source_port_ranges=dict(type="list", elements="str", default=["*"]),
        destination_address_prefixes=dict(type="list", elements="str", default=["*"]),
        destination_port_ranges=dict(type="list", elements="str", default=["*"]),
        description=dict(type="str"),
    )
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            rules=dict(type="list", elements="dict", options=rule_spec),
            purge_rules=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    run_resource(module, NetworkSecurityGroup)


if __name__ == "__main__":
    main()
