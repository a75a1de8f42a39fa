"""Small helpers shared by the providers: CIDR checks, typed-field checks, ids."""
import ipaddress
import uuid

from .errors import ArmError, bad_request, invalid_request_format


def new_guid():
    return str(uuid.uuid4())


def weak_etag():
    return f'W/"{uuid.uuid4()}"'


def parse_cidr(prefix, resource_id, field="addressPrefix"):
    """Parse an address prefix the way the network RP does; host bits must be zero."""
    if not isinstance(prefix, str) or "/" not in prefix:
        raise bad_request(
            "InvalidAddressPrefixFormat",
            f"Address prefix {prefix} of resource {resource_id} is not formatted correctly. "
            "It should follow CIDR notation, for example 10.0.0.0/24.",
            target=field,
        )
    try:
        iface = ipaddress.ip_interface(prefix)
    except ValueError:
        raise bad_request(
            "InvalidAddressPrefixFormat",
            f"Address prefix {prefix} of resource {resource_id} is not formatted correctly. "
            "It should follow CIDR notation, for example 10.0.0.0/24.",
            target=field,
        ) from None
    net = iface.network
    if iface.ip != net.network_address:
        raise bad_request(
            "InvalidCIDRNotation",
            f"The address prefix {prefix} in resource {resource_id} has an invalid CIDR notation. "
            f"For the given prefix length, the address prefix should be {net}.",
            target=field,
        )
    return net


def within_any(net, spaces):
    return any(net.version == s.version and net.subnet_of(s) for s in spaces)


def overlaps(a, b):
    return a.version == b.version and a.overlaps(b)


def canonical_enum(value, allowed, path, type_name):
    """Enum values are accepted case-insensitively and returned in their canonical casing.

    None stays None (the caller decides whether the field is required)."""
    if value is None:
        return None
    if isinstance(value, str):
        for a in allowed:
            if a.lower() == value.lower():
                return a
    raise invalid_request_format(path, value, type_name)


def check_bool(value, path):
    if value is not None and not isinstance(value, bool):
        raise invalid_request_format(path, value, "System.Boolean")


def check_int(value, path):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise invalid_request_format(path, value, "System.Int32")


def check_list(value, path):
    if value is not None and not isinstance(value, list):
        raise invalid_request_format(path, value, "System.Collections.Generic.List")


def check_object(value, path):
    if value is not None and not isinstance(value, dict):
        raise invalid_request_format(path, value, "System.Object")


def ref_id(value):
    """The id of a `{"id": ...}` sub-resource reference, or None."""
    if isinstance(value, dict):
        rid = value.get("id")
        if isinstance(rid, str) and rid:
            return rid
    return None


def invalid_reference(ref, referrer):
    return ArmError(
        400,
        "InvalidResourceReference",
        f"Resource {ref} referenced by resource {referrer} was not found. Please make sure that the "
        "referenced resource exists, and that both resources are in the same region.",
        details=[],
    )
