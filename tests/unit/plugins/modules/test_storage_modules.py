"""The storage stage: storage_account and file_share (validate / desired / normalize / to_body / the account
checks), the shared Azure Files facts, the model_storage plan checks and the storage_plan filter."""
import datetime
import email.utils

import pytest

from ansible_collections.airgap.aks_inference.plugins.filter.storage_plan import storage_plan
from ansible_collections.airgap.aks_inference.plugins.module_utils import storage
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import prune_none
from ansible_collections.airgap.aks_inference.plugins.modules import file_share as share_mod
from ansible_collections.airgap.aks_inference.plugins.modules import storage_account as account_mod

SUB = "22222222-2222-4222-8222-222222222222"
ACCOUNT_ID = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stmodels01" % SUB
SHARE_ID = ACCOUNT_ID + "/fileServices/default/shares/models"


class Module:
    subscription_id = SUB
    check_mode = False

    def __init__(self, cloud="AzureCloud", **params):
        self.params = params
        self.settings = {"cloud": cloud}
        self._client = None

    def check_settings(self):
        return self.settings

    def client(self):
        return self._client

    def deadline(self):
        from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_wait import Deadline
        return Deadline(30)


class FakeClient:
    def __init__(self, resources=None):
        self.resources = dict(resources or {})
        self.calls = []

    def get(self, rid, api):
        self.calls.append(("GET", rid))
        return self.resources.get(rid)

    def put(self, rid, api, body):
        self.calls.append(("PUT", rid, body))
        stored = dict(body, id=rid, name=rid.rsplit("/", 1)[-1])
        self.resources[rid] = stored
        return Response(200, {}, stored)

    def delete(self, rid, api):
        self.calls.append(("DELETE", rid))
        self.resources.pop(rid, None)
        return Response(200, {}, None)

    def writes(self):
        return [c for c in self.calls if c[0] in ("PUT", "PATCH", "DELETE", "POST")]


# -- storage_account ----------------------------------------------------------------------------------
def account_params(**params):
    base = dict(resource_group="rg", name="stmodels01", location="westeurope", kind="FileStorage", sku="Premium_LRS",
                public_network_access="Disabled", https_traffic_only=False, minimum_tls_version="TLS1_2",
                allow_blob_public_access=False, allow_shared_key_access=False, network_default_action="Deny",
                network_bypass=["None"], large_file_shares=None, tags=None, purge_tags=True, state="present",
                wait=True, wait_timeout=60, poll_interval=0.01)
    base.update(params)
    return base


def account(**params):
    return account_mod.StorageAccount(Module(**account_params(**params)))


GET_ACCOUNT = {
    "id": ACCOUNT_ID, "name": "stmodels01", "type": "Microsoft.Storage/storageAccounts", "location": "westeurope",
    "kind": "FileStorage", "sku": {"name": "Premium_LRS", "tier": "Premium"},
    "properties": {"provisioningState": "Succeeded", "publicNetworkAccess": "Disabled",
                   "supportsHttpsTrafficOnly": False, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
                   "allowSharedKeyAccess": False, "creationTime": "2025-01-01T00:00:00Z",
                   "primaryEndpoints": {"file": "https://stmodels01.file.core.windows.net/"},
                   "networkAcls": {"bypass": "None", "defaultAction": "Deny", "ipRules": [],
                                   "virtualNetworkRules": [{"id": "/subscriptions/x/subnets/s", "action": "Allow",
                                                            "state": "Succeeded"}]},
                   "privateEndpointConnections": [{"id": "pec"}], "encryption": {"keySource": "Microsoft.Storage"}},
}


def test_account_desired_matches_what_azure_reports_and_the_put_body_keeps_the_rest():
    resource = account()
    desired = prune_none(resource.desired())
    assert desired == {"location": "westeurope", "kind": "FileStorage", "sku": {"name": "Premium_LRS"}, "properties": {
        "publicNetworkAccess": "Disabled", "supportsHttpsTrafficOnly": False, "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False, "allowSharedKeyAccess": False,
        "networkAcls": {"defaultAction": "Deny", "bypass": "None"}}}
    assert resource.fields.compare(desired, resource.normalize(GET_ACCOUNT)).differences == []
    body = resource.to_body(dict(desired, properties=dict(desired["properties"], minimumTlsVersion="TLS1_3")),
                            GET_ACCOUNT)
    props = body["properties"]
    assert body["sku"] == {"name": "Premium_LRS"} and props["minimumTlsVersion"] == "TLS1_3"
    for key in ("provisioningState", "primaryEndpoints", "creationTime", "privateEndpointConnections"):
        assert key not in props
    assert props["encryption"] == {"keySource": "Microsoft.Storage"}  # not managed, sent back as it is
    assert props["networkAcls"]["virtualNetworkRules"] == [{"id": "/subscriptions/x/subnets/s", "action": "Allow"}]


def test_account_bypass_is_spelled_one_way_and_kind_sku_and_location_are_fixed():
    assert account_mod.bypass_value(["AzureServices", "Logging"]) == "Logging, AzureServices"
    assert account_mod.bypass_value("azureservices,logging") == "Logging, AzureServices"
    assert account_mod.bypass_value(["None"]) == "None" and account_mod.bypass_value(None) is None
    resource = account(sku="Premium_ZRS", network_bypass=["Logging", "AzureServices"])
    comparison = resource.fields.compare(prune_none(resource.desired()), resource.normalize(GET_ACCOUNT))
    assert "sku.name" in comparison.immutable
    assert "properties.networkAcls.bypass" in comparison.differences
    # A StorageV2 account may change redundancy.
    v2 = account(kind="StorageV2", sku="Standard_ZRS")
    current = dict(GET_ACCOUNT, kind="StorageV2", sku={"name": "Standard_LRS"})
    comparison = v2.fields.compare(prune_none(v2.desired()), v2.normalize(current))
    assert comparison.differences == ["sku.name"] and comparison.immutable == []


@pytest.mark.parametrize("params,field", [
    (dict(name="St-Models"), "name"),
    (dict(name="st"), "name"),
    (dict(sku="Standard_LRS"), "sku"),
    (dict(kind="StorageV2", sku="PremiumV2_LRS"), "sku"),
    (dict(network_bypass=["None", "Logging"]), "network_bypass"),
])
def test_account_bad_input_names_the_field(params, field):
    with pytest.raises(InputError) as err:
        account(**params).validate()
    assert err.value.field == field


def test_account_result_gives_the_nfs_host_per_cloud_and_the_billing_model():
    module = Module(**account_params(sku="PremiumV2_LRS"))
    module._client = FakeClient()
    result = account_mod.ensure_storage_account(module)
    assert result["changed"] and result["nfs_host"] == "stmodels01.file.core.windows.net"
    assert result["billing_model"] == "provisioned_v2_ssd"
    put = [c for c in module._client.writes() if c[0] == "PUT"][0][2]
    assert put["kind"] == "FileStorage" and put["properties"]["supportsHttpsTrafficOnly"] is False
    china = Module(cloud="AzureChinaCloud", **account_params())
    china._client = FakeClient()
    assert account_mod.ensure_storage_account(china)["nfs_host"] == "stmodels01.file.core.chinacloudapi.cn"
    # Unchanged: no write.
    same = Module(**account_params())
    same._client = FakeClient({ACCOUNT_ID: GET_ACCOUNT})
    result = account_mod.ensure_storage_account(same)
    assert result["changed"] is False and same._client.writes() == []
    assert result["nfs_host"] == "stmodels01.file.core.windows.net"


# -- file_share ---------------------------------------------------------------------------------------
def share_params(**params):
    base = dict(resource_group="rg", storage_account="stmodels01", name="models", enabled_protocols="NFS",
                root_squash="NoRootSquash", quota_gib=120, provisioned_iops=None, provisioned_bandwidth_mibps=None,
                metadata=None, state="present", wait=True, wait_timeout=60, poll_interval=0.01)
    base.update(params)
    return base


def share_module(resources=None, check_mode=False, **params):
    module = Module(**share_params(**params))
    module.check_mode = check_mode
    module._client = FakeClient(resources)
    return module


def http_date(delta_seconds):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_seconds)
    return email.utils.format_datetime(when, usegmt=True)


GET_SHARE = {"id": SHARE_ID, "name": "models", "type": "Microsoft.Storage/storageAccounts/fileServices/shares",
             "etag": '"0x8D"', "properties": {"enabledProtocols": "NFS", "rootSquash": "NoRootSquash",
                                              "shareQuota": 120, "accessTier": "Premium",
                                              "lastModifiedTime": "2025-01-01T00:00:00Z", "leaseState": "Available",
                                              "nextAllowedQuotaDowngradeTime": http_date(-60)}}


def test_share_desired_id_and_put_body():
    resource = share_mod.FileShare(Module(**share_params(metadata={"model": "llama", "rev": 3})))
    assert resource.resource_id() == SHARE_ID
    desired = prune_none(resource.desired())
    assert desired == {"properties": {"enabledProtocols": "NFS", "rootSquash": "NoRootSquash", "shareQuota": 120,
                                      "metadata": {"model": "llama", "rev": "3"}}}
    body = resource.to_body(desired, GET_SHARE)
    assert set(body) == {"properties"}
    assert "lastModifiedTime" not in body["properties"] and "nextAllowedQuotaDowngradeTime" not in body["properties"]
    assert body["properties"]["accessTier"] == "Premium"


@pytest.mark.parametrize("params,field", [
    (dict(name="Models"), "name"),
    (dict(name="a--b"), "name"),
    (dict(storage_account="st-models"), "storage_account"),
    (dict(enabled_protocols="SMB"), "root_squash"),
    (dict(quota_gib=0), "quota_gib"),
    (dict(provisioned_iops=-1), "provisioned_iops"),
])
def test_share_bad_input_names_the_field(params, field):
    with pytest.raises(InputError) as err:
        share_mod.FileShare(Module(**share_params(**params))).validate()
    assert err.value.field == field


def test_share_rules_that_need_the_account():
    def check(account_kind, sku, current=None, **params):
        resource = share_mod.FileShare(Module(**share_params(**params)))
        resource.check_account({"kind": account_kind, "sku": {"name": sku}}, current)

    check("FileStorage", "Premium_LRS")
    check("FileStorage", "PremiumV2_ZRS", quota_gib=32, provisioned_iops=3000, provisioned_bandwidth_mibps=125)
    cases = [
        (("StorageV2", "Standard_LRS"), {}, "enabled_protocols"),
        (("FileStorage", "StandardV2_LRS"), {}, "enabled_protocols"),
        (("FileStorage", "Premium_LRS"), {"quota_gib": 99}, "quota_gib"),
        (("FileStorage", "Premium_LRS"), {"quota_gib": 102401}, "quota_gib"),
        (("FileStorage", "PremiumV2_LRS"), {"quota_gib": 262145}, "quota_gib"),
        (("FileStorage", "Premium_LRS"), {"provisioned_iops": 5000}, "provisioned_iops"),
        (("FileStorage", "PremiumV2_LRS"), {"provisioned_bandwidth_mibps": 20000}, "provisioned_bandwidth_mibps"),
    ]
    for (kind, sku), params, field in cases:
        with pytest.raises(InputError) as err:
            check(kind, sku, **params)
        assert err.value.field == field, (kind, sku, params)
    # Shrinking: refused while Azure would refuse it, allowed after the 24 hours.
    recent = dict(GET_SHARE, properties=dict(GET_SHARE["properties"], nextAllowedQuotaDowngradeTime=http_date(3600)))
    with pytest.raises(InputError) as err:
        check("FileStorage", "Premium_LRS", recent, quota_gib=110)
    assert err.value.field == "quota_gib" and "24 hours" in err.value.problem
    check("FileStorage", "Premium_LRS", GET_SHARE, quota_gib=110)
    check("FileStorage", "Premium_LRS", recent, quota_gib=130)


def test_share_runs_no_write_when_unchanged_refuses_a_protocol_change_and_returns_the_mount_source():
    account_body = dict(GET_ACCOUNT)
    module = share_module({ACCOUNT_ID: account_body, SHARE_ID: GET_SHARE})
    result = share_mod.ensure_file_share(module)
    assert result["changed"] is False and module._client.writes() == []
    assert result["mount_source"] == "stmodels01.file.core.windows.net:/stmodels01/models"
    assert result["nfs_export"] == "/stmodels01/models" and result["quota_gib"] == 120

    smb = dict(GET_SHARE, properties=dict(GET_SHARE["properties"], enabledProtocols="SMB"))
    smb["properties"].pop("rootSquash")
    module = share_module({ACCOUNT_ID: account_body, SHARE_ID: smb})
    with pytest.raises(InputError) as err:
        share_mod.ensure_file_share(module)
    assert err.value.field == "properties.enabledProtocols" and "cannot be changed" in err.value.problem
    assert module._client.writes() == []

    module = share_module({ACCOUNT_ID: account_body, SHARE_ID: GET_SHARE}, root_squash="RootSquash", quota_gib=200)
    result = share_mod.ensure_file_share(module)
    assert result["changed"] and result["diff"]["before"]["properties"]["rootSquash"] == "NoRootSquash"
    assert result["diff"]["after"]["properties"]["shareQuota"] == 200


def test_share_needs_its_account_except_in_check_mode():
    module = share_module({})
    with pytest.raises(InputError) as err:
        share_mod.ensure_file_share(module)
    assert err.value.field == "storage_account" and module._client.writes() == []
    module = share_module({}, check_mode=True)
    result = share_mod.ensure_file_share(module)
    assert result["changed"] and module._client.writes() == []
    assert result["mount_source"] == "stmodels01.file.core.windows.net:/stmodels01/models"
    # Deleting reads no account.
    module = share_module({SHARE_ID: GET_SHARE}, state="absent")
    assert share_mod.ensure_file_share(module)["changed"]
    assert module._client.writes() == [("DELETE", SHARE_ID)]


# -- Azure Files facts and the role's plan ------------------------------------------------------------
def test_facts_billing_models_and_quota_sizing():
    assert storage.billing_model("FileStorage", "Premium_LRS") == "provisioned_v1"
    assert storage.billing_model("FileStorage", "premiumv2_zrs") == "provisioned_v2_ssd"
    assert storage.billing_model("StorageV2", "Premium_LRS") is None
    assert storage.supports_nfs("FileStorage", "PremiumV2_LRS") and not storage.supports_nfs("FileStorage", "StandardV2_LRS")
    assert storage.recommended_v2_ssd(100) == (3100, 110) and storage.recommended_v2_ssd(262144) == (102400, 10340)
    assert storage.share_quota_gib(80, 1.5, 100) == 120
    assert storage.share_quota_gib(16, 1.5, 100) == 100
    assert storage.share_quota_gib(0.7, 10, 1) == 7  # no float overshoot
    assert storage.share_quota_gib(80.1, 1.5, 32) == 121
    assert storage.mount_source("StModels01", "models", endpoint="https://stmodels01.file.core.usgovcloudapi.net/") \
        == "stmodels01.file.core.usgovcloudapi.net:/stmodels01/models"


PLAN = {"account_name": "stmodels01", "sku": "Premium_LRS", "share_name": "models", "model_size_gib": 80,
        "quota_headroom": 1.5, "share_quota_gib": 0, "root_squash": "NoRootSquash", "provisioned_iops": 0,
        "provisioned_bandwidth_mibps": 0, "state": "present"}


@pytest.mark.parametrize("change,problem", [
    ({}, None),
    ({"share_quota_gib": 150}, None),
    ({"share_quota_gib": 100}, "model_storage_share_quota_gib: 100 GiB is smaller than the model: 80 GiB x headroom "
                               "1.5 needs 120 GiB"),
    ({"share_quota_gib": 102401}, "model_storage_share_quota_gib: 102401 GiB is outside 100-102400 GiB"),
    ({"model_size_gib": 10, "share_quota_gib": 50}, "model_storage_share_quota_gib: 50 GiB is outside 100-102400"),
    ({"model_size_gib": 70000}, "model_storage_model_size_gib: 70000 GiB x headroom 1.5 needs a 105000 GiB share"),
    ({"sku": "PremiumV2_LRS", "model_size_gib": 170000}, None),
    ({"model_size_gib": 0}, "model_storage_model_size_gib: is required"),
    ({"model_size_gib": "lots"}, "model_storage_model_size_gib: 'lots' is not a number"),
    ({"quota_headroom": 0.5}, "model_storage_quota_headroom: 0.5 is below 1"),
    ({"account_name": ""}, "model_storage_account_name: is required"),
    ({"account_name": "st_models"}, "model_storage_account_name: 'st_models' is not a storage account name"),
    ({"sku": "Standard_LRS"}, "model_storage_sku: 'Standard_LRS' cannot hold an NFS share"),
    ({"share_name": "-models"}, "model_storage_share_name: '-models' is not a file share name"),
    ({"root_squash": "Squash"}, "model_storage_root_squash: 'Squash' is not one of"),
    ({"provisioned_iops": 5000}, "model_storage_provisioned_iops: is only for provisioned v2"),
    ({"sku": "PremiumV2_LRS", "provisioned_bandwidth_mibps": 50}, "model_storage_provisioned_bandwidth_mibps: 50 is "
                                                                  "outside 100-10340 MiB/s"),
    ({"state": "absent", "model_size_gib": 0, "sku": "whatever"}, None),
])
def test_plan_problems(change, problem):
    problems = storage.plan_problems(dict(PLAN, **change))
    if problem is None:
        assert problems == []
    else:
        assert problems and problems[0].startswith(problem), problems


def test_storage_plan_filter_sizes_the_share():
    assert storage_plan(PLAN) == {"problems": [], "quota_gib": 120}
    assert storage_plan(dict(PLAN, model_size_gib="16"))["quota_gib"] == 100
    assert storage_plan(dict(PLAN, sku="PremiumV2_LRS", model_size_gib=16))["quota_gib"] == 32
    assert storage_plan(dict(PLAN, share_quota_gib="300"))["quota_gib"] == 300
    broken = storage_plan(dict(PLAN, model_size_gib="lots"))
    assert broken["problems"] and broken["quota_gib"] == 0
