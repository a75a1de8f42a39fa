"""A clean isolated environment, and the same with chosen leaks, put straight into the ARM emulator.

The shapes are those the stages' modules and the emulator's providers produce (network, private DNS,
registry with its private endpoint and aks-managed-mcr rule, storage account with its private endpoint,
network-isolated private cluster, jump box with its NAT gateway). Each leak is one way out of the isolated
network that the audit must find; ``EXPECTED`` names the finding each leak gives.
"""
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_arm import (  # noqa: E402 pylint: disable=wrong-import-position
    ACR_API, AKS_MCR_RULE, LOCATION, NET_API, RG_API, Arm)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DNS_API = "2024-06-01"
AKS_API = "2025-10-01"
ST_API = "2023-05-01"
VM_API = "2024-07-01"
ZONES = ("privatelink.azurecr.io", "privatelink.file.core.windows.net")

LEAKS = ("node_rg_public_ip", "nat_on_nodes", "default_outbound_apiserver", "internet_route", "node_nic_public_ip",
         "jumpbox_public_ip", "jumpbox_nat_shared", "registry_public", "no_aks_rule", "storage_public",
         "zone_not_linked", "cluster_outbound")

# leak -> [(check id, severity, resource id relative to the resource group, or "NODE_RG/..." / absolute)]
EXPECTED = {
    "node_rg_public_ip": [("NET-005", "critical", "NODE_RG/providers/Microsoft.Network/publicIPAddresses/kubernetes")],
    "nat_on_nodes": [("NET-001", "critical", "/providers/Microsoft.Network/virtualNetworks/vnet-llm/subnets/snet-nodes"),
                     ("NET-007", "medium", "/providers/Microsoft.Network/publicIPAddresses/pip-ng-leak")],
    "default_outbound_apiserver": [
        ("NET-002", "critical", "/providers/Microsoft.Network/virtualNetworks/vnet-llm/subnets/snet-apiserver")],
    "internet_route": [("NET-003", "high", "/providers/Microsoft.Network/routeTables/rt-nodes/routes/default")],
    "node_nic_public_ip": [("NET-004", "critical", "/providers/Microsoft.Network/networkInterfaces/nic-leak")],
    "jumpbox_public_ip": [("JMP-001", "high", "/providers/Microsoft.Network/networkInterfaces/vm-jumpbox-nic")],
    "jumpbox_nat_shared": [
        ("JMP-002", "high", "/providers/Microsoft.Network/natGateways/ng-jumpbox"),
        ("NET-006", "high", "/providers/Microsoft.Network/virtualNetworks/vnet-llm/subnets/snet-private-endpoints")],
    "registry_public": [("ACR-001", "high", "/providers/Microsoft.ContainerRegistry/registries/acrisolation")],
    "no_aks_rule": [("ACR-003", "high",
                     "/providers/Microsoft.ContainerRegistry/registries/acrisolation/cacheRules/aks-managed-mcr")],
    "storage_public": [("STG-001", "high", "/providers/Microsoft.Storage/storageAccounts/stisolation")],
    "zone_not_linked": [("DNS-002", "medium", "/providers/Microsoft.Network/privateDnsZones/"
                                              "privatelink.file.core.windows.net")],
    "cluster_outbound": [("AKS-001", "critical", "/providers/Microsoft.ContainerService/managedClusters/aks-isolation"),
                         ("AKS-002", "high", "/providers/Microsoft.ContainerService/managedClusters/aks-isolation"),
                         ("AKS-003", "critical", "/providers/Microsoft.ContainerService/managedClusters/aks-isolation")],
}


def local_ssh_key():
    """The throwaway public key of the local inventory (the emulator checks the format only)."""
    with open(os.path.join(ROOT, "inventories", "local", "group_vars", "all", "jumpbox.yml")) as handle:
        return yaml.safe_load(handle)["jumpbox_vm_ssh_public_key"].strip()


def seed(emu, rg, leaks=()):
    """Build the environment in ``rg`` with the given leaks; returns the verify_* variables for it."""
    unknown = set(leaks) - set(LEAKS)
    assert not unknown, unknown
    arm = Arm(emu)
    group = arm.rg(rg)
    net = group + "/providers/Microsoft.Network"
    arm.put(group, RG_API, {"location": LOCATION})

    def pip(name):
        return arm.put("%s/publicIPAddresses/%s" % (net, name), NET_API, {
            "location": LOCATION, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}})

    def nat(name):
        return arm.put("%s/natGateways/%s" % (net, name), NET_API, {
            "location": LOCATION, "sku": {"name": "Standard"}, "properties": {"publicIpAddresses": [
                {"id": pip("pip-" + name)["id"]}]}})

    jumpbox_nat = nat("ng-jumpbox")
    leak_nat = nat("ng-leak") if "nat_on_nodes" in leaks else None
    route_table = None
    if "internet_route" in leaks:
        route_table = arm.put(net + "/routeTables/rt-nodes", NET_API, {"location": LOCATION, "properties": {
            "routes": [{"name": "default", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"}}]}})

    def subnet(name, prefix, **props):
        return {"name": name, "properties": dict({"addressPrefix": prefix, "defaultOutboundAccess": False}, **props)}

    nodes = {}
    if leak_nat:
        nodes["natGateway"] = {"id": leak_nat["id"]}
    if route_table:
        nodes["routeTable"] = {"id": route_table["id"]}
    pe = {"privateEndpointNetworkPolicies": "NetworkSecurityGroupEnabled"}
    if "jumpbox_nat_shared" in leaks:
        pe["natGateway"] = {"id": jumpbox_nat["id"]}
    vnet = arm.put(net + "/virtualNetworks/vnet-llm", NET_API, {"location": LOCATION, "properties": {
        "addressSpace": {"addressPrefixes": ["10.40.0.0/16"]},
        "subnets": [
            subnet("snet-nodes", "10.40.0.0/22", **nodes),
            subnet("snet-apiserver", "10.40.4.0/28", defaultOutboundAccess="default_outbound_apiserver" in leaks,
                   delegations=[{"name": "aks", "properties": {
                       "serviceName": "Microsoft.ContainerService/managedClusters"}}]),
            subnet("snet-private-endpoints", "10.40.5.0/24", **pe),
            subnet("snet-jumpbox", "10.40.6.0/24", natGateway={"id": jumpbox_nat["id"]}),
        ]}})
    subnets = dict((s["name"], s["id"]) for s in vnet["properties"]["subnets"])

    for zone in ZONES:
        zone_id = net + "/privateDnsZones/" + zone
        arm.put(zone_id, DNS_API, {"location": "global"})
        if not (zone == "privatelink.file.core.windows.net" and "zone_not_linked" in leaks):
            arm.put(zone_id + "/virtualNetworkLinks/vnet-llm", DNS_API, {
                "location": "global", "properties": {"virtualNetwork": {"id": vnet["id"]},
                                                     "registrationEnabled": False}})

    registry = arm.put(group + "/providers/Microsoft.ContainerRegistry/registries/acrisolation", ACR_API, {
        "location": LOCATION, "sku": {"name": "Premium"}, "properties": {
            "publicNetworkAccess": "Enabled" if "registry_public" in leaks else "Disabled", "adminUserEnabled": False}})
    if "no_aks_rule" not in leaks:
        arm.put(registry["id"] + "/cacheRules/aks-managed-mcr", ACR_API, {"properties": AKS_MCR_RULE})
    storage_props = {"publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny", "bypass": "None"},
                     "supportsHttpsTrafficOnly": False, "minimumTlsVersion": "TLS1_2"}
    if "storage_public" in leaks:
        storage_props.update(publicNetworkAccess="Enabled", networkAcls={"defaultAction": "Allow"})
    storage = arm.put(group + "/providers/Microsoft.Storage/storageAccounts/stisolation", ST_API, {
        "location": LOCATION, "kind": "FileStorage", "sku": {"name": "Premium_LRS"}, "properties": storage_props})
    for name, target, group_id in (("pe-acrisolation", registry["id"], "registry"),
                                   ("pe-stisolation", storage["id"], "file")):
        arm.put("%s/privateEndpoints/%s" % (net, name), NET_API, {"location": LOCATION, "properties": {
            "subnet": {"id": subnets["snet-private-endpoints"]},
            "privateLinkServiceConnections": [{"name": group_id, "properties": {
                "privateLinkServiceId": target, "groupIds": [group_id]}}]}})

    leaky_cluster = "cluster_outbound" in leaks
    cluster = arm.put(group + "/providers/Microsoft.ContainerService/managedClusters/aks-isolation", AKS_API, {
        "location": LOCATION, "identity": {"type": "SystemAssigned"}, "properties": {
            "kubernetesVersion": "1.34", "dnsPrefix": "aks-isolation",
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay",
                               "outboundType": "loadBalancer" if leaky_cluster else "none"},
            "bootstrapProfile": {"artifactSource": "Direct"} if leaky_cluster else {
                "artifactSource": "Cache", "containerRegistryId": registry["id"]},
            "apiServerAccessProfile": {"enablePrivateCluster": not leaky_cluster, "enableVnetIntegration": True,
                                       "subnetId": subnets["snet-apiserver"]},
            "autoUpgradeProfile": {"nodeOSUpgradeChannel": "NodeImage"},
            "agentPoolProfiles": [{"name": "system", "mode": "System", "vmSize": "Standard_D4ds_v5", "count": 2,
                                   "vnetSubnetID": subnets["snet-nodes"]}]}})
    node_rg = cluster["properties"]["nodeResourceGroup"]
    arm.put(arm.rg(node_rg), RG_API, {"location": LOCATION})  # AKS makes it with the cluster; the emulator does not
    if "node_rg_public_ip" in leaks:
        arm.put(arm.rg(node_rg) + "/providers/Microsoft.Network/publicIPAddresses/kubernetes", NET_API, {
            "location": LOCATION, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}})

    def nic(name, subnet_name, public_ip=None):
        config = {"subnet": {"id": subnets[subnet_name]}}
        if public_ip:
            config["publicIPAddress"] = {"id": pip(public_ip)["id"]}
        return arm.put("%s/networkInterfaces/%s" % (net, name), NET_API, {"location": LOCATION, "properties": {
            "ipConfigurations": [{"name": "ipconfig1", "properties": config}]}})

    jumpbox_nic = nic("vm-jumpbox-nic", "snet-jumpbox", "pip-jumpbox" if "jumpbox_public_ip" in leaks else None)
    if "node_nic_public_ip" in leaks:
        nic("nic-leak", "snet-nodes", "pip-nic-leak")
    arm.put(group + "/providers/Microsoft.Compute/virtualMachines/vm-jumpbox", VM_API, {
        "location": LOCATION, "identity": {"type": "SystemAssigned"}, "properties": {
            "hardwareProfile": {"vmSize": "Standard_NC24ads_A100_v4"},
            "storageProfile": {
                "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                   "version": "latest"},
                "osDisk": {"createOption": "FromImage", "name": "vm-jumpbox-os", "diskSizeGB": 64,
                           "deleteOption": "Delete", "managedDisk": {"storageAccountType": "Premium_LRS"}}},
            "osProfile": {"computerName": "vm-jumpbox", "adminUsername": "azureuser", "linuxConfiguration": {
                "disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                    {"path": "/home/azureuser/.ssh/authorized_keys", "keyData": local_ssh_key()}]}}},
            "networkProfile": {"networkInterfaces": [{"id": jumpbox_nic["id"], "properties": {"primary": True}}]}}})

    return {
        "verify_resource_group": rg,
        "verify_virtual_network": "vnet-llm",
        "verify_node_subnets": ["snet-nodes"],
        "verify_apiserver_subnet": "snet-apiserver",
        "verify_jumpbox_subnet": "snet-jumpbox",
        "verify_jumpbox_vm": "vm-jumpbox",
        "verify_cluster": "aks-isolation",
        "verify_registry": "acrisolation",
        "verify_storage_account": "stisolation",
        "verify_private_dns_zones": list(ZONES),
        "node_resource_group": node_rg,
    }


def expected_findings(sub, rg, node_rg, leaks):
    """(check id, severity, lower-case resource id) of every finding the leaks give."""
    out = []
    for leak in leaks:
        for check_id, severity, suffix in EXPECTED[leak]:
            if suffix.startswith("NODE_RG/"):
                rid = "/subscriptions/%s/resourceGroups/%s/%s" % (sub, node_rg, suffix[len("NODE_RG/"):])
            else:
                rid = "/subscriptions/%s/resourceGroups/%s%s" % (sub, rg, suffix)
            out.append((check_id, severity, rid.lower()))
    return out
