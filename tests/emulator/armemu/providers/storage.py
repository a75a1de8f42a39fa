"""Microsoft.Storage: storageAccounts, storageAccounts/fileServices and storageAccounts/fileServices/shares,
and storage accounts as private endpoint targets.

Facts (azure-rest-api-specs specification/storage/resource-manager/Microsoft.Storage/stable/2025-01-01,
Microsoft Learn "Understand Azure Files billing", "NFS Azure file shares", "Encryption in transit for NFS Azure
file shares", "Configure root squash for Azure Files"):

* Account names are 3-24 lower-case letters and digits (``AccountNameInvalid``) and unique in Azure: a name in
  another resource group of the subscription is ``StorageAccountInAnotherResourceGroup``, a name taken
  elsewhere ``StorageAccountAlreadyTaken`` (tests reserve such names with :func:`reserve_account_name`).
  ``sku`` and ``kind`` are required; each kind takes its own SKUs (``FileStorage``: ``Premium_LRS``,
  ``Premium_ZRS``, the provisioned v2 ``PremiumV2_LRS``, ``PremiumV2_ZRS``, ``StandardV2_*``; the v2 SKUs need
  api-version 2024-01-01 or later). The kind, and the SKU of a FileStorage account (billing model and
  redundancy), cannot change. ``publicNetworkAccess`` is Enabled, Disabled or SecuredByPerimeter,
  ``minimumTlsVersion`` TLS1_0-TLS1_3, ``networkAcls`` needs ``defaultAction``, ``largeFileSharesState`` cannot go
  back to Disabled. ``supportsHttpsTrafficOnly`` defaults to true.
* PUT is long-running and answers 202 without a body and with a ``Location`` header only; the Location URL answers
  202 while the account is created and then 200 with the account. PATCH (update) is a synchronous merge; DELETE is
  synchronous and takes the file service and shares with it. A FileStorage account only has a ``file`` endpoint
  (``https://{name}.file.core.windows.net/``). The file service ``default`` exists with the account.
* Shares: names 3-63 lower-case letters, digits and dashes, a dash between two letters or digits. Create, update
  (PATCH merge) and delete are synchronous. ``enabledProtocols`` SMB (default) or NFS is set at creation only.
  NFS needs a FileStorage account with an SSD SKU (provisioned v1 or v2). ``rootSquash`` is for NFS shares
  (default NoRootSquash). ``shareQuota`` is 100-102,400 GiB (provisioned v1), 32-262,144 GiB (provisioned v2),
  1-5,120 GiB (pay-as-you-go, 102,400 with large file shares); an account's shares together stay within
  102,400 GiB (v1) / 262,144 GiB (v2 SSD); a v2 account holds at most 50 shares. ``provisionedIops`` (SSD
  3,000-102,400) and ``provisionedBandwidthMibps`` (SSD 100-10,340) exist on provisioned v2 accounts only and
  default to Azure's recommendation from the size. A provisioned share shrinks only 24 hours after its last
  increase (``nextAllowedQuotaDowngradeTime``; the emulator clock, ``advance()``, moves time on). Shrinking below
  the used size is allowed (Azure keeps the data and bills the used size), so it is not refused.
* NFS and secure transfer: Azure accepts an NFS share on an account that requires secure transfer; what differs is
  the mount: with ``supportsHttpsTrafficOnly`` true only TLS mounts (AZNFS) get in. :func:`nfs_mount_problem`
  tells a test whether a plain NFS 4.1 mount from a virtual network would work.
* Private endpoints connect to one storage service per endpoint (group ids ``blob``, ``file``, ``queue``, ``table``,
  ``web``, ``dfs`` and their ``_secondary``); a FileStorage account only has ``file``. The host of ``file`` is
  ``{name}.file.core.windows.net``, zone ``privatelink.file.core.windows.net``.

Error codes not seen in public Azure error reports are chosen to be descriptive; every message names the value.
"""
import datetime
import email.utils
import math
import re

from ..errors import bad_request, conflict
from ..registry import ResourceType, register
from ..util import canonical_enum, check_bool, check_int, check_list, check_object, ref_id
from .privatelink import PRIVATE_ENDPOINT, endpoint_connections, register_target, resolve

STORAGE_API_VERSIONS = ("2022-09-01", "2023-01-01", "2023-04-01", "2023-05-01", "2024-01-01", "2025-01-01",
                        "2025-06-01")
V2_SKUS_SINCE = "2024-01-01"
ACCOUNT = "Microsoft.Storage/storageAccounts"
FILE_SERVICE = "Microsoft.Storage/storageAccounts/fileServices"
SHARE = "Microsoft.Storage/storageAccounts/fileServices/shares"

SSD_V1 = ("Premium_LRS", "Premium_ZRS")
SSD_V2 = ("PremiumV2_LRS", "PremiumV2_ZRS")
HDD_V2 = ("StandardV2_LRS", "StandardV2_ZRS", "StandardV2_GRS", "StandardV2_GZRS")
STANDARD = ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS")
SKUS = STANDARD + SSD_V1 + HDD_V2 + SSD_V2
KIND_SKUS = {
    "FileStorage": SSD_V1 + SSD_V2 + HDD_V2,
    "StorageV2": STANDARD + SSD_V1,
    "BlockBlobStorage": SSD_V1,
    "BlobStorage": ("Standard_LRS", "Standard_GRS", "Standard_RAGRS"),
    "Storage": STANDARD + ("Premium_LRS",),
}
SERVICES = {"FileStorage": ("file",), "BlockBlobStorage": ("blob", "dfs", "web"),
            "BlobStorage": ("blob", "dfs", "table")}
ALL_SERVICES = ("blob", "queue", "table", "file", "web", "dfs")
GROUP_IDS = tuple(g for s in ALL_SERVICES for g in (s, s + "_secondary"))
QUOTA = {"v1": (100, 102400), "v2_ssd": (32, 262144), "v2_hdd": (32, 262144), "payg": (1, 5120)}
ACCOUNT_MAX_GIB = {"v1": 102400, "v2_ssd": 262144, "v2_hdd": 4194304}
V2_MAX_SHARES = 50
V2_IOPS = {"v2_ssd": (3000, 102400), "v2_hdd": (500, 50000)}
V2_BANDWIDTH = {"v2_ssd": (100, 10340), "v2_hdd": (60, 5120)}
DOWNGRADE_WAIT = 24 * 3600
SHARE_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$")

_TAKEN = {}  # id(app) -> names taken by accounts outside the emulated subscription


def reserve_account_name(emulator_or_app, name):
    """Make ``name`` taken elsewhere in Azure (``StorageAccountAlreadyTaken``); undo with :func:`release_account_names`."""
    app = getattr(emulator_or_app, "app", emulator_or_app)
    _TAKEN.setdefault(id(app), set()).add(name.lower())


def release_account_names(emulator_or_app):
    _TAKEN.pop(id(getattr(emulator_or_app, "app", emulator_or_app)), None)


def _now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _sku(body):
    return ((body or {}).get("sku") or {}).get("name") or ""


def billing(kind, sku):
    """``v1``, ``v2_ssd``, ``v2_hdd`` or ``payg`` for an account's kind and SKU."""
    if sku in SSD_V2:
        return "v2_ssd"
    if sku in HDD_V2:
        return "v2_hdd"
    if sku in SSD_V1 and kind == "FileStorage":
        return "v1"
    return "payg"


def _account_of(ctx, share_parent):
    """The account record above a file service record."""
    return ctx.get(share_parent.parent_key) if share_parent is not None else None


# -- private endpoints ---------------------------------------------------------------------
def _account_members(ctx, record, group_id):
    kind = record.body.get("kind")
    service = group_id.split("_")[0]
    allowed = SERVICES.get(kind, ALL_SERVICES)
    if service not in allowed or (group_id.endswith("_secondary") and "RA" not in _sku(record.body)):
        raise bad_request("PrivateEndpointGroupIdNotSupported",
                          f"Group id '{group_id}' is not available on storage account {record.name} ({kind}, "
                          f"{_sku(record.body)}); it offers {', '.join(allowed)}.")
    host = f"{record.name.lower()}{'-secondary' if group_id.endswith('_secondary') else ''}.{service}.core.windows.net"
    return [(group_id, host)]


register_target(ACCOUNT, GROUP_IDS, _account_members)


# --------------------------------------------------------------------------------------
class StorageResource(ResourceType):
    api_versions = STORAGE_API_VERSIONS
    etag = None
    retry_after = 17


@register
class StorageAccount(StorageResource):
    type = ACCOUNT
    duration = 30.0
    async_delete = False
    put_accepted = True          # 202, no body
    put_headers = ("Location",)
    creating_state = "Creating"
    updating_state = "Succeeded"
    patch = "merge"
    name_pattern = re.compile(r"^[a-z0-9]{3,24}$")
    name_code = "AccountNameInvalid"
    name_message = ("{name} is not a valid storage account name. Storage account name must be between 3 and 24 "
                    "characters in length and use numbers and lower-case letters only.")
    read_only_properties = ("provisioningState", "primaryEndpoints", "primaryLocation", "statusOfPrimary",
                            "secondaryEndpoints", "secondaryLocation", "statusOfSecondary", "creationTime",
                            "keyCreationTime", "privateEndpointConnections", "lastGeoFailoverTime",
                            "geoReplicationStats", "failoverInProgress")

    def operation_paths(self, ctx, op_id):
        # Location only (no Azure-AsyncOperation), as the storage RP answers.
        base = f"/subscriptions/{ctx.sub}/providers/Microsoft.Storage/locations/{ctx.operation_location}"
        return None, f"{base}/operationResults/{op_id}"

    def validate(self, ctx, body, existing):
        if existing is None:
            self._check_unique(ctx)
        sku = body.get("sku")
        check_object(sku, "sku")
        if not sku or not sku.get("name"):
            raise bad_request("MissingRequiredParameter", "The sku of the storage account is required "
                                                          f"({', '.join(SKUS)}).", target="sku")
        name = {s.lower(): s for s in SKUS}.get(str(sku["name"]).lower())
        if name is None or (name in SSD_V2 + HDD_V2 and ctx.api_version < V2_SKUS_SINCE):
            raise bad_request("InvalidSkuName", f"The sku name '{sku['name']}' is not valid for api-version "
                                                f"{ctx.api_version}; valid: {', '.join(SKUS)}.", target="sku.name")
        body["sku"] = {"name": name}
        if body.get("kind") in (None, ""):
            raise bad_request("MissingRequiredParameter", "The kind of the storage account is required "
                                                          f"({', '.join(KIND_SKUS)}).", target="kind")
        kind = {k.lower(): k for k in KIND_SKUS}.get(str(body["kind"]).lower())
        if kind is None:
            raise bad_request("InvalidKind", f"The kind '{body['kind']}' is not valid; valid: {', '.join(KIND_SKUS)}.",
                              target="kind")
        body["kind"] = kind
        if name not in KIND_SKUS[kind]:
            raise bad_request("SkuNotSupportedForKind", f"The sku {name} is not supported for a {kind} storage "
                                                        f"account; it takes {', '.join(KIND_SKUS[kind])}.")
        if existing is not None:
            before_kind, before_sku = existing.body.get("kind"), _sku(existing.body)
            if before_kind != kind:
                raise bad_request("AccountKindCannotBeChanged", f"The kind of storage account {existing.name} is "
                                                                f"{before_kind} and cannot be changed to {kind}.")
            if kind == "FileStorage" and before_sku != name:
                raise bad_request("SkuChangeNotSupported",
                                  f"The sku of FileStorage account {existing.name} is {before_sku} and cannot be "
                                  f"changed to {name}: the billing model and redundancy of file shares are fixed "
                                  "when the account is created.")
        p = body["properties"]
        for key in ("supportsHttpsTrafficOnly", "allowBlobPublicAccess", "allowSharedKeyAccess", "isHnsEnabled",
                    "isNfsV3Enabled", "allowCrossTenantReplication", "defaultToOAuthAuthentication"):
            check_bool(p.get(key), f"properties.{key}")
        for key, allowed in (("publicNetworkAccess", ["Enabled", "Disabled", "SecuredByPerimeter"]),
                             ("minimumTlsVersion", ["TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"]),
                             ("largeFileSharesState", ["Disabled", "Enabled"]),
                             ("accessTier", ["Hot", "Cool", "Premium", "Cold"]),
                             ("dnsEndpointType", ["Standard", "AzureDnsZone"])):
            if p.get(key) is not None:
                p[key] = canonical_enum(p[key], allowed, f"properties.{key}", key)
        if existing is not None and existing.properties.get("largeFileSharesState") == "Enabled" and \
                p.get("largeFileSharesState") == "Disabled":
            raise bad_request("LargeFileSharesStateCannotBeDisabled",
                              f"Large file shares of storage account {existing.name} are enabled and cannot be "
                              "disabled.")
        if p.get("isNfsV3Enabled") and not p.get("isHnsEnabled"):
            raise bad_request("NfsV3RequiresHierarchicalNamespace",
                              "isNfsV3Enabled (NFS 3.0 for blobs) needs isHnsEnabled; NFS 4.1 file shares are a "
                              "setting of the share (enabledProtocols), not of the account.")
        acls = p.get("networkAcls")
        check_object(acls, "properties.networkAcls")
        if acls is not None:
            if acls.get("defaultAction") in (None, ""):
                raise bad_request("MissingRequiredParameter", "properties.networkAcls.defaultAction is required "
                                                              "(Allow or Deny).", target="properties.networkAcls")
            acls["defaultAction"] = canonical_enum(acls["defaultAction"], ["Allow", "Deny"],
                                                   "properties.networkAcls.defaultAction", "DefaultAction")
            parts = [x.strip() for x in str(acls.get("bypass") or "AzureServices").split(",") if x.strip()]
            canon = []
            for part in parts:
                canon.append(canonical_enum(part, ["None", "Logging", "Metrics", "AzureServices"],
                                            "properties.networkAcls.bypass", "Bypass"))
            if "None" in canon and len(canon) > 1:
                raise bad_request("InvalidValuesForRequestParameters",
                                  f"networkAcls.bypass '{acls.get('bypass')}' combines None with other values.")
            acls["bypass"] = ", ".join(canon)
            for key in ("ipRules", "virtualNetworkRules", "resourceAccessRules"):
                check_list(acls.get(key), f"properties.networkAcls.{key}")
            for i, rule in enumerate(acls.get("virtualNetworkRules") or []):
                rid = ref_id(rule)
                subnet = ctx.get(rid)
                if subnet is None or subnet.rtype.type.lower() != "microsoft.network/virtualnetworks/subnets":
                    raise bad_request("InvalidResourceReference",
                                      f"properties.networkAcls.virtualNetworkRules[{i}].id {rid} is not a subnet.")
                rule["id"] = subnet.id
                rule["action"] = "Allow"
                rule["state"] = "Succeeded"

    def _check_unique(self, ctx):
        name = ctx.name.lower()
        for rec in ctx.of_type(ACCOUNT):
            if rec.name.lower() == name and rec.key != ctx.key:
                raise conflict("StorageAccountInAnotherResourceGroup",
                               f"The account {ctx.name} is already in another resource group in this subscription.")
        if name in _TAKEN.get(id(ctx.app), ()):
            raise conflict("StorageAccountAlreadyTaken", f"The storage account named {ctx.name} is already taken.")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        name = ctx.name.lower()
        kind = body["kind"]
        p["primaryEndpoints"] = {s: f"https://{name}.{s}.core.windows.net/" for s in SERVICES.get(kind, ALL_SERVICES)}
        p["primaryLocation"] = body.get("location")
        p["statusOfPrimary"] = "available"
        p["creationTime"] = old.get("creationTime") or _now_iso()
        p["keyCreationTime"] = old.get("keyCreationTime") or {"key1": p["creationTime"], "key2": p["creationTime"]}
        p.setdefault("supportsHttpsTrafficOnly", True)
        p.setdefault("minimumTlsVersion", "TLS1_0")
        p.setdefault("allowBlobPublicAccess", False)
        p.setdefault("publicNetworkAccess", "Enabled")
        p.setdefault("dnsEndpointType", "Standard")
        if old.get("largeFileSharesState") == "Enabled":
            p.setdefault("largeFileSharesState", "Enabled")
        p.setdefault("networkAcls", {"bypass": "AzureServices", "defaultAction": "Allow"})
        p["networkAcls"].setdefault("bypass", "AzureServices")
        for key in ("ipRules", "virtualNetworkRules", "resourceAccessRules"):
            p["networkAcls"].setdefault(key, [])
        p.setdefault("encryption", {"keySource": "Microsoft.Storage", "requireInfrastructureEncryption": False,
                                    "services": {s: {"enabled": True, "keyType": "Account",
                                                     "lastEnabledTime": p["creationTime"]}
                                                 for s in ("file", "blob")}})
        if body["sku"]["name"] in SSD_V1 + SSD_V2:
            body["sku"]["tier"] = "Premium"
        else:
            body["sku"]["tier"] = "Standard"
        if kind in ("StorageV2", "BlobStorage") and p.get("accessTier") is None:
            p["accessTier"] = "Hot"
        return body

    def on_put(self, ctx, record, old_body):
        key = f"{record.key}/fileservices/default"
        if ctx.get(key) is None:
            svc = _service_body(record)
            ctx.store.put(_record(ctx, key, record.id + "/fileServices/default", FILE_SERVICE, "default", svc,
                                  record.key, record.rg_key))

    def render(self, ctx, record, body):
        body["properties"]["privateEndpointConnections"] = endpoint_connections(ctx, record)
        return body


def _record(ctx, key, rid, type_name, name, body, parent_key, rg_key):
    from ..registry import get_type  # pylint: disable=import-outside-toplevel
    from ..store import Record  # pylint: disable=import-outside-toplevel
    return Record(key, rid, get_type(type_name), name, body, parent_key, rg_key, ctx.store.next_seq())


def _service_body(account):
    return {"id": account.id + "/fileServices/default", "name": "default", "type": FILE_SERVICE,
            "sku": {"name": _sku(account.body), "tier": (account.body.get("sku") or {}).get("tier", "Premium")},
            "properties": {"shareDeleteRetentionPolicy": {"enabled": True, "days": 7},
                           "protocolSettings": {"smb": {}, "nfs": {"encryptionInTransit": {"required": False}}},
                           "cors": {"corsRules": []}}}


@register
class FileService(StorageResource):
    """``fileServices/default``: exists with its account; PUT sets its properties (synchronous)."""

    type = FILE_SERVICE
    async_put = False
    async_delete = False
    has_location = False
    has_tags = False
    patch = None
    name_pattern = re.compile(r"^default$")
    name_code = "InvalidResourceName"
    name_message = "The file service name must be 'default', not '{name}'."
    read_only_properties = ("provisioningState",)

    def validate(self, ctx, body, existing):
        p = body["properties"]
        policy = p.get("shareDeleteRetentionPolicy")
        check_object(policy, "properties.shareDeleteRetentionPolicy")
        if policy is not None:
            check_bool(policy.get("enabled"), "properties.shareDeleteRetentionPolicy.enabled")
            check_int(policy.get("days"), "properties.shareDeleteRetentionPolicy.days")
            if policy.get("days") is not None and not 1 <= policy["days"] <= 365:
                raise bad_request("InvalidValuesForRequestParameters",
                                  f"shareDeleteRetentionPolicy.days {policy['days']} is outside 1-365.")

    def defaults(self, ctx, body, existing):
        old = existing.body if existing else _service_body(ctx.parent)
        out = dict(old)
        props = dict(old.get("properties") or {})
        props.update(body.get("properties") or {})
        out["properties"] = props
        return out


@register
class FileShare(StorageResource):
    type = SHARE
    async_put = False
    async_delete = False
    has_location = False
    has_tags = False
    patch = "merge"
    name_pattern = SHARE_NAME
    name_code = "InvalidResourceName"
    name_message = ("The share name '{name}' is invalid: file share names are 3-63 lower-case letters, digits and "
                    "dashes, and every dash is preceded and followed by a letter or digit.")
    read_only_properties = ("provisioningState", "lastModifiedTime", "version", "deleted", "deletedTime",
                            "remainingRetentionDays", "accessTierChangeTime", "accessTierStatus", "shareUsageBytes",
                            "leaseStatus", "leaseState", "leaseDuration", "snapshotTime", "includedBurstIops",
                            "maxBurstCreditsForIops", "nextAllowedQuotaDowngradeTime",
                            "nextAllowedProvisionedIopsDowngradeTime",
                            "nextAllowedProvisionedBandwidthDowngradeTime", "_quotaIncreasedAt")

    def validate(self, ctx, body, existing):
        account = _account_of(ctx, ctx.parent)
        kind, sku = account.body.get("kind"), _sku(account.body)
        model = billing(kind, sku)
        p = body["properties"]
        old = existing.properties if existing else {}
        if p.get("enabledProtocols") is not None:
            p["enabledProtocols"] = canonical_enum(p["enabledProtocols"], ["SMB", "NFS"],
                                                   "properties.enabledProtocols", "EnabledProtocols")
        protocol = p.get("enabledProtocols") or old.get("enabledProtocols") or "SMB"
        if existing is not None and protocol != old.get("enabledProtocols", "SMB"):
            raise bad_request("ShareProtocolCannotBeChanged",
                              f"The protocol of share {ctx.name} is {old.get('enabledProtocols', 'SMB')}; "
                              f"enabledProtocols can only be set when the share is created, not changed to {protocol}.")
        if protocol == "NFS" and not (kind == "FileStorage" and model in ("v1", "v2_ssd")):
            raise bad_request("NfsNotSupportedForAccount",
                              f"NFS shares need a FileStorage account with an SSD SKU (Premium_LRS, Premium_ZRS, "
                              f"PremiumV2_LRS, PremiumV2_ZRS); storage account {account.name} is {kind} {sku}.")
        if p.get("rootSquash") is not None:
            p["rootSquash"] = canonical_enum(p["rootSquash"], ["NoRootSquash", "RootSquash", "AllSquash"],
                                             "properties.rootSquash", "RootSquashType")
            if protocol != "NFS":
                raise bad_request("RootSquashNotSupportedForSmb",
                                  f"rootSquash {p['rootSquash']} is for NFS shares; share {ctx.name} is {protocol}.")
        if p.get("accessTier") is not None:
            p["accessTier"] = canonical_enum(p["accessTier"], ["TransactionOptimized", "Hot", "Cool", "Premium"],
                                             "properties.accessTier", "ShareAccessTier")
            premium = model in ("v1", "v2_ssd")
            if (p["accessTier"] == "Premium") != premium:
                raise bad_request("InvalidShareAccessTier",
                                  f"Access tier {p['accessTier']} is not available on storage account "
                                  f"{account.name} ({kind} {sku}).")
        check_object(p.get("metadata"), "properties.metadata")
        for key in ("shareQuota", "provisionedIops", "provisionedBandwidthMibps"):
            check_int(p.get(key), f"properties.{key}")
        quota = p.get("shareQuota", old.get("shareQuota"))
        if quota is not None:
            low, high = QUOTA[model]
            if model == "payg" and account.properties.get("largeFileSharesState") == "Enabled":
                high = 102400
            if not low <= quota <= high:
                raise bad_request("InvalidShareQuota",
                                  f"The share quota {quota} GiB of share {ctx.name} is outside {low}-{high} GiB, the "
                                  f"sizes of a share in storage account {account.name} ({sku}).",
                                  target="properties.shareQuota")
            if existing is not None and quota < old.get("shareQuota", quota) and model != "payg":
                allowed = old.get("_quotaIncreasedAt", -1e18) + DOWNGRADE_WAIT
                if ctx.now < allowed:
                    raise bad_request("ShareQuotaDecreaseNotAllowed",
                                      f"The quota of share {ctx.name} cannot decrease from {old['shareQuota']} to "
                                      f"{quota} GiB before {_http_date(ctx, allowed)}: a provisioned share shrinks "
                                      "only 24 hours after its last increase.", target="properties.shareQuota")
            total = sum(int((s.get("properties") or {}).get("shareQuota") or 0) for s in ctx.siblings) + quota
            if model in ACCOUNT_MAX_GIB and total > ACCOUNT_MAX_GIB[model]:
                raise bad_request("AccountProvisionedStorageLimitExceeded",
                                  f"The shares of storage account {account.name} would provision {total} GiB, more "
                                  f"than the {ACCOUNT_MAX_GIB[model]} GiB the account allows.")
        if existing is None and model in ("v2_ssd", "v2_hdd") and len(ctx.siblings) >= V2_MAX_SHARES:
            raise bad_request("AccountFileShareLimitExceeded",
                              f"Storage account {account.name} already has {len(ctx.siblings)} shares, the most a "
                              "provisioned v2 account holds.")
        for key, bounds in (("provisionedIops", V2_IOPS), ("provisionedBandwidthMibps", V2_BANDWIDTH)):
            if p.get(key) is None:
                continue
            if model not in bounds:
                raise bad_request("ProvisionedPerformanceNotSupported",
                                  f"{key} is only for provisioned v2 storage accounts; {account.name} is {sku}.",
                                  target=f"properties.{key}")
            low, high = bounds[model]
            if not low <= p[key] <= high:
                raise bad_request("InvalidProvisionedPerformance",
                                  f"{key} {p[key]} of share {ctx.name} is outside {low}-{high}.",
                                  target=f"properties.{key}")

    def defaults(self, ctx, body, existing):
        account = _account_of(ctx, ctx.parent)
        model = billing(account.body.get("kind"), _sku(account.body))
        p = body["properties"]
        old = existing.properties if existing else {}
        for key in ("enabledProtocols", "rootSquash", "accessTier", "shareQuota", "metadata", "provisionedIops",
                    "provisionedBandwidthMibps", "_quotaIncreasedAt"):
            if key not in p and key in old:
                p[key] = old[key]
        p.setdefault("enabledProtocols", "SMB")
        if p["enabledProtocols"] == "NFS":
            p.setdefault("rootSquash", "NoRootSquash")
        p.setdefault("shareQuota", QUOTA[model][0] if model != "payg" else 5120)
        if model in ("v1", "v2_ssd"):
            p.setdefault("accessTier", "Premium")
        elif model == "payg":
            p.setdefault("accessTier", "TransactionOptimized")
        if existing is None or p["shareQuota"] > old.get("shareQuota", 0):
            p["_quotaIncreasedAt"] = ctx.now
        if model == "v2_ssd":
            quota = p["shareQuota"]
            p.setdefault("provisionedIops", min(max(3000 + math.ceil(quota), 3000), 102400))
            p.setdefault("provisionedBandwidthMibps", min(max(100 + math.ceil(0.1 * quota), 100), 10340))
            burst = min(max(3 * p["provisionedIops"], 10000), 102400)
            p["includedBurstIops"] = burst
            p["maxBurstCreditsForIops"] = (burst - p["provisionedIops"]) * 3600
        p["lastModifiedTime"] = _now_iso()
        p["leaseStatus"], p["leaseState"] = "Unlocked", "Available"
        body["etag"] = '"0x8D%013X"' % (int(ctx.now * 1000) & 0xFFFFFFFFFFFFF)
        return body

    def render(self, ctx, record, body):
        p = body["properties"]
        increased = p.pop("_quotaIncreasedAt", None)
        account = _account_of(ctx, ctx.parent)
        if account is not None and increased is not None and \
                billing(account.body.get("kind"), _sku(account.body)) != "payg":
            p["nextAllowedQuotaDowngradeTime"] = _http_date(ctx, increased + DOWNGRADE_WAIT)
        return body


def _http_date(ctx, clock_time):
    """The emulator-clock time ``clock_time`` as an RFC 1123 date on the wall clock."""
    wall = datetime.datetime.now(datetime.timezone.utc).timestamp() + (clock_time - ctx.now)
    return email.utils.formatdate(wall, usegmt=True)


# -- what a test can ask -----------------------------------------------------------------------
def nfs_mount_problem(emulator_or_app, share_id, vnet_id, tls=False):
    """Why a plain NFS 4.1 mount (``tls=False``; AZNFS with TLS: ``True``) of the share from a machine in
    ``vnet_id`` would fail, or None when it would work. A test helper: it reads the emulator's state.

    Checks: the share exists and is NFS; secure transfer required refuses non-TLS mounts; the public endpoint is
    closed (publicNetworkAccess Disabled, or networkAcls Deny) so an approved private endpoint with group ``file``
    is needed, and ``{account}.file.core.windows.net`` must resolve in the network to its address (a DNS zone group
    into a ``privatelink.file.core.windows.net`` zone linked to the network).
    """
    app = getattr(emulator_or_app, "app", emulator_or_app)
    with app.lock:
        share = app.store.get(share_id.lower())
        if share is None:
            return f"share {share_id} does not exist"
        if share.properties.get("enabledProtocols") != "NFS":
            return f"share {share.name} is {share.properties.get('enabledProtocols', 'SMB')}, not NFS"
        account = app.store.get(share.key.split("/fileservices/")[0])
        props = account.properties
        if props.get("supportsHttpsTrafficOnly", True) and not tls:
            return (f"storage account {account.name} requires secure transfer: only TLS (AZNFS) mounts are "
                    "accepted; set supportsHttpsTrafficOnly false for plain NFS 4.1 mounts")
        host = f"{account.name.lower()}.file.core.windows.net"
        endpoints = []
        for pe in app.store.of_type(PRIVATE_ENDPOINT):
            for conn in (pe.properties.get("privateLinkServiceConnections") or []):
                cp = conn.get("properties") or {}
                if (cp.get("privateLinkServiceId") or "").lower() == account.key and \
                        [g.lower() for g in cp.get("groupIds") or []] == ["file"]:
                    endpoints.append(pe)
        public_closed = props.get("publicNetworkAccess") == "Disabled" or \
            (props.get("networkAcls") or {}).get("defaultAction") == "Deny"
        if not endpoints:
            if public_closed:
                return (f"storage account {account.name} takes no public traffic and has no private endpoint for "
                        "group 'file'")
            return f"storage account {account.name} has no private endpoint for group 'file'"
        addresses = {ip for pe in endpoints for c in pe.properties.get("customDnsConfigs") or []
                     if (c.get("fqdn") or "").lower() == host for ip in c.get("ipAddresses") or []}
    resolved = resolve(app, host, vnet_id)
    if not resolved:
        return (f"{host} does not resolve in {vnet_id}: no A record in a privatelink.file.core.windows.net zone "
                "linked to the network (private DNS zone group missing?)")
    if not set(resolved) & addresses:
        return f"{host} resolves to {resolved}, not to the private endpoint ({sorted(addresses)})"
    return None


def zone_record(emulator_or_app, zone_id, name):
    """The A record set ``name`` of a private DNS zone, or None (test helper)."""
    app = getattr(emulator_or_app, "app", emulator_or_app)
    with app.lock:
        rec = app.store.get(f"{zone_id.lower()}/a/{name.lower()}")
        return None if rec is None else dict(rec.body)
