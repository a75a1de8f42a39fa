"""Private Link: Microsoft.Network/privateEndpoints, privateEndpoints/privateDnsZoneGroups, and the A
record sets of private DNS zones (Microsoft.Network/privateDnsZones/A) that zone groups keep.

Facts (network RP and private DNS RP specs, Private Link documentation):

* A private endpoint lives in a subnet of a virtual network in its own region and connects to one
  sub-resource ("group id") of one target resource; for a first-party target exactly one group id is
  allowed (``OnlyOneGroupIdPermitted``). Azure creates a network interface for it
  (``{endpoint}.nic.{guid}`` unless ``customNetworkInterfaceName``) with one private IP from the subnet per
  member of the group (a registry: ``registry`` and one ``registry_data_{region}`` per region) and reports
  the target's host names with those IPs in ``customDnsConfigs``.
* The connection is auto-approved (same tenant, caller may approve): the target lists it under
  ``privateEndpointConnections`` with status ``Approved``. When the target is deleted the endpoint stays
  and its connection shows ``Disconnected``.
* A private DNS zone group (``privateDnsZoneConfigs``: name + ``privateDnsZoneId``) makes Azure keep one A
  record set (TTL 10) per host name of the endpoint that falls in a zone of the group:
  ``{registry}.azurecr.io`` -> ``{registry}`` and ``{registry}.{region}.data.azurecr.io`` ->
  ``{registry}.{region}.data`` in ``privatelink.azurecr.io``. They are listed under
  ``privateDnsZoneConfigs[].properties.recordSets`` and removed with the group (or the endpoint).
* The subnet, target and group id of an existing endpoint cannot change.

The network interface is a record of the ``Microsoft.Network/networkInterfaces`` type another provider
declares (netedge); its addresses are taken from the subnet like any interface's.

Which resource types can be targets, with their group ids, host names and extra rules (e.g. a registry
must be Premium), is declared by their providers with :func:`register_target`.
"""
import ipaddress
import re

from ..errors import ArmError, bad_request
from ..registry import ResourceType, get_type, register
from ..store import Record
from ..util import check_int, check_list, check_object, invalid_reference, ref_id, weak_etag
from .network import SUBNET, NetworkChild, NetworkResource
from .privatedns import PRIVATE_DNS_API_VERSIONS, ZONE

PRIVATE_ENDPOINT = "Microsoft.Network/privateEndpoints"
ZONE_GROUP = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"
A_RECORD = "Microsoft.Network/privateDnsZones/A"
NIC = "Microsoft.Network/networkInterfaces"
RECORD_TTL = 10

# Public host name suffix -> the privatelink zone Azure documents for it.
PRIVATELINK_ZONES = {
    "azurecr.io": "privatelink.azurecr.io",
    "vault.azure.net": "privatelink.vaultcore.azure.net",
    "file.core.windows.net": "privatelink.file.core.windows.net",
    "blob.core.windows.net": "privatelink.blob.core.windows.net",
}

_TARGETS = {}


class PrivateLinkTarget:
    """What a provider declares about a type that private endpoints can connect to."""

    def __init__(self, type_name, group_ids, members, check=None):
        self.type = type_name
        self.group_ids = tuple(group_ids)
        self.members = members  # members(ctx, record, group_id) -> [(requiredMemberName, fqdn)]
        self.check = check      # check(ctx, record) raises ArmError when the target cannot take an endpoint


def register_target(type_name, group_ids, members, check=None):
    _TARGETS[type_name.lower()] = PrivateLinkTarget(type_name, group_ids, members, check)


def target_of(record):
    return _TARGETS.get(record.rtype.type.lower()) if record is not None else None


def _connections(body):
    p = body.get("properties") or {}
    return list(p.get("privateLinkServiceConnections") or []) + list(p.get("manualPrivateLinkServiceConnections") or [])


def endpoint_connections(ctx, record):
    """The ``privateEndpointConnections`` a target resource reports: one per endpoint connected to it."""
    out = []
    for pe in ctx.of_type(PRIVATE_ENDPOINT):
        for conn in _connections(pe.body):
            props = conn.get("properties") or {}
            if (props.get("privateLinkServiceId") or "").lower() != record.key:
                continue
            guid = pe.properties.get("resourceGuid") or ""
            out.append({
                "id": f"{record.id}/privateEndpointConnections/{pe.name}.{guid}",
                "name": f"{pe.name}.{guid}",
                "type": f"{record.rtype.type}/privateEndpointConnections",
                "properties": {
                    "privateEndpoint": {"id": pe.id},
                    "groupIds": list(props.get("groupIds") or []),
                    "privateLinkServiceConnectionState": {"status": "Approved", "description": "Auto-Approved",
                                                          "actionsRequired": "None"},
                    "provisioningState": "Succeeded",
                },
            })
    return out


def _used_ips(ctx, subnet):
    """Addresses the IP configurations of network interfaces hold in ``subnet``."""
    used = set()
    for pe in ctx.of_type(PRIVATE_ENDPOINT):
        if (ref_id(pe.properties.get("subnet")) or "").lower() == subnet.key:
            used.update(m.get("ip") for m in pe.properties.get("_members") or [])
    for nic in ctx.of_type(NIC):
        for conf in nic.properties.get("ipConfigurations") or []:
            props = conf.get("properties") or {}
            if (ref_id(props.get("subnet")) or "").lower() == subnet.key and props.get("privateIPAddress"):
                used.add(props["privateIPAddress"])
    return used


def _allocate_ips(ctx, subnet, count):
    """``count`` free addresses of the subnet, lowest first, skipping the five Azure reserves."""
    p = subnet.properties
    prefix = p.get("addressPrefix") or (p.get("addressPrefixes") or [None])[0]
    net = ipaddress.ip_network(prefix, strict=False)
    used = _used_ips(ctx, subnet)
    out = []
    for host in list(net.hosts())[3:]:  # .1 gateway, .2 and .3 Azure DNS; .0 and broadcast are not hosts
        if str(host) not in used:
            out.append(str(host))
            if len(out) == count:
                return out
    raise bad_request("SubnetIsFull", f"Subnet {subnet.name} with address prefix {net} does not have enough "
                      f"capacity for {count} IP addresses.", details=[])


def _store_interface(ctx, nic_id, location, configs, owner, rg_key):
    """The network interface Azure creates for a private endpoint (stored directly, no request)."""
    name = nic_id.rsplit("/", 1)[-1]
    body = {"id": nic_id, "name": name, "type": NIC, "location": location, "etag": weak_etag(),
            "properties": {"provisioningState": "Succeeded", "resourceGuid": ctx.new_guid(),
                           "ipConfigurations": configs, "privateEndpoint": {"id": owner},
                           "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
                           "enableAcceleratedNetworking": False, "enableIPForwarding": False,
                           "nicType": "Standard"}}
    rtype = get_type(NIC)
    if rtype is None:  # no network interface provider: the endpoint keeps its addresses to itself
        return
    ctx.store.put(Record(nic_id.lower(), nic_id, rtype, name, body, rg_key, rg_key, ctx.store.next_seq()))


def _zone_for(fqdn):
    for suffix, zone in PRIVATELINK_ZONES.items():
        if fqdn.lower().endswith("." + suffix):
            return zone, fqdn[:-len(suffix) - 1]
    return None, None


# --------------------------------------------------------------------------------------
@register
class PrivateEndpoint(NetworkResource):
    type = PRIVATE_ENDPOINT
    duration = 30.0
    read_only_properties = ("provisioningState", "resourceGuid", "networkInterfaces", "customDnsConfigs")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        check_object(p.get("subnet"), "properties.subnet")
        sid = ref_id(p.get("subnet"))
        subnet = ctx.get(sid) if sid else None
        if subnet is None or subnet.rtype.type != SUBNET or subnet.deleting:
            raise invalid_reference(sid, ctx.id)
        vnet = ctx.get(subnet.parent_key)
        if vnet is not None and vnet.location != ctx.location:
            raise bad_request("InvalidResourceReference",
                              f"Subnet {subnet.id} referenced by private endpoint {ctx.id} is in region "
                              f"{vnet.location}; the private endpoint is in {ctx.location}. A private endpoint must "
                              "be in the region of its virtual network.", details=[])
        p["subnet"] = {"id": subnet.id}
        auto, manual = p.get("privateLinkServiceConnections"), p.get("manualPrivateLinkServiceConnections")
        check_list(auto, "properties.privateLinkServiceConnections")
        check_list(manual, "properties.manualPrivateLinkServiceConnections")
        conns = list(auto or []) + list(manual or [])
        if len(conns) != 1:
            raise bad_request("PrivateEndpointMustHaveExactlyOneConnection",
                              f"Private endpoint {ctx.id} has {len(conns)} private link service connections; it "
                              "needs exactly one.", details=[])
        conn = conns[0]
        check_object(conn, "properties.privateLinkServiceConnections[0]")
        if not conn.get("name"):
            raise bad_request("InvalidRequestFormat", "Cannot parse the request: privateLinkServiceConnections[0]."
                              "name is required.", details=[])
        cprops = conn.setdefault("properties", {})
        tid = cprops.get("privateLinkServiceId")
        target = ctx.get(tid) if isinstance(tid, str) else None
        if target is None or target.deleting:
            raise bad_request("PrivateLinkServiceIdNotFound",
                              f"The resource {tid} referenced by private endpoint {ctx.id} was not found.",
                              details=[])
        cprops["privateLinkServiceId"] = target.id
        kind = target_of(target)
        groups = cprops.get("groupIds")
        check_list(groups, "properties.privateLinkServiceConnections[0].properties.groupIds")
        if kind is None:
            raise bad_request("PrivateLinkNotSupported",
                              f"Resource type {target.rtype.type} of {target.id} does not support private "
                              "endpoints in this emulator.", details=[])
        if not groups or len(groups) != 1:
            raise bad_request("OnlyOneGroupIdPermitted",
                              f"Private link service connection {ctx.id}/privateLinkServiceConnections/{conn['name']} "
                              f"has the following group Ids: {', '.join(groups or [])}. Only one group Id is "
                              f"permitted when connecting to a first-party resource ({target.id}).", details=[])
        canon = {g.lower(): g for g in kind.group_ids}.get(str(groups[0]).lower())
        if canon is None:
            raise bad_request("InvalidPrivateEndpointGroupId",
                              f"Group id '{groups[0]}' is not a private link sub-resource of {target.id}; valid: "
                              f"{', '.join(kind.group_ids)}.", details=[])
        cprops["groupIds"] = [canon]
        if existing is not None:
            old_sub = (ref_id(existing.properties.get("subnet")) or "").lower()
            old = (_connections(existing.body) or [{}])[0].get("properties") or {}
            if old_sub != subnet.key:
                raise bad_request("CannotChangeSubnetOfPrivateEndpoint",
                                  f"The subnet of private endpoint {ctx.id} cannot change from {old_sub} to "
                                  f"{subnet.id}.", details=[])
            if (old.get("privateLinkServiceId") or "").lower() != target.key or \
                    [g.lower() for g in old.get("groupIds") or []] != [canon.lower()]:
                raise bad_request("CannotChangePrivateLinkServiceConnection",
                                  f"The target or group id of private endpoint {ctx.id} cannot change.", details=[])
        if kind.check:
            kind.check(ctx, target)
        name = p.get("customNetworkInterfaceName")
        if name not in (None, "") and not re.match(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$", name):
            raise bad_request("InvalidResourceName", f"Resource name {name} is invalid.", details=[])

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        p["resourceGuid"] = old.get("resourceGuid") or ctx.new_guid()
        p.setdefault("privateLinkServiceConnections", [])
        p.setdefault("manualPrivateLinkServiceConnections", [])
        p.setdefault("customNetworkInterfaceName", "")
        p.setdefault("applicationSecurityGroups", [])
        p.setdefault("ipConfigurations", [])
        for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
            for conn in p[key]:
                conn["id"] = f"{ctx.id}/{key}/{conn['name']}"
                conn["type"] = f"{PRIVATE_ENDPOINT}/{key}"
                conn["etag"] = weak_etag()
                conn["properties"]["provisioningState"] = "Succeeded"
                conn["properties"].setdefault("requestMessage", "")
                conn["properties"]["privateLinkServiceConnectionState"] = {
                    "status": "Approved" if key == "privateLinkServiceConnections" else "Pending",
                    "description": "Auto-Approved" if key == "privateLinkServiceConnections" else "",
                    "actionsRequired": "None"}
        conn = _connections(body)[0]
        target = ctx.get(conn["properties"]["privateLinkServiceId"])
        members = target_of(target).members(ctx, target, conn["properties"]["groupIds"][0])
        if existing is not None and old.get("customDnsConfigs"):
            p["customDnsConfigs"] = old["customDnsConfigs"]
            p["networkInterfaces"] = old["networkInterfaces"]
            p["_members"] = old.get("_members") or []
            return body
        subnet = ctx.get(p["subnet"]["id"])
        ips = _allocate_ips(ctx, subnet, len(members))
        nic_name = p["customNetworkInterfaceName"] or f"{ctx.name}.nic.{ctx.new_guid()}"
        nic_id = f"{ctx.rg.id}/providers/Microsoft.Network/networkInterfaces/{nic_name}"
        p["networkInterfaces"] = [{"id": nic_id}]
        p["customDnsConfigs"] = [{"fqdn": fqdn, "ipAddresses": [ip]} for (_m, fqdn), ip in zip(members, ips)]
        p["_members"] = [{"member": m, "fqdn": fqdn, "ip": ip, "group": conn["properties"]["groupIds"][0]}
                         for (m, fqdn), ip in zip(members, ips)]
        return body

    def on_put(self, ctx, record, old_body):
        p = record.properties
        nic_id = p["networkInterfaces"][0]["id"]
        confs = []
        for i, member in enumerate(p.get("_members") or []):
            name = f"privateEndpointIpConfig.{ctx.new_guid()}"
            confs.append({
                "name": name, "id": f"{nic_id}/ipConfigurations/{name}", "etag": weak_etag(),
                "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                "properties": {
                    "provisioningState": "Succeeded", "privateIPAddress": member["ip"],
                    "privateIPAllocationMethod": "Dynamic", "privateIPAddressVersion": "IPv4",
                    "subnet": {"id": p["subnet"]["id"]}, "primary": i == 0,
                    "privateLinkConnectionProperties": {"groupId": member["group"],
                                                        "requiredMemberName": member["member"],
                                                        "fqdns": [member["fqdn"]]},
                },
            })
        if old_body is None or ctx.get(nic_id) is None:
            _store_interface(ctx, nic_id, record.location, confs, record.id, record.rg_key)

    def on_delete(self, ctx, record):
        for nic in record.properties.get("networkInterfaces") or []:
            ctx.store.remove((nic.get("id") or "").lower())

    def render(self, ctx, record, body):
        p = body["properties"]
        p.pop("_members", None)
        for conn in p.get("privateLinkServiceConnections") or []:
            cprops = conn.get("properties") or {}
            if ctx.get(cprops.get("privateLinkServiceId")) is None:
                cprops["privateLinkServiceConnectionState"] = {
                    "status": "Disconnected", "description": "The private link resource has been deleted.",
                    "actionsRequired": "None"}
        return body


# --------------------------------------------------------------------------------------
def _record_sets(ctx, endpoint, zone):
    """(recordSetName, fqdn of the record, [ips]) the group keeps in ``zone`` for ``endpoint``."""
    out = []
    for conf in (endpoint.properties.get("customDnsConfigs") or []) if endpoint else []:
        zone_name, record_name = _zone_for(conf.get("fqdn") or "")
        if zone_name and zone_name.lower() == zone.name.lower():
            out.append((record_name, f"{record_name}.{zone.name}", list(conf.get("ipAddresses") or [])))
    return out


def _remove_records(ctx, configs):
    for config in configs or []:
        zid = ((config.get("properties") or {}).get("privateDnsZoneId") or "").lower()
        for rs in (config.get("properties") or {}).get("recordSets") or []:
            ctx.store.remove(f"{zid}/a/{str(rs.get('recordSetName', '')).lower()}")


@register
class PrivateDnsZoneGroup(NetworkChild):
    type = ZONE_GROUP
    duration = 10.0

    def validate(self, ctx, body, existing):
        p = body["properties"]
        configs = p.get("privateDnsZoneConfigs")
        check_list(configs, "properties.privateDnsZoneConfigs")
        if not configs:
            raise bad_request("PrivateDnsZoneGroupMustHaveZoneConfigs",
                              f"Private DNS zone group {ctx.id} has no privateDnsZoneConfigs.", details=[])
        names, zones = set(), set()
        for i, config in enumerate(configs):
            check_object(config, f"properties.privateDnsZoneConfigs[{i}]")
            name = config.get("name")
            zid = ref_id({"id": (config.get("properties") or {}).get("privateDnsZoneId")})
            if not name:
                raise bad_request("InvalidRequestFormat", f"Cannot parse the request: privateDnsZoneConfigs[{i}].name "
                                  "is required.", details=[])
            zone = ctx.get(zid)
            if zone is None or zone.rtype.type != ZONE or zone.deleting:
                raise invalid_reference(zid, ctx.id)
            if name.lower() in names or zone.key in zones:
                raise bad_request("DuplicatePrivateDnsZoneConfig",
                                  f"Private DNS zone group {ctx.id} lists zone {zone.name} (or config name {name}) "
                                  "twice.", details=[])
            names.add(name.lower())
            zones.add(zone.key)
            config["properties"] = {"privateDnsZoneId": zone.id}

    def defaults(self, ctx, body, existing):
        endpoint = ctx.parent
        for config in body["properties"]["privateDnsZoneConfigs"]:
            zone = ctx.get(config["properties"]["privateDnsZoneId"])
            config["properties"]["recordSets"] = [
                {"recordType": "A", "recordSetName": name, "fqdn": fqdn, "provisioningState": "Succeeded",
                 "ttl": RECORD_TTL, "ipAddresses": ips}
                for name, fqdn, ips in _record_sets(ctx, endpoint, zone)
            ]
        return body

    def on_put(self, ctx, record, old_body):
        if old_body:
            _remove_records(ctx, (old_body.get("properties") or {}).get("privateDnsZoneConfigs"))

    def on_complete(self, ctx, record, op):
        if op.status != "Succeeded":
            return
        rtype = get_type(A_RECORD)
        endpoint = ctx.get(record.parent_key)
        for config in record.properties.get("privateDnsZoneConfigs") or []:
            zone = ctx.get(config["properties"]["privateDnsZoneId"])
            if zone is None:
                continue
            for rs in config["properties"].get("recordSets") or []:
                rid = f"{zone.id}/A/{rs['recordSetName']}"
                body = {"id": rid, "name": rs["recordSetName"], "type": A_RECORD, "etag": ctx.new_guid(),
                        "properties": {"ttl": RECORD_TTL, "fqdn": rs["fqdn"] + ".", "isAutoRegistered": False,
                                       "aRecords": [{"ipv4Address": ip} for ip in rs["ipAddresses"]],
                                       "metadata": {"creator": f"created by private endpoint {endpoint.id} "
                                                               f"with resource guid "
                                                               f"{endpoint.properties.get('resourceGuid')}"},
                                       "provisioningState": "Succeeded"}}
                old = ctx.store.get(rid.lower())
                if old is not None:
                    old.body = body
                else:
                    ctx.store.put(Record(rid.lower(), rid, rtype, rs["recordSetName"], body, zone.key, zone.rg_key,
                                         ctx.store.next_seq()))

    def on_delete(self, ctx, record):
        _remove_records(ctx, record.properties.get("privateDnsZoneConfigs"))


# --------------------------------------------------------------------------------------
@register
class ARecordSet(ResourceType):
    """An A record set of a private DNS zone (created by zone groups, or by hand)."""

    type = A_RECORD
    api_versions = PRIVATE_DNS_API_VERSIONS
    async_put = False
    async_delete = False
    has_location = False
    has_tags = False
    etag = "guid"
    patch = "merge"
    name_pattern = re.compile(r"^(?:@|[A-Za-z0-9_*](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?)$")
    name_code = "BadRequest"
    name_message = "The record set name '{name}' is invalid."
    read_only_properties = ("provisioningState", "fqdn", "isAutoRegistered")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        check_int(p.get("ttl"), "properties.ttl")
        records = p.get("aRecords")
        check_list(records, "properties.aRecords")
        for i, rec in enumerate(records or []):
            check_object(rec, f"properties.aRecords[{i}]")
            ip = rec.get("ipv4Address")
            if not isinstance(ip, str) or not re.match(r"^(?:\d{1,3}\.){3}\d{1,3}$", ip) or \
                    any(int(x) > 255 for x in ip.split(".")):
                raise bad_request("BadRequest", f"The A record value '{ip}' is not a valid IPv4 address.")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        p.setdefault("ttl", 3600)
        p.setdefault("aRecords", [])
        p["fqdn"] = f"{ctx.name}.{ctx.parent.name}."
        p["isAutoRegistered"] = False
        return body

    def not_found(self, ctx):
        return ArmError(404, "NotFound", f"The resource record '{ctx.name}' does not exist in resource group "
                                         f"'{ctx.rg_name}' of subscription '{ctx.sub}'.")


def resolve(emulator_or_app, fqdn, vnet_id=None):
    """What a machine in ``vnet_id`` would get for ``fqdn`` from Azure DNS: the A record of a privatelink
    zone linked to that network (the public name's CNAME into ``privatelink.*`` followed), else None.

    Test helper; ``emulator_or_app`` is an :class:`armemu.Emulator` or its app.
    """
    app = getattr(emulator_or_app, "app", emulator_or_app)
    zone_name, record_name = _zone_for(fqdn)
    if zone_name is None:
        return None
    with app.lock:
        for zone in app.store.of_type(ZONE):
            if zone.name.lower() != zone_name:
                continue
            if vnet_id is not None:
                links = app.store.children(zone.key, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
                if not any((ref_id(link.properties.get("virtualNetwork")) or "").lower() == vnet_id.lower()
                           for link in links):
                    continue
            rec = app.store.get(f"{zone.key}/a/{record_name.lower()}")
            if rec is not None:
                return [a["ipv4Address"] for a in rec.properties.get("aRecords") or []]
    return None
