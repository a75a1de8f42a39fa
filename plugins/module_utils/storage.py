# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Files facts shared by the storage modules, the model_storage role's checks and their tests.

Sources (azure-rest-api-specs ``specification/storage/resource-manager/Microsoft.Storage/stable/2025-01-01``
``storage.json``/``file.json``/``common.json``; Microsoft Learn "Understand Azure Files billing", "NFS Azure
file shares", "Encryption in transit for NFS Azure file shares", "Configure root squash"):

* Account names: 3-24 lower-case letters and digits, unique in Azure. Share names: 3-63 lower-case
  letters, digits and dashes; a dash is preceded and followed by a letter or digit.
* NFS 4.1 shares exist only in ``FileStorage`` accounts with an SSD SKU: provisioned v1 (``Premium_LRS``,
  ``Premium_ZRS``) or provisioned v2 (``PremiumV2_LRS``, ``PremiumV2_ZRS``). HDD provisioned v2
  (``StandardV2_*``) and pay-as-you-go accounts are SMB only.
* Provisioned v1 share: 100 - 102,400 GiB, IOPS and throughput follow the size. Provisioned v2 SSD share:
  32 - 262,144 GiB, 3,000 - 102,400 IOPS, 100 - 10,340 MiB/s, each set on its own (Azure recommends
  ``3000 + ceil(GiB)`` IOPS and ``100 + ceil(0.1 * GiB)`` MiB/s when they are not given).
* A provisioned share can grow at any time; it can shrink only 24 hours after its last increase
  (``nextAllowedQuotaDowngradeTime``).
* ``enabledProtocols`` is set when the share is created and never changes. ``rootSquash`` (NFS only,
  default ``NoRootSquash``) can change at any time.
"""

from __future__ import annotations

import math
import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

ACCOUNT_NAME_RE = re.compile(r"^[a-z0-9]{3,24}$")
SHARE_NAME_RE = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$")

KINDS = ("FileStorage", "StorageV2", "BlockBlobStorage", "BlobStorage", "Storage")
SSD_V1 = ("Premium_LRS", "Premium_ZRS")
SSD_V2 = ("PremiumV2_LRS", "PremiumV2_ZRS")
HDD_V2 = ("StandardV2_LRS", "StandardV2_ZRS", "StandardV2_GRS", "StandardV2_GZRS")
STANDARD = ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS")
SKUS = STANDARD + SSD_V1 + HDD_V2 + SSD_V2
# Which SKUs each account kind takes.
KIND_SKUS = {
    "FileStorage": SSD_V1 + SSD_V2 + HDD_V2,
    "StorageV2": STANDARD + SSD_V1,
    "BlockBlobStorage": SSD_V1,
    "BlobStorage": ("Standard_LRS", "Standard_GRS", "Standard_RAGRS"),
    "Storage": STANDARD + ("Premium_LRS",),
}

# Share size bounds (GiB) per billing model.
QUOTA_BOUNDS = {
    "provisioned_v1": (100, 102400),
    "provisioned_v2_ssd": (32, 262144),
    "provisioned_v2_hdd": (32, 262144),
    "pay_as_you_go": (1, 102400),
}
# Provisioned v2 SSD: IOPS and throughput bounds per share.
V2_SSD_IOPS = (3000, 102400)
V2_SSD_BANDWIDTH = (100, 10340)
V2_HDD_IOPS = (500, 50000)
V2_HDD_BANDWIDTH = (60, 5120)
# Total provisioned storage of one account (GiB).
ACCOUNT_MAX_GIB = {"provisioned_v1": 102400, "provisioned_v2_ssd": 262144, "provisioned_v2_hdd": 4194304}

ROOT_SQUASH = ("NoRootSquash", "RootSquash", "AllSquash")
PROTOCOLS = ("SMB", "NFS")

# The file endpoint suffix of each cloud (the storage endpoint suffix).
FILE_SUFFIX = {
    "AzureCloud": "file.core.windows.net",
    "AzureChinaCloud": "file.core.chinacloudapi.cn",
    "AzureUSGovernment": "file.core.usgovcloudapi.net",
}
PRIVATE_DNS_ZONE = {cloud: "privatelink." + suffix for cloud, suffix in FILE_SUFFIX.items()}


def canonical(value, allowed):
    """``value`` in the casing of ``allowed`` (None when it is not one of them)."""
    for item in allowed:
        if str(value).lower() == item.lower():
            return item
    return None


def check_account_name(field, value):
    if value is None:
        return
    if not ACCOUNT_NAME_RE.match(str(value)):
        raise InputError(field, "%r is not a storage account name: 3-24 lower-case letters and digits, unique in "
                                "Azure" % (value,))


def check_share_name(field, value):
    if value is None:
        return
    if not SHARE_NAME_RE.match(str(value)):
        raise InputError(field, "%r is not a file share name: 3-63 lower-case letters, digits and dashes, a dash "
                                "between two letters or digits" % (value,))


def check_kind_sku(kind, sku, kind_field="kind", sku_field="sku"):
    if kind is None or sku is None:
        return
    allowed = KIND_SKUS.get(kind, ())
    if sku not in allowed:
        raise InputError(sku_field, "%s is not a SKU of a %s account (%s: %s)"
                         % (sku, kind, kind_field, ", ".join(allowed)))


def billing_model(kind, sku):
    """``provisioned_v1``, ``provisioned_v2_ssd``, ``provisioned_v2_hdd`` or ``pay_as_you_go`` (None if unknown)."""
    if sku is None:
        return None
    sku = canonical(sku, SKUS) or sku
    if sku in SSD_V2:
        return "provisioned_v2_ssd"
    if sku in HDD_V2:
        return "provisioned_v2_hdd"
    if sku in SSD_V1 and str(kind).lower() == "filestorage":
        return "provisioned_v1"
    if sku in STANDARD:
        return "pay_as_you_go"
    return None


def supports_nfs(kind, sku):
    """NFS 4.1 shares: FileStorage accounts with an SSD SKU (provisioned v1 or v2) only."""
    return str(kind).lower() == "filestorage" and billing_model(kind, sku) in ("provisioned_v1", "provisioned_v2_ssd")


def quota_bounds(model):
    return QUOTA_BOUNDS.get(model, (1, 262144))


def check_quota(field, value, model):
    """A share size within the documented bounds of the billing model."""
    if value is None:
        return
    low, high = quota_bounds(model)
    if not low <= int(value) <= high:
        raise InputError(field, "%s GiB is outside %s-%s GiB, the share sizes of %s" % (
            value, low, high, (model or "this account").replace("_", " ")))


def check_v2_performance(iops_field, iops, bandwidth_field, bandwidth, model):
    """Provisioned IOPS / throughput: only on provisioned v2 accounts, within the documented bounds."""
    if iops is None and bandwidth is None:
        return
    if model not in ("provisioned_v2_ssd", "provisioned_v2_hdd"):
        field = iops_field if iops is not None else bandwidth_field
        raise InputError(field, "is only for provisioned v2 accounts (PremiumV2_* or StandardV2_* SKUs); a %s share "
                                "gets IOPS and throughput from its size" % (model or "this").replace("_", " "))
    iops_range = V2_SSD_IOPS if model == "provisioned_v2_ssd" else V2_HDD_IOPS
    bw_range = V2_SSD_BANDWIDTH if model == "provisioned_v2_ssd" else V2_HDD_BANDWIDTH
    if iops is not None and not iops_range[0] <= int(iops) <= iops_range[1]:
        raise InputError(iops_field, "%s is outside %s-%s IOPS" % (iops, iops_range[0], iops_range[1]))
    if bandwidth is not None and not bw_range[0] <= int(bandwidth) <= bw_range[1]:
        raise InputError(bandwidth_field, "%s is outside %s-%s MiB/s" % (bandwidth, bw_range[0], bw_range[1]))


def recommended_v2_ssd(quota_gib):
    """Azure's recommendation for a provisioned v2 SSD share: ``(iops, mibps)``."""
    quota = int(quota_gib)
    iops = min(max(3000 + int(math.ceil(quota)), V2_SSD_IOPS[0]), V2_SSD_IOPS[1])
    bandwidth = min(max(100 + int(math.ceil(0.1 * quota)), V2_SSD_BANDWIDTH[0]), V2_SSD_BANDWIDTH[1])
    return iops, bandwidth


def share_quota_gib(model_size_gib, headroom, minimum):
    """The share size for a model: ``ceil(size * headroom)``, at least ``minimum``."""
    needed = int(math.ceil(float(model_size_gib) * float(headroom) - 1e-9))
    return max(int(minimum), needed)


def file_host(account, cloud="AzureCloud", endpoint=None):
    """``<account>.file.core.windows.net``: from the account's file endpoint when known, else the cloud's suffix."""
    if endpoint:
        host = re.sub(r"^[a-z]+://", "", str(endpoint)).split("/", 1)[0]
        if host:
            return host.lower()
    return "%s.%s" % (str(account).lower(), FILE_SUFFIX.get(cloud, FILE_SUFFIX["AzureCloud"]))


def nfs_export(account, share):
    """The path an Azure Files NFS share is exported as: ``/<account>/<share>``."""
    return "/%s/%s" % (str(account).lower(), share)


def mount_source(account, share, cloud="AzureCloud", endpoint=None):
    """``<account>.file.core.windows.net:/<account>/<share>``, what mount(8) and /etc/fstab take."""
    return "%s:%s" % (file_host(account, cloud, endpoint), nfs_export(account, share))


# -- the model_storage role's checks -----------------------------------------------------------------
def _number(problems, field, value, minimum=None, integer=False, allow_zero=False):
    try:
        number = int(value) if integer else float(value)
        if integer and float(value) != int(value):
            raise ValueError
    except (TypeError, ValueError):
        problems.append((field, "%r is not a%s number" % (value, "n integer" if integer else "")))
        return None
    if allow_zero and number == 0:
        return number
    if minimum is not None and number < minimum:
        problems.append((field, "%s is below %s" % (value, minimum)))
        return None
    return number


def plan_problems(plan, prefix="model_storage_"):
    """Problems of the model_storage role's input, each ``"<variable>: <problem>"``; empty when sound.

    ``plan`` holds the role variables without the prefix: ``account_name``, ``sku``, ``share_name``,
    ``model_size_gib``, ``quota_headroom``, ``share_quota_gib`` (0 = computed), ``root_squash``,
    ``provisioned_iops`` / ``provisioned_bandwidth_mibps`` (0 = Azure's recommendation),
    ``secure_transfer_required``, ``state``.
    """
    problems = []

    def check(func, *args):
        try:
            func(*args)
        except InputError as err:
            problems.append((err.field, err.problem))

    name = plan.get("account_name")
    if not name:
        problems.append(("account_name", "is required: the storage account name, 3-24 lower-case letters and "
                                         "digits, unique in Azure"))
    else:
        check(check_account_name, "account_name", name)
    state = plan.get("state", "present")
    if state == "absent":
        check(check_share_name, "share_name", plan.get("share_name"))
        return ["%s%s: %s" % (prefix, field, problem) for field, problem in problems]

    sku = plan.get("sku")
    if canonical(sku, SSD_V1 + SSD_V2) is None:
        problems.append(("sku", "%r cannot hold an NFS share; use %s" % (sku, ", ".join(SSD_V1 + SSD_V2))))
        model = None
    else:
        model = billing_model("FileStorage", canonical(sku, SSD_V1 + SSD_V2))
    check(check_share_name, "share_name", plan.get("share_name"))
    if plan.get("root_squash") is not None and canonical(plan.get("root_squash"), ROOT_SQUASH) is None:
        problems.append(("root_squash", "%r is not one of %s" % (plan.get("root_squash"), ", ".join(ROOT_SQUASH))))

    size = _number(problems, "model_size_gib", plan.get("model_size_gib"), minimum=0)
    if size is not None and size <= 0:
        problems.append(("model_size_gib", "is required: the size of the model's files in GiB (more than 0)"))
        size = None
    headroom = _number(problems, "quota_headroom", plan.get("quota_headroom", 1.0), minimum=1.0)
    given = _number(problems, "share_quota_gib", plan.get("share_quota_gib") or 0, minimum=1, integer=True,
                    allow_zero=True)
    if model is not None:
        low, high = quota_bounds(model)
        if size is not None and headroom is not None:
            needed = share_quota_gib(size, headroom, 0)
            if given:
                if given < needed:
                    problems.append(("share_quota_gib", "%s GiB is smaller than the model: %s GiB x headroom %s "
                                                        "needs %s GiB (raise share_quota_gib, or leave it 0 to "
                                                        "size the share from the model)"
                                     % (given, _fmt(size), _fmt(headroom), needed)))
                elif given < low or given > high:
                    problems.append(("share_quota_gib", "%s GiB is outside %s-%s GiB, the share sizes of %s"
                                     % (given, low, high, model.replace("_", " "))))
            elif needed > high:
                problems.append(("model_size_gib", "%s GiB x headroom %s needs a %s GiB share, larger than the "
                                                   "%s GiB a %s share can hold"
                                 % (_fmt(size), _fmt(headroom), needed, high, model.replace("_", " "))))
        iops = _number(problems, "provisioned_iops", plan.get("provisioned_iops") or 0, minimum=0, integer=True)
        bandwidth = _number(problems, "provisioned_bandwidth_mibps", plan.get("provisioned_bandwidth_mibps") or 0,
                            minimum=0, integer=True)
        check(check_v2_performance, "provisioned_iops", iops or None, "provisioned_bandwidth_mibps",
              bandwidth or None, model)
    return ["%s%s: %s" % (prefix, field, problem) for field, problem in problems]


def _fmt(number):
    return ("%g" % number) if isinstance(number, float) else str(number)


def planned_quota(plan):
    """The share size the role asks for: the given quota, else ``ceil(size * headroom)`` at least the minimum."""
    given = int(plan.get("share_quota_gib") or 0)
    if given:
        return given
    sku = canonical(plan.get("sku"), SSD_V1 + SSD_V2) or "Premium_LRS"
    low = quota_bounds(billing_model("FileStorage", sku))[0]
    return share_quota_gib(plan.get("model_size_gib") or 0, plan.get("quota_headroom") or 1.0, low)
