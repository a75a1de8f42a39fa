#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: resource_group
short_description: Create, update or delete an Azure resource group
version_added: 0.1.0
description:
  - Ensures a resource group exists with the given location and tags, or is absent.
  - Deleting a resource group deletes every resource in it; the module refuses to delete a group
    that still holds resources unless O(force_delete_nonempty=true).
options:
  name:
    description: Name of the resource group.
    type: str
    required: true
  location:
    description:
      - Azure region, for example V(westeurope). Required to create the group; cannot change afterwards.
    type: str
  force_delete_nonempty:
    description:
      - With O(state=absent), delete the group even when it still holds resources (all of them are deleted).
    type: bool
    default: false
  state:
    description: Whether the group should exist.
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
- name: Resource group for the isolated cluster
  airgap.aks_inference.resource_group:
    name: rg-llm-isolated
    location: westeurope
    tags:
      workload: llm-inference

- name: Remove it and everything in it
  airgap.aks_inference.resource_group:
    name: rg-llm-isolated
    state: absent
    force_delete_nonempty: true
"""

RETURN = r"""
id:
  description: Resource id of the group.
  returned: always
  type: str
  sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-llm-isolated
state:
  description: The group as Azure reports it (empty when absent).
  returned: always
  type: dict
  contains:
    location:
      description: Region of the group.
      type: str
      returned: when present
    tags:
      description: Tags of the group.
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

import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    resource_group_id,
    run_resource,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable

RG_NAME = re.compile(r"^[-\w._()]{0,89}[-\w_()]$")


class ResourceGroup(ArmResource):
    resource_type = "Microsoft.Resources/resourceGroups"
    api_version = "2024-03-01"
    fields = FieldTable({"location": Field("ci", updatable=False)})

    def resource_id(self):
        return resource_group_id(self.module.subscription_id, self.params["name"])

    def validate(self):
        if not RG_NAME.match(self.params["name"] or ""):
            raise InputError("name", "%r is not a valid resource group name (1-90 letters, digits, -_.() "
                                     "not ending in a period)" % self.params["name"])

    required_on_create = ("location",)

    def desired(self):
        return {"location": self.params.get("location")}

    def before_delete(self, client, current):
        if self.params["force_delete_nonempty"]:
            return
        contents = client.list(self.resource_id() + "/resources", "2021-04-01")
        if contents:
            names = sorted(r.get("id", "").split("/providers/")[-1] for r in contents)
            raise InputError(
                "force_delete_nonempty",
                "resource group %s still holds %d resource(s) (%s); set force_delete_nonempty=true to "
                "delete them with it" % (self.params["name"], len(contents), ", ".join(names[:10])),
            )


def main():
    module = AzureModule(
        dict(
            name=dict(type="str", required=True),
            location=dict(type="str"),
            force_delete_nonempty=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    run_resource(module, ResourceGroup)


if __name__ == "__main__":
    main()
