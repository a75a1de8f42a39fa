# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure RBAC: built-in role ids, role references and deterministic assignment names.

Built-in role definitions have the same GUID in every tenant and cloud
(Microsoft's "Azure built-in roles" reference); the few this collection assigns
are resolved here without a request. Any other role name is looked up with
``roleDefinitions?$filter=roleName eq '...'`` by the module.
"""

from __future__ import annotations

import re
import uuid

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

BUILTIN_ROLES = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "Managed Identity Operator": "f1a07417-d97a-45cb-824c-7a7467783830",
    "Private DNS Zone Contributor": "b12aa53e-6015-4669-85d0-8515ebb3ae7f",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
    "Azure Kubernetes Service Cluster User Role": "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
}
_BY_LOWER_NAME = dict((name.lower(), guid) for name, guid in BUILTIN_ROLES.items())
_BY_GUID = dict((guid, name) for name, guid in BUILTIN_ROLES.items())

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ROLE_DEFINITION_ID_RE = re.compile(
    r"^(?:/subscriptions/[^/]+(?:/resourceGroups/[^/]+)?)?/providers/Microsoft\.Authorization/roleDefinitions/"
    r"(?P<guid>[0-9a-fA-F-]{36})$", re.IGNORECASE)
PRINCIPAL_TYPES = ("ServicePrincipal", "User", "Group", "ForeignGroup", "Device")
ASSIGNMENT_NAMESPACE = uuid.UUID("6f2c3a52-8e0b-5d4e-9a61-2b7f0c3d9e14")


def check_guid(field, value, what="a GUID"):
    if not GUID_RE.match(str(value or "")):
        raise InputError(field, "%r is not %s" % (value, what))
    return str(value).lower()


def check_scope(field, value):
    text = str(value or "").rstrip("/")
    if not text.lower().startswith("/subscriptions/") or len(text.split("/")) < 3:
        raise InputError(field, "%r is not a resource id scope (/subscriptions/..., a resource group or a resource)"
                         % (value,))
    parts = text.split("/")
    if not GUID_RE.match(parts[2]):
        raise InputError(field, "%r: %r is not a subscription id" % (value, parts[2]))
    return text


def role_reference(field, value):
    """``("guid", guid)`` for a built-in name, a GUID or a role definition id; ``("name", name)`` otherwise."""
    text = str(value or "").strip()
    if not text:
        raise InputError(field, "is required: a built-in role name (AcrPull, Network Contributor, ...), a role "
                                "definition GUID or its id")
    if GUID_RE.match(text):
        return "guid", text.lower()
    match = ROLE_DEFINITION_ID_RE.match(text)
    if match:
        return "guid", check_guid(field, match.group("guid"), "a role definition id")
    if text.startswith("/"):
        raise InputError(field, "%r is not a role definition id (.../providers/Microsoft.Authorization/"
                                "roleDefinitions/<guid>)" % (value,))
    guid = _BY_LOWER_NAME.get(text.lower())
    if guid:
        return "guid", guid
    return "name", text


def builtin_name(guid):
    return _BY_GUID.get(str(guid).lower())


def role_guid_of(role_definition_id):
    return str(role_definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()


def role_definition_id(subscription_id, guid):
    return "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (subscription_id, guid)


def assignment_name(scope, role_guid, principal_id):
    """A stable GUID for (scope, role, principal): the same input always names the same assignment."""
    key = "%s|%s|%s" % (scope.rstrip("/").lower(), role_guid.lower(), principal_id.lower())
    return str(uuid.uuid5(ASSIGNMENT_NAMESPACE, key))


def same_scope(first, second):
    return str(first or "").rstrip("/").lower() == str(second or "").rstrip("/").lower()
