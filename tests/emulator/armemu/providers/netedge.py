"""Microsoft.Network at the edge of the jump box: publicIPAddresses, natGateways, networkInterfaces.

Facts and rules (network RP REST reference; error codes as Azure reports them where public error
reports show them, descriptive ones otherwise; every message names the value):

publicIPAddresses
  * ``sku.name`` Basic (the API default) or Standard, ``sku.tier`` Regional (default) or Global;
    a Standard address must be Static (``StandardSkuPublicIPAddressesMustBeStatic``);
    ``publicIPAllocationMethod`` defaults to Dynamic, ``publicIPAddressVersion`` to IPv4.
  * ``idleTimeoutInMinutes`` 4 to 30 (default 4); ``zones`` "1" to "3".
  * A Static address is allocated at creation, from 203.0.113.0/24 (TEST-NET-3, never routable), the
    first free one, and kept for the life of the resource.
  * SKU, version and zones cannot change; Static cannot go back to Dynamic on Standard.
  * It cannot be deleted while a NAT gateway or a network interface uses it
    (``PublicIPAddressCannotBeDeleted``); a GET shows ``natGateway`` / ``ipConfiguration``.

natGateways
  * ``sku.name`` must be Standard; at most one zone; ``idleTimeoutInMinutes`` 4 to 120 (default 4).
  * ``publicIpAddresses``: at most 16, each an existing Standard, Static, IPv4 address in the same
    region, not used by another NAT gateway or interface; a zonal NAT gateway takes addresses of its
    own zone or zone-redundant ones, not those of another zone nor regional ones.
  * It cannot be deleted while a subnet uses it (``CannotDeleteNatGatewayAssociatedToSubnet``,
    Azure's message); a GET shows ``subnets``.

networkInterfaces
  * At least one IP configuration; with several, exactly one ``primary``.
  * Each IP configuration needs an existing subnet of a virtual network in the interface's region
    (``InvalidResourceReference`` otherwise); all in the same virtual network.
  * ``privateIPAllocationMethod`` Dynamic (default) or Static. Static needs ``privateIPAddress``
    (``PrivateIPAddressMissing``) inside the subnet (``PrivateIPAddressNotInSubnet``), not one of the
    five addresses Azure reserves (``PrivateIPAddressInReservedRange``) and not used by another
    interface (``PrivateIPAddressIsAllocated``). Dynamic takes the first free address from the fifth
    of the subnet (x.x.x.4 of a /24) on, and keeps it while the subnet stays the same
    (``SubnetIsFull`` when none is left).
  * A public IP address or NSG, when given, must exist in the same region.
  * An interface used by a virtual machine cannot be deleted (``NicInUse``, Azure's message); a GET
    shows ``virtualMachine``, ``primary`` and a ``macAddress`` once a VM uses it. Subnets show the
    interface's IP configurations in ``ipConfigurations`` (see ``network.Subnet.render``).
"""
import ipaddress
import re

from ..errors import bad_request
from ..registry import register
from ..util import canonical_enum, check_bool, check_int, check_list, check_object, invalid_reference, ref_id
from .network import ENUM_NS, NSG, SUBNET, NetworkResource

PUBLIC_IP = "Microsoft.Network/publicIPAddresses"
NAT_GATEWAY = "Microsoft.Network/natGateways"
NIC = "Microsoft.Network/networkInterfaces"
VM = "Microsoft.Compute/virtualMachines"
PUBLIC_POOL = ipaddress.ip_network("203.0.113.0/24")
ZONES = ("1", "2", "3")


def _zones(ctx, body, existing):
    zones = body.get("zones")
    check_list(zones, "zones")
    zones = [str(z) for z in zones or []]
    for zone in zones:
        if zone not in ZONES:
            raise bad_request("InvalidAvailabilityZone",
                              f"The availability zone '{zone}' of resource {ctx.id} is not valid in region "
                              f"{ctx.location}: use 1, 2 or 3.", details=[])
    if existing is not None and sorted(existing.body.get("zones") or []) != sorted(zones):
        raise bad_request("ResourceAvailabilityZonesCannotBeModified",
                          f"Resource {ctx.id} has zones {existing.body.get('zones') or []}; the zones of an "
                          "existing resource cannot be changed.", details=[])
    if zones:
        body["zones"] = sorted(zones)
    else:
        body.pop("zones", None)
    return zones


def _resolve(ctx, value, type_name, path, location):
    """A `{"id": ...}` reference to an existing resource of the type, in the region; returns its record."""
    check_object(value, path)
    rid = ref_id(value)
    if rid is None:
        raise bad_request("InvalidRequestFormat", f"Cannot parse the request: {path}.id is required.", details=[])
    rec = ctx.get(rid)
    rec_location = None
    if rec is not None:
        rec_location = rec.location or (ctx.get(rec.parent_key).location if ctx.get(rec.parent_key) else None)
    if rec is None or rec.rtype.type.lower() != type_name.lower() or rec.deleting or \
            (location and rec_location and rec_location != location):
        raise invalid_reference(rid, ctx.id)
    return rec


def _users(ctx, record, type_name):
    """Records of a type that reference ``record`` in their stored body."""
    return [r for r, _ref in ctx.referrers(record) if r.rtype.type.lower() == type_name.lower()]


# --------------------------------------------------------------------------------------
@register
class PublicIPAddress(NetworkResource):
    type = PUBLIC_IP
    duration = 5.0
    read_only_properties = ("provisioningState", "resourceGuid", "ipAddress", "ipConfiguration", "natGateway")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        sku = body.get("sku") or {}
        check_object(body.get("sku"), "sku")
        name = canonical_enum(sku.get("name") or "Basic", ["Basic", "Standard"], "sku.name",
                              f"{ENUM_NS}.PublicIpAddressSkuName")
        tier = canonical_enum(sku.get("tier") or "Regional", ["Regional", "Global"], "sku.tier",
                              f"{ENUM_NS}.PublicIpAddressSkuTier")
        body["sku"] = {"name": name, "tier": tier}
        p["publicIPAllocationMethod"] = canonical_enum(p.get("publicIPAllocationMethod") or "Dynamic",
                                                       ["Static", "Dynamic"], "properties.publicIPAllocationMethod",
                                                       f"{ENUM_NS}.IpAllocationMethod")
        p["publicIPAddressVersion"] = canonical_enum(p.get("publicIPAddressVersion") or "IPv4", ["IPv4", "IPv6"],
                                                     "properties.publicIPAddressVersion",
                                                     f"{ENUM_NS}.IpVersion")
        if name == "Standard" and p["publicIPAllocationMethod"] != "Static":
            raise bad_request("StandardSkuPublicIPAddressesMustBeStatic",
                              f"Standard sku publicIp {ctx.id} must have AllocationMethod set to Static.",
                              details=[])
        check_int(p.get("idleTimeoutInMinutes"), "properties.idleTimeoutInMinutes")
        idle = p.setdefault("idleTimeoutInMinutes", 4)
        if not 4 <= idle <= 30:
            raise bad_request("PublicIPIdleTimeoutIsOutOfRange",
                              f"The idle timeout of public IP address {ctx.id} is {idle} minutes; it must be "
                              "between 4 and 30 minutes.", details=[])
        _zones(ctx, body, existing)
        if existing is not None:
            old = existing.body
            for field, before, after in (("sku.name", (old.get("sku") or {}).get("name"), name),
                                         ("properties.publicIPAddressVersion",
                                          old["properties"].get("publicIPAddressVersion"), p["publicIPAddressVersion"])):
                if before and before != after:
                    raise bad_request("PublicIPAddressPropertyCannotBeChanged",
                                      f"The {field} of public IP address {ctx.id} is {before} and cannot be "
                                      f"changed to {after}.", details=[])

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        p["resourceGuid"] = old.get("resourceGuid") or ctx.new_guid()
        p.setdefault("ipTags", [])
        if p["publicIPAllocationMethod"] == "Static":
            p["ipAddress"] = old.get("ipAddress") or self._allocate(ctx)
        return body

    @staticmethod
    def _allocate(ctx):
        used = {r.properties.get("ipAddress") for r in ctx.of_type(PUBLIC_IP)}
        for host in PUBLIC_POOL.hosts():
            if str(host) not in used:
                return str(host)
        raise bad_request("PublicIPCountLimitReached", "The emulator's public address pool (203.0.113.0/24) is "
                          "exhausted.", details=[])

    def validate_delete(self, ctx, record):
        users = [r.id for r in _users(ctx, record, NAT_GATEWAY)]
        for rec in _users(ctx, record, NIC):
            users += [c["id"] for c in rec.properties.get("ipConfigurations") or []
                      if (ref_id((c.get("properties") or {}).get("publicIPAddress")) or "").lower() == record.key]
        if users:
            raise bad_request(
                "PublicIPAddressCannotBeDeleted",
                f"Public IP address {record.id} can not be deleted since it is still allocated to resource "
                f"{users[0]}. In order to delete the public IP, disassociate/detach the Public IP address from "
                "the resource.  To learn how to do this, see aka.ms/deletepublicip.", details=[])

    def render(self, ctx, record, body):
        p = body["properties"]
        for rec in _users(ctx, record, NAT_GATEWAY):
            p["natGateway"] = {"id": rec.id}
        for rec in _users(ctx, record, NIC):
            for config in rec.properties.get("ipConfigurations") or []:
                if (ref_id((config.get("properties") or {}).get("publicIPAddress")) or "").lower() == record.key:
                    p["ipConfiguration"] = {"id": config["id"]}
        return body


# --------------------------------------------------------------------------------------
@register
class NatGateway(NetworkResource):
    type = NAT_GATEWAY
    duration = 10.0
    read_only_properties = ("provisioningState", "resourceGuid", "subnets")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        check_object(body.get("sku"), "sku")
        sku = (body.get("sku") or {}).get("name")
        if sku is None:
            raise bad_request("NatGatewaySkuRequired", f"NAT gateway {ctx.id} needs sku.name Standard.", details=[])
        body["sku"] = {"name": canonical_enum(sku, ["Standard"], "sku.name", f"{ENUM_NS}.NatGatewaySkuName")}
        zones = _zones(ctx, body, existing)
        if len(zones) > 1:
            raise bad_request("NatGatewayCannotHaveMultipleZones",
                              f"NAT gateway {ctx.id} lists zones {', '.join(zones)}; a NAT gateway is zonal in one "
                              "zone or regional (no zone).", details=[])
        check_int(p.get("idleTimeoutInMinutes"), "properties.idleTimeoutInMinutes")
        idle = p.setdefault("idleTimeoutInMinutes", 4)
        if not 4 <= idle <= 120:
            raise bad_request("NatGatewayInvalidIdleTimeout",
                              f"The idle timeout of NAT gateway {ctx.id} is {idle} minutes; it must be between 4 "
                              "and 120 minutes.", details=[])
        ips = p.get("publicIpAddresses")
        check_list(ips, "properties.publicIpAddresses")
        if len(ips or []) > 16:
            raise bad_request("NatGatewayPublicIpAddressLimitExceeded",
                              f"NAT gateway {ctx.id} has {len(ips)} public IP addresses; at most 16 are allowed.",
                              details=[])
        out = []
        for index, ref in enumerate(ips or []):
            rec = _resolve(ctx, ref, PUBLIC_IP, f"properties.publicIpAddresses[{index}]", ctx.location)
            props = rec.properties
            if (rec.body.get("sku") or {}).get("name") != "Standard":
                raise bad_request("NatGatewayCannotUseBasicSkuPublicIp",
                                  f"Public IP address {rec.id} has the {(rec.body.get('sku') or {}).get('name')} SKU; "
                                  f"NAT gateway {ctx.id} takes Standard public IP addresses only.", details=[])
            if props.get("publicIPAllocationMethod") != "Static" or props.get("publicIPAddressVersion") != "IPv4":
                raise bad_request("NatGatewayPublicIpMustBeStaticIPv4",
                                  f"Public IP address {rec.id} must be a static IPv4 address to be used by NAT "
                                  f"gateway {ctx.id}.", details=[])
            rec_zones = rec.body.get("zones") or []
            if zones and not (rec_zones == zones or len(rec_zones) > 1 and zones[0] in rec_zones):
                raise bad_request("NatGatewayPublicIpZoneMismatch",
                                  f"Public IP address {rec.id} (zones: {rec_zones or 'none'}) cannot be used by NAT "
                                  f"gateway {ctx.id} in zone {zones[0]}: use an address of that zone or a "
                                  "zone-redundant one.", details=[])
            others = [r for r in _users(ctx, rec, NAT_GATEWAY) + _users(ctx, rec, NIC) if r.key != ctx.key]
            if others:
                raise bad_request("PublicIpAddressInUse",
                                  f"Public IP address {rec.id} is already used by {others[0].id}.", details=[])
            out.append({"id": rec.id})
        p["publicIpAddresses"] = out
        if p.get("publicIpPrefixes"):
            raise bad_request("PublicIpPrefixesNotEmulated",
                              "Public IP prefixes on NAT gateways are not emulated.", details=[])

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        p["resourceGuid"] = (existing.properties.get("resourceGuid") if existing else None) or ctx.new_guid()
        p.setdefault("publicIpPrefixes", [])
        return body

    def validate_delete(self, ctx, record):
        subnets = _users(ctx, record, SUBNET)
        if subnets:
            raise bad_request(
                "CannotDeleteNatGatewayAssociatedToSubnet",
                f"NAT Gateway {record.id} is still configured on {len(subnets)} subnets. Remove NAT Gateway from "
                "all referenced subnets and then delete NAT Gateway.", details=[])

    def render(self, ctx, record, body):
        body["properties"]["subnets"] = [{"id": r.id} for r in _users(ctx, record, SUBNET)]
        return body


# --------------------------------------------------------------------------------------
def _reserved(net):
    """The five addresses Azure keeps in every IPv4 subnet: the first four and the last."""
    first = int(net.network_address)
    return {str(ipaddress.ip_address(first + i)) for i in range(4)} | {str(net.broadcast_address)}


def _used_addresses(ctx, subnet_key, exclude_key):
    used = set()
    for rec in ctx.of_type(NIC):
        if rec.key == exclude_key:
            continue
        for config in rec.properties.get("ipConfigurations") or []:
            cprops = config.get("properties") or {}
            if (ref_id(cprops.get("subnet")) or "").lower() == subnet_key and cprops.get("privateIPAddress"):
                used.add(cprops["privateIPAddress"])
    return used


def _subnet_network(subnet):
    props = subnet.properties
    prefix = props.get("addressPrefix") or (props.get("addressPrefixes") or [None])[0]
    return ipaddress.ip_network(prefix, strict=False)


@register
class NetworkInterface(NetworkResource):
    type = NIC
    duration = 5.0
    read_only_properties = ("provisioningState", "resourceGuid", "macAddress", "virtualMachine", "primary",
                            "hostedWorkloads", "tapConfigurations", "vnetEncryptionSupported", "dscpConfiguration",
                            "privateEndpoint", "privateLinkService", "defaultOutboundConnectivityEnabled")
    name_check = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        configs = p.get("ipConfigurations")
        check_list(configs, "properties.ipConfigurations")
        if not configs:
            raise bad_request("NetworkInterfaceWithoutIpConfiguration",
                              f"Network interface {ctx.id} needs at least one IP configuration.", details=[])
        primaries = [c for c in configs if isinstance(c, dict) and (c.get("properties") or {}).get("primary")]
        if len(configs) > 1 and len(primaries) != 1:
            raise bad_request("NetworkInterfaceMustHaveOnePrimaryIpConfiguration",
                              f"Network interface {ctx.id} has {len(configs)} IP configurations and "
                              f"{len(primaries)} marked primary; exactly one must be primary.", details=[])
        names = set()
        vnets = set()
        for index, config in enumerate(configs):
            path = f"properties.ipConfigurations[{index}]"
            check_object(config, path)
            name = config.get("name")
            if not name or not self.name_check.match(str(name)):
                raise bad_request("InvalidResourceName", f"IP configuration name {name!r} of {ctx.id} is invalid.",
                                  details=[])
            if name.lower() in names:
                raise bad_request("DuplicateResourceName",
                                  f"Resource {ctx.id} has two child resources with the same name ({name}).",
                                  details=[])
            names.add(name.lower())
            cprops = config.setdefault("properties", {})
            check_object(cprops, path + ".properties")
            if cprops.get("subnet") is None:
                raise bad_request("SubnetIsRequired", f"IP configuration {ctx.id}/ipConfigurations/{name} needs a "
                                  "subnet.", details=[])
            subnet = _resolve(ctx, cprops["subnet"], SUBNET, path + ".properties.subnet", ctx.location)
            cprops["subnet"] = {"id": subnet.id}
            vnets.add(subnet.parent_key)
            method = canonical_enum(cprops.get("privateIPAllocationMethod") or "Dynamic", ["Static", "Dynamic"],
                                    path + ".properties.privateIPAllocationMethod", f"{ENUM_NS}.IpAllocationMethod")
            cprops["privateIPAllocationMethod"] = method
            if method == "Static":
                self._check_static(ctx, config, subnet)
            if cprops.get("publicIPAddress") is not None:
                rec = _resolve(ctx, cprops["publicIPAddress"], PUBLIC_IP, path + ".properties.publicIPAddress",
                               ctx.location)
                others = [r for r in _users(ctx, rec, NAT_GATEWAY) + _users(ctx, rec, NIC) if r.key != ctx.key]
                if others:
                    raise bad_request("PublicIpAddressInUse",
                                      f"Public IP address {rec.id} is already used by {others[0].id}.", details=[])
                cprops["publicIPAddress"] = {"id": rec.id}
            check_bool(cprops.get("primary"), path + ".properties.primary")
        if len(vnets) > 1:
            raise bad_request("IpConfigurationsOfNicMustBeInSameVnet",
                              f"The IP configurations of network interface {ctx.id} are in different virtual "
                              "networks; they must all be in one.", details=[])
        if p.get("networkSecurityGroup") is not None:
            rec = _resolve(ctx, p["networkSecurityGroup"], NSG, "properties.networkSecurityGroup", ctx.location)
            p["networkSecurityGroup"] = {"id": rec.id}
        for flag in ("enableAcceleratedNetworking", "enableIPForwarding"):
            check_bool(p.get(flag), "properties." + flag)

    @staticmethod
    def _check_static(ctx, config, subnet):
        cprops = config["properties"]
        cid = f"{ctx.id}/ipConfigurations/{config['name']}"
        address = cprops.get("privateIPAddress")
        if not address:
            raise bad_request("PrivateIPAddressMissing",
                              f"Private IP address is required when privateIPAllocationMethod is Static in IP "
                              f"configuration {cid}.", details=[])
        net = _subnet_network(subnet)
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            raise bad_request("InvalidPrivateIPAddress", f"Private IP address {address} of IP configuration {cid} "
                              "is not a valid IP address.", details=[]) from None
        if parsed not in net:
            raise bad_request("PrivateIPAddressNotInSubnet",
                              f"Private static IP address {address} does not belong to the range of subnet "
                              f"{subnet.id} ({net}).", details=[])
        if address in _reserved(net):
            raise bad_request("PrivateIPAddressInReservedRange",
                              f"Private static IP address {address} falls within reserved IP range of subnet prefix "
                              f"{net}.", details=[])
        if address in _used_addresses(ctx, subnet.key, ctx.key):
            raise bad_request("PrivateIPAddressIsAllocated",
                              f"IP configuration {cid} is using the private IP address {address} which is already "
                              "allocated to another resource.", details=[])

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old_configs = dict((c["name"].lower(), c) for c in (existing.properties.get("ipConfigurations") or [])) \
            if existing else {}
        p["resourceGuid"] = (existing.properties.get("resourceGuid") if existing else None) or ctx.new_guid()
        taken = set()
        configs = p["ipConfigurations"]
        for index, config in enumerate(configs):
            cprops = config["properties"]
            subnet = ctx.get(cprops["subnet"]["id"])
            old = (old_configs.get(config["name"].lower()) or {}).get("properties") or {}
            if cprops["privateIPAllocationMethod"] == "Dynamic":
                same_subnet = (ref_id(old.get("subnet")) or "").lower() == subnet.key
                if same_subnet and old.get("privateIPAddress"):
                    cprops["privateIPAddress"] = old["privateIPAddress"]
                else:
                    cprops["privateIPAddress"] = self._allocate(ctx, subnet, taken)
            taken.add(cprops["privateIPAddress"])
            cprops.setdefault("primary", len(configs) == 1 or index == 0 and not any(
                (c["properties"] or {}).get("primary") for c in configs))
            cprops["privateIPAddressVersion"] = "IPv4"
            cprops["provisioningState"] = "Succeeded"
            config["id"] = f"{ctx.id}/ipConfigurations/{config['name']}"
            config["type"] = "Microsoft.Network/networkInterfaces/ipConfigurations"
            config["etag"] = (old_configs.get(config["name"].lower()) or {}).get("etag") or f'W/"{ctx.new_guid()}"'
        p.setdefault("enableAcceleratedNetworking", False)
        p.setdefault("enableIPForwarding", False)
        p.setdefault("dnsSettings", {"dnsServers": [], "appliedDnsServers": []})
        p.setdefault("nicType", "Standard")
        return body

    @staticmethod
    def _allocate(ctx, subnet, taken):
        net = _subnet_network(subnet)
        reserved = _reserved(net)
        used = _used_addresses(ctx, subnet.key, ctx.key) | taken
        for host in net.hosts():
            address = str(host)
            if address not in reserved and address not in used:
                return address
        raise bad_request("SubnetIsFull", f"Subnet {subnet.name} with address prefix {net} does not have enough "
                          "capacity for 1 IP addresses.", details=[])

    def validate_delete(self, ctx, record):
        users = _users(ctx, record, VM)
        if users:
            raise bad_request(
                "NicInUse",
                f"Network Interface {record.id} is used by existing resource {users[0].id}. In order to delete the "
                "network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.",
                details=[])

    def render(self, ctx, record, body):
        users = _users(ctx, record, VM)
        if users:
            p = body["properties"]
            p["virtualMachine"] = {"id": users[0].id}
            refs = (users[0].properties.get("networkProfile") or {}).get("networkInterfaces") or []
            mine = [r for r in refs if (ref_id(r) or "").lower() == record.key]
            p["primary"] = bool(mine and ((mine[0].get("properties") or {}).get("primary") or len(refs) == 1))
            guid = p.get("resourceGuid", "").replace("-", "").upper()
            p["macAddress"] = "00-0D-3A-" + "-".join(guid[i:i + 2] for i in range(0, 6, 2))
        return body
