"""Lookups in what the ARM emulator holds and what it was asked (the ``arm`` fixture)."""


def by_suffix(arm, suffix):
    """The body of the resource whose id ends in ``suffix`` (any case)."""
    for rid, body in arm.resources().items():
        if rid.lower().endswith(suffix.lower()):
            return body
    raise AssertionError("no resource ending in %s; have %s" % (suffix, sorted(arm.resources())))


def arm_requests(arm):
    """The ARM requests of the log (not the token requests)."""
    return [r for r in arm.requests() if r["kind"] == "arm"]


def resource_ids_with(arm, kinds):
    """Sorted ids of the resources whose lower-case id contains one of ``kinds``."""
    return sorted(rid for rid in arm.resources() if any(k in rid.lower() for k in kinds))
