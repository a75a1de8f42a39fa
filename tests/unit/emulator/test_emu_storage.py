"""Microsoft.Storage in the emulator: storage accounts, the file service, NFS shares, private endpoints."""
import pytest

from armemu.providers.storage import (
    nfs_mount_problem,
    release_account_names,
    reserve_account_name,
    zone_record,
)
from armemu.testing import DNS_API

ST = "2025-01-01"
ZONE = "privatelink.file.core.windows.net"


def acct_id(client, name="stmodels01", rg="rg1"):
    return f"{client.rg(rg)}/providers/Microsoft.Storage/storageAccounts/{name}"


def share_id(client, share="models", name="stmodels01", rg="rg1"):
    return f"{acct_id(client, name, rg)}/fileServices/default/shares/{share}"


def poll_location(client, resp):
    """Follow a Location-only long-running operation: 202 until done, then the result."""
    assert resp.status_code == 202, resp.text()
    assert "Azure-AsyncOperation" not in resp.headers
    url = resp.headers["Location"]
    for _attempt in range(50):
        r = client.call("GET", url, api_version=None)
        if r.status_code != 202:
            return r
    raise AssertionError("operation did not finish")


def make_account(client, name="stmodels01", sku="Premium_LRS", kind="FileStorage", rg="rg1", **props):
    r = client.put(acct_id(client, name, rg), {"location": "westeurope", "kind": kind, "sku": {"name": sku},
                                               "properties": props}, api_version=ST)
    done = poll_location(client, r)
    assert done.status_code == 200, done.text()
    return client.body(done)


def put_share(client, props, share="models", name="stmodels01"):
    return client.put(share_id(client, share, name), {"properties": props}, api_version=ST)


@pytest.fixture
def account(client):
    client.make_rg()
    return make_account(client, supportsHttpsTrafficOnly=False, publicNetworkAccess="Disabled",
                        minimumTlsVersion="TLS1_2", allowSharedKeyAccess=False,
                        networkAcls={"defaultAction": "Deny", "bypass": "None"})


def test_account_is_created_by_a_location_only_operation_with_file_endpoint_and_defaults(client, arm, account):
    assert account["kind"] == "FileStorage" and account["sku"] == {"name": "Premium_LRS", "tier": "Premium"}
    p = account["properties"]
    assert p["provisioningState"] == "Succeeded"
    assert p["primaryEndpoints"] == {"file": "https://stmodels01.file.core.windows.net/"}
    assert p["supportsHttpsTrafficOnly"] is False and p["publicNetworkAccess"] == "Disabled"
    assert p["networkAcls"]["defaultAction"] == "Deny" and p["networkAcls"]["bypass"] == "None"
    assert p["privateEndpointConnections"] == []
    # The file service exists with the account.
    svc = client.get(acct_id(client) + "/fileServices/default", api_version=ST)
    assert svc.status_code == 200 and client.body(svc)["name"] == "default"
    # Defaults of an account that sets nothing: secure transfer on, public access on.
    other = make_account(client, name="stother01", sku="PremiumV2_ZRS")
    assert other["properties"]["supportsHttpsTrafficOnly"] is True
    assert other["properties"]["publicNetworkAccess"] == "Enabled"
    # While the account is being created it reports Creating (time runs at scale 1 here).
    arm.set_time_scale(1.0)
    r = client.put(acct_id(client, "stslow01"), {"location": "westeurope", "kind": "FileStorage",
                                                 "sku": {"name": "Premium_LRS"}}, api_version=ST)
    assert r.status_code == 202 and r.text() == "" and int(r.headers["Retry-After"]) > 0
    assert client.body(client.get(acct_id(client, "stslow01"), api_version=ST))["properties"]["provisioningState"] \
        == "Creating"
    assert client.call("GET", r.headers["Location"], api_version=None).status_code == 202
    arm.advance(31)
    done = client.call("GET", r.headers["Location"], api_version=None)
    assert done.status_code == 200 and client.body(done)["properties"]["provisioningState"] == "Succeeded"


@pytest.mark.parametrize("body,code,words", [
    ({"kind": "FileStorage", "sku": {"name": "Standard_LRS"}}, "SkuNotSupportedForKind", "Standard_LRS"),
    ({"kind": "StorageV2", "sku": {"name": "PremiumV2_LRS"}}, "SkuNotSupportedForKind", "PremiumV2_LRS"),
    ({"kind": "FileStorage"}, "MissingRequiredParameter", "sku"),
    ({"sku": {"name": "Premium_LRS"}}, "MissingRequiredParameter", "kind"),
    ({"kind": "FileStorage", "sku": {"name": "Premium_LRS"}, "properties": {"publicNetworkAccess": "Closed"}},
     "InvalidRequestFormat", "Closed"),
    ({"kind": "FileStorage", "sku": {"name": "Premium_LRS"}, "properties": {"networkAcls": {"bypass": "None"}}},
     "MissingRequiredParameter", "defaultAction"),
    ({"kind": "FileStorage", "sku": {"name": "Premium_LRS"}, "properties": {"minimumTlsVersion": "TLS9"}},
     "InvalidRequestFormat", "TLS9"),
])
def test_account_input_rules(client, body, code, words):
    client.make_rg()
    r = client.put(acct_id(client), dict(body, location="westeurope"), api_version=ST)
    err = client.body(r)["error"]
    assert r.status_code == 400 and err["code"] == code and words in r.text(), r.text()


def test_account_names_kind_and_sku_rules(client, arm):
    client.make_rg()
    client.make_rg("rg2")
    for bad in ("ab", "Stmodels01", "st-models", "a" * 25):
        r = client.put(acct_id(client, bad), {"location": "westeurope", "kind": "FileStorage",
                                              "sku": {"name": "Premium_LRS"}}, api_version=ST)
        assert r.status_code == 400 and client.body(r)["error"]["code"] == "AccountNameInvalid", bad
    make_account(client)
    r = client.put(acct_id(client, rg="rg2"), {"location": "westeurope", "kind": "FileStorage",
                                               "sku": {"name": "Premium_LRS"}}, api_version=ST)
    assert r.status_code == 409 and client.body(r)["error"]["code"] == "StorageAccountInAnotherResourceGroup"
    reserve_account_name(arm, "sttaken01")
    try:
        r = client.put(acct_id(client, "sttaken01"), {"location": "westeurope", "kind": "FileStorage",
                                                      "sku": {"name": "Premium_LRS"}}, api_version=ST)
        assert r.status_code == 409 and client.body(r)["error"]["code"] == "StorageAccountAlreadyTaken"
    finally:
        release_account_names(arm)
    # Kind and (for FileStorage) SKU are fixed.
    r = client.put(acct_id(client), {"location": "westeurope", "kind": "FileStorage", "sku": {"name": "Premium_ZRS"}},
                   api_version=ST)
    assert client.body(r)["error"]["code"] == "SkuChangeNotSupported"
    r = client.put(acct_id(client), {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Premium_LRS"}},
                   api_version=ST)
    assert client.body(r)["error"]["code"] == "AccountKindCannotBeChanged"
    # Provisioned v2 SKUs need a recent api-version.
    r = client.put(acct_id(client, "stv2old01"), {"location": "westeurope", "kind": "FileStorage",
                                                  "sku": {"name": "PremiumV2_LRS"}}, api_version="2023-05-01")
    assert client.body(r)["error"]["code"] == "InvalidSkuName"
    # PATCH merges synchronously.
    r = client.patch(acct_id(client), {"properties": {"minimumTlsVersion": "TLS1_2"}, "tags": {"a": "b"}},
                     api_version=ST)
    assert r.status_code == 200 and client.body(r)["properties"]["minimumTlsVersion"] == "TLS1_2"


def test_nfs_share_rules_quota_bounds_and_immutable_protocol(client, account):
    r = put_share(client, {"enabledProtocols": "nfs", "rootSquash": "rootsquash", "shareQuota": 256})
    assert r.status_code == 201, r.text()
    p = client.body(r)["properties"]
    assert p["enabledProtocols"] == "NFS" and p["rootSquash"] == "RootSquash" and p["shareQuota"] == 256
    assert p["accessTier"] == "Premium" and "nextAllowedQuotaDowngradeTime" in p
    again = put_share(client, {"enabledProtocols": "NFS", "rootSquash": "NoRootSquash", "shareQuota": 300})
    assert again.status_code == 200 and client.body(again)["properties"]["rootSquash"] == "NoRootSquash"
    r = put_share(client, {"enabledProtocols": "SMB", "shareQuota": 300})
    assert client.body(r)["error"]["code"] == "ShareProtocolCannotBeChanged"
    for quota in (99, 102401):
        r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": quota}, share="other")
        err = client.body(r)["error"]
        assert err["code"] == "InvalidShareQuota" and "100-102400" in err["message"], r.text()
    r = put_share(client, {"enabledProtocols": "SMB", "rootSquash": "RootSquash", "shareQuota": 100}, share="smb")
    assert client.body(r)["error"]["code"] == "RootSquashNotSupportedForSmb"
    r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": 100, "provisionedIops": 5000}, share="other")
    assert client.body(r)["error"]["code"] == "ProvisionedPerformanceNotSupported"
    r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": 102400 - 200}, share="big")
    assert client.body(r)["error"]["code"] == "AccountProvisionedStorageLimitExceeded"
    r = client.put(share_id(client, "Bad_Name"), {"properties": {}}, api_version=ST)
    assert client.body(r)["error"]["code"] == "InvalidResourceName"
    # Shares go with the account.
    assert client.delete(acct_id(client), api_version=ST).status_code == 200
    assert client.get(share_id(client), api_version=ST).status_code == 404


def test_a_share_shrinks_only_24_hours_after_its_last_increase(client, arm, account):
    assert put_share(client, {"enabledProtocols": "NFS", "shareQuota": 200}).status_code == 201
    r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": 150})
    err = client.body(r)["error"]
    assert r.status_code == 400 and err["code"] == "ShareQuotaDecreaseNotAllowed" and "GMT" in err["message"]
    arm.advance(24 * 3600 + 1)
    r = client.patch(share_id(client), {"properties": {"shareQuota": 150}}, api_version=ST)
    assert r.status_code == 200 and client.body(r)["properties"]["shareQuota"] == 150


def test_nfs_needs_an_ssd_filestorage_account_and_v2_shares_get_performance(client):
    client.make_rg()
    make_account(client, name="ststd01", sku="Standard_LRS", kind="StorageV2")
    r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": 100}, name="ststd01")
    assert client.body(r)["error"]["code"] == "NfsNotSupportedForAccount" and "StorageV2 Standard_LRS" in r.text()
    make_account(client, name="sthdd01", sku="StandardV2_LRS")
    r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": 100}, name="sthdd01")
    assert client.body(r)["error"]["code"] == "NfsNotSupportedForAccount"
    make_account(client, name="stv2ssd01", sku="PremiumV2_LRS")
    r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": 32}, name="stv2ssd01")
    p = client.body(r)["properties"]
    assert r.status_code == 201 and p["provisionedIops"] == 3032 and p["provisionedBandwidthMibps"] == 104
    r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": 100, "provisionedIops": 5000,
                           "provisionedBandwidthMibps": 200}, share="tuned", name="stv2ssd01")
    p = client.body(r)["properties"]
    assert p["includedBurstIops"] == 15000 and p["maxBurstCreditsForIops"] == 36000000
    r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": 100, "provisionedIops": 2000},
                  share="slow", name="stv2ssd01")
    assert client.body(r)["error"]["code"] == "InvalidProvisionedPerformance"
    r = put_share(client, {"enabledProtocols": "NFS", "shareQuota": 31}, share="tiny", name="stv2ssd01")
    assert "32-262144" in client.body(r)["error"]["message"]


def test_private_endpoint_group_file_dns_and_plain_nfs_mounts(client, arm, account):
    vnet = client.make_vnet(prefixes=("10.40.0.0/16",), subnets=[
        {"name": "snet-pe", "properties": {"addressPrefix": "10.40.5.0/24"}}])
    zone = client.zone("rg1", ZONE)
    client.poll(client.put(zone, {"location": "global"}, api_version=DNS_API))
    client.poll(client.put(client.link("rg1", ZONE, "vnet1"),
                           {"location": "global", "properties": {"virtualNetwork": {"id": vnet["id"]}}},
                           api_version=DNS_API))
    assert put_share(client, {"enabledProtocols": "NFS", "shareQuota": 100}).status_code == 201
    sid = share_id(client)
    assert "no private endpoint" in nfs_mount_problem(arm, sid, vnet["id"])
    pe = f"{client.rg('rg1')}/providers/Microsoft.Network/privateEndpoints/pe-st"
    subnet = vnet["id"] + "/subnets/snet-pe"

    def endpoint(group):
        return {"location": "westeurope", "properties": {"subnet": {"id": subnet}, "privateLinkServiceConnections": [
            {"name": "c", "properties": {"privateLinkServiceId": acct_id(client), "groupIds": [group]}}]}}

    r = client.put(pe, endpoint("blob"))
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "PrivateEndpointGroupIdNotSupported"
    r = client.put(pe, endpoint("file"))
    assert r.status_code == 201, r.text()
    client.poll(r)
    configs = client.body(client.get(pe))["properties"]["customDnsConfigs"]
    assert configs[0]["fqdn"] == "stmodels01.file.core.windows.net" and configs[0]["ipAddresses"][0].startswith("10.40.5.")
    conns = client.body(client.get(acct_id(client), api_version=ST))["properties"]["privateEndpointConnections"]
    assert [c["properties"]["groupIds"] for c in conns] == [["file"]]
    assert "does not resolve" in nfs_mount_problem(arm, sid, vnet["id"])
    r = client.put(pe + "/privateDnsZoneGroups/default", {"properties": {"privateDnsZoneConfigs": [
        {"name": "file", "properties": {"privateDnsZoneId": zone}}]}})
    client.poll(r)
    record = zone_record(arm, zone, "stmodels01")
    assert record["properties"]["aRecords"] == [{"ipv4Address": configs[0]["ipAddresses"][0]}]
    assert nfs_mount_problem(arm, sid, vnet["id"]) is None
    # With secure transfer required only TLS (AZNFS) mounts get in.
    r = client.patch(acct_id(client), {"properties": {"supportsHttpsTrafficOnly": True}}, api_version=ST)
    assert r.status_code == 200
    assert "requires secure transfer" in nfs_mount_problem(arm, sid, vnet["id"])
    assert nfs_mount_problem(arm, sid, vnet["id"], tls=True) is None
