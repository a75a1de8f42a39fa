# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The isolation audit: every egress path the architecture forbids, checked on live resources.

Everything here follows from one sentence of the design: *the jump box is the only thing with
egress, and only through its own subnet's NAT gateway.* So the node and API-server subnets have no
NAT gateway, no default outbound access and no route to the internet; no network interface in them
and nothing in the node resource group has a public IP; the cluster has outbound type ``none``,
bootstraps from the private registry's artifact cache and has a private API server; the registry
and the storage account are reached through private endpoints only, with their private DNS zones
linked to the VNet; and the one NAT gateway sits on the jump box subnet alone.

Three layers, each testable on its own:

* checks: pure functions over resource bodies (dicts as ARM returns them) that return findings
  ``{id, severity, resource_id, title, detail, remediation}``;
* ``collect(client, target)``: reads what the checks need through ``ArmClient.get``/``list``
  (read requests only) into an inventory of bodies;
* ``evaluate(inventory)``: runs every check on the inventory, records the checks that could not
  run (a resource that is not configured is ``info``, never a failure).

``summarize(result, fail_on)`` adds counts, ``passed`` and each check's status; the report writers
live in ``isolation_report.py``.
"""

from __future__ import annotations

import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError

NETWORK_API = "2024-05-01"
DNS_API = "2024-06-01"
ACR_API = "2023-07-01"
AKS_API = "2025-10-01"
STORAGE_API = "2023-05-01"
COMPUTE_API = "2024-07-01"

SEVERITIES = ("critical", "high", "medium", "low", "info")
FAIL_ON_CHOICES = SEVERITIES + ("none",)
_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

AKS_CACHE_RULE = ("aks-managed-mcr", "mcr.microsoft.com/*", "aks-managed-repository/*")
DEFAULT_ZONES = ("privatelink.azurecr.io", "privatelink.file.core.windows.net")

# Roles of the subnets the audit knows about.
NODES, APISERVER, JUMPBOX, OTHER = "nodes", "apiserver", "jumpbox", "other"
CLUSTER_ROLES = (NODES, APISERVER)
ROLE_NAMES = {NODES: "node", APISERVER: "API-server", JUMPBOX: "jump box", OTHER: "other"}


class Check:
    def __init__(self, check_id, area, title):
        self.id = check_id
        self.area = area
        self.title = title


CHECKS = (
    Check("NET-000", "network", "The virtual network and the audited subnets exist"),
    Check("NET-001", "network", "No NAT gateway on a node or API-server subnet"),
    Check("NET-002", "network", "No default outbound access on a node or API-server subnet"),
    Check("NET-003", "network", "No route to the internet from a node or API-server subnet"),
    Check("NET-004", "network", "No public IP on a network interface in the cluster's network"),
    Check("NET-005", "network", "No public IP in the node resource group"),
    Check("NET-006", "network", "No NAT gateway on any subnet but the jump box's"),
    Check("NET-007", "network", "No public IP in the audited resource groups but the jump box NAT gateway's"),
    Check("AKS-000", "cluster", "The cluster exists"),
    Check("AKS-001", "cluster", "The cluster's outbound type is none"),
    Check("AKS-002", "cluster", "Nodes bootstrap from the private registry's artifact cache"),
    Check("AKS-003", "cluster", "The API server is private"),
    Check("AKS-004", "cluster", "The API server is integrated into the virtual network"),
    Check("AKS-005", "cluster", "No public load balancer outbound IPs for the nodes"),
    Check("AKS-006", "cluster", "No node pool gives its nodes public IPs"),
    Check("AKS-007", "cluster", "Every node pool runs in a subnet of the audited network"),
    Check("ACR-000", "registry", "The registry exists"),
    Check("ACR-001", "registry", "The registry's public network access is disabled"),
    Check("ACR-002", "registry", "The registry has an approved private endpoint"),
    Check("ACR-003", "registry", "The registry has the aks-managed-mcr cache rule"),
    Check("STG-000", "storage", "The storage account exists"),
    Check("STG-001", "storage", "The storage account's public network access is disabled"),
    Check("STG-002", "storage", "The storage account has an approved private endpoint"),
    Check("DNS-001", "dns", "The private DNS zones exist"),
    Check("DNS-002", "dns", "The private DNS zones are linked to the virtual network"),
    Check("JMP-000", "jumpbox", "The jump box subnet exists"),
    Check("JMP-001", "jumpbox", "The jump box has no public IP"),
    Check("JMP-002", "jumpbox", "The jump box NAT gateway serves the jump box subnet only"),
    Check("JMP-003", "jumpbox", "The jump box's egress goes through its subnet's NAT gateway"),
)
CHECK_BY_ID = dict((c.id, c) for c in CHECKS)


# -- severities and findings ------------------------------------------------------------------
def severity_rank(severity):
    return _RANK[severity]


def at_least(severity, threshold):
    """Whether ``severity`` is ``threshold`` or worse; nothing is at least ``none``."""
    if threshold in (None, "none"):
        return False
    return _RANK[severity] >= _RANK[threshold]


def finding(check_id, severity, resource_id, detail, remediation):
    if severity not in _RANK:
        raise ValueError("unknown severity %r" % (severity,))
    return {
        "id": check_id,
        "severity": severity,
        "resource_id": resource_id or "",
        "title": CHECK_BY_ID[check_id].title,
        "detail": detail,
        "remediation": remediation,
    }


def sort_findings(findings):
    return sorted(findings, key=lambda f: (-_RANK[f["severity"]], f["id"], f["resource_id"].lower()))


# -- resource ids and bodies -------------------------------------------------------------------
def key(resource_id):
    """Case-insensitive form of a resource id (ARM ids are case-insensitive)."""
    return str(resource_id or "").rstrip("/").lower()


def name_of(resource_id):
    return str(resource_id or "").rstrip("/").rsplit("/", 1)[-1]


def props(body):
    return (body or {}).get("properties") or {}


def ref(value):
    """The id of a ``{"id": ...}`` reference, or None."""
    if isinstance(value, dict) and value.get("id"):
        return value["id"]
    return None


_RG_RE = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)", re.IGNORECASE)
_NIC_RE = re.compile(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.network/"
                     r"networkinterfaces/[^/]+)(/|$)", re.IGNORECASE)


def resource_group_of(resource_id):
    match = _RG_RE.match(str(resource_id or ""))
    return match.group(2) if match else None


def nic_of(ip_configuration_id):
    """The network interface id of one of its IP configurations (None for anything else: load
    balancer frontends, private link services, scale set interfaces)."""
    match = _NIC_RE.match(str(ip_configuration_id or ""))
    return str(ip_configuration_id)[:len(match.group(1))] if match else None


def _dedupe(ids):
    out, seen = [], set()
    for rid in ids:
        if rid and key(rid) not in seen:
            seen.add(key(rid))
            out.append(rid)
    return out


# -- checks: network ---------------------------------------------------------------------------
def check_cluster_subnet(subnet, role, route_table=None):
    """NET-001, NET-002, NET-003 for a node or API-server subnet."""
    out = []
    rid = subnet.get("id")
    p = props(subnet)
    what = "%s subnet %s" % (ROLE_NAMES[role], name_of(rid))
    nat = ref(p.get("natGateway"))
    if nat:
        out.append(finding(
            "NET-001", "critical", rid,
            "The %s uses NAT gateway %s: everything in it can reach the internet." % (what, name_of(nat)),
            "Remove the NAT gateway from the subnet (properties.natGateway); only the jump box subnet may have one."))
    access = p.get("defaultOutboundAccess")
    if access is not False:
        state = "true" if access is True else "not set (Azure's default: enabled)"
        out.append(finding(
            "NET-002", "critical", rid,
            "The %s has defaultOutboundAccess %s: its machines get an implicit public IP for outbound traffic."
            % (what, state),
            "Set defaultOutboundAccess to false on the subnet (the isolated_network role does; "
            "airgap.aks_inference.subnet default_outbound_access: false)."))
    if route_table:
        for route in props(route_table).get("routes") or []:
            rp = props(route)
            if str(rp.get("nextHopType", "")).lower() != "internet":
                continue
            prefix = rp.get("addressPrefix")
            route_id = route.get("id") or "%s/routes/%s" % (route_table.get("id"), route.get("name"))
            out.append(finding(
                "NET-003", "high" if prefix in ("0.0.0.0/0", "::/0") else "medium", route_id,
                "Route %s of route table %s sends %s to the internet from the %s."
                % (route.get("name") or name_of(route_id), name_of(route_table.get("id")), prefix, what),
                "Delete the route (or set its next hop to None), or take the route table off the subnet."))
    return out


def check_nat_gateway_placement(subnets, jumpbox_subnet_id, cluster_subnet_ids):
    """NET-006: a NAT gateway on a subnet that is neither the jump box's nor a cluster subnet
    (those are NET-001)."""
    out = []
    skip = set(key(s) for s in cluster_subnet_ids) | {key(jumpbox_subnet_id)}
    for subnet in subnets:
        nat = ref(props(subnet).get("natGateway"))
        if nat and key(subnet.get("id")) not in skip:
            out.append(finding(
                "NET-006", "high", subnet.get("id"),
                "Subnet %s uses NAT gateway %s; only the jump box subnet may reach the internet."
                % (name_of(subnet.get("id")), name_of(nat)),
                "Remove the NAT gateway from the subnet."))
    return out


def check_nic_public_ips(nic, subnet_roles):
    """NET-004 (cluster and other VNet subnets) and JMP-001 (jump box subnet): public IPs on a
    network interface. ``subnet_roles`` maps subnet keys to roles; other subnets are not judged."""
    out = []
    for config in props(nic).get("ipConfigurations") or []:
        cp = props(config)
        pip = ref(cp.get("publicIPAddress"))
        role = subnet_roles.get(key(ref(cp.get("subnet"))))
        if not pip or role is None:
            continue
        where = "%s subnet %s" % (ROLE_NAMES[role], name_of(ref(cp.get("subnet"))))
        if role == JUMPBOX:
            out.append(finding(
                "JMP-001", "high", nic.get("id"),
                "Network interface %s of the jump box (in the %s) has public IP %s: egress and inbound "
                "access bypass the NAT gateway." % (name_of(nic.get("id")), where, name_of(pip)),
                "Remove the public IP from the interface; the jump box goes out through its subnet's NAT "
                "gateway and is reached through the VNet (VPN, Bastion)."))
        else:
            out.append(finding(
                "NET-004", "critical" if role in CLUSTER_ROLES else "high", nic.get("id"),
                "Network interface %s in the %s has public IP %s." % (name_of(nic.get("id")), where, name_of(pip)),
                "Remove the public IP from the interface's IP configuration %s." % config.get("name")))
    return out


def check_node_resource_group_public_ips(public_ips, node_resource_group):
    """NET-005: any public IP in the node resource group (public load balancer frontends, node IPs)."""
    out = []
    for pip in public_ips or []:
        user = ref(props(pip).get("ipConfiguration")) or ref(props(pip).get("natGateway"))
        out.append(finding(
            "NET-005", "critical", pip.get("id"),
            "Public IP %s%s is in the node resource group %s." % (
                name_of(pip.get("id")), " (used by %s)" % user if user else "", node_resource_group),
            "Remove it; a network-isolated cluster (outbound type none) needs no public IP. If AKS made it, "
            "the cluster's outbound type is not none."))
    return out


def check_public_ips(public_ips, allowed_nat_gateway_ids, judged_nic_ids):
    """NET-007: public IPs of the audited resource groups that are not the jump box NAT gateway's.
    Those on an interface already judged (NET-004, JMP-001) are not reported twice."""
    out = []
    allowed = set(key(n) for n in allowed_nat_gateway_ids if n)
    judged = set(key(n) for n in judged_nic_ids)
    for pip in public_ips or []:
        p = props(pip)
        nat = ref(p.get("natGateway"))
        config = ref(p.get("ipConfiguration"))
        if nat and key(nat) in allowed:
            continue
        if config and key(nic_of(config)) in judged:
            continue
        user = nat or config
        if user:
            out.append(finding(
                "NET-007", "medium", pip.get("id"),
                "Public IP %s is used by %s, which is not the jump box's NAT gateway." % (name_of(pip.get("id")), user),
                "Remove the public IP, or justify it outside the isolated network."))
        else:
            out.append(finding(
                "NET-007", "low", pip.get("id"),
                "Public IP %s is not used by anything." % name_of(pip.get("id")),
                "Delete the unused public IP."))
    return out


# -- checks: cluster ---------------------------------------------------------------------------
def check_cluster(cluster, registry_id=None):
    """AKS-001 to AKS-006 on a managed cluster body (its agentPoolProfiles included)."""
    out = []
    rid = cluster.get("id")
    p = props(cluster)
    net = p.get("networkProfile") or {}
    outbound = net.get("outboundType") or "loadBalancer"
    if str(outbound).lower() != "none":
        out.append(finding(
            "AKS-001", "high" if str(outbound).lower() == "userdefinedrouting" else "critical", rid,
            "The cluster's outbound type is %s: its nodes have a path to the internet." % outbound,
            "Use networkProfile.outboundType none (with bootstrapProfile.artifactSource Cache); "
            "the aks_cluster role does."))
    boot = p.get("bootstrapProfile") or {}
    source = boot.get("artifactSource") or "Direct"
    if str(source).lower() != "cache":
        out.append(finding(
            "AKS-002", "high", rid,
            "The cluster bootstraps its nodes from %s (artifactSource %s), not from the private registry's "
            "artifact cache." % ("mcr.microsoft.com" if str(source).lower() == "direct" else "elsewhere", source),
            "Set bootstrapProfile.artifactSource Cache and containerRegistryId to the private registry."))
    elif registry_id and key(boot.get("containerRegistryId")) != key(registry_id):
        out.append(finding(
            "AKS-002", "medium", rid,
            "The cluster bootstraps from registry %s, not from the audited registry %s."
            % (boot.get("containerRegistryId") or "(none)", registry_id),
            "Point bootstrapProfile.containerRegistryId at the private registry, or audit the registry it uses."))
    api = p.get("apiServerAccessProfile") or {}
    if not api.get("enablePrivateCluster"):
        out.append(finding(
            "AKS-003", "critical", rid,
            "The API server has a public endpoint (enablePrivateCluster is %s)."
            % ("false" if api.get("enablePrivateCluster") is False else "not set"),
            "Create the cluster as a private cluster (apiServerAccessProfile.enablePrivateCluster true); "
            "it cannot be changed in place."))
    elif api.get("enablePrivateClusterPublicFQDN"):
        out.append(finding(
            "AKS-003", "low", rid,
            "The private API server's address is published in public DNS (enablePrivateClusterPublicFQDN).",
            "Set apiServerAccessProfile.enablePrivateClusterPublicFQDN false."))
    if not api.get("enableVnetIntegration"):
        out.append(finding(
            "AKS-004", "low", rid,
            "The API server is not integrated into the virtual network (enableVnetIntegration is not set).",
            "Enable API server VNet integration with a dedicated, delegated API-server subnet."))
    lb = net.get("loadBalancerProfile") or {}
    outbound_ips = [ref(x) for x in ((lb.get("outboundIPs") or {}).get("publicIPs") or [])]
    outbound_ips += [ref(x) for x in ((lb.get("outboundIPPrefixes") or {}).get("publicIPPrefixes") or [])]
    outbound_ips += [ref(x) for x in (lb.get("effectiveOutboundIPs") or [])]
    managed = ((lb.get("managedOutboundIPs") or {}).get("count") or 0)
    if (outbound_ips or managed) and str(outbound).lower() != "none":
        out.append(finding(
            "AKS-005", "critical", rid,
            "The cluster's load balancer has public outbound IPs (%s)." % (
                ", ".join(name_of(x) for x in _dedupe(outbound_ips)) or "%d managed" % managed),
            "Remove the load balancer profile's outbound IPs; use outbound type none."))
    for pool in p.get("agentPoolProfiles") or []:
        if pool.get("enableNodePublicIP"):
            out.append(finding(
                "AKS-006", "critical", "%s/agentPools/%s" % (rid, pool.get("name")),
                "Node pool %s gives every node a public IP (enableNodePublicIP)." % pool.get("name"),
                "Recreate the node pool without enableNodePublicIP."))
        if not pool.get("vnetSubnetID"):
            out.append(finding(
                "AKS-007", "medium", "%s/agentPools/%s" % (rid, pool.get("name")),
                "Node pool %s has no vnetSubnetID: its nodes are in a network AKS manages, which this audit "
                "does not see." % pool.get("name"),
                "Put every node pool in a node subnet of the isolated virtual network."))
    return out


# -- checks: registry, storage, DNS -------------------------------------------------------------
def _approved(connections):
    approved = []
    for conn in connections or []:
        state = props(conn).get("privateLinkServiceConnectionState") or {}
        if str(state.get("status", "")).lower() == "approved":
            approved.append(conn)
    return approved


def check_registry(registry, cache_rules):
    """ACR-001, ACR-002, ACR-003."""
    out = []
    rid = registry.get("id")
    p = props(registry)
    access = p.get("publicNetworkAccess") or "Enabled"
    if str(access).lower() != "disabled":
        rules = (p.get("networkRuleSet") or {}).get("defaultAction")
        out.append(finding(
            "ACR-001", "high", rid,
            "The registry's public network access is %s%s." % (access, " (default action %s)" % rules if rules else ""),
            "Set publicNetworkAccess Disabled (Premium SKU); the cluster pulls through the private endpoint."))
    if not _approved(p.get("privateEndpointConnections")):
        states = ", ".join(str((props(c).get("privateLinkServiceConnectionState") or {}).get("status"))
                           for c in p.get("privateEndpointConnections") or []) or "none"
        out.append(finding(
            "ACR-002", "high", rid,
            "The registry has no approved private endpoint connection (connections: %s)." % states,
            "Create a private endpoint for the registry (group id registry) in the private endpoint subnet, "
            "with a DNS zone group on privatelink.azurecr.io."))
    name, source, target = AKS_CACHE_RULE
    rule = None
    for item in cache_rules or []:
        if str(item.get("name", "")).lower() == name:
            rule = item
    if rule is None:
        out.append(finding(
            "ACR-003", "high", "%s/cacheRules/%s" % (rid, name),
            "The registry has no cache rule %s: a network-isolated cluster cannot bootstrap its nodes." % name,
            "Create cache rule %s from %s to %s." % (name, source, target)))
    else:
        rp = props(rule)
        if rp.get("sourceRepository") != source or rp.get("targetRepository") != target:
            out.append(finding(
                "ACR-003", "high", rule.get("id") or "%s/cacheRules/%s" % (rid, name),
                "Cache rule %s maps %s to %s; AKS needs exactly %s to %s." % (
                    name, rp.get("sourceRepository"), rp.get("targetRepository"), source, target),
                "Recreate the rule with source %s and target %s." % (source, target)))
    return out


def check_storage_account(account):
    """STG-001, STG-002."""
    out = []
    rid = account.get("id")
    p = props(account)
    access = p.get("publicNetworkAccess")
    default_action = (p.get("networkAcls") or {}).get("defaultAction") or "Allow"
    if str(access).lower() in ("disabled", "securedbyperimeter"):
        pass
    elif str(default_action).lower() == "deny":
        acls = p.get("networkAcls") or {}
        out.append(finding(
            "STG-001", "medium", rid,
            "The storage account's public endpoint is on, limited to selected networks (%d IP rules, %d "
            "virtual network rules)." % (len(acls.get("ipRules") or []), len(acls.get("virtualNetworkRules") or [])),
            "Set publicNetworkAccess Disabled; the share is reached through its private endpoint."))
    else:
        out.append(finding(
            "STG-001", "high", rid,
            "The storage account accepts traffic from any network (publicNetworkAccess %s, default action %s)."
            % (access or "not set", default_action),
            "Set publicNetworkAccess Disabled; the share is reached through its private endpoint."))
    if not _approved(p.get("privateEndpointConnections")):
        out.append(finding(
            "STG-002", "medium", rid,
            "The storage account has no approved private endpoint connection.",
            "Create a private endpoint for the account (group id file) with a DNS zone group on "
            "privatelink.file.core.windows.net."))
    return out


def check_private_dns_zones(expected_zone_ids, zones, links, vnet_id):
    """DNS-001 (zone missing), DNS-002 (zone not linked to the virtual network).
    ``zones``: zone key -> body or None; ``links``: zone key -> list of link bodies."""
    out = []
    for zone_id in expected_zone_ids:
        zone = zones.get(key(zone_id))
        if zone is None:
            out.append(finding(
                "DNS-001", "medium", zone_id,
                "Private DNS zone %s does not exist: its names resolve to public addresses." % name_of(zone_id),
                "Create the zone and link it to the virtual network (the isolated_network role does)."))
            continue
        mine = [link for link in links.get(key(zone_id)) or []
                if key(ref(props(link).get("virtualNetwork"))) == key(vnet_id)]
        good = [link for link in mine if str(props(link).get("provisioningState", "Succeeded")).lower() != "failed"]
        if not good:
            out.append(finding(
                "DNS-002", "medium", zone.get("id") or zone_id,
                "Private DNS zone %s is not linked to virtual network %s%s." % (
                    name_of(zone_id), name_of(vnet_id), " (its link failed)" if mine else ""),
                "Link the zone to the virtual network (registration disabled)."))
    return out


# -- checks: jump box --------------------------------------------------------------------------
def check_jumpbox(subnet, nat_gateway):
    """JMP-002 (the NAT gateway serves other subnets) and JMP-003 (egress not through the NAT gateway)."""
    out = []
    rid = subnet.get("id")
    p = props(subnet)
    nat_id = ref(p.get("natGateway"))
    if nat_id and nat_gateway is not None:
        for other in props(nat_gateway).get("subnets") or []:
            if key(ref(other)) != key(rid):
                out.append(finding(
                    "JMP-002", "high", nat_gateway.get("id") or nat_id,
                    "The jump box NAT gateway %s also serves subnet %s." % (name_of(nat_id), ref(other)),
                    "Remove the NAT gateway from every subnet but the jump box's."))
        np = props(nat_gateway)
        if not (np.get("publicIpAddresses") or np.get("publicIpPrefixes")):
            out.append(finding(
                "JMP-003", "info", nat_id,
                "The jump box NAT gateway %s has no public IP: the jump box has no egress." % name_of(nat_id),
                "Give the NAT gateway a public IP when the jump box must download model weights."))
    if not nat_id:
        if p.get("defaultOutboundAccess") is not False:
            out.append(finding(
                "JMP-003", "medium", rid,
                "The jump box subnet %s has no NAT gateway and default outbound access is on: the jump box goes "
                "out through an implicit, unmanaged public IP." % name_of(rid),
                "Put a NAT gateway on the jump box subnet and set defaultOutboundAccess false."))
        else:
            out.append(finding(
                "JMP-003", "info", rid,
                "The jump box subnet %s has no NAT gateway: the jump box has no egress (weights must come "
                "another way)." % name_of(rid),
                "Add a NAT gateway to the jump box subnet when it must download model weights."))
    return out


# -- inputs ------------------------------------------------------------------------------------
_ID_TYPES = {
    "virtual_network": "microsoft.network/virtualnetworks",
    "subnet": "microsoft.network/virtualnetworks/subnets",
    "cluster": "microsoft.containerservice/managedclusters",
    "registry": "microsoft.containerregistry/registries",
    "storage_account": "microsoft.storage/storageaccounts",
    "private_dns_zone": "microsoft.network/privatednszones",
    "virtual_machine": "microsoft.compute/virtualmachines",
}
_TYPE_PREFIX = {
    "virtual_network": "Microsoft.Network/virtualNetworks",
    "cluster": "Microsoft.ContainerService/managedClusters",
    "registry": "Microsoft.ContainerRegistry/registries",
    "storage_account": "Microsoft.Storage/storageAccounts",
    "private_dns_zone": "Microsoft.Network/privateDnsZones",
    "virtual_machine": "Microsoft.Compute/virtualMachines",
}
_ID_RE = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/([^/]+)/(.+)$", re.IGNORECASE)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")


def _type_of(resource_id):
    match = _ID_RE.match(resource_id)
    if not match:
        return None
    parts = match.group(2).split("/")
    if len(parts) % 2:
        return None
    return (match.group(1) + "/" + "/".join(parts[0::2])).lower()


def resolve_id(field, value, kind, subscription_id, resource_group, parent_id=None):
    """A resource id from an id or a bare name; raises InputError naming ``field``."""
    if value in (None, ""):
        return None
    value = str(value).strip().rstrip("/")
    if value.startswith("/"):
        if _type_of(value) != _ID_TYPES[kind]:
            raise InputError(field, "%r is not a %s resource id" % (value, _ID_TYPES[kind]))
        return value
    if not _NAME_RE.match(value):
        raise InputError(field, "%r is neither a resource id nor a valid name" % (value,))
    if kind == "subnet":
        if not parent_id:
            raise InputError(field, "a subnet name needs virtual_network; or give the subnet's resource id")
        return "%s/subnets/%s" % (parent_id, value)
    if not resource_group:
        raise InputError(field, "a name needs resource_group; or give the resource id")
    return "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (
        subscription_id, resource_group, _TYPE_PREFIX[kind], value)


def build_target(params, subscription_id):
    """The audit's scope as resource ids, from module options; InputError before any request."""
    rg = params.get("resource_group")
    if not rg or not _NAME_RE.match(rg):
        raise InputError("resource_group", "is required and must be a resource group name, got %r" % (rg,))
    extra = list(params.get("extra_resource_groups") or [])
    for name in extra:
        if not _NAME_RE.match(str(name)):
            raise InputError("extra_resource_groups", "%r is not a resource group name" % (name,))
    vnet_id = resolve_id("virtual_network", params.get("virtual_network"), "virtual_network", subscription_id, rg)
    if not vnet_id:
        raise InputError("virtual_network", "is required")

    def subnet(field, value):
        return resolve_id(field, value, "subnet", subscription_id, rg, vnet_id)

    zone_rg = params.get("private_dns_zone_resource_group") or rg
    zones = params.get("private_dns_zones")
    if zones is None:
        zones = list(DEFAULT_ZONES)
    return {
        "subscription_id": subscription_id,
        "resource_group": rg,
        "extra_resource_groups": extra,
        "vnet_id": vnet_id,
        "node_subnet_ids": _dedupe(subnet("node_subnets", s) for s in params.get("node_subnets") or []),
        "apiserver_subnet_ids": _dedupe([subnet("apiserver_subnet", params.get("apiserver_subnet"))]),
        "jumpbox_subnet_id": subnet("jumpbox_subnet", params.get("jumpbox_subnet")),
        "jumpbox_vm_id": resolve_id("jumpbox_vm", params.get("jumpbox_vm"), "virtual_machine", subscription_id, rg),
        "cluster_id": resolve_id("cluster", params.get("cluster"), "cluster", subscription_id, rg),
        "registry_id": resolve_id("registry", params.get("registry"), "registry", subscription_id, rg),
        "storage_account_id": resolve_id("storage_account", params.get("storage_account"), "storage_account",
                                         subscription_id, rg),
        "private_dns_zone_ids": _dedupe(resolve_id("private_dns_zones", z, "private_dns_zone", subscription_id,
                                                   zone_rg) for z in zones),
    }


# -- collector ---------------------------------------------------------------------------------
def _list_or_none(client, path, api_version):
    """Items of a collection, or None when its resource group (or parent) does not exist."""
    try:
        return client.list(path, api_version)
    except ArmError as err:
        if err.status == 404:
            return None
        raise


def _rg_path(subscription_id, resource_group, collection):
    return "/subscriptions/%s/resourceGroups/%s/providers/%s" % (subscription_id, resource_group, collection)


def collect(client, target):
    """Read everything the checks need. Sends GET requests only."""
    sub = target["subscription_id"]
    inv = {"target": target, "subnets": {}, "route_tables": {}, "nat_gateways": {}, "nics": {},
           "public_ips": {}, "dns_zones": {}, "dns_links": {}}

    cluster = client.get(target["cluster_id"], AKS_API) if target.get("cluster_id") else None
    inv["cluster"] = cluster
    pool_subnets, api_subnets = [], []
    if cluster is not None:
        for pool in props(cluster).get("agentPoolProfiles") or []:
            pool_subnets.append(pool.get("vnetSubnetID"))
        api_subnets.append((props(cluster).get("apiServerAccessProfile") or {}).get("subnetId"))
    inv["node_subnet_ids"] = _dedupe(list(target["node_subnet_ids"]) + pool_subnets)
    inv["apiserver_subnet_ids"] = _dedupe(list(target["apiserver_subnet_ids"]) + api_subnets)
    inv["node_resource_group"] = props(cluster).get("nodeResourceGroup") if cluster else None

    vnet = client.get(target["vnet_id"], NETWORK_API)
    inv["vnet"] = vnet
    if vnet is not None:
        for subnet in client.list(target["vnet_id"] + "/subnets", NETWORK_API):
            inv["subnets"][key(subnet.get("id"))] = subnet
    wanted = inv["node_subnet_ids"] + inv["apiserver_subnet_ids"] + [target.get("jumpbox_subnet_id")]
    for sid in _dedupe(wanted):
        if key(sid) not in inv["subnets"]:
            inv["subnets"][key(sid)] = client.get(sid, NETWORK_API)

    for sid in inv["node_subnet_ids"] + inv["apiserver_subnet_ids"]:
        table = ref(props(inv["subnets"].get(key(sid))).get("routeTable"))
        if table and key(table) not in inv["route_tables"]:
            inv["route_tables"][key(table)] = client.get(table, NETWORK_API)

    jumpbox = inv["subnets"].get(key(target.get("jumpbox_subnet_id")))
    nat = ref(props(jumpbox).get("natGateway"))
    if nat:
        inv["nat_gateways"][key(nat)] = client.get(nat, NETWORK_API)

    groups = _dedupe([target["resource_group"]] + list(target["extra_resource_groups"]) +
                     [resource_group_of(cluster.get("id")) if cluster else None])
    # Network interfaces: those the subnets list, those of the audited groups that sit in the
    # subnets, and the jump box VM's.
    subnet_keys = set(k for k, body in inv["subnets"].items() if body is not None)
    for group in groups:
        for nic in _list_or_none(client, _rg_path(sub, group, "Microsoft.Network/networkInterfaces"),
                                 NETWORK_API) or []:
            configs = props(nic).get("ipConfigurations") or []
            if any(key(ref(props(c).get("subnet"))) in subnet_keys for c in configs):
                inv["nics"][key(nic.get("id"))] = nic
    nic_ids = []
    for subnet in inv["subnets"].values():
        for config in props(subnet).get("ipConfigurations") or []:
            nic_ids.append(nic_of(ref(config)))
    vm = client.get(target["jumpbox_vm_id"], COMPUTE_API) if target.get("jumpbox_vm_id") else None
    inv["jumpbox_vm"] = vm
    for item in (props(vm).get("networkProfile") or {}).get("networkInterfaces") or []:
        nic_ids.append(ref(item))
    for nic_id in _dedupe(nic_ids):
        if key(nic_id) not in inv["nics"]:
            nic = client.get(nic_id, NETWORK_API)
            if nic is not None:
                inv["nics"][key(nic_id)] = nic

    for group in groups:
        inv["public_ips"][group] = _list_or_none(
            client, _rg_path(sub, group, "Microsoft.Network/publicIPAddresses"), NETWORK_API)
    node_rg = inv["node_resource_group"]
    inv["node_public_ips"] = _list_or_none(
        client, _rg_path(sub, node_rg, "Microsoft.Network/publicIPAddresses"), NETWORK_API) if node_rg else None

    inv["registry"] = client.get(target["registry_id"], ACR_API) if target.get("registry_id") else None
    inv["cache_rules"] = (_list_or_none(client, target["registry_id"] + "/cacheRules", ACR_API) or []) \
        if inv["registry"] is not None else []
    inv["storage_account"] = client.get(target["storage_account_id"], STORAGE_API) \
        if target.get("storage_account_id") else None

    for zone_id in target["private_dns_zone_ids"]:
        zone = client.get(zone_id, DNS_API)
        inv["dns_zones"][key(zone_id)] = zone
        inv["dns_links"][key(zone_id)] = (_list_or_none(client, zone_id + "/virtualNetworkLinks", DNS_API) or []) \
            if zone is not None else []
    return inv


# -- evaluation --------------------------------------------------------------------------------
def evaluate(inv):
    """Run every check on a collected inventory: ``{"findings": [...], "skipped": {check id: reason}}``."""
    target = inv["target"]
    findings, skipped = [], {}

    def skip(check_ids, reason):
        for check_id in check_ids:
            skipped.setdefault(check_id, reason)

    def missing(check_id, resource_id, what, remediation):
        findings.append(finding(check_id, "high", resource_id, "%s %s was not found; it cannot be audited."
                                % (what, resource_id), remediation))

    # Network
    vnet_id = target["vnet_id"]
    if inv["vnet"] is None:
        missing("NET-000", vnet_id, "Virtual network", "Check virtual_network (and resource_group), or create "
                "the network with the isolated_network role.")
    roles = {}
    for sid in inv["node_subnet_ids"]:
        roles[key(sid)] = NODES
    for sid in inv["apiserver_subnet_ids"]:
        roles.setdefault(key(sid), APISERVER)
    jumpbox_id = target.get("jumpbox_subnet_id")
    if jumpbox_id:
        roles.setdefault(key(jumpbox_id), JUMPBOX)
    for k in inv["subnets"]:
        roles.setdefault(k, OTHER)

    cluster_subnets = inv["node_subnet_ids"] + inv["apiserver_subnet_ids"]
    if not cluster_subnets:
        skip(["NET-001", "NET-002", "NET-003"], "no node or API-server subnet given and no cluster to read them from")
    for sid in cluster_subnets:
        subnet = inv["subnets"].get(key(sid))
        if subnet is None:
            missing("NET-000", sid, "Subnet", "Check the subnet names, or create them with the isolated_network role.")
            continue
        table = inv["route_tables"].get(key(ref(props(subnet).get("routeTable"))))
        findings.extend(check_cluster_subnet(subnet, roles[key(sid)], table))
    present = [s for s in inv["subnets"].values() if s is not None]
    findings.extend(check_nat_gateway_placement(present, jumpbox_id, cluster_subnets))

    subnet_roles = dict((k, r) for k, r in roles.items() if inv["subnets"].get(k) is not None)
    vm = inv.get("jumpbox_vm")
    if target.get("jumpbox_vm_id") and vm is None:
        missing("JMP-000", target["jumpbox_vm_id"], "Jump box virtual machine", "Check jumpbox_vm.")
    vm_nics = set(key(ref(n)) for n in (props(vm).get("networkProfile") or {}).get("networkInterfaces") or [])
    judged = []
    for nic_key, nic in sorted(inv["nics"].items()):
        nic_roles = subnet_roles
        if nic_key in vm_nics:
            # The jump box's own interfaces count as the jump box's, whatever subnet they are in.
            nic_roles = dict(subnet_roles)
            for config in props(nic).get("ipConfigurations") or []:
                nic_roles[key(ref(props(config).get("subnet")))] = JUMPBOX
        findings.extend(check_nic_public_ips(nic, nic_roles))
        judged.append(nic.get("id"))

    jumpbox = inv["subnets"].get(key(jumpbox_id)) if jumpbox_id else None
    jumpbox_nat = ref(props(jumpbox).get("natGateway"))
    allowed_nats = [jumpbox_nat] if jumpbox_nat else []
    for group in sorted(inv["public_ips"]):
        findings.extend(check_public_ips(inv["public_ips"][group] or [], allowed_nats, judged))
    node_rg = inv.get("node_resource_group")
    if inv["cluster"] is None:
        skip(["NET-005"], "no cluster to read the node resource group from")
    elif inv.get("node_public_ips") is None:
        skip(["NET-005"], "node resource group %s not found" % node_rg)
        findings.append(finding("NET-005", "info", "/subscriptions/%s/resourceGroups/%s"
                                % (target["subscription_id"], node_rg),
                                "The node resource group %s does not exist (yet); there is nothing in it to check."
                                % node_rg, "None."))
    else:
        findings.extend(check_node_resource_group_public_ips(inv["node_public_ips"], node_rg))

    # Cluster
    aks_checks = ["AKS-001", "AKS-002", "AKS-003", "AKS-004", "AKS-005", "AKS-006", "AKS-007"]
    if not target.get("cluster_id"):
        skip(["AKS-000"] + aks_checks, "no cluster configured")
        findings.append(finding("AKS-000", "info", "", "No cluster was given; the cluster checks did not run.",
                                "Set cluster to audit the managed cluster."))
    elif inv["cluster"] is None:
        skip(aks_checks, "cluster not found")
        missing("AKS-000", target["cluster_id"], "Managed cluster", "Check cluster, or create it with the "
                "aks_cluster role.")
    else:
        findings.extend(check_cluster(inv["cluster"], target.get("registry_id")))

    # Registry
    acr_checks = ["ACR-001", "ACR-002", "ACR-003"]
    if not target.get("registry_id"):
        skip(["ACR-000"] + acr_checks, "no registry configured")
        findings.append(finding("ACR-000", "info", "", "No registry was given; the registry checks did not run.",
                                "Set registry to audit the private registry."))
    elif inv["registry"] is None:
        skip(acr_checks, "registry not found")
        missing("ACR-000", target["registry_id"], "Container registry", "Check registry, or create it with the "
                "container_registry role.")
    else:
        findings.extend(check_registry(inv["registry"], inv["cache_rules"]))

    # Storage
    if not target.get("storage_account_id"):
        skip(["STG-000", "STG-001", "STG-002"], "no storage account configured")
        findings.append(finding("STG-000", "info", "", "No storage account was given; the storage checks did "
                                "not run.", "Set storage_account when the model weights live on an NFS share."))
    elif inv["storage_account"] is None:
        skip(["STG-001", "STG-002"], "storage account not found")
        missing("STG-000", target["storage_account_id"], "Storage account", "Check storage_account.")
    else:
        findings.extend(check_storage_account(inv["storage_account"]))

    # DNS
    if target["private_dns_zone_ids"]:
        findings.extend(check_private_dns_zones(target["private_dns_zone_ids"], inv["dns_zones"], inv["dns_links"],
                                                vnet_id))
    else:
        skip(["DNS-001", "DNS-002"], "no private DNS zones expected")

    # Jump box
    jmp_checks = ["JMP-002", "JMP-003"]
    if not jumpbox_id:
        skip(["JMP-000"] + jmp_checks, "no jump box subnet configured")
        if not target.get("jumpbox_vm_id"):
            skip(["JMP-001"], "no jump box configured")
        findings.append(finding("JMP-000", "info", "", "No jump box subnet was given; the jump box checks did not "
                                "run.", "Set jumpbox_subnet to audit the jump box's egress."))
    elif jumpbox is None:
        skip(jmp_checks, "jump box subnet not found")
        missing("JMP-000", jumpbox_id, "Jump box subnet", "Check jumpbox_subnet.")
    else:
        findings.extend(check_jumpbox(jumpbox, inv["nat_gateways"].get(key(jumpbox_nat)) if jumpbox_nat else None))

    return {"findings": sort_findings(_unique(findings)), "skipped": skipped}


def _unique(findings):
    out, seen = [], set()
    for item in findings:
        marker = (item["id"], key(item["resource_id"]), item["detail"])
        if marker not in seen:
            seen.add(marker)
            out.append(item)
    return out


def summarize(result, fail_on):
    """Counts by severity, ``passed`` (nothing above info), the findings at or above ``fail_on``
    and each check's status (failed, warning, passed, skipped)."""
    findings = result["findings"]
    counts = dict((s, 0) for s in SEVERITIES)
    for item in findings:
        counts[item["severity"]] += 1
    threshold = fail_on if fail_on != "none" else "low"
    checks = []
    for check in CHECKS:
        mine = [f for f in findings if f["id"] == check.id]
        if any(at_least(f["severity"], threshold) for f in mine):
            status = "failed"
        elif any(f["severity"] != "info" for f in mine):
            status = "warning"
        elif check.id in result["skipped"]:
            status = "skipped"
        else:
            status = "passed"
        checks.append({"id": check.id, "area": check.area, "title": check.title, "status": status,
                       "findings": len(mine), "reason": result["skipped"].get(check.id, "")})
    blocking = [f for f in findings if at_least(f["severity"], fail_on)]
    return {
        "findings": findings,
        "counts": counts,
        "passed": not any(f["severity"] != "info" for f in findings),
        "fail_on": fail_on,
        "blocking": blocking,
        "checks": checks,
    }


def run_audit(client, target, fail_on="high"):
    return summarize(evaluate(collect(client, target)), fail_on)
