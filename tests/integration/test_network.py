"""The isolated_network role end to end against the ARM emulator."""
import json
import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm_lookup import arm_requests, by_suffix  # noqa: E402 pylint: disable=wrong-import-position

RG = "rg-it"
SUBNETS = ("snet-nodes", "snet-apiserver", "snet-private-endpoints", "snet-jumpbox")
BASE = {"isolated_network_resource_group": RG}


def test_converge_creates_the_isolated_network(playbook, arm):
    run = playbook("network.yml", BASE)
    assert run.rc == 0, run
    assert run.changed > 0

    vnet = by_suffix(arm, "/virtualNetworks/vnet-llm")
    assert vnet["properties"]["addressSpace"]["addressPrefixes"] == ["10.40.0.0/16"]
    assert {s["name"] for s in vnet["properties"]["subnets"]} == set(SUBNETS)
    for name in ("snet-nodes", "snet-apiserver"):
        subnet = by_suffix(arm, "/subnets/" + name)
        assert subnet["properties"]["defaultOutboundAccess"] is False
        assert subnet["properties"]["networkSecurityGroup"]["id"].lower().endswith("/nsg-" + name)
    apiserver = by_suffix(arm, "/subnets/snet-apiserver")
    assert [d["properties"]["serviceName"] for d in apiserver["properties"]["delegations"]] == [
        "Microsoft.ContainerService/managedClusters"]
    nodes_nsg = by_suffix(arm, "/networkSecurityGroups/nsg-snet-nodes")
    rules = {r["name"]: r["properties"] for r in nodes_nsg["properties"]["securityRules"]}
    assert rules["allow-apiserver"]["destinationAddressPrefix"] == "10.40.4.0/28"
    assert sorted(rules["allow-apiserver"]["destinationPortRanges"]) == ["443", "4443"]
    assert rules["deny-all-outbound"]["access"] == "Deny" and rules["deny-all-outbound"]["priority"] == 4096
    for zone in ("privatelink.azurecr.io", "privatelink.file.core.windows.net"):
        link = by_suffix(arm, "/privateDnsZones/%s/virtualNetworkLinks/vnet-llm" % zone)
        assert link["properties"]["virtualNetwork"]["id"].lower() == vnet["id"].lower()


def test_second_run_is_a_noop_with_reads_only(playbook, arm):
    assert playbook("network.yml", BASE).rc == 0
    arm.clear_requests()
    run = playbook("network.yml", BASE)
    assert run.rc == 0, run
    assert run.changed == 0, [name for name, r in run.tasks() if r.get("changed")]
    assert arm.writes() == []
    reads = [r for r in arm_requests(arm) if r["method"] == "GET"]
    # One GET per managed resource: rg, vnet, 4 NSGs, 4 subnets, 3 zones, 3 links.
    assert len(reads) <= 16, [r["path"] for r in reads]


def test_check_mode_on_empty_subscription_reports_changes_and_writes_nothing(playbook, arm):
    run = playbook("network.yml", BASE, check=True)
    assert run.rc == 0, run
    assert run.changed > 0
    assert arm.writes() == []
    assert arm.resources() == {}


def test_diff_shows_what_changes(playbook, arm):
    assert playbook("network.yml", BASE).rc == 0
    run = playbook("network.yml", dict(BASE, isolated_network_tags={"owner": "platform"}), diff=True,
                   json_output=False)
    assert run.rc == 0, run.stdout[-3000:]
    assert "owner" in run.stdout and "platform" in run.stdout
    assert "managed-by" in run.stdout  # the tag being purged shows on the before side
    assert by_suffix(arm, "/resourceGroups/" + RG)["tags"] == {"owner": "platform"}
    arm.clear_requests()
    again = playbook("network.yml", dict(BASE, isolated_network_tags={"owner": "platform"}))
    assert again.rc == 0 and again.changed == 0 and arm.writes() == [], again


def test_throttling_and_transient_errors_are_survived(playbook, arm):
    arm.add_fault(method="PUT", path=r"/virtualNetworks/vnet-llm$", status=429, retry_after=1, times=2)
    arm.add_fault(method="PUT", path=r"/subnets/", status=503, times=1)
    arm.add_fault(method="GET", path=r"/networkSecurityGroups/", status=500, times=1)
    # another operation holds the virtual network (AKS joining its nodes, say): Azure says 409, wait
    arm.add_fault(method="PUT", path=r"/subnets/snet-jumpbox$", status=409, code="AnotherOperationInProgress",
                  message="Another operation on this or dependent resource is in progress.", times=1)
    run = playbook("network.yml", BASE)
    assert run.rc == 0, run
    statuses = [(r["method"], r["status"]) for r in arm_requests(arm)]
    assert statuses.count(("PUT", 429)) == 2
    assert ("PUT", 503) in statuses and ("GET", 500) in statuses and ("PUT", 409) in statuses
    assert by_suffix(arm, "/virtualNetworks/vnet-llm")


def test_a_real_conflict_is_not_retried(playbook, arm):
    arm.add_fault(method="PUT", path=r"/subnets/snet-apiserver$", status=409, code="InUseSubnetCannotBeUpdated",
                  message="the subnet is in use", times=1)
    run = playbook("network.yml", BASE)
    assert run.rc != 0
    assert "InUseSubnetCannotBeUpdated" in run.failure_message()
    assert [r["status"] for r in arm_requests(arm) if r["path"].endswith("/subnets/snet-apiserver")
            and r["method"] == "PUT"] == [409]


def test_failed_operation_fails_the_task_with_azure_message(playbook, arm):
    arm.add_fault(method="PUT", path=r"/subnets/snet-apiserver$", operation="Failed",
                  code="SubnetDelegationFailed", message="delegation could not be applied")
    run = playbook("network.yml", BASE)
    assert run.rc != 0
    msg = run.failure_message()
    assert "SubnetDelegationFailed" in msg and "delegation could not be applied" in msg
    assert "Traceback" not in run.stdout


def test_subnet_added_out_of_band_survives_a_vnet_update(playbook, arm):
    assert playbook("network.yml", BASE).rc == 0
    vnet = by_suffix(arm, "/virtualNetworks/vnet-llm")
    token = requests.post(
        "%s/%s/oauth2/v2.0/token" % (arm.url, arm.tenant_id),
        data={"grant_type": "client_credentials", "client_id": arm.client_id, "client_secret": arm.client_secret,
              "scope": arm.url + "/.default"}, verify=arm.ca_path, timeout=30).json()["access_token"]
    response = requests.put(
        arm.url + vnet["id"] + "/subnets/snet-out-of-band", params={"api-version": "2024-05-01"},
        json={"properties": {"addressPrefix": "10.40.200.0/24"}},
        headers={"Authorization": "Bearer " + token}, verify=arm.ca_path, timeout=30)
    assert response.status_code in (200, 201), response.text
    run = playbook("network.yml", dict(BASE, isolated_network_address_space=["10.40.0.0/16", "10.50.0.0/16"]))
    assert run.rc == 0, run
    vnet = by_suffix(arm, "/virtualNetworks/vnet-llm")
    assert sorted(vnet["properties"]["addressSpace"]["addressPrefixes"]) == ["10.40.0.0/16", "10.50.0.0/16"]
    assert "snet-out-of-band" in {s["name"] for s in vnet["properties"]["subnets"]}
    assert any(r["method"] == "PUT" and r["path"].lower().endswith("/virtualnetworks/vnet-llm")
               for r in arm.writes())


def test_teardown_removes_everything(playbook, arm):
    # teardown.yml removes every stage; the later ones find nothing to remove here.
    base = dict(BASE, container_registry_name="acrittest", model_storage_account_name="stittest")
    assert playbook("network.yml", base).rc == 0
    refused = playbook("teardown.yml", base)
    assert refused.rc != 0 and "teardown_confirm" in refused.failure_message()
    assert arm.resources()
    run = playbook("teardown.yml", dict(base, teardown_confirm=RG))
    assert run.rc == 0, run
    assert arm.resources() == {}
    again = playbook("teardown.yml", dict(base, teardown_confirm=RG))
    assert again.rc == 0 and again.changed == 0, again


BAD_INPUT = [
    ({"isolated_network_nodes_subnet": {"name": "snet-nodes", "prefix": "10.40.0.0/33"}},
     "isolated_network_nodes_subnet.prefix"),
    ({"isolated_network_jumpbox_subnet": {"name": "snet-jumpbox", "prefix": "10.99.0.0/24"}},
     "isolated_network_jumpbox_subnet.prefix: 10.99.0.0/24 is outside"),
    ({"isolated_network_private_endpoint_subnet": {"name": "snet-pe", "prefix": "10.40.1.0/24"}},
     "isolated_network_private_endpoint_subnet.prefix: 10.40.1.0/24 overlaps"),
    ({"isolated_network_apiserver_subnet": {"name": "snet-apiserver", "prefix": "10.40.4.0/29"}},
     "isolated_network_apiserver_subnet.prefix: 10.40.4.0/29 is too small"),
    ({"isolated_network_address_space": ["10.40.0.1/16"]}, "isolated_network_address_space[0]"),
    ({"isolated_network_pod_cidr": "10.40.128.0/17"}, "isolated_network_pod_cidr"),
]


@pytest.mark.parametrize("extra,words", BAD_INPUT, ids=[case[1].split(":")[0] for case in BAD_INPUT])
def test_bad_input_fails_before_any_request(playbook, arm, extra, words):
    run = playbook("network.yml", dict(BASE, **extra))
    assert run.rc != 0
    assert words in run.failure_message(), run.failure_message()
    assert arm_requests(arm) == []


def test_missing_subscription_fails_before_any_request(playbook, arm, connection):
    conn = dict(connection)
    del conn["subscription_id"]
    run = playbook("network.yml", dict(BASE, azure_connection=conn))
    assert run.rc != 0
    assert run.failure_message().startswith("subscription_id: is required")
    assert [r for r in arm.requests() if r["kind"] in ("arm", "token")] == []


def test_arm_refusal_carries_azure_code_and_message(playbook, arm):
    run = playbook("network.yml", dict(BASE, isolated_network_location="atlantis"))
    assert run.rc != 0
    msg = run.failure_message()
    assert "failed:" in msg and "atlantis" in msg.lower(), msg
    assert "Traceback" not in json.dumps(run.events)


STARTED_EARLY = "../tests/integration/playbooks/network_registry_start.yml"
REGISTRY = dict(BASE, container_registry_name="acrit01")


def _put_paths(arm):
    return [r["path"].lower() for r in arm.writes() if r["method"] == "PUT"]


def test_site_order_starts_zones_and_registry_first_and_writes_each_resource_once(playbook, arm):
    run = playbook(STARTED_EARLY, REGISTRY)
    assert run.rc == 0, run.failure_message()
    puts = _put_paths(arm)
    assert len(puts) == len(set(puts)), [p for p in puts if puts.count(p) > 1]
    vnet = next(i for i, p in enumerate(puts) if p.endswith("/virtualnetworks/vnet-llm"))
    registry = next(i for i, p in enumerate(puts) if p.endswith("/registries/acrit01"))
    zones = [i for i, p in enumerate(puts) if p.split("/")[-2] == "privatednszones"]
    # the slow ones were sent before the network was built, and nothing waited for them in between
    assert registry < vnet and zones and max(zones) < registry
    # ...and were awaited before anything needed them: everything ends Succeeded, linked and connected
    for suffix in ("/registries/acrit01", "/privateEndpoints/pe-acrit01",
                   "/privateDnsZones/privatelink.azurecr.io/virtualNetworkLinks/vnet-llm"):
        assert by_suffix(arm, suffix)["properties"]["provisioningState"] == "Succeeded", suffix
    # the registry stage found the zone through the network's fact, whose zone ids came from the start
    group = by_suffix(arm, "/privateEndpoints/pe-acrit01/privateDnsZoneGroups/default")
    zone_ids = [c["properties"]["privateDnsZoneId"].lower() for c in group["properties"]["privateDnsZoneConfigs"]]
    assert zone_ids == [by_suffix(arm, "/privateDnsZones/privatelink.azurecr.io")["id"].lower()]

    arm.clear_requests()
    again = playbook(STARTED_EARLY, REGISTRY)
    assert again.rc == 0, again.failure_message()
    assert again.changed == 0, [name for name, r in again.tasks() if r.get("changed")]
    assert arm.writes() == []


def test_site_order_in_check_mode_writes_nothing(playbook, arm):
    run = playbook(STARTED_EARLY, REGISTRY, check=True)
    assert run.rc == 0, run.failure_message()
    assert run.changed > 0
    assert arm.writes() == [] and arm.resources() == {}
