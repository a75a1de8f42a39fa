#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: storage_account
short_description: Create, update or delete an Azure storage account for NFS file shares
version_added: 0.1.0
description:
  - Ensures a storage account exists with the given kind, SKU and network settings. Made for the account of an
    NFS 4.1 Azure file share reached through a private endpoint, a V(FileStorage) account with an SSD SKU.
  - NFS shares exist only in V(FileStorage) accounts with an SSD SKU, provisioned v1 (V(Premium_LRS),
    V(Premium_ZRS)) or provisioned v2 (V(PremiumV2_LRS), V(PremiumV2_ZRS)); the kind and the SKU cannot change
    once the account exists (the billing model and the redundancy of an NFS account are fixed).
  - "Secure transfer and NFS: with O(https_traffic_only=true) (Azure's default, C(supportsHttpsTrafficOnly))
    every NFS mount must be encrypted in transit, that is made through the AZNFS mount helper (TLS through
    stunnel); a plain C(mount -t nfs) is refused. A client that mounts with the kernel NFS client alone (the
    jump box, a Kubernetes NFS volume) needs O(https_traffic_only=false). NFS has no user authentication: the
    network is the control, so pair V(false) with O(public_network_access=Disabled) and a private endpoint."
  - Properties the task does not set are kept as they are. The name is checked (3-24 lower-case letters and
    digits) before any request.
  - Creating an account is a long-running operation (Location polling); deleting it is immediate and deletes its
    file shares.
options:
  resource_group:
    description: Resource group of the account.
    type: str
    required: true
  name:
    description: Name of the account, 3-24 lower-case letters and digits, unique in Azure.
    type: str
    required: true
  location:
    description: Azure region. Required to create the account; cannot change afterwards.
    type: str
  kind:
    description: Kind of account; cannot change afterwards.
    type: str
    choices: [FileStorage, StorageV2, BlockBlobStorage]
    default: FileStorage
  sku:
    description:
      - SKU (billing model and redundancy). Required to create the account; cannot change afterwards for a
        V(FileStorage) account.
      - V(Premium_LRS) / V(Premium_ZRS) are SSD provisioned v1 (a share's IOPS and throughput follow its size,
        100 GiB to 100 TiB per share); V(PremiumV2_LRS) / V(PremiumV2_ZRS) are SSD provisioned v2 (size, IOPS and
        throughput provisioned independently, 32 GiB to 256 TiB). V(StandardV2_*) are HDD provisioned v2 (SMB
        only).
    type: str
    choices: [Premium_LRS, Premium_ZRS, PremiumV2_LRS, PremiumV2_ZRS, StandardV2_LRS, StandardV2_ZRS, StandardV2_GRS,
              StandardV2_GZRS, Standard_LRS, Standard_ZRS, Standard_GRS, Standard_RAGRS, Standard_GZRS,
              Standard_RAGZRS]
  public_network_access:
    description:
      - Whether the account's public endpoint takes requests. V(Disabled) leaves private endpoints as the only way
        in; V(SecuredByPerimeter) lets a network security perimeter decide.
    type: str
    choices: [Enabled, Disabled, SecuredByPerimeter]
  https_traffic_only:
    description:
      - C(supportsHttpsTrafficOnly), "secure transfer required". For NFS it means every mount must use encryption
        in transit (AZNFS with TLS); V(false) lets plain NFS 4.1 mounts in. See the description.
    type: bool
    aliases: [secure_transfer_required]
  minimum_tls_version:
    description: Oldest TLS version the account accepts on its HTTPS endpoints.
    type: str
    choices: [TLS1_0, TLS1_1, TLS1_2, TLS1_3]
  allow_blob_public_access:
    description: Whether containers may be made public (irrelevant for a V(FileStorage) account; set V(false)).
    type: bool
  allow_shared_key_access:
    description:
      - Whether requests may be signed with the account keys (and SAS made from them). NFS mounts and requests
        through Azure Resource Manager do not use the keys; V(false) leaves Entra ID as the only way to authorize
        data requests.
    type: bool
  network_default_action:
    description:
      - C(networkAcls.defaultAction) of the public endpoint, V(Deny) to refuse whatever no rule allows.
    type: str
    choices: [Allow, Deny]
  network_bypass:
    description:
      - Traffic that passes the network rules anyway (C(networkAcls.bypass)). V(None) for none.
    type: list
    elements: str
    choices: [AzureServices, Logging, Metrics, None]
  large_file_shares:
    description:
      - C(largeFileSharesState) for standard (pay-as-you-go) accounts, whose shares are limited to 5 TiB
        otherwise. Once enabled it cannot be disabled. SSD (V(FileStorage)) shares hold up to 100 TiB (v1) or
        256 TiB (v2) without it.
    type: bool
  state:
    description: Whether the account should exist. V(absent) deletes it with all its file shares.
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
seealso:
  - module: airgap.aks_inference.file_share
  - module: airgap.aks_inference.private_endpoint
  - name: NFS Azure file shares
    description: Where NFS shares are available and how they are secured.
    link: https://learn.microsoft.com/azure/storage/files/files-nfs-protocol
  - name: Encryption in transit for NFS Azure file shares
    description: Secure transfer required and TLS mounts through AZNFS.
    link: https://learn.microsoft.com/azure/storage/files/encryption-in-transit-for-nfs-shares
"""

EXAMPLES = r"""
- name: SSD account for an NFS model share, reachable through a private endpoint only
  airgap.aks_inference.storage_account:
    resource_group: rg-llm-isolated
    name: stllmmodels01
    location: westeurope
    kind: FileStorage
    sku: Premium_LRS
    public_network_access: Disabled
    https_traffic_only: false          # plain NFS 4.1 mounts (no AZNFS/TLS on the clients)
    minimum_tls_version: TLS1_2
    allow_blob_public_access: false
    allow_shared_key_access: false
    network_default_action: Deny
    network_bypass: [None]
  register: account

- name: The NFS host of the account
  ansible.builtin.debug:
    msg: "{{ account.nfs_host }}"
"""

RETURN = r"""
id:
  description: Resource id of the account.
  returned: always
  type: str
nfs_host:
  description: Host name NFS clients mount from, C(<account>.file.core.windows.net) (another suffix in sovereign clouds).
  returned: when present
  type: str
  sample: stllmmodels01.file.core.windows.net
billing_model:
  description: V(provisioned_v1), V(provisioned_v2_ssd), V(provisioned_v2_hdd) or V(pay_as_you_go).
  returned: when present
  type: str
primary_endpoints:
  description: The account's endpoints as Azure reports them.
  returned: when present
  type: dict
state:
  description: The account as Azure reports it (empty when absent).
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
from ansible_collections.airgap.aks_inference.plugins.module_utils.storage import (
    billing_model,
    check_account_name,
    check_kind_sku,
    file_host,
)

STORAGE_API_VERSION = "2025-01-01"
READ_ONLY = ("provisioningState", "primaryEndpoints", "primaryLocation", "statusOfPrimary", "secondaryEndpoints",
             "secondaryLocation", "statusOfSecondary", "creationTime", "keyCreationTime", "lastGeoFailoverTime",
             "privateEndpointConnections", "geoReplicationStats", "failoverInProgress", "blobRestoreStatus",
             "isSkuConversionBlocked", "accountMigrationInProgress", "storageAccountSkuConversionStatus")


def _enabled(value):
    if value is None:
        return None
    return "Enabled" if value else "Disabled"


BYPASS = ("None", "Logging", "Metrics", "AzureServices")


def bypass_value(values):
    """One spelling of ``networkAcls.bypass`` (``"Logging, AzureServices"``) for a list or Azure's string.

    Values are put in a fixed order and Azure's casing, so the user's list and the value Azure reports
    compare equal; ``None`` stands alone.
    """
    if values is None:
        return None
    if isinstance(values, str):
        values = values.split(",")
    parts = []
    for value in values:
        value = str(value).strip()
        canon = next((b for b in BYPASS if b.lower() == value.lower()), value)
        if value and canon not in parts:
            parts.append(canon)
    if "None" in parts or not parts:
        return "None"
    return ", ".join(sorted(parts, key=lambda v: BYPASS.index(v) if v in BYPASS else len(BYPASS)))


class StorageAccount(ArmResource):
    resource_type = "Microsoft.Storage/storageAccounts"
    api_version = STORAGE_API_VERSION
    required_on_create = ("location", "sku")
    read_only_properties = READ_ONLY

    def __init__(self, module):
        super().__init__(module)
        file_storage = (module.params.get("kind") or "FileStorage") == "FileStorage"
        self.fields = FieldTable(
            {
                "location": Field("ci", updatable=False),
                "kind": Field("ci", updatable=False),
                # The billing model and the redundancy of a FileStorage account are fixed at creation.
                "sku.name": Field("ci", updatable=not file_storage),
                "properties.publicNetworkAccess": Field("ci"),
                "properties.minimumTlsVersion": Field("ci"),
                "properties.largeFileSharesState": Field("ci"),
                "properties.networkAcls.defaultAction": Field("ci"),
                "properties.networkAcls.bypass": Field("exact"),
            }
        )

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    def validate(self):
        p = self.params
        check_account_name("name", p["name"])
        check_kind_sku(p.get("kind"), p.get("sku"))
        bypass = p.get("network_bypass")
        if bypass is not None and "None" in bypass and len(bypass) > 1:
            raise InputError("network_bypass", "None cannot be combined with %s"
                             % ", ".join(v for v in bypass if v != "None"))

    def before_create(self, client):
        super().before_create(client)
        if self.params.get("network_bypass") is not None and self.params.get("network_default_action") is None:
            raise InputError("network_default_action", "is required with network_bypass to create %s"
                             % self.describe())

    def desired(self):
        p = self.params
        acls = {
            "defaultAction": p.get("network_default_action"),
            "bypass": bypass_value(p.get("network_bypass")),
        }
        return {
            "location": p.get("location"),
            "kind": p.get("kind"),
            "sku": {"name": p.get("sku")},
            "properties": {
                "publicNetworkAccess": p.get("public_network_access"),
                "supportsHttpsTrafficOnly": p.get("https_traffic_only"),
                "minimumTlsVersion": p.get("minimum_tls_version"),
                "allowBlobPublicAccess": p.get("allow_blob_public_access"),
                "allowSharedKeyAccess": p.get("allow_shared_key_access"),
                "largeFileSharesState": _enabled(p.get("large_file_shares")),
                "networkAcls": acls,
            },
        }

    def normalize(self, body):
        out = dict(body)
        props = dict(body.get("properties") or {})
        acls = dict(props.get("networkAcls") or {})
        if "bypass" in acls:
            acls["bypass"] = bypass_value(acls["bypass"])
        props["networkAcls"] = acls
        out["properties"] = props
        return out

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        body.get("sku", {}).pop("tier", None)
        for rule in ((body.get("properties") or {}).get("networkAcls") or {}).get("virtualNetworkRules") or []:
            rule.pop("state", None)
        return body

    def result(self, body):
        out = super().result(body)
        if body:
            out["sku"] = (body.get("sku") or {}).get("name")
            out["kind"] = body.get("kind")
        return out


def ensure_storage_account(module):
    resource = StorageAccount(module)
    result = ensure(module, resource)
    state = result.get("state") or {}
    if state:
        props = state.get("properties") or {}
        endpoints = props.get("primaryEndpoints") or {}
        result["primary_endpoints"] = endpoints
        result["nfs_host"] = file_host(module.params["name"], module.settings.get("cloud") or "AzureCloud",
                                       endpoints.get("file"))
        result["billing_model"] = billing_model(state.get("kind") or module.params.get("kind"),
                                                state.get("sku") or module.params.get("sku"))
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            kind=dict(type="str", choices=["FileStorage", "StorageV2", "BlockBlobStorage"], default="FileStorage"),
            sku=dict(type="str", choices=["Premium_LRS", "Premium_ZRS", "PremiumV2_LRS", "PremiumV2_ZRS",
                                          "StandardV2_LRS", "StandardV2_ZRS", "StandardV2_GRS", "StandardV2_GZRS",
                                          "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS",
                                          "Standard_GZRS", "Standard_RAGZRS"]),
            public_network_access=dict(type="str", choices=["Enabled", "Disabled", "SecuredByPerimeter"]),
            https_traffic_only=dict(type="bool", aliases=["secure_transfer_required"]),
            minimum_tls_version=dict(type="str", choices=["TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"]),
            allow_blob_public_access=dict(type="bool"),
            allow_shared_key_access=dict(type="bool"),
            network_default_action=dict(type="str", choices=["Allow", "Deny"]),
            network_bypass=dict(type="list", elements="str", choices=["AzureServices", "Logging", "Metrics", "None"]),
            large_file_shares=dict(type="bool"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    module.run(ensure_storage_account)


if __name__ == "__main__":
    main()
