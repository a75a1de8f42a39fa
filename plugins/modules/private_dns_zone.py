#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: private_dns_zone
short_description: Create or delete an Azure private DNS zone
version_added: 0.1.0
description:
  - Ensures a private DNS zone such as V(privatelink.azurecr.io) exists. Private DNS zones are global
    resources; link them to virtual networks with M(airgap.aks_inference.private_dns_zone_link).
options:
  resource_group:
    description: Resource group of the zone.
    type: str
    required: true
  name:
    description: DNS name of the zone, for example V(privatelink.file.core.windows.net).
    type: str
    required: true
  state:
    description: Whether the zone should exist. Azure refuses to delete a zone that still has links.
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
- name: Zone the registry's private endpoint registers in
  airgap.aks_inference.private_dns_zone:
    resource_group: rg-llm-isolated
    name: privatelink.azurecr.io
"""

RETURN = r"""
id:
  description: Resource id of the zone.
  returned: always
  type: str
state:
  description: The zone as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    provider_id,
    run_resource,
)

LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
DNS_NAME = re.compile(r"^%s(\.%s)+\.?$" % (LABEL, LABEL))


class PrivateDnsZone(ArmResource):
    resource_type = "Microsoft.Network/privateDnsZones"
    api_version = "2024-06-01"
    read_only_properties = ("provisioningState", "numberOfRecordSets", "maxNumberOfRecordSets",
                            "maxNumberOfVirtualNetworkLinks", "numberOfVirtualNetworkLinks",
                            "maxNumberOfVirtualNetworkLinksWithRegistration",
                            "numberOfVirtualNetworkLinksWithRegistration", "internalId")

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"].rstrip("."))

    def validate(self):
        name = self.params["name"]
        if len(name) > 253 or not DNS_NAME.match(name):
            raise InputError("name", "%r is not a DNS zone name (at least two labels, e.g. privatelink.azurecr.io)"
                             % name)

    def desired(self):
        return {"location": "global"}


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    run_resource(module, PrivateDnsZone)


if __name__ == "__main__":
    main()
