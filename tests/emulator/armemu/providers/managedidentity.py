"""Microsoft.ManagedIdentity/userAssignedIdentities.

Facts from the managed identity RP (azure-rest-api-specs, specification/msi): PUT and DELETE
are synchronous (200/201, 200/204); ``properties.tenantId``, ``principalId`` and ``clientId``
are read-only GUIDs fixed at creation; PATCH updates tags (and isolationScope); names are 3-128
characters, a letter or digit first, then letters, digits, '-' and '_'.
"""
import re

from ..registry import ResourceType, register
from ..util import canonical_enum

IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities"


@register
class UserAssignedIdentity(ResourceType):
    type = IDENTITY
    api_versions = ("2018-11-30", "2022-01-31-preview", "2023-01-31", "2023-07-31-preview", "2024-11-30",
                    "2025-01-31-preview")
    async_put = False
    async_delete = False
    duration = 2.0
    etag = None
    patch = "merge"
    name_pattern = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")
    name_code = "InvalidResourceName"
    name_message = ("Resource name '{name}' is invalid. The name can be 3-128 characters long, must start "
                    "with a letter or digit and may contain letters, digits, '-' and '_'.")
    read_only_properties = ("provisioningState", "tenantId", "principalId", "clientId")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        if p.get("isolationScope") is not None:
            p["isolationScope"] = canonical_enum(p["isolationScope"], ["None", "Regional"],
                                                 "properties.isolationScope", "IsolationScope")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        p["tenantId"] = old.get("tenantId") or ctx.app.tenant_id
        p["principalId"] = old.get("principalId") or ctx.new_guid()
        p["clientId"] = old.get("clientId") or ctx.new_guid()
        return body

    def render(self, ctx, record, body):
        body["properties"].pop("provisioningState", None)  # the MSI RP does not report one
        if ctx.api_version and ctx.api_version < "2023-07-31-preview":
            body["properties"].pop("isolationScope", None)
        return body


def identity_by_principal(ctx, principal_id):
    """The user-assigned identity record with this principal (object) id, or None."""
    for rec in ctx.of_type(IDENTITY):
        if str(rec.properties.get("principalId", "")).lower() == str(principal_id or "").lower():
            return rec
    return None
