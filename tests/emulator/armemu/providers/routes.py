"""Microsoft.Network/routeTables and routeTables/routes (user-defined routes).

Facts and rules (network RP REST reference, "Virtual network traffic routing"; error codes as Azure
reports them where public error reports show them, descriptive ones otherwise; every message names
the value):

* A route table holds ``routes`` (also PUT inline in the table, like a VNet's subnets: a table PUT
  replaces the set) and ``disableBgpRoutePropagation`` (default false). Subnets point at it with
  ``properties.routeTable.id`` (see ``network.Subnet``); a GET of the table lists them in ``subnets``.
* A route has ``addressPrefix`` (a CIDR with zero host bits, or a service tag such as
  ``AzureCloud``) and ``nextHopType``: VirtualNetworkGateway, VnetLocal, Internet, VirtualAppliance or
  None. ``nextHopIpAddress`` is required for VirtualAppliance and refused for every other type.
  Two routes of one table cannot have the same prefix (``RouteConflict``).
* A table used by a subnet cannot be deleted (``InUseRouteTableCannotBeDeleted``).
* PUT and DELETE are long-running like every network type; PATCH of a table changes tags only.
"""
import ipaddress

from ..errors import bad_request
from ..registry import register
from ..util import canonical_enum, check_bool, parse_cidr
from .network import ENUM_NS, SERVICE_TAGS, SUBNET, NetworkChild, NetworkResource

ROUTE_TABLE = "Microsoft.Network/routeTables"
ROUTE = "Microsoft.Network/routeTables/routes"
NEXT_HOP_TYPES = ["VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None"]


def _check_prefix(ctx, prefix):
    """A CIDR (returned normalized) or a known service tag (returned as given)."""
    if not isinstance(prefix, str) or not prefix:
        raise bad_request("InvalidRequestFormat", f"Cannot parse the request: properties.addressPrefix of route "
                          f"{ctx.id} is required.", details=[])
    if "/" in prefix:
        return str(parse_cidr(prefix, ctx.id, "properties.addressPrefix"))
    head = prefix.lower().partition(".")[0]
    if head in SERVICE_TAGS:
        return prefix
    raise bad_request("InvalidAddressPrefixFormat",
                      f"Address prefix {prefix} of route {ctx.id} is neither a CIDR (for example 0.0.0.0/0) nor a "
                      "service tag.", target="properties.addressPrefix", details=[])


@register
class RouteTable(NetworkResource):
    type = ROUTE_TABLE
    duration = 5.0
    inline_children = {"routes": ROUTE}
    read_only_properties = ("provisioningState", "resourceGuid", "subnets")

    def validate(self, ctx, body, existing):
        check_bool(body["properties"].get("disableBgpRoutePropagation"), "properties.disableBgpRoutePropagation")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        p["resourceGuid"] = (existing.properties.get("resourceGuid") if existing else None) or ctx.new_guid()
        p.setdefault("disableBgpRoutePropagation", False)
        return body

    def validate_delete(self, ctx, record):
        users = [r for r, _ref in ctx.referrers(record) if r.rtype.type.lower() == SUBNET.lower()]
        if users:
            raise bad_request(
                "InUseRouteTableCannotBeDeleted",
                f"Route table {record.id} is in use and cannot be deleted. It is associated with subnet "
                f"{users[0].id}. In order to delete the route table, remove the association first.", details=[])

    def render(self, ctx, record, body):
        body["properties"]["subnets"] = [{"id": r.id} for r, _ref in ctx.referrers(record)
                                         if r.rtype.type.lower() == SUBNET.lower()]
        return body


@register
class Route(NetworkChild):
    type = ROUTE
    duration = 3.0

    def validate(self, ctx, body, existing):
        p = body["properties"]
        p["addressPrefix"] = _check_prefix(ctx, p.get("addressPrefix"))
        if p.get("nextHopType") in (None, ""):
            raise bad_request("InvalidRequestFormat", f"Cannot parse the request: properties.nextHopType of route "
                              f"{ctx.id} is required.", details=[])
        p["nextHopType"] = canonical_enum(p["nextHopType"], NEXT_HOP_TYPES, "properties.nextHopType",
                                          f"{ENUM_NS}.RouteNextHopType")
        hop = p.get("nextHopIpAddress")
        if p["nextHopType"] == "VirtualAppliance":
            try:
                ipaddress.ip_address(hop)
            except (TypeError, ValueError):
                raise bad_request("InvalidNextHopIpAddress",
                                  f"Route {ctx.id} has next hop type VirtualAppliance and needs a valid "
                                  f"nextHopIpAddress, got {hop!r}.", details=[]) from None
        elif hop not in (None, ""):
            raise bad_request("NextHopIpAddressNotAllowed",
                              f"Route {ctx.id} has next hop type {p['nextHopType']}; nextHopIpAddress ({hop}) is "
                              "only allowed with VirtualAppliance.", details=[])
        for sib in ctx.siblings:
            if str((sib.get("properties") or {}).get("addressPrefix", "")).lower() == p["addressPrefix"].lower():
                raise bad_request("RouteConflict",
                                  f"Route {ctx.name} conflicts with route {sib.get('name')}: both have the address "
                                  f"prefix {p['addressPrefix']}.", details=[])
