"""Microsoft.Network/privateDnsZones and privateDnsZones/virtualNetworkLinks.

Facts from the private DNS RP (azure-rest-api-specs, specification/privatedns): location is
always "global"; PUT and DELETE are long-running and answer 202 Accepted (no body) with
Azure-AsyncOperation .../providers/Microsoft.Network/privateDnsOperationStatuses/{id} and
Location .../privateDnsOperationResults/{id}, both under the resource group; etags are plain
GUIDs; provisioningState is Creating | Updating | Deleting | Succeeded | Failed | Canceled;
PATCH merges (tags and properties).
"""
import base64
import re
import uuid

from ..errors import ArmError, bad_request
from ..registry import ResourceType, register
from ..util import canonical_enum, check_bool, check_object, ref_id

PRIVATE_DNS_API_VERSIONS = ("2018-09-01", "2020-01-01", "2020-06-01", "2024-06-01")
ZONE = "Microsoft.Network/privateDnsZones"
LINK = "Microsoft.Network/privateDnsZones/virtualNetworkLinks"
VNET = "Microsoft.Network/virtualNetworks"

DNS_NAME = re.compile(
    r"^(?=.{1,253}\.?$)(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))+\.?$")


class PrivateDnsResource(ResourceType):
    api_versions = PRIVATE_DNS_API_VERSIONS
    allowed_locations = ("global",)
    etag = "guid"
    put_accepted = True                      # 202, no body
    put_headers = ("Azure-AsyncOperation", "Location")
    delete_headers = ("Azure-AsyncOperation", "Location")
    patch = "merge"
    async_patch = True                       # PATCH is long-running too (202, no body)
    retry_after = 60

    def operation_paths(self, ctx, op_id):
        base = f"/subscriptions/{ctx.sub}/resourceGroups/{ctx.rg_name}/providers/Microsoft.Network"
        return f"{base}/privateDnsOperationStatuses/{op_id}", f"{base}/privateDnsOperationResults/{op_id}"


def _internal_id():
    raw = f"SUBSCRIPTION;{uuid.uuid4()};PRIVATEZONE".encode()
    return base64.b64encode(raw).decode()


@register
class PrivateDnsZone(PrivateDnsResource):
    type = ZONE
    duration = 30.0
    name_pattern = DNS_NAME
    name_code = "BadRequest"
    name_message = ("The zone name '{name}' is invalid. A private DNS zone name must be a valid DNS "
                    "name with at least two labels (for example privatelink.azurecr.io), each label "
                    "1-63 characters of letters, digits, '-' or '_', at most 253 characters in all.")
    read_only_properties = ("provisioningState", "maxNumberOfRecordSets", "numberOfRecordSets",
                            "maxNumberOfVirtualNetworkLinks", "numberOfVirtualNetworkLinks",
                            "maxNumberOfVirtualNetworkLinksWithRegistration",
                            "numberOfVirtualNetworkLinksWithRegistration", "internalId")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        p["internalId"] = (existing.properties.get("internalId") if existing else None) or _internal_id()
        p["maxNumberOfRecordSets"] = 25000
        p["maxNumberOfVirtualNetworkLinks"] = 1000
        p["maxNumberOfVirtualNetworkLinksWithRegistration"] = 100
        return body

    def render(self, ctx, record, body):
        links = ctx.children(record, LINK)
        p = body["properties"]
        p["numberOfRecordSets"] = 1 + sum(1 for r in ctx.children(record) if r.rtype.type != LINK)
        p["numberOfVirtualNetworkLinks"] = len(links)
        p["numberOfVirtualNetworkLinksWithRegistration"] = sum(
            1 for r in links if r.properties.get("registrationEnabled"))
        return body

    def validate_delete(self, ctx, record):
        nested = ctx.children(record, LINK)
        if nested:
            ids = ", ".join(r.id for r in nested[:5])
            raise ArmError(
                409, "CannotDeleteResource",
                f"Cannot delete resource while nested resources exist. Some existing nested resource "
                f"IDs include: '{ids}'. Please delete all nested resources before deleting this resource.")


@register
class VirtualNetworkLink(PrivateDnsResource):
    type = LINK
    duration = 30.0
    name_pattern = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
    read_only_properties = ("provisioningState", "virtualNetworkLinkState")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        check_object(p.get("virtualNetwork"), "properties.virtualNetwork")
        vid = ref_id(p.get("virtualNetwork"))
        if vid is None:
            raise bad_request("BadRequest",
                              f"The virtual network link '{ctx.name}' must reference a virtual network: "
                              "properties.virtualNetwork.id is required.")
        vnet = ctx.get(vid)
        if vnet is None or vnet.rtype.type != VNET or vnet.deleting:
            raise bad_request("BadRequest", f"Virtual network resource not found for '{vid}'.",
                              target="properties.virtualNetwork.id")
        if existing is not None:
            before = ref_id(existing.properties.get("virtualNetwork")) or ""
            if before.lower() != vnet.key:
                raise bad_request("BadRequest",
                                  f"The virtual network of link '{ctx.name}' cannot be changed from "
                                  f"'{before}' to '{vid}'.")
        p["virtualNetwork"] = {"id": vnet.id}
        for sib in ctx.siblings:
            other = ref_id((sib.get("properties") or {}).get("virtualNetwork")) or ""
            if other.lower() == vnet.key:
                raise ArmError(409, "Conflict",
                               f"A virtual network link to virtual network '{vnet.id}' already exists in "
                               f"private DNS zone '{ctx.parent.name}' (link '{sib.get('name')}'). A virtual "
                               "network can be linked to a zone only once.")
        check_bool(p.get("registrationEnabled"), "properties.registrationEnabled")
        if p.get("resolutionPolicy") is not None:
            if ctx.api_version < "2024-06-01":
                raise bad_request("BadRequest", "resolutionPolicy needs api-version 2024-06-01 or later.")
            p["resolutionPolicy"] = canonical_enum(p["resolutionPolicy"], ["Default", "NxDomainRedirect"],
                                                   "properties.resolutionPolicy", "ResolutionPolicy")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        p.setdefault("registrationEnabled", False)
        p.setdefault("resolutionPolicy", "Default")
        p["virtualNetworkLinkState"] = "InProgress"
        return body

    def on_complete(self, ctx, record, op):
        if op.status == "Succeeded":
            record.properties["virtualNetworkLinkState"] = "Completed"

    def render(self, ctx, record, body):
        if ctx.api_version and ctx.api_version < "2024-06-01":
            body["properties"].pop("resolutionPolicy", None)
        return body
