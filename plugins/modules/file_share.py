#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: file_share
short_description: Create, resize or delete an Azure file share (NFS 4.1 or SMB) in a storage account
version_added: 0.1.0
description:
  - Ensures a file share (C(Microsoft.Storage/storageAccounts/fileServices/shares)) exists with the given protocol,
    root squash and provisioned size.
  - The protocol is chosen when the share is created and never changes; a task asking for another protocol on an
    existing share fails before any write. An NFS share needs a V(FileStorage) account with an SSD SKU
    (provisioned v1 V(Premium_*) or provisioned v2 V(PremiumV2_*)); that is checked by reading the account before
    the share is written.
  - "The size (O(quota_gib)) is checked against the documented bounds of the account's billing model: 100 to
    102,400 GiB for provisioned v1, 32 to 262,144 GiB for provisioned v2. A share can grow at any time; Azure lets
    it shrink only 24 hours after its last increase, which is checked (from the share's
    C(nextAllowedQuotaDowngradeTime)) before the request."
  - Provisioned IOPS and throughput (O(provisioned_iops), O(provisioned_bandwidth_mibps)) exist on provisioned v2
    accounts only; Azure picks a recommendation from the size when they are not given.
  - "Root squash (NFS only): V(NoRootSquash) is Azure's default and lets root on a client act as root on the share
    (needed to C(chown) files, for example to stage model weights for another uid); V(RootSquash) maps uid/gid 0
    to 65534; V(AllSquash) maps everybody to 65534. It can change at any time."
options:
  resource_group:
    description: Resource group of the storage account.
    type: str
    required: true
  storage_account:
    description: Name of the storage account.
    type: str
    required: true
  name:
    description: Name of the share, 3-63 lower-case letters, digits and dashes.
    type: str
    required: true
  enabled_protocols:
    description:
      - V(NFS) for an NFS 4.1 share, V(SMB) (Azure's default) for SMB. Cannot change once the share exists.
    type: str
    choices: [NFS, SMB]
    aliases: [protocol]
  root_squash:
    description: Root squash of an NFS share (see the description). Needs O(enabled_protocols=NFS).
    type: str
    choices: [NoRootSquash, RootSquash, AllSquash]
  quota_gib:
    description:
      - Provisioned size of the share in GiB (C(shareQuota)). Required to create the share.
    type: int
  provisioned_iops:
    description: Provisioned IOPS (provisioned v2 accounts only; SSD 3,000 to 102,400).
    type: int
  provisioned_bandwidth_mibps:
    description: Provisioned throughput in MiB/s (provisioned v2 accounts only; SSD 100 to 10,340).
    type: int
  metadata:
    description: Name-value pairs stored with the share. The whole set; left as it is when unset.
    type: dict
  state:
    description: Whether the share should exist. V(absent) deletes it with its files.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.wait
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
notes:
  - Shares are created, changed and deleted synchronously; O(wait) and O(wait_timeout) only matter when the
    storage account is still being created.
seealso:
  - module: airgap.aks_inference.storage_account
  - name: Configure root squash for Azure Files
    description: What each root squash setting maps.
    link: https://learn.microsoft.com/azure/storage/files/nfs-root-squash
  - name: Understand Azure Files billing
    description: Share size, IOPS and throughput bounds of the provisioned v1 and v2 models.
    link: https://learn.microsoft.com/azure/storage/files/understanding-billing
"""

EXAMPLES = r"""
- name: NFS share for model weights, staged by root on the jump box
  airgap.aks_inference.file_share:
    resource_group: rg-llm-isolated
    storage_account: stllmmodels01
    name: models
    enabled_protocols: NFS
    root_squash: NoRootSquash
    quota_gib: 256
  register: share

- name: Mount it (the private endpoint makes the host resolve privately)
  ansible.posix.mount:
    src: "{{ share.mount_source }}"
    path: /mnt/models
    fstype: nfs
    opts: vers=4,minorversion=1,sec=sys,nconnect=4
    state: mounted
"""

RETURN = r"""
id:
  description: Resource id of the share.
  returned: always
  type: str
quota_gib:
  description: Provisioned size of the share in GiB.
  returned: when present
  type: int
enabled_protocols:
  description: Protocol of the share.
  returned: when present
  type: str
root_squash:
  description: Root squash of an NFS share.
  returned: when present
  type: str
nfs_server:
  description: Host NFS clients mount from.
  returned: when present
  type: str
  sample: stllmmodels01.file.core.windows.net
nfs_export:
  description: Exported path, C(/<account>/<share>).
  returned: when present
  type: str
  sample: /stllmmodels01/models
mount_source:
  description: C(<nfs_server>:<nfs_export>), what C(mount) and C(/etc/fstab) take.
  returned: when present
  type: str
  sample: stllmmodels01.file.core.windows.net:/stllmmodels01/models
state:
  description: The share as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

import datetime
import email.utils

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
    check_quota,
    check_share_name,
    check_v2_performance,
    file_host,
    mount_source,
    nfs_export,
    supports_nfs,
)

STORAGE_API_VERSION = "2025-01-01"
SHARE_TYPE = "Microsoft.Storage/storageAccounts/fileServices/shares"
ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"


class FileShare(ArmResource):
    resource_type = SHARE_TYPE
    api_version = STORAGE_API_VERSION
    has_tags = False
    writable_top_level = ("properties",)
    read_only_properties = ("provisioningState", "lastModifiedTime", "version", "deleted", "deletedTime",
                            "remainingRetentionDays", "accessTierChangeTime", "accessTierStatus", "shareUsageBytes",
                            "leaseStatus", "leaseState", "leaseDuration", "snapshotTime", "includedBurstIops",
                            "maxBurstCreditsForIops", "nextAllowedQuotaDowngradeTime",
                            "nextAllowedProvisionedIopsDowngradeTime", "nextAllowedProvisionedBandwidthDowngradeTime")
    required_on_create = ("quota_gib",)
    fields = FieldTable(
        {
            "properties.enabledProtocols": Field("ci", updatable=False),
            "properties.rootSquash": Field("ci"),
            "properties.shareQuota": Field("exact"),
            "properties.metadata": Field("dict"),
        }
    )

    def __init__(self, module, account=None):
        super().__init__(module)
        self.account = account

    def resource_id(self):
        p = self.params
        return "%s/fileServices/default/shares/%s" % (
            provider_id(self.module.subscription_id, p["resource_group"], ACCOUNT_TYPE, p["storage_account"]),
            p["name"])

    def account_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], ACCOUNT_TYPE,
                           self.params["storage_account"])

    def validate(self):
        p = self.params
        check_account_name("storage_account", p["storage_account"])
        check_share_name("name", p["name"])
        if p.get("root_squash") is not None and p.get("enabled_protocols") != "NFS":
            raise InputError("root_squash", "is for NFS shares only: set enabled_protocols: NFS")
        if p.get("quota_gib") is not None and p["quota_gib"] < 1:
            raise InputError("quota_gib", "must be at least 1 GiB, got %d" % p["quota_gib"])
        for option in ("provisioned_iops", "provisioned_bandwidth_mibps"):
            if p.get(option) is not None and p[option] < 1:
                raise InputError(option, "must be positive, got %d" % p[option])

    def check_account(self, account, current):
        """Rules that need the account (and the share as it is): before any write."""
        p = self.params
        kind = account.get("kind")
        sku = (account.get("sku") or {}).get("name")
        model = billing_model(kind, sku)
        if p.get("enabled_protocols") == "NFS" and not supports_nfs(kind, sku):
            raise InputError("enabled_protocols", "NFS needs a FileStorage account with an SSD SKU (Premium_LRS, "
                                                  "Premium_ZRS, PremiumV2_LRS, PremiumV2_ZRS); %s is %s %s"
                             % (p["storage_account"], kind, sku))
        check_quota("quota_gib", p.get("quota_gib"), model)
        check_v2_performance("provisioned_iops", p.get("provisioned_iops"), "provisioned_bandwidth_mibps",
                             p.get("provisioned_bandwidth_mibps"), model)
        if current is not None and p.get("quota_gib") is not None:
            props = current.get("properties") or {}
            quota = props.get("shareQuota")
            allowed = _parse_http_date(props.get("nextAllowedQuotaDowngradeTime"))
            if quota is not None and p["quota_gib"] < int(quota) and allowed is not None and allowed > _utcnow():
                raise InputError("quota_gib", "%d GiB would shrink the share from %s GiB, which Azure allows only "
                                              "24 hours after its last increase: not before %s"
                                 % (p["quota_gib"], quota, props.get("nextAllowedQuotaDowngradeTime")))

    def desired(self):
        p = self.params
        return {
            "properties": {
                "enabledProtocols": p.get("enabled_protocols"),
                "rootSquash": p.get("root_squash"),
                "shareQuota": p.get("quota_gib"),
                "provisionedIops": p.get("provisioned_iops"),
                "provisionedBandwidthMibps": p.get("provisioned_bandwidth_mibps"),
                "metadata": dict((str(k), str(v)) for k, v in p["metadata"].items())
                if p.get("metadata") is not None else None,
            }
        }

    def result(self, body):
        out = super().result(body)
        out.pop("location", None)
        out.pop("tags", None)
        return out


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _parse_http_date(value):
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def ensure_file_share(module):
    p = module.params
    resource = FileShare(module)
    resource.validate()
    module.check_settings()
    if p["state"] == "present":
        client = module.client()
        account = client.get(resource.account_id(), STORAGE_API_VERSION)
        if account is None and not module.check_mode:
            raise InputError("storage_account", "storage account %s does not exist in resource group %s"
                             % (p["storage_account"], p["resource_group"]))
        if account is not None:
            current = client.get(resource.resource_id(), STORAGE_API_VERSION)
            resource.check_account(account, current)
        resource.account = account
    result = ensure(module, resource)
    state = result.get("state") or {}
    if state:
        props = state.get("properties") or {}
        endpoint = ((resource.account or {}).get("properties") or {}).get("primaryEndpoints", {}).get("file")
        cloud = module.settings.get("cloud") or "AzureCloud"
        result["quota_gib"] = props.get("shareQuota")
        result["enabled_protocols"] = props.get("enabledProtocols")
        result["root_squash"] = props.get("rootSquash")
        result["nfs_server"] = file_host(p["storage_account"], cloud, endpoint)
        result["nfs_export"] = nfs_export(p["storage_account"], p["name"])
        result["mount_source"] = mount_source(p["storage_account"], p["name"], cloud, endpoint)
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            storage_account=dict(type="str", required=True),
            name=dict(type="str", required=True),
            enabled_protocols=dict(type="str", choices=["NFS", "SMB"], aliases=["protocol"]),
            root_squash=dict(type="str", choices=["NoRootSquash", "RootSquash", "AllSquash"]),
            quota_gib=dict(type="int"),
            provisioned_iops=dict(type="int"),
            provisioned_bandwidth_mibps=dict(type="int"),
            metadata=dict(type="dict"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
    )
    module.run(ensure_file_share)


if __name__ == "__main__":
    main()
