"""Microsoft.Network: virtualNetworks, virtualNetworks/subnets, networkSecurityGroups,
networkSecurityGroups/securityRules.

Facts from the network RP (azure-rest-api-specs, specification/network): provisioningState is
Succeeded | Updating | Deleting | Failed (creates report "Updating"); etags are weak
(W/"guid"); PUT/DELETE are long-running with an Azure-AsyncOperation URL under
/subscriptions/{sub}/providers/Microsoft.Network/locations/{location}/operations/{id};
PATCH only updates tags (UpdateTags) and is synchronous.
"""
import ipaddress
import re

from ..errors import ArmError, bad_request
from ..registry import ResourceType, register
from ..util import (canonical_enum, check_bool, check_int, check_list, check_object,
                    invalid_reference, parse_cidr, overlaps, ref_id, weak_etag, within_any)

NETWORK_API_VERSIONS = ("2023-02-01", "2023-04-01", "2023-05-01", "2023-06-01", "2023-09-01",
                        "2023-11-01", "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01")

VNET = "Microsoft.Network/virtualNetworks"
SUBNET = "Microsoft.Network/virtualNetworks/subnets"
NSG = "Microsoft.Network/networkSecurityGroups"
NSG_RULE = "Microsoft.Network/networkSecurityGroups/securityRules"
ROUTE_TABLE = "Microsoft.Network/routeTables"
NAT_GATEWAY = "Microsoft.Network/natGateways"

# Services a subnet can be delegated to (serviceName -> actions the delegation grants).
JOIN = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
DELEGATION_SERVICES = {
    "Microsoft.ContainerService/managedClusters": JOIN,
    "Microsoft.ContainerInstance/containerGroups": ["Microsoft.Network/virtualNetworks/subnets/action"],
    "Microsoft.Web/serverFarms": ["Microsoft.Network/virtualNetworks/subnets/action"],
    "Microsoft.App/environments": JOIN,
    "Microsoft.DBforPostgreSQL/flexibleServers": JOIN,
    "Microsoft.DBforMySQL/flexibleServers": JOIN,
    "Microsoft.Sql/managedInstances": JOIN + [
        "Microsoft.Network/virtualNetworks/subnets/prepareNetworkPolicies/action",
        "Microsoft.Network/virtualNetworks/subnets/unprepareNetworkPolicies/action"],
    "Microsoft.Netapp/volumes": JOIN,
    "Microsoft.Network/dnsResolvers": JOIN,
    "Microsoft.Databricks/workspaces": JOIN + [
        "Microsoft.Network/virtualNetworks/subnets/prepareNetworkPolicies/action",
        "Microsoft.Network/virtualNetworks/subnets/unprepareNetworkPolicies/action"],
    "Microsoft.Batch/batchAccounts": ["Microsoft.Network/virtualNetworks/subnets/action"],
    "Microsoft.ApiManagement/service": JOIN,
    "Microsoft.DevCenter/networkConnection": JOIN,
    "Microsoft.Kusto/clusters": JOIN,
    "Microsoft.PowerPlatform/enterprisePolicies": JOIN,
    "Microsoft.CognitiveServices/accounts": JOIN,
}

SERVICE_ENDPOINTS = {
    "Microsoft.Storage", "Microsoft.Storage.Global", "Microsoft.Sql", "Microsoft.AzureCosmosDB",
    "Microsoft.KeyVault", "Microsoft.ServiceBus", "Microsoft.EventHub", "Microsoft.AzureActiveDirectory",
    "Microsoft.Web", "Microsoft.CognitiveServices", "Microsoft.ContainerRegistry",
}

# Service tags accepted in security rules (optionally with a ".Region" suffix).
SERVICE_TAGS = {t.lower() for t in """
ActionGroup ApiManagement AppConfiguration AppService AppServiceManagement AzureActiveDirectory
AzureActiveDirectoryDomainServices AzureAdvancedThreatProtection AzureArcInfrastructure
AzureAttestation AzureBackup AzureBotService AzureCloud AzureCognitiveSearch AzureConnectors
AzureContainerAppsService AzureContainerRegistry AzureCosmosDB AzureDatabricks
AzureDataExplorerManagement AzureDataLake AzureDevOps AzureDigitalTwins AzureEventGrid
AzureFrontDoor.Backend AzureFrontDoor.Frontend AzureFrontDoor.FirstParty AzureHealthcareAPIs
AzureInformationProtection AzureIoTHub AzureKeyVault AzureLoadBalancer AzureMachineLearning
AzureMonitor AzureOpenDatasets AzurePlatformDNS AzurePlatformIMDS AzurePlatformLKM
AzureResourceManager AzureSecurityCenter AzureSignalR AzureSiteRecovery AzureSphere AzureStack
AzureTrafficManager AzureUpdateDelivery BatchNodeManagement CognitiveServicesFrontend
CognitiveServicesManagement DataFactory EventHub GatewayManager GuestAndHybridManagement HDInsight
Internet LogicApps LogicAppsManagement MicrosoftCloudAppSecurity MicrosoftContainerRegistry
MicrosoftDefenderForEndpoint PowerBI PowerPlatformInfra PowerQueryOnline ServiceBus ServiceFabric
Sql SqlManagement Storage StorageSyncService VirtualNetwork WindowsAdminCenter WindowsVirtualDesktop
""".split()}

NSG_DEFAULT_RULES = (
    ("AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", "VirtualNetwork",
     "VirtualNetwork", "Allow", 65000, "Inbound"),
    ("AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer",
     "AzureLoadBalancer", "*", "Allow", 65001, "Inbound"),
    ("DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", 65500, "Inbound"),
    ("AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET", "VirtualNetwork",
     "VirtualNetwork", "Allow", 65000, "Outbound"),
    ("AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", "*", "Internet",
     "Allow", 65001, "Outbound"),
    ("DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", 65500, "Outbound"),
)

ENUM_NS = "Microsoft.WindowsAzure.Networking.Nrp.Frontend.Contract.Csm.Public"


class NetworkResource(ResourceType):
    """What every Microsoft.Network (non-DNS) type shares."""

    api_versions = NETWORK_API_VERSIONS
    creating_state = "Updating"   # the network RP has no "Creating"
    updating_state = "Updating"
    etag = "weak"
    patch = "tags"
    retry_after = 10
    name_pattern = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
    name_message = ("Resource name {name} is invalid. The name can be up to 80 characters long. It "
                    "must begin with a word character, and it must end with a word character or "
                    "with '_'. The name may contain word characters or '.', '-', '_'.")
    read_only_properties = ("provisioningState", "resourceGuid")


class NetworkChild(NetworkResource):
    has_location = False
    has_tags = False
    patch = None

    def not_found(self, ctx):
        # The network RP itself answers for a missing child of an existing parent.
        return ArmError(404, "NotFound", f"Resource {ctx.id} not found.", details=[])


def _resolve_ref(ctx, props, field, type_name, referrer_id, location=None):
    """Check a `{"id": ...}` reference: the resource exists, has the type, same region."""
    value = props.get(field)
    if value is None:
        return
    check_object(value, f"properties.{field}")
    rid = ref_id(value)
    if rid is None:
        raise bad_request("InvalidRequestFormat", f"Cannot parse the request: properties.{field}.id "
                          "is required.", details=[])
    rec = ctx.get(rid)
    if rec is None or rec.rtype.type.lower() != type_name.lower() or rec.deleting or \
            (location and rec.location and rec.location != location):
        raise invalid_reference(rid, referrer_id)
    props[field] = {"id": rec.id}


# --------------------------------------------------------------------------------------
@register
class VirtualNetwork(NetworkResource):
    type = VNET
    duration = 10.0
    inline_children = {"subnets": SUBNET}

    def validate(self, ctx, body, existing):
        p = body["properties"]
        check_object(p.get("addressSpace"), "properties.addressSpace")
        prefixes = (p.get("addressSpace") or {}).get("addressPrefixes")
        check_list(prefixes, "properties.addressSpace.addressPrefixes")
        if not prefixes and not (p.get("addressSpace") or {}).get("ipamPoolPrefixAllocations"):
            raise bad_request(
                "InvalidAddressSpace",
                f"AddressSpace of the virtual network {ctx.id} does not have any address prefixes in "
                "addressPrefixes array. AddressSpace and prefixes must be specified within properties "
                "object.", details=[])
        nets = []
        for pre in prefixes or []:
            net = parse_cidr(pre, ctx.id, "properties.addressSpace.addressPrefixes")
            for other_pre, other in nets:
                if overlaps(net, other):
                    raise bad_request(
                        "VnetAddressSpacesOverlap",
                        f"Cannot create or update virtual network {ctx.id} because its address "
                        f"prefixes {other_pre} and {pre} overlap.", details=[])
            nets.append((pre, net))
        dhcp = p.get("dhcpOptions")
        check_object(dhcp, "properties.dhcpOptions")
        servers = (dhcp or {}).get("dnsServers")
        check_list(servers, "properties.dhcpOptions.dnsServers")
        for s in servers or []:
            try:
                ipaddress.ip_address(s)
            except (ValueError, TypeError):
                raise bad_request("InvalidDnsServerIPAddress",
                                  f"DNS server IP address {s} of virtual network {ctx.id} is invalid.",
                                  details=[]) from None
        check_bool(p.get("enableDdosProtection"), "properties.enableDdosProtection")
        check_bool(p.get("enableVmProtection"), "properties.enableVmProtection")
        if p.get("enableDdosProtection") and not ref_id(p.get("ddosProtectionPlan")):
            raise bad_request("DdosProtectionPlanRequired",
                              f"Virtual network {ctx.id} has enableDdosProtection set but no "
                              "ddosProtectionPlan.", details=[])
        if p.get("privateEndpointVNetPolicies") is not None:
            p["privateEndpointVNetPolicies"] = canonical_enum(
                p["privateEndpointVNetPolicies"], ["Disabled", "Basic"],
                "properties.privateEndpointVNetPolicies", f"{ENUM_NS}.PrivateEndpointVNetPolicies")
        check_list(p.get("virtualNetworkPeerings"), "properties.virtualNetworkPeerings")

    def validate_delete(self, ctx, record):
        for sub in ctx.children(record, SUBNET):
            users = ctx.referrers(sub)
            if users:
                raise _subnet_in_use(sub, users)

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        p["resourceGuid"] = existing.properties.get("resourceGuid") if existing else ctx.new_guid()
        p.setdefault("dhcpOptions", {"dnsServers": []})
        p["dhcpOptions"].setdefault("dnsServers", [])
        p.setdefault("virtualNetworkPeerings", [])
        p.setdefault("enableDdosProtection", False)
        p.setdefault("privateEndpointVNetPolicies", "Disabled")
        return body

    def render(self, ctx, record, body):
        if ctx.api_version and ctx.api_version < "2024-05-01":
            body["properties"].pop("privateEndpointVNetPolicies", None)
        return body


def _subnet_in_use(subnet, users):
    who = ", ".join(sorted({ref for _user, ref in users}))
    return ArmError(400, "InUseSubnetCannotBeDeleted",
                    f"Subnet {subnet.name} is in use by {who} and cannot be deleted. In order to delete "
                    "the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
                    details=[])


@register
class Subnet(NetworkChild):
    type = SUBNET
    duration = 5.0

    def validate(self, ctx, body, existing):
        p = body["properties"]
        vnet = ctx.parent_body or {}
        vnet_name = vnet.get("name") or ctx.id.split("/")[-3]
        prefix, prefixes = p.get("addressPrefix"), p.get("addressPrefixes")
        check_list(prefixes, "properties.addressPrefixes")
        if prefix in (None, "") and not prefixes:
            if p.get("ipamPoolPrefixAllocations"):
                raise bad_request("IpamPoolPrefixAllocationsNotSupported",
                                  "IPAM pool allocations are not emulated.", details=[])
            raise bad_request(
                "NoAddressPrefixOrPoolProvided",
                f"Subnet {ctx.name} of virtual network {vnet_name} must have either addressPrefix "
                "or addressPrefixes (or IpamPoolPrefixAllocations) set.", details=[])
        if prefix not in (None, "") and prefixes:
            raise bad_request(
                "SubnetCannotHaveBothAddressPrefixAndAddressPrefixes",
                f"Subnet {ctx.name} sets both addressPrefix ({prefix}) and addressPrefixes "
                f"({', '.join(map(str, prefixes))}); set only one of them.", details=[])
        mine = [parse_cidr(x, ctx.id, "properties.addressPrefix") for x in
                ([prefix] if prefix not in (None, "") else prefixes)]
        spaces = []
        for x in ((vnet.get("properties") or {}).get("addressSpace") or {}).get("addressPrefixes") or []:
            try:
                spaces.append(ipaddress.ip_network(x, strict=False))
            except ValueError:
                pass
        for net in mine:
            if net.version == 4 and net.prefixlen > 29:
                raise bad_request(
                    "NetcfgInvalidSubnet",
                    f"Subnet '{ctx.name}' is not valid in virtual network '{vnet_name}': the address "
                    f"prefix {net} is smaller than the smallest supported subnet (/29).", details=[])
            if not within_any(net, spaces):
                raise bad_request(
                    "NetcfgSubnetRangeOutsideVnet",
                    f"Subnet '{ctx.name}' is not valid because its IP address range ({net}) is outside "
                    f"the IP address range of virtual network '{vnet_name}'.", details=[])
        for sib in ctx.siblings:
            sp = sib.get("properties") or {}
            theirs = [sp["addressPrefix"]] if sp.get("addressPrefix") else (sp.get("addressPrefixes") or [])
            for x in theirs:
                try:
                    other = ipaddress.ip_network(x, strict=False)
                except (ValueError, TypeError):
                    continue
                for net in mine:
                    if overlaps(net, other):
                        raise bad_request(
                            "NetcfgSubnetRangesOverlap",
                            f"Subnet '{ctx.name}' is not valid because its IP address range ({net}) "
                            f"overlaps with that of an existing subnet ('{sib.get('name')}', {x}) in "
                            f"virtual network '{vnet_name}'.", details=[])
        check_bool(p.get("defaultOutboundAccess"), "properties.defaultOutboundAccess")
        location = vnet.get("location") or ctx.location
        _resolve_ref(ctx, p, "networkSecurityGroup", NSG, ctx.id, location)
        _resolve_ref(ctx, p, "routeTable", ROUTE_TABLE, ctx.id, location)
        _resolve_ref(ctx, p, "natGateway", NAT_GATEWAY, ctx.id, location)
        if p.get("privateEndpointNetworkPolicies") is not None:
            p["privateEndpointNetworkPolicies"] = canonical_enum(
                p["privateEndpointNetworkPolicies"],
                ["Disabled", "Enabled", "NetworkSecurityGroupEnabled", "RouteTableEnabled"],
                "properties.privateEndpointNetworkPolicies",
                f"{ENUM_NS}.VirtualNetworkPrivateEndpointNetworkPolicies")
        if p.get("privateLinkServiceNetworkPolicies") is not None:
            p["privateLinkServiceNetworkPolicies"] = canonical_enum(
                p["privateLinkServiceNetworkPolicies"], ["Enabled", "Disabled"],
                "properties.privateLinkServiceNetworkPolicies",
                f"{ENUM_NS}.VirtualNetworkPrivateLinkServiceNetworkPolicies")
        dels = p.get("delegations")
        check_list(dels, "properties.delegations")
        names = set()
        for i, d in enumerate(dels or []):
            check_object(d, f"properties.delegations[{i}]")
            dname = d.get("name")
            svc = (d.get("properties") or {}).get("serviceName") or d.get("serviceName")
            if not dname:
                raise bad_request("InvalidRequestFormat",
                                  f"Cannot parse the request: properties.delegations[{i}].name is required.",
                                  details=[])
            if dname.lower() in names:
                raise bad_request("DuplicateResourceName",
                                  f"Resource {ctx.id} has two child resources with the same name ({dname}).",
                                  details=[])
            names.add(dname.lower())
            canon = {k.lower(): k for k in DELEGATION_SERVICES}.get(str(svc).lower())
            if canon is None:
                raise bad_request(
                    "InvalidServiceNameOnDelegation",
                    f"Delegation {dname} for subnet {ctx.id} has invalid service name {svc}. Valid "
                    f"service names include {', '.join(sorted(DELEGATION_SERVICES))}.", details=[])
            d.setdefault("properties", {})["serviceName"] = canon
        if dels and len(dels) > 1:
            raise bad_request("SubnetDelegationsCannotContainMoreThanOneService",
                              f"Subnet {ctx.id} has {len(dels)} delegations; a subnet can be delegated "
                              "to one service only.", details=[])
        eps = p.get("serviceEndpoints")
        check_list(eps, "properties.serviceEndpoints")
        for i, ep in enumerate(eps or []):
            check_object(ep, f"properties.serviceEndpoints[{i}]")
            svc = ep.get("service")
            canon = {k.lower(): k for k in SERVICE_ENDPOINTS}.get(str(svc).lower())
            if canon is None:
                raise bad_request("InvalidServiceEndpoint",
                                  f"Service endpoint {svc} of subnet {ctx.id} is not a known service. "
                                  f"Known: {', '.join(sorted(SERVICE_ENDPOINTS))}.", details=[])
            ep["service"] = canon

    def validate_delete(self, ctx, record):
        users = ctx.referrers(record)
        if users:
            raise _subnet_in_use(record, users)

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.body.get("properties", {}) if existing else {}
        out = []
        for d in p.get("delegations") or []:
            name = d["name"]
            prev = next((x for x in old.get("delegations", []) if x.get("name", "").lower() == name.lower()), None)
            svc = d["properties"]["serviceName"]
            out.append({
                "name": name,
                "id": f"{ctx.id}/delegations/{name}",
                "etag": prev["etag"] if prev else weak_etag(),
                "type": "Microsoft.Network/virtualNetworks/subnets/delegations",
                "properties": {"serviceName": svc, "actions": list(DELEGATION_SERVICES[svc]),
                               "provisioningState": "Succeeded"},
            })
        p["delegations"] = out
        eps = []
        for ep in p.get("serviceEndpoints") or []:
            eps.append({"service": ep["service"],
                        "locations": ep.get("locations") or [ctx.location or "*"],
                        "provisioningState": "Succeeded"})
        if eps:
            p["serviceEndpoints"] = eps
        else:
            p.pop("serviceEndpoints", None)
        p.setdefault("privateEndpointNetworkPolicies", "Disabled")
        p.setdefault("privateLinkServiceNetworkPolicies", "Enabled")
        return body

    def render(self, ctx, record, body):
        # Back-references: the IP configurations of the network interfaces in the subnet (netedge.py).
        configs, seen = [], set()
        for rec, _ref in ctx.referrers(record):
            if rec.key in seen or rec.rtype.type.lower() != "microsoft.network/networkinterfaces":
                continue
            seen.add(rec.key)
            for config in rec.properties.get("ipConfigurations") or []:
                if (ref_id((config.get("properties") or {}).get("subnet")) or "").lower() == record.key:
                    configs.append({"id": config.get("id")})
        if configs:
            body["properties"]["ipConfigurations"] = configs
        return body


# --------------------------------------------------------------------------------------
@register
class NetworkSecurityGroup(NetworkResource):
    type = NSG
    duration = 5.0
    inline_children = {"securityRules": NSG_RULE}
    read_only_properties = ("provisioningState", "resourceGuid", "defaultSecurityRules", "subnets",
                            "networkInterfaces", "flowLogs")

    def validate(self, ctx, body, existing):
        check_bool(body["properties"].get("flushConnection"), "properties.flushConnection")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        p["resourceGuid"] = old.get("resourceGuid") or ctx.new_guid()
        p["defaultSecurityRules"] = old.get("defaultSecurityRules") or [
            {
                "name": name,
                "id": f"{ctx.id}/defaultSecurityRules/{name}",
                "etag": weak_etag(),
                "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
                "properties": {
                    "provisioningState": "Succeeded",
                    "description": desc,
                    "protocol": "*",
                    "sourcePortRange": "*",
                    "destinationPortRange": "*",
                    "sourceAddressPrefix": src,
                    "destinationAddressPrefix": dst,
                    "access": access,
                    "priority": prio,
                    "direction": direction,
                    "sourcePortRanges": [],
                    "destinationPortRanges": [],
                    "sourceAddressPrefixes": [],
                    "destinationAddressPrefixes": [],
                },
            }
            for name, desc, src, dst, access, prio, direction in NSG_DEFAULT_RULES
        ]
        return body

    def validate_delete(self, ctx, record):
        users = ctx.referrers(record)
        if users:
            who = ", ".join(sorted({r.id for r, _ref in users}))
            raise ArmError(
                400, "InUseNetworkSecurityGroupCannotBeDeleted",
                f"Network security group {record.id} cannot be deleted because it is in use by the "
                f"following resources: {who}. In order to delete the Network security group, remove "
                "the association with the resource(s). To learn how to do this, see aka.ms/deletensg.",
                details=[])

    def render(self, ctx, record, body):
        by_prop = {}
        for r, _ref in ctx.referrers(record):
            prop = {SUBNET.lower(): "subnets",
                    "microsoft.network/networkinterfaces": "networkInterfaces"}.get(r.rtype.type.lower())
            if prop:
                by_prop.setdefault(prop, []).append({"id": r.id})
        body["properties"].update(by_prop)
        return body


def _check_ports(p, side, rid):
    single, multi = p.get(f"{side}PortRange"), p.get(f"{side}PortRanges")
    check_list(multi, f"properties.{side}PortRanges")
    has_single, has_multi = single not in (None, ""), bool(multi)
    cap = side[0].upper() + side[1:]
    if has_single == has_multi:
        code = "SecurityRuleParametersMissing" if not has_single else "SecurityRuleParameterContainsMultipleValues"
        raise bad_request(code, f"Security rule with Id {rid} must specify a non-empty value for either "
                                f"{cap}PortRange or {cap}PortRanges, but not both.", details=[])
    for v in ([single] if has_single else multi):
        if not _valid_port_range(v):
            raise bad_request("SecurityRuleInvalidPortRange",
                              f"Security rule has invalid Port range. Value provided: {v}. Value should be "
                              "an integer OR integer range with '-' delimiter. Valid range 0-65535.",
                              details=[])


def _valid_port_range(v):
    if not isinstance(v, str):
        return False
    v = v.strip()
    if v == "*":
        return True
    m = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", v)
    if not m:
        return False
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    return 0 <= lo <= hi <= 65535


def _valid_address(v):
    if not isinstance(v, str) or not v:
        return False
    if v == "*":
        return True
    try:
        ipaddress.ip_network(v, strict=False)
        return True
    except ValueError:
        pass
    base = v.lower()
    if base in SERVICE_TAGS:
        return True
    head, _sep, region = base.partition(".")
    return bool(region) and head in SERVICE_TAGS and region.isalnum()


def _check_addresses(p, side, rid):
    single, multi = p.get(f"{side}AddressPrefix"), p.get(f"{side}AddressPrefixes")
    asgs = p.get(f"{side}ApplicationSecurityGroups")
    check_list(multi, f"properties.{side}AddressPrefixes")
    check_list(asgs, f"properties.{side}ApplicationSecurityGroups")
    given = [x for x in (single not in (None, ""), bool(multi), bool(asgs)) if x]
    cap = side[0].upper() + side[1:]
    if not given:
        raise bad_request("SecurityRuleParametersMissing",
                          f"Required security rule parameters are missing for security rule with Id: {rid}. "
                          f"Security rule must specify {cap}AddressPrefixes, {cap}AddressPrefix, or "
                          f"{cap}ApplicationSecurityGroups.", details=[])
    if len(given) > 1:
        raise bad_request("SecurityRuleParameterContainsMultipleValues",
                          f"Security rule with Id {rid} must specify only one of {cap}AddressPrefix, "
                          f"{cap}AddressPrefixes or {cap}ApplicationSecurityGroups.", details=[])
    for v in ([single] if single not in (None, "") else (multi or [])):
        if not _valid_address(v):
            raise bad_request("SecurityRuleInvalidAddressPrefix",
                              f"Security rule has invalid Address prefix. Value provided: {v}.", details=[])


@register
class SecurityRule(NetworkChild):
    type = NSG_RULE
    duration = 5.0

    def validate(self, ctx, body, existing):
        p = body["properties"]
        rid = ctx.id
        missing = [f for f in ("protocol", "access", "direction", "priority") if p.get(f) in (None, "")]
        if missing:
            raise bad_request("SecurityRuleParametersMissing",
                              f"Required security rule parameters are missing for security rule with Id: "
                              f"{rid}. Security rule must specify {', '.join(missing)}.", details=[])
        p["protocol"] = canonical_enum(p["protocol"], ["Tcp", "Udp", "Icmp", "Esp", "*", "Ah"],
                                       "properties.protocol", f"{ENUM_NS}.SecurityRuleProtocol")
        p["access"] = canonical_enum(p["access"], ["Allow", "Deny"], "properties.access",
                                     f"{ENUM_NS}.SecurityRuleAccess")
        p["direction"] = canonical_enum(p["direction"], ["Inbound", "Outbound"], "properties.direction",
                                        f"{ENUM_NS}.SecurityRuleDirection")
        check_int(p["priority"], "properties.priority")
        if not 100 <= p["priority"] <= 4096:
            raise bad_request("SecurityRuleInvalidPriority",
                              f"Security rule has invalid Priority. Value provided: {p['priority']} Allowed "
                              "range 100-4096.", details=[])
        for side in ("source", "destination"):
            _check_ports(p, side, rid)
            _check_addresses(p, side, rid)
        if p.get("description") is not None and (not isinstance(p["description"], str)
                                                 or len(p["description"]) > 140):
            raise bad_request("SecurityRuleDescriptionTooLong",
                              f"Security rule {ctx.name} has a description longer than 140 characters.",
                              details=[])
        for sib in ctx.siblings:
            sp = sib.get("properties") or {}
            if sp.get("priority") == p["priority"] and \
                    str(sp.get("direction", "")).lower() == p["direction"].lower():
                raise bad_request(
                    "SecurityRuleConflict",
                    f"Security rule {sib.get('name')} conflicts with rule {ctx.name}. Rules cannot have "
                    "the same Priority and Direction. To learn more, see aka.ms/nsgrules.", details=[])

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        for k in ("sourcePortRanges", "destinationPortRanges", "sourceAddressPrefixes",
                  "destinationAddressPrefixes"):
            p.setdefault(k, [])
        return body
