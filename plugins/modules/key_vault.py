#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: key_vault
short_description: Create, update or delete an Azure Key Vault
version_added: 0.1.0
description:
  - Ensures a Key Vault exists, for secrets such as upstream registry tokens that artifact cache credential
    sets read.
  - For a network-isolated deployment use O(enable_rbac_authorization=true) (access through Azure RBAC
    roles such as C(Key Vault Secrets User), no access policies) and O(public_network_access=Disabled)
    with a private endpoint (M(airgap.aks_inference.private_endpoint), group C(vault)). Secrets can still
    be written through Azure Resource Manager with M(airgap.aks_inference.key_vault_secret).
  - Deleting a vault soft-deletes it; its name stays taken until the retention period ends or it is purged.
options:
  resource_group:
    description: Resource group of the vault.
    type: str
    required: true
  name:
    description: Name of the vault, 3-24 letters, digits and single hyphens, unique in Azure.
    type: str
    required: true
  location:
    description: Azure region. Required to create the vault; cannot change afterwards.
    type: str
  sku:
    description: Pricing tier.
    type: str
    choices: [standard, premium]
  vault_tenant_id:
    description:
      - Entra ID tenant that authenticates requests to the vault.
      - Defaults to the tenant of the subscription (read from Azure) when the vault is created.
    type: str
  enable_rbac_authorization:
    description: Authorize data actions with Azure RBAC instead of access policies.
    type: bool
  public_network_access:
    description: Whether the vault accepts connections from public networks.
    type: str
    choices: [Enabled, Disabled]
  soft_delete_retention_days:
    description: Days a deleted vault or secret can be recovered (7-90). Cannot change after creation.
    type: int
  enable_purge_protection:
    description:
      - Forbid purging deleted vaults and secrets before the retention period ends.
      - Once enabled it cannot be disabled.
    type: bool
  state:
    description: Whether the vault should exist.
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
- name: Private vault for registry credentials
  airgap.aks_inference.key_vault:
    resource_group: rg-llm-isolated
    name: kv-llm-isolated
    location: westeurope
    sku: standard
    enable_rbac_authorization: true
    public_network_access: Disabled
"""

RETURN = r"""
id:
  description: Resource id of the vault.
  returned: always
  type: str
vault_uri:
  description:
    - Data-plane URI of the vault, for example C(https://kv-llm-isolated.vault.azure.net/).
    - In check mode, before the vault exists, the URI it will have in the configured cloud.
  returned: when present
  type: str
state:
  description: The vault as Azure reports it (empty when absent).
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
    ensure,
    provider_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable
from ansible_collections.airgap.aks_inference.plugins.module_utils.key_vault import check_vault_name, vault_suffix
from ansible_collections.airgap.aks_inference.plugins.module_utils.rbac import check_guid

KEY_VAULT_API_VERSION = "2023-07-01"
SUBSCRIPTION_API_VERSION = "2022-12-01"


class KeyVault(ArmResource):
    resource_type = "Microsoft.KeyVault/vaults"
    api_version = KEY_VAULT_API_VERSION
    required_on_create = ("location", "sku")
    read_only_properties = ("provisioningState", "vaultUri", "hsmPoolResourceId", "privateEndpointConnections")
    fields = FieldTable(
        {
            "location": Field("ci", updatable=False),
            "properties.sku.name": Field("ci"),
            "properties.tenantId": Field("ci"),
            "properties.publicNetworkAccess": Field("ci"),
            "properties.softDeleteRetentionInDays": Field("exact", updatable=False),
        }
    )

    def __init__(self, module):
        super().__init__(module)
        self.tenant_id = module.params.get("vault_tenant_id")

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def validate(self):
        p = self.params
        check_vault_name("name", p["name"])
        if p.get("vault_tenant_id") is not None:
            check_guid("vault_tenant_id", p["vault_tenant_id"], "a tenant id (GUID)")
        days = p.get("soft_delete_retention_days")
        if days is not None and not 7 <= days <= 90:
            raise InputError("soft_delete_retention_days", "must be between 7 and 90, got %d" % days)

    def before_create(self, client):
        super().before_create(client)
        if not self.tenant_id:
            sub = client.request("GET", "/subscriptions/%s" % self.module.subscription_id, SUBSCRIPTION_API_VERSION,
                                 action="read subscription %s" % self.module.subscription_id).body or {}
            self.tenant_id = sub.get("tenantId")
            if not self.tenant_id:
                raise InputError("vault_tenant_id", "the subscription did not report its tenant; set vault_tenant_id")

    def desired(self):
        p = self.params
        sku = {"family": "A", "name": p["sku"]} if p.get("sku") else None
        return {
            "location": p.get("location"),
            "properties": {
                "tenantId": p.get("vault_tenant_id"),
                "sku": sku,
                "enableRbacAuthorization": p.get("enable_rbac_authorization"),
                "publicNetworkAccess": p.get("public_network_access"),
                "softDeleteRetentionInDays": p.get("soft_delete_retention_days"),
                "enablePurgeProtection": p.get("enable_purge_protection"),
            },
        }

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        props = body.setdefault("properties", {})
        if not props.get("tenantId"):
            props["tenantId"] = self.tenant_id
        if current is None and props.get("enableRbacAuthorization") is not True:
            props.setdefault("accessPolicies", [])
        return body


def ensure_vault(module):
    result = ensure(module, KeyVault(module))
    state = result.get("state") or {}
    if state:
        # Before the vault exists (check mode) its URI follows from the cloud's Key Vault DNS suffix.
        result["vault_uri"] = (state.get("properties") or {}).get("vaultUri") or "https://%s.%s/" % (
            module.params["name"].lower(), vault_suffix(module.settings["cloud"]))
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            sku=dict(type="str", choices=["standard", "premium"]),
            vault_tenant_id=dict(type="str"),
            enable_rbac_authorization=dict(type="bool"),
            public_network_access=dict(type="str", choices=["Enabled", "Disabled"]),
            soft_delete_retention_days=dict(type="int"),
            enable_purge_protection=dict(type="bool"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    module.run(ensure_vault)


if __name__ == "__main__":
    main()
