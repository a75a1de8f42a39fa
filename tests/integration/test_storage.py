"""The model_storage role end to end against the ARM emulator.

The first test runs the network stage and the storage stage in one play (the storage role reads the
isolated_network fact) and then playbooks/storage.yml on its own (the role falls back to the
isolated_network_* variables); the others put the network into the emulator directly, which takes
milliseconds (the network role has its own tests).
"""
import json
import os
import sys

import pytest
from armemu.providers.privatelink import resolve
from armemu.providers.storage import nfs_mount_problem

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm_lookup import arm_requests, by_suffix, resource_ids_with  # noqa: E402 pylint: disable=wrong-import-position

RG = "rg-it"
ACCOUNT = "stitmodels01"
ZONE = "privatelink.file.core.windows.net"
BASE = {
    "isolated_network_resource_group": RG,
    "model_storage_account_name": ACCOUNT,
    "model_storage_model_size_gib": 80,
}
COMBINED = "../tests/integration/playbooks/network_storage.yml"


@pytest.fixture
def storage_playbook(playbook):
    def run(extra=None, name="storage.yml", **kwargs):
        return playbook(name, dict(BASE, **(extra or {})), **kwargs)
    return run


@pytest.fixture
def network(private_endpoint_network):
    """What the isolated_network stage leaves behind, put straight into the emulator."""
    return private_endpoint_network(RG, (ZONE,))


def stage_resources(arm):
    return resource_ids_with(arm, ("/storageaccounts/", "/privateendpoints/", "/networkinterfaces/", "/a/"))


def fact(run):
    for name, result in run.tasks():
        if "Publish what later stages need" in name:
            return (result.get("ansible_facts") or {}).get("model_storage")
    raise AssertionError("the fact was not set")


def share_path(arm, share="models"):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s/fileServices/default/" \
           "shares/%s" % (arm.subscription_id, RG, ACCOUNT, share)


def test_network_then_storage_converge_noop_diff_and_teardown(storage_playbook, arm, client):
    run = storage_playbook(name=COMBINED)
    assert run.rc == 0, run
    account = by_suffix(arm, "/storageAccounts/" + ACCOUNT)
    assert account["kind"] == "FileStorage" and account["sku"]["name"] == "Premium_LRS"
    p = account["properties"]
    assert p["publicNetworkAccess"] == "Disabled" and p["supportsHttpsTrafficOnly"] is False
    assert p["minimumTlsVersion"] == "TLS1_2" and p["allowSharedKeyAccess"] is False
    assert p["allowBlobPublicAccess"] is False
    assert p["networkAcls"]["defaultAction"] == "Deny" and p["networkAcls"]["bypass"] == "None"
    assert [c["properties"]["groupIds"] for c in p["privateEndpointConnections"]] == [["file"]]
    share = by_suffix(arm, "/shares/models")["properties"]
    # 80 GiB x 1.5 headroom = 120 GiB, above the 100 GiB minimum of provisioned v1.
    assert share["enabledProtocols"] == "NFS" and share["rootSquash"] == "NoRootSquash" and share["shareQuota"] == 120
    # The endpoint is in the private endpoint subnet and the account's name resolves to it inside the network.
    vnet = by_suffix(arm, "/virtualNetworks/vnet-llm")
    endpoint = by_suffix(arm, "/privateEndpoints/pe-%s-file" % ACCOUNT)["properties"]
    assert endpoint["subnet"]["id"].endswith("/subnets/snet-private-endpoints")
    ips = endpoint["customDnsConfigs"][0]["ipAddresses"]
    host = ACCOUNT + ".file.core.windows.net"
    assert endpoint["customDnsConfigs"][0]["fqdn"] == host and ips[0].startswith("10.40.5.")
    assert resolve(arm, host, vnet["id"]) == ips
    assert nfs_mount_problem(arm, share_path(arm), vnet["id"]) is None
    published = fact(run)
    assert published["nfs_server"] == host and published["nfs_export"] == "/%s/models" % ACCOUNT
    assert published["mount_source"] == "%s:/%s/models" % (host, ACCOUNT)
    assert int(published["quota_gib"]) == 120 and published["billing_model"] == "provisioned_v1"
    assert published["private_ip_addresses"] == ips and published["resource_group"] == RG
    assert published["account_id"].lower() == account["id"].lower()

    # storage.yml on its own (no isolated_network fact, the isolated_network_* variables instead): same
    # resources, nothing to change, reads only.
    arm.clear_requests()
    again = storage_playbook()
    assert again.rc == 0, again
    assert again.changed == 0, [name for name, r in again.tasks() if r.get("changed")]
    assert arm.writes() == []

    # Diff: root squash on and a bigger share, shown before and after.
    run = storage_playbook({"model_storage_root_squash": "RootSquash", "model_storage_share_quota_gib": 200},
                           diff=True, json_output=False)
    assert run.rc == 0, run.stdout[-3000:]
    assert "NoRootSquash" in run.stdout and "RootSquash" in run.stdout and "200" in run.stdout
    share = by_suffix(arm, "/shares/models")["properties"]
    assert share["rootSquash"] == "RootSquash" and share["shareQuota"] == 200
    # Shrinking right after growing is refused before the request (Azure allows it 24 hours later).
    arm.clear_requests()
    run = storage_playbook({"model_storage_share_quota_gib": 150})
    assert run.rc != 0 and "quota_gib: 150 GiB would shrink the share from 200 GiB" in run.failure_message()
    assert arm.writes() == []
    arm.advance(24 * 3600 + 60)
    run = storage_playbook({"model_storage_root_squash": "RootSquash", "model_storage_share_quota_gib": 150})
    assert run.rc == 0, run
    assert by_suffix(arm, "/shares/models")["properties"]["shareQuota"] == 150

    # Teardown: refused without the confirmation, then the stage goes and the network stays.
    arm.clear_requests()
    refused = storage_playbook({"model_storage_state": "absent"})
    assert refused.rc != 0 and "model_storage_teardown_confirm" in refused.failure_message()
    assert arm_requests(arm) == []
    teardown = {"model_storage_state": "absent", "model_storage_teardown_confirm": RG}
    run = storage_playbook(teardown)
    assert run.rc == 0, run
    assert stage_resources(arm) == []
    assert by_suffix(arm, "/virtualNetworks/vnet-llm")
    assert resolve(arm, host, vnet["id"]) is None
    again = storage_playbook(teardown)
    assert again.rc == 0 and again.changed == 0, again


def test_check_mode_on_an_empty_subscription_writes_nothing(storage_playbook, arm):
    run = storage_playbook(check=True)
    assert run.rc == 0, run
    changed = [name for name, r in run.tasks() if r.get("changed")]
    assert any("Storage account" in name for name in changed)
    assert any("NFS 4.1 share" in name for name in changed)
    assert any("Private endpoint" in name for name in changed)
    assert arm.writes() == []
    assert arm.resources() == {}
    assert fact(run)["mount_source"] == "%s.file.core.windows.net:/%s/models" % (ACCOUNT, ACCOUNT)


def test_throttling_is_survived_and_a_failed_account_operation_fails_then_heals(storage_playbook, arm, network):
    arm.add_fault(method="PUT", path=r"/storageAccounts/%s$" % ACCOUNT, status=429, retry_after=1, times=2)
    arm.add_fault(method="PUT", path=r"/shares/models$", status=503, times=1)
    run = storage_playbook()
    assert run.rc == 0, run
    statuses = [(r["method"], r["status"]) for r in arm_requests(arm) if ACCOUNT in r["path"]]
    assert statuses.count(("PUT", 429)) == 2 and ("PUT", 503) in statuses
    assert nfs_mount_problem(arm, share_path(arm), network["id"]) is None

    # A tag change whose operation ends Failed fails the task with Azure's code and message ...
    arm.add_fault(method="PUT", path=r"/storageAccounts/%s$" % ACCOUNT, operation="Failed",
                  code="StorageAccountOperationFailed", message="the storage stamp could not apply the change")
    run = storage_playbook({"model_storage_tags": {"owner": "platform"}})
    assert run.rc != 0
    msg = run.failure_message()
    assert "StorageAccountOperationFailed" in msg and "the storage stamp could not apply the change" in msg
    assert "Traceback" not in run.stdout
    assert by_suffix(arm, "/storageAccounts/" + ACCOUNT)["properties"]["provisioningState"] == "Failed"
    # ... and the next run re-applies it.
    run = storage_playbook({"model_storage_tags": {"owner": "platform"}})
    assert run.rc == 0, run
    account = by_suffix(arm, "/storageAccounts/" + ACCOUNT)
    assert account["properties"]["provisioningState"] == "Succeeded" and account["tags"] == {"owner": "platform"}


BAD_INPUT = [
    ({"model_storage_share_quota_gib": 100},
     "model_storage_share_quota_gib: 100 GiB is smaller than the model: 80 GiB x headroom 1.5 needs 120 GiB"),
    ({"model_storage_model_size_gib": 70000},
     "model_storage_model_size_gib: 70000 GiB x headroom 1.5 needs a 105000 GiB share, larger than the 102400 GiB"),
    ({"model_storage_model_size_gib": 0}, "model_storage_model_size_gib: is required"),
    ({"model_storage_account_name": "St-Models"}, "model_storage_account_name: 'St-Models' is not a storage account"),
    ({"model_storage_account_name": ""}, "model_storage_account_name: is required"),
    ({"model_storage_provisioned_iops": 5000}, "model_storage_provisioned_iops: is only for provisioned v2"),
    ({"model_storage_sku": "PremiumV2_LRS", "model_storage_provisioned_iops": 500},
     "model_storage_provisioned_iops: 500 is outside 3000-102400 IOPS"),
    ({"model_storage_sku": "Standard_LRS"}, "model_storage_sku"),
]


@pytest.mark.parametrize("extra,words", BAD_INPUT, ids=[case[1].split(":")[0] + str(i) for i, case in enumerate(BAD_INPUT)])
def test_bad_input_fails_before_any_request(storage_playbook, arm, extra, words):
    run = storage_playbook(extra)
    assert run.rc != 0
    assert words in run.failure_message(), run.failure_message()
    assert [r for r in arm.requests() if r["kind"] in ("arm", "token")] == []
    assert "Traceback" not in json.dumps(run.events)
