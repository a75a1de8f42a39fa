"""The isolation audit: every check table-driven (clean body: no finding; leaky body: the finding with
its severity and resource id), the collector on a fake ARM (GET only), the verdict, and the reports."""
import copy
import json
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import isolation_audit as audit
from ansible_collections.airgap.aks_inference.plugins.module_utils import isolation_report as report
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError

SUB = "00000000-0000-0000-0000-000000000001"
RG = "/subscriptions/%s/resourceGroups/rg-llm" % SUB
NODE_RG = "/subscriptions/%s/resourceGroups/MC_rg-llm_aks-llm_westeurope" % SUB
NET = RG + "/providers/Microsoft.Network"
VNET = NET + "/virtualNetworks/vnet-llm"
NODES = VNET + "/subnets/snet-nodes"
API = VNET + "/subnets/snet-apiserver"
PE = VNET + "/subnets/snet-private-endpoints"
JUMP = VNET + "/subnets/snet-jumpbox"
NAT = NET + "/natGateways/ng-jumpbox"
NAT_PIP = NET + "/publicIPAddresses/pip-ng-jumpbox"
JUMP_NIC = NET + "/networkInterfaces/vm-jumpbox-nic"
PE_NIC = NET + "/networkInterfaces/pe-acrllm.nic.1"
VM = RG + "/providers/Microsoft.Compute/virtualMachines/vm-jumpbox"
AKS = RG + "/providers/Microsoft.ContainerService/managedClusters/aks-llm"
ACR = RG + "/providers/Microsoft.ContainerRegistry/registries/acrllm"
ST = RG + "/providers/Microsoft.Storage/storageAccounts/stllm"
ZONE_ACR = NET + "/privateDnsZones/privatelink.azurecr.io"
ZONE_FILE = NET + "/privateDnsZones/privatelink.file.core.windows.net"
RT = NET + "/routeTables/rt-nodes"


def approved(name):
    return {"id": "%s/privateEndpointConnections/%s" % (ACR, name), "name": name, "properties": {
        "privateEndpoint": {"id": NET + "/privateEndpoints/" + name},
        "privateLinkServiceConnectionState": {"status": "Approved", "description": "Auto-Approved"}}}


def subnet(rid, **p):
    return {"id": rid, "name": rid.rsplit("/", 1)[-1], "properties": dict({"defaultOutboundAccess": False}, **p)}


def nic(rid, subnet_id, pip=None):
    config = {"subnet": {"id": subnet_id}}
    if pip:
        config["publicIPAddress"] = {"id": pip}
    return {"id": rid, "name": rid.rsplit("/", 1)[-1], "properties": {"ipConfigurations": [
        {"id": rid + "/ipConfigurations/ipconfig1", "name": "ipconfig1", "properties": config}]}}


def cluster(**changes):
    body = {"id": AKS, "name": "aks-llm", "properties": {
        "nodeResourceGroup": "MC_rg-llm_aks-llm_westeurope",
        "networkProfile": {"outboundType": "none", "networkPlugin": "azure", "loadBalancerSku": "standard"},
        "bootstrapProfile": {"artifactSource": "Cache", "containerRegistryId": ACR},
        "apiServerAccessProfile": {"enablePrivateCluster": True, "enableVnetIntegration": True, "subnetId": API},
        "agentPoolProfiles": [{"name": "system", "mode": "System", "vnetSubnetID": NODES},
                              {"name": "gpu", "mode": "User", "vnetSubnetID": NODES}]}}
    body["properties"].update(changes)
    return body


def registry(**changes):
    body = {"id": ACR, "name": "acrllm", "sku": {"name": "Premium"}, "properties": {
        "publicNetworkAccess": "Disabled", "privateEndpointConnections": [approved("pe-acrllm")]}}
    body["properties"].update(changes)
    return body


AKS_RULE = {"id": ACR + "/cacheRules/aks-managed-mcr", "name": "aks-managed-mcr", "properties": {
    "sourceRepository": "mcr.microsoft.com/*", "targetRepository": "aks-managed-repository/*"}}


def storage(**changes):
    body = {"id": ST, "name": "stllm", "kind": "FileStorage", "properties": {
        "publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny"},
        "privateEndpointConnections": [approved("pe-stllm")]}}
    body["properties"].update(changes)
    return body


def link(zone, vnet=VNET, state="Succeeded"):
    return {"id": zone + "/virtualNetworkLinks/vnet-llm", "name": "vnet-llm",
            "properties": {"virtualNetwork": {"id": vnet}, "provisioningState": state}}


def ids(findings):
    return [(f["id"], f["severity"], f["resource_id"]) for f in findings]


# -- every check: clean -> nothing, leak -> the finding ------------------------------------------
CASES = [
    # (name, check, clean args, leaky args, expected findings)
    ("nat gateway on the node subnet", audit.check_cluster_subnet,
     (subnet(NODES), audit.NODES), (subnet(NODES, natGateway={"id": NAT}), audit.NODES),
     [("NET-001", "critical", NODES)]),
    ("default outbound access on", audit.check_cluster_subnet,
     (subnet(API), audit.APISERVER), (subnet(API, defaultOutboundAccess=True), audit.APISERVER),
     [("NET-002", "critical", API)]),
    ("default outbound access unset (Azure's default: on)", audit.check_cluster_subnet,
     (subnet(NODES), audit.NODES), ({"id": NODES, "properties": {}}, audit.NODES),
     [("NET-002", "critical", NODES)]),
    ("default route to the internet", audit.check_cluster_subnet,
     (subnet(NODES, routeTable={"id": RT}), audit.NODES, {"id": RT, "properties": {"routes": [
         {"id": RT + "/routes/fw", "name": "fw", "properties": {"addressPrefix": "0.0.0.0/0",
                                                                "nextHopType": "VirtualAppliance"}}]}}),
     (subnet(NODES, routeTable={"id": RT}), audit.NODES, {"id": RT, "properties": {"routes": [
         {"id": RT + "/routes/default", "name": "default", "properties": {"addressPrefix": "0.0.0.0/0",
                                                                          "nextHopType": "Internet"}}]}}),
     [("NET-003", "high", RT + "/routes/default")]),
    ("narrower route to the internet", audit.check_cluster_subnet,
     (subnet(NODES), audit.NODES, {"id": RT, "properties": {"routes": []}}),
     (subnet(NODES), audit.NODES, {"id": RT, "properties": {"routes": [
         {"name": "half", "properties": {"addressPrefix": "0.0.0.0/1", "nextHopType": "internet"}}]}}),
     [("NET-003", "medium", RT + "/routes/half")]),
    ("nat gateway on the private endpoint subnet", audit.check_nat_gateway_placement,
     ([subnet(NODES), subnet(PE), subnet(JUMP, natGateway={"id": NAT})], JUMP, [NODES, API]),
     ([subnet(NODES), subnet(PE, natGateway={"id": NAT}), subnet(JUMP, natGateway={"id": NAT})], JUMP, [NODES]),
     [("NET-006", "high", PE)]),
    ("public ip on a node-subnet interface", audit.check_nic_public_ips,
     (nic(PE_NIC, NODES), {NODES.lower(): audit.NODES}),
     (nic(PE_NIC, NODES, pip=NET + "/publicIPAddresses/pip-x"), {NODES.lower(): audit.NODES}),
     [("NET-004", "critical", PE_NIC)]),
    ("public ip on a private-endpoint-subnet interface", audit.check_nic_public_ips,
     (nic(PE_NIC, PE), {PE.lower(): audit.OTHER}),
     (nic(PE_NIC, PE, pip=NET + "/publicIPAddresses/pip-x"), {PE.lower(): audit.OTHER}),
     [("NET-004", "high", PE_NIC)]),
    ("public ip on the jump box", audit.check_nic_public_ips,
     (nic(JUMP_NIC, JUMP), {JUMP.lower(): audit.JUMPBOX}),
     (nic(JUMP_NIC, JUMP, pip=NET + "/publicIPAddresses/pip-jb"), {JUMP.lower(): audit.JUMPBOX}),
     [("JMP-001", "high", JUMP_NIC)]),
    ("public ip in the node resource group", audit.check_node_resource_group_public_ips,
     ([], "MC_x"), ([{"id": NODE_RG + "/providers/Microsoft.Network/publicIPAddresses/kubernetes-a",
                      "properties": {"ipConfiguration": {"id": "lb-frontend"}}}], "MC_x"),
     [("NET-005", "critical", NODE_RG + "/providers/Microsoft.Network/publicIPAddresses/kubernetes-a")]),
    ("public ip used by another resource", audit.check_public_ips,
     ([{"id": NAT_PIP, "properties": {"natGateway": {"id": NAT}}}], [NAT], []),
     ([{"id": NAT_PIP, "properties": {"natGateway": {"id": NAT}}},
       {"id": NET + "/publicIPAddresses/pip-lb", "properties": {"ipConfiguration": {"id": NET + "/loadBalancers/lb/x"}}}],
      [NAT], []),
     [("NET-007", "medium", NET + "/publicIPAddresses/pip-lb")]),
    ("unused public ip", audit.check_public_ips,
     ([], [NAT], []), ([{"id": NET + "/publicIPAddresses/pip-spare", "properties": {}}], [NAT], []),
     [("NET-007", "low", NET + "/publicIPAddresses/pip-spare")]),
    ("public ip on another nat gateway", audit.check_public_ips,
     ([{"id": NAT_PIP, "properties": {"natGateway": {"id": NAT.upper()}}}], [NAT], []),
     ([{"id": NAT_PIP, "properties": {"natGateway": {"id": NET + "/natGateways/ng-other"}}}], [NAT], []),
     [("NET-007", "medium", NAT_PIP)]),
    ("outbound type load balancer", audit.check_cluster,
     (cluster(),), (cluster(networkProfile={"outboundType": "loadBalancer"}),), [("AKS-001", "critical", AKS)]),
    ("outbound type user-defined routing", audit.check_cluster,
     (cluster(),), (cluster(networkProfile={"outboundType": "userDefinedRouting"}),), [("AKS-001", "high", AKS)]),
    ("bootstrap from mcr directly", audit.check_cluster,
     (cluster(),), (cluster(bootstrapProfile={"artifactSource": "Direct"}),), [("AKS-002", "high", AKS)]),
    ("bootstrap from another registry", audit.check_cluster,
     (cluster(), ACR), (cluster(bootstrapProfile={"artifactSource": "Cache", "containerRegistryId": ACR + "x"}), ACR),
     [("AKS-002", "medium", AKS)]),
    ("public api server", audit.check_cluster,
     (cluster(),), (cluster(apiServerAccessProfile={"enablePrivateCluster": False, "enableVnetIntegration": True}),),
     [("AKS-003", "critical", AKS)]),
    ("private api server with a public fqdn", audit.check_cluster,
     (cluster(),), (cluster(apiServerAccessProfile={"enablePrivateCluster": True, "enableVnetIntegration": True,
                                                    "enablePrivateClusterPublicFQDN": True}),),
     [("AKS-003", "low", AKS)]),
    ("api server without vnet integration", audit.check_cluster,
     (cluster(),), (cluster(apiServerAccessProfile={"enablePrivateCluster": True}),), [("AKS-004", "low", AKS)]),
    ("public outbound ips on the load balancer", audit.check_cluster,
     (cluster(),), (cluster(networkProfile={"outboundType": "loadBalancer", "loadBalancerProfile": {
         "managedOutboundIPs": {"count": 1}, "effectiveOutboundIPs": [{"id": NODE_RG + "/x/pip1"}]}}),),
     [("AKS-001", "critical", AKS), ("AKS-005", "critical", AKS)]),
    ("node public ips", audit.check_cluster,
     (cluster(),), (cluster(agentPoolProfiles=[{"name": "gpu", "vnetSubnetID": NODES, "enableNodePublicIP": True}]),),
     [("AKS-006", "critical", AKS + "/agentPools/gpu")]),
    ("node pool in an aks-managed network", audit.check_cluster,
     (cluster(),), (cluster(agentPoolProfiles=[{"name": "system"}]),), [("AKS-007", "medium", AKS + "/agentPools/system")]),
    ("registry public", audit.check_registry,
     (registry(), [AKS_RULE]), (registry(publicNetworkAccess="Enabled"), [AKS_RULE]), [("ACR-001", "high", ACR)]),
    ("registry public by default", audit.check_registry,
     (registry(), [AKS_RULE]), ({"id": ACR, "properties": {"privateEndpointConnections": [approved("a")]}},
                                [AKS_RULE]),
     [("ACR-001", "high", ACR)]),
    ("registry without an approved private endpoint", audit.check_registry,
     (registry(), [AKS_RULE]),
     (registry(privateEndpointConnections=[dict(approved("pe"), properties={
         "privateLinkServiceConnectionState": {"status": "Pending"}})]), [AKS_RULE]),
     [("ACR-002", "high", ACR)]),
    ("no aks-managed-mcr rule", audit.check_registry,
     (registry(), [AKS_RULE]), (registry(), []), [("ACR-003", "high", ACR + "/cacheRules/aks-managed-mcr")]),
    ("aks-managed-mcr rule with the wrong target", audit.check_registry,
     (registry(), [AKS_RULE]),
     (registry(), [dict(AKS_RULE, properties={"sourceRepository": "mcr.microsoft.com/*",
                                              "targetRepository": "mcr/*"})]),
     [("ACR-003", "high", ACR + "/cacheRules/aks-managed-mcr")]),
    ("storage open to every network", audit.check_storage_account,
     (storage(),), (storage(publicNetworkAccess="Enabled", networkAcls={"defaultAction": "Allow"}),),
     [("STG-001", "high", ST)]),
    ("storage open to selected networks", audit.check_storage_account,
     (storage(),), (storage(publicNetworkAccess="Enabled", networkAcls={"defaultAction": "Deny",
                                                                        "ipRules": [{"value": "1.2.3.4"}]}),),
     [("STG-001", "medium", ST)]),
    ("storage without a private endpoint", audit.check_storage_account,
     (storage(),), (storage(privateEndpointConnections=[]),), [("STG-002", "medium", ST)]),
    ("zone missing", audit.check_private_dns_zones,
     ([ZONE_ACR], {ZONE_ACR.lower(): {"id": ZONE_ACR}}, {ZONE_ACR.lower(): [link(ZONE_ACR)]}, VNET),
     ([ZONE_ACR], {ZONE_ACR.lower(): None}, {}, VNET), [("DNS-001", "medium", ZONE_ACR)]),
    ("zone linked to another vnet", audit.check_private_dns_zones,
     ([ZONE_FILE], {ZONE_FILE.lower(): {"id": ZONE_FILE}}, {ZONE_FILE.lower(): [link(ZONE_FILE, VNET.upper())]}, VNET),
     ([ZONE_FILE], {ZONE_FILE.lower(): {"id": ZONE_FILE}}, {ZONE_FILE.lower(): [link(ZONE_FILE, VNET + "-hub")]}, VNET),
     [("DNS-002", "medium", ZONE_FILE)]),
    ("zone link failed", audit.check_private_dns_zones,
     ([ZONE_FILE], {ZONE_FILE.lower(): {"id": ZONE_FILE}}, {ZONE_FILE.lower(): [link(ZONE_FILE)]}, VNET),
     ([ZONE_FILE], {ZONE_FILE.lower(): {"id": ZONE_FILE}}, {ZONE_FILE.lower(): [link(ZONE_FILE, state="Failed")]},
      VNET),
     [("DNS-002", "medium", ZONE_FILE)]),
    ("jump box nat gateway on another subnet too", audit.check_jumpbox,
     (subnet(JUMP, natGateway={"id": NAT}), {"id": NAT, "properties": {
         "publicIpAddresses": [{"id": NAT_PIP}], "subnets": [{"id": JUMP}]}}),
     (subnet(JUMP, natGateway={"id": NAT}), {"id": NAT, "properties": {
         "publicIpAddresses": [{"id": NAT_PIP}], "subnets": [{"id": JUMP}, {"id": NODES}]}}),
     [("JMP-002", "high", NAT)]),
    ("jump box out through default outbound access", audit.check_jumpbox,
     (subnet(JUMP, natGateway={"id": NAT}), {"id": NAT, "properties": {
         "publicIpAddresses": [{"id": NAT_PIP}], "subnets": [{"id": JUMP}]}}),
     (subnet(JUMP, defaultOutboundAccess=True), None),
     [("JMP-003", "medium", JUMP)]),
]


@pytest.mark.parametrize("name, check, clean, leaky, expected", CASES, ids=[c[0] for c in CASES])
def test_check(name, check, clean, leaky, expected):
    assert check(*clean) == [], name
    found = check(*leaky)
    assert sorted(ids(found)) == sorted(expected)
    for item in found:
        assert set(item) == {"id", "severity", "resource_id", "title", "detail", "remediation"}
        assert item["title"] == audit.CHECK_BY_ID[item["id"]].title and item["detail"] and item["remediation"]


def test_every_check_id_has_a_case_or_a_collector_test():
    covered = {e[0] for case in CASES for e in case[4]} | {"NET-000", "AKS-000", "ACR-000", "STG-000", "JMP-000"}
    assert covered == set(audit.CHECK_BY_ID)


def test_jump_box_without_nat_gateway_has_no_egress_info_only():
    found = audit.check_jumpbox(subnet(JUMP), None)
    assert ids(found) == [("JMP-003", "info", JUMP)]
    found = audit.check_jumpbox(subnet(JUMP, natGateway={"id": NAT}), {"id": NAT, "properties": {"subnets": [{"id": JUMP}]}})
    assert ids(found) == [("JMP-003", "info", NAT)]


@pytest.mark.parametrize("severity, threshold, expected", [
    ("critical", "high", True), ("high", "high", True), ("medium", "high", False), ("info", "info", True),
    ("critical", "none", False), ("low", "medium", False)])
def test_at_least(severity, threshold, expected):
    assert audit.at_least(severity, threshold) is expected


# -- the collector and the whole audit on a fake ARM -------------------------------------------
class FakeArm:
    """GET and list over a dict of id -> body; collections are the bodies under a path. Records calls."""

    def __init__(self, resources, groups):
        self.resources = dict((k.lower(), v) for k, v in resources.items())
        self.groups = set(g.lower() for g in groups)
        self.calls = []

    def get(self, rid, api_version):
        self.calls.append(("GET", rid))
        return copy.deepcopy(self.resources.get(rid.lower()))

    def list(self, path, api_version):
        self.calls.append(("LIST", path))
        low = path.lower()
        group = low.split("/providers/")[0]
        if group.split("/resourcegroups/")[-1] not in self.groups:
            raise ArmError(404, "ResourceGroupNotFound", "Resource group not found.")
        out = []
        for rid, body in sorted(self.resources.items()):
            rest = rid[len(low) + 1:] if rid.startswith(low + "/") else None
            if rest and "/" not in rest:
                out.append(copy.deepcopy(body))
        return out

    def __getattr__(self, name):
        raise AssertionError("the audit called %s: it must only read" % name)


def clean_world():
    nat_gw = {"id": NAT, "properties": {"publicIpAddresses": [{"id": NAT_PIP}], "subnets": [{"id": JUMP}]}}
    world = {
        VNET: {"id": VNET, "properties": {}},
        NODES: subnet(NODES), API: subnet(API),
        PE: subnet(PE, ipConfigurations=[{"id": PE_NIC + "/ipConfigurations/registry"}]),
        JUMP: subnet(JUMP, natGateway={"id": NAT}, ipConfigurations=[{"id": JUMP_NIC + "/ipConfigurations/ipconfig1"}]),
        NAT: nat_gw, NAT_PIP: {"id": NAT_PIP, "properties": {"natGateway": {"id": NAT}}},
        JUMP_NIC: nic(JUMP_NIC, JUMP), PE_NIC: nic(PE_NIC, PE),
        VM: {"id": VM, "properties": {"networkProfile": {"networkInterfaces": [{"id": JUMP_NIC}]}}},
        AKS: cluster(), ACR: registry(), AKS_RULE["id"]: AKS_RULE, ST: storage(),
        ZONE_ACR: {"id": ZONE_ACR}, ZONE_ACR + "/virtualNetworkLinks/vnet-llm": link(ZONE_ACR),
        ZONE_FILE: {"id": ZONE_FILE}, ZONE_FILE + "/virtualNetworkLinks/vnet-llm": link(ZONE_FILE),
    }
    return world


PARAMS = {"resource_group": "rg-llm", "virtual_network": "vnet-llm", "node_subnets": ["snet-nodes"],
          "apiserver_subnet": "snet-apiserver", "jumpbox_subnet": "snet-jumpbox", "jumpbox_vm": "vm-jumpbox",
          "cluster": "aks-llm", "registry": "acrllm", "storage_account": "stllm"}
GROUPS = ("rg-llm", "MC_rg-llm_aks-llm_westeurope")


def run(world, params=None, groups=GROUPS, fail_on="high"):
    arm = FakeArm(world, groups)
    target = audit.build_target(dict(PARAMS, **(params or {})), SUB)
    return audit.run_audit(arm, target, fail_on), arm


def test_clean_world_has_no_finding_and_only_reads():
    summary, arm = run(clean_world())
    assert summary["findings"] == [] and summary["passed"] and summary["blocking"] == []
    assert summary["counts"] == {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0}
    assert all(c["status"] == "passed" for c in summary["checks"]), summary["checks"]
    assert {c[0] for c in arm.calls} == {"GET", "LIST"}


def _put(world, body):
    world[body["id"]] = body


LEAKS = [
    ("public ip in the node resource group",
     lambda w: _put(w, {"id": NODE_RG + "/providers/Microsoft.Network/publicIPAddresses/pip-leak", "properties": {}}),
     ("NET-005", "critical", NODE_RG + "/providers/Microsoft.Network/publicIPAddresses/pip-leak")),
    ("nat gateway on the node subnet", lambda w: w[NODES]["properties"].update(natGateway={"id": NAT}),
     ("NET-001", "critical", NODES)),
    ("default outbound access on the api subnet", lambda w: w[API]["properties"].update(defaultOutboundAccess=True),
     ("NET-002", "critical", API)),
    ("route table to the internet", lambda w: (
        w[NODES]["properties"].update(routeTable={"id": RT}),
        _put(w, {"id": RT, "properties": {"routes": [{"id": RT + "/routes/inet", "name": "inet", "properties": {
            "addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"}}]}})),
     ("NET-003", "high", RT + "/routes/inet")),
    ("public ip on the jump box nic", lambda w: _put(w, nic(JUMP_NIC, JUMP, pip=NET + "/publicIPAddresses/pip-jb")),
     ("JMP-001", "high", JUMP_NIC)),
    ("node nic listed in the group only (no subnet back-reference)",
     lambda w: _put(w, nic(NET + "/networkInterfaces/nic-node", NODES, pip=NET + "/publicIPAddresses/pip-n")),
     ("NET-004", "critical", NET + "/networkInterfaces/nic-node")),
    ("registry public", lambda w: w[ACR]["properties"].update(publicNetworkAccess="Enabled"),
     ("ACR-001", "high", ACR)),
    ("no aks-managed-mcr", lambda w: w.pop(AKS_RULE["id"]), ("ACR-003", "high", AKS_RULE["id"])),
    ("storage public", lambda w: w[ST]["properties"].update(
        publicNetworkAccess="Enabled", networkAcls={"defaultAction": "Allow"}),
     ("STG-001", "high", ST)),
    ("zone not linked", lambda w: w.pop(ZONE_FILE + "/virtualNetworkLinks/vnet-llm"),
     ("DNS-002", "medium", ZONE_FILE)),
    ("outbound type load balancer", lambda w: w[AKS]["properties"].update(networkProfile={"outboundType": "loadBalancer"}),
     ("AKS-001", "critical", AKS)),
    ("second node subnet from a pool, with a nat gateway", lambda w: (
        w[AKS]["properties"]["agentPoolProfiles"].append({"name": "gpu2", "vnetSubnetID": VNET + "/subnets/snet-gpu"}),
        _put(w, subnet(VNET + "/subnets/snet-gpu", natGateway={"id": NAT}))),
     ("NET-001", "critical", VNET + "/subnets/snet-gpu")),
    ("jump box nat gateway on the private endpoint subnet too", lambda w: (
        w[PE]["properties"].update(natGateway={"id": NAT}),
        w[NAT]["properties"]["subnets"].append({"id": PE})),
     ("JMP-002", "high", NAT)),
    ("cluster missing", lambda w: w.pop(AKS), ("AKS-000", "high", AKS)),
    ("registry missing", lambda w: w.pop(ACR), ("ACR-000", "high", ACR)),
    ("vnet missing", lambda w: w.pop(VNET), ("NET-000", "high", VNET)),
    ("jump box subnet missing", lambda w: w.pop(JUMP), ("JMP-000", "high", JUMP)),
    ("storage account missing", lambda w: w.pop(ST), ("STG-000", "high", ST)),
]


@pytest.mark.parametrize("name, leak, expected", LEAKS, ids=[c[0] for c in LEAKS])
def test_each_leak_is_found_through_the_collector(name, leak, expected):
    world = clean_world()
    leak(world)
    summary, _arm = run(world)
    assert expected in ids(summary["findings"]), (name, ids(summary["findings"]))
    assert not summary["passed"]
    assert [f for f in summary["blocking"] if audit.at_least(f["severity"], "high")] == summary["blocking"]


def test_missing_optional_resources_are_info_and_skipped():
    world = clean_world()
    for rid in (NAT, NAT_PIP):  # no jump box: no NAT gateway either
        world.pop(rid)
    world[JUMP]["properties"].pop("natGateway")
    summary, _arm = run(world, {"storage_account": None, "registry": None, "jumpbox_subnet": None,
                                "jumpbox_vm": None})
    assert summary["passed"] and summary["blocking"] == []
    assert {(f["id"], f["severity"]) for f in summary["findings"]} == {
        ("STG-000", "info"), ("ACR-000", "info"), ("JMP-000", "info")}
    status = dict((c["id"], c["status"]) for c in summary["checks"])
    assert status["STG-001"] == status["ACR-003"] == status["JMP-002"] == "skipped"
    assert status["NET-001"] == "passed"


def test_without_a_jump_box_subnet_its_nat_gateway_is_a_leak():
    summary, _arm = run(clean_world(), {"jumpbox_subnet": None, "jumpbox_vm": None})
    assert ("NET-006", "high", JUMP) in ids(summary["findings"])
    assert ("NET-007", "medium", NAT_PIP) in ids(summary["findings"])


def test_node_resource_group_not_found_is_info():
    summary, _arm = run(clean_world(), groups=("rg-llm",))
    assert ids(summary["findings"]) == [("NET-005", "info", NODE_RG)]
    assert summary["passed"]


def test_fail_on_and_statuses():
    world = clean_world()
    world.pop(ZONE_FILE + "/virtualNetworkLinks/vnet-llm")
    summary, _arm = run(world, fail_on="high")
    assert summary["blocking"] == [] and not summary["passed"]
    assert dict((c["id"], c["status"]) for c in summary["checks"])["DNS-002"] == "warning"
    summary, _arm = run(world, fail_on="medium")
    assert ids(summary["blocking"]) == [("DNS-002", "medium", ZONE_FILE)]
    assert dict((c["id"], c["status"]) for c in summary["checks"])["DNS-002"] == "failed"
    summary, _arm = run(world, fail_on="none")
    assert summary["blocking"] == [] and dict((c["id"], c["status"]) for c in summary["checks"])["DNS-002"] == "failed"


def test_findings_are_worst_first_and_unique():
    world = clean_world()
    world[NODES]["properties"].update(natGateway={"id": NAT}, defaultOutboundAccess=True)
    world[ACR]["properties"].update(publicNetworkAccess="Enabled")
    world.pop(ZONE_ACR + "/virtualNetworkLinks/vnet-llm")
    summary, _arm = run(world, {"node_subnets": ["snet-nodes", NODES.upper()]})
    severities = [f["severity"] for f in summary["findings"]]
    assert severities == sorted(severities, key=lambda s: -audit.severity_rank(s))
    assert len(ids(summary["findings"])) == len(set(ids(summary["findings"])))


def test_permission_errors_are_not_hidden():
    class Forbidden(FakeArm):
        def get(self, rid, api_version):
            if "registries" in rid:
                raise ArmError(403, "AuthorizationFailed", "no read on the registry")
            return FakeArm.get(self, rid, api_version)

    arm = Forbidden(clean_world(), GROUPS)
    with pytest.raises(ArmError) as err:
        audit.run_audit(arm, audit.build_target(PARAMS, SUB))
    assert err.value.code == "AuthorizationFailed"


# -- inputs ------------------------------------------------------------------------------------
def test_build_target_names_and_ids():
    target = audit.build_target(dict(PARAMS, node_subnets=["snet-nodes", NODES.upper()],
                                     private_dns_zones=["privatelink.azurecr.io", ZONE_FILE],
                                     private_dns_zone_resource_group="rg-dns"), SUB)
    assert target["vnet_id"] == VNET and target["node_subnet_ids"] == [NODES]
    assert target["apiserver_subnet_ids"] == [API] and target["jumpbox_subnet_id"] == JUMP
    assert target["cluster_id"] == AKS and target["registry_id"] == ACR and target["storage_account_id"] == ST
    assert target["private_dns_zone_ids"] == [
        "/subscriptions/%s/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io"
        % SUB, ZONE_FILE]
    assert audit.build_target(dict(PARAMS, private_dns_zones=None), SUB)["private_dns_zone_ids"] == [ZONE_ACR, ZONE_FILE]


@pytest.mark.parametrize("changes, field", [
    ({"resource_group": ""}, "resource_group"),
    ({"virtual_network": None}, "virtual_network"),
    ({"cluster": ACR}, "cluster"),
    ({"node_subnets": [VNET]}, "node_subnets"),
    ({"registry": "bad/name"}, "registry"),
    ({"jumpbox_subnet": "/subscriptions/x/resourceGroups/y"}, "jumpbox_subnet"),
    ({"extra_resource_groups": ["ok", "no good"]}, "extra_resource_groups"),
])
def test_bad_input_names_the_field(changes, field):
    with pytest.raises(InputError) as err:
        audit.build_target(dict(PARAMS, **changes), SUB)
    assert err.value.field == field


def test_nic_of():
    assert audit.nic_of(JUMP_NIC + "/ipConfigurations/ipconfig1") == JUMP_NIC
    assert audit.nic_of(NET + "/loadBalancers/lb/frontendIPConfigurations/f") is None
    assert audit.nic_of(NODE_RG + "/providers/Microsoft.Compute/virtualMachineScaleSets/s/virtualMachines/0/"
                                  "networkInterfaces/n/ipConfigurations/c") is None


# -- reports -----------------------------------------------------------------------------------
def leaky_summary(fail_on="high"):
    world = clean_world()
    world[NODES]["properties"].update(natGateway={"id": NAT})
    world.pop(ZONE_FILE + "/virtualNetworkLinks/vnet-llm")
    world[AKS]["properties"]["agentPoolProfiles"][0]["name"] = "sys|tem"
    summary, _arm = run(world, {"storage_account": None}, fail_on=fail_on)
    return summary


def test_reports_render_and_are_written(tmp_path):
    summary = leaky_summary()
    doc = report.document(summary, {"virtual_network": VNET, "node_subnets": [NODES]}, "2025-01-01T00:00:00Z")
    paths = report.write_reports(doc, str(tmp_path / "out"), report.FORMATS, "audit")
    assert sorted(paths) == ["json", "junit", "markdown"]

    data = json.loads(open(paths["json"]).read())
    assert data["schema"] == report.SCHEMA and data["passed"] is False
    assert ("NET-001", "critical", NODES) in ids(data["findings"])

    markdown = open(paths["markdown"]).read()
    assert "| Severity | Check | Resource | Finding | Remediation |" in markdown
    assert "| critical | NET-001 No NAT gateway on a node or API-server subnet | `%s` |" % NODES in markdown
    for line in markdown.splitlines():
        if line.startswith("| "):
            assert line.count(" | ") == line.replace("\\|", "").count(" | ")  # pipes in text are escaped

    root = ET.parse(paths["junit"]).getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(audit.CHECKS) == int(suite.get("tests"))
    failed = dict((c.get("name").split()[0], c.find("failure")) for c in cases if c.find("failure") is not None)
    assert sorted(failed) == ["NET-001"] and failed["NET-001"].get("type") == "critical"
    assert int(suite.get("failures")) == 1
    dns = next(c for c in cases if c.get("name").startswith("DNS-002"))
    assert dns.find("failure") is None and "privatelink.file.core.windows.net" in dns.find("system-out").text
    skipped = [c.get("name").split()[0] for c in cases if c.find("skipped") is not None]
    assert "STG-001" in skipped and int(suite.get("skipped")) == len(skipped)


def test_junit_with_fail_on_none_fails_from_low():
    doc = report.document(leaky_summary("none"), {}, "2025-01-01T00:00:00Z")
    root = ET.fromstring(report.render_junit(doc))
    failed = [c.get("name").split()[0] for c in root.iter("testcase") if c.find("failure") is not None]
    assert sorted(failed) == ["DNS-002", "NET-001"]


def test_clean_markdown_says_no_findings():
    summary, _arm = run(clean_world())
    text = report.render_markdown(report.document(summary, {}, "2025-01-01T00:00:00Z"))
    assert "PASSED" in text and "No findings." in text
