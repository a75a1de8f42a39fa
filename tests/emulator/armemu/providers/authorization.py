"""Microsoft.Authorization: roleAssignments and (custom) roleDefinitions, at any scope.

Facts (azure-rest-api-specs specification/authorization, Azure RBAC documentation):

* A role assignment is an extension resource at a subscription, resource group or resource scope; its
  name is a GUID (``InvalidRoleAssignmentId`` otherwise). PUT and DELETE are synchronous (201/200).
* ``roleDefinitionId`` must name an existing role definition (``RoleDefinitionDoesNotExist``); built-in
  definitions have the same GUID everywhere (the emulator knows the ones listed in ``BUILTIN_ROLES``; it
  does not list them). ``principalId`` must be a GUID (``InvalidPrincipalId``).
* One (scope, role, principal) can be assigned once: another assignment of it answers 409
  ``RoleAssignmentExists``; an existing assignment cannot be changed to another role, principal or scope
  (``RoleAssignmentUpdateNotPermitted``).
* ``$filter`` of a list is not applied by the emulator (it lists the assignments at the scope; clients
  filter), and it does not know principals: any GUID is accepted (as Azure does with
  ``principalType: ServicePrincipal`` for a principal that has not replicated yet).
"""
import datetime
import re

from ..errors import ArmError, bad_request, conflict
from ..registry import ResourceType, register

AUTHZ_API_VERSIONS = ("2018-01-01-preview", "2020-04-01-preview", "2022-04-01")
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITION = "Microsoft.Authorization/roleDefinitions"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
BUILTIN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
    "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
    "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor",
    "f1a07417-d97a-45cb-824c-7a7467783830": "Managed Identity Operator",
    "b12aa53e-6015-4669-85d0-8515ebb3ae7f": "Private DNS Zone Contributor",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": "Azure Kubernetes Service RBAC Cluster Admin",
    "4abbcc35-e782-43d8-92c5-2d3f1bd2253f": "Azure Kubernetes Service Cluster User Role",
}


def _scope_of(ctx):
    """The scope id of an extension resource: its id without ``/providers/Microsoft.Authorization/...``."""
    idx = ctx.id.lower().rfind("/providers/microsoft.authorization/")
    return ctx.id[:idx]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _role_guid(value):
    return str(value or "").rstrip("/").rsplit("/", 1)[-1].lower()


class AuthorizationResource(ResourceType):
    api_versions = AUTHZ_API_VERSIONS
    scopes = ("subscription", "resourceGroup", "resource")
    async_put = False
    async_delete = False
    has_location = False
    has_tags = False
    etag = None
    patch = None
    name_pattern = re.compile(r"^.{1,260}$")


@register
class RoleDefinition(AuthorizationResource):
    type = ROLE_DEFINITION

    def validate(self, ctx, body, existing):
        if not GUID.match(ctx.name):
            raise bad_request("InvalidRoleDefinitionId",
                              f"The role definition ID '{ctx.name}' is not valid. The role definition ID must be a "
                              "GUID.")
        if ctx.name.lower() in BUILTIN_ROLES:
            raise conflict("RoleDefinitionWithSameNameExists",
                           f"{ctx.name} is the id of the built-in role {BUILTIN_ROLES[ctx.name.lower()]}.")
        p = body["properties"]
        if not isinstance(p.get("roleName"), str) or not p["roleName"]:
            raise bad_request("InvalidRoleDefinition", "properties.roleName is required.")
        for rec in ctx.of_type(ROLE_DEFINITION):
            if rec.key != ctx.key and str(rec.properties.get("roleName", "")).lower() == p["roleName"].lower():
                raise conflict("RoleDefinitionWithSameNameExists",
                               f"A custom role with the name '{p['roleName']}' already exists.")
        if p["roleName"].lower() in {n.lower() for n in BUILTIN_ROLES.values()}:
            raise conflict("RoleDefinitionWithSameNameExists", f"A role named '{p['roleName']}' already exists.")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        p["type"] = "CustomRole"
        p.setdefault("permissions", [])
        p.setdefault("assignableScopes", [_scope_of(ctx)])
        p.setdefault("description", "")
        return body


def role_exists(ctx, guid):
    if guid in BUILTIN_ROLES:
        return True
    return any(rec.name.lower() == guid for rec in ctx.of_type(ROLE_DEFINITION))


@register
class RoleAssignment(AuthorizationResource):
    type = ROLE_ASSIGNMENT

    def validate(self, ctx, body, existing):
        if not GUID.match(ctx.name):
            raise bad_request("InvalidRoleAssignmentId",
                              f"The role assignment ID '{ctx.name}' is not valid. The role assignment ID must be a "
                              "GUID.")
        p = body["properties"]
        scope = _scope_of(ctx)
        role = p.get("roleDefinitionId")
        guid = _role_guid(role)
        if not isinstance(role, str) or not GUID.match(guid) or not role_exists(ctx, guid):
            raise bad_request("RoleDefinitionDoesNotExist",
                              f"The specified role definition with ID '{guid or role}' does not exist.")
        principal = p.get("principalId")
        if not isinstance(principal, str) or not GUID.match(principal):
            raise bad_request("InvalidPrincipalId",
                              f"The principal ID '{principal}' is not valid. Principal ID must be a GUID.")
        kind = p.get("principalType")
        if kind is not None and kind not in PRINCIPAL_TYPES:
            raise bad_request("InvalidPrincipalType", f"The principal type '{kind}' is not valid.")
        if p.get("scope") is not None and str(p["scope"]).rstrip("/").lower() != scope.lower():
            raise bad_request("InvalidRoleAssignmentScope",
                              f"The scope '{p['scope']}' in the request body does not match the scope '{scope}' of "
                              "the request URI.")
        if existing is not None:
            old = existing.properties
            if _role_guid(old.get("roleDefinitionId")) != guid or \
                    str(old.get("principalId", "")).lower() != principal.lower():
                raise bad_request("RoleAssignmentUpdateNotPermitted",
                                  "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
        scope_key = ctx.key[:ctx.key.rfind("/providers/microsoft.authorization/")]
        for rec in ctx.store.children(scope_key, ROLE_ASSIGNMENT):
            if rec.key == ctx.key:
                continue
            other = rec.properties
            if _role_guid(other.get("roleDefinitionId")) == guid and \
                    str(other.get("principalId", "")).lower() == principal.lower():
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.",
                               details=[{"code": "RoleAssignmentExists",
                                         "message": f"The ID of the existing role assignment is {rec.name}."}])
        p["roleDefinitionId"] = f"/subscriptions/{ctx.sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        p["principalId"] = principal.lower()

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        p["scope"] = _scope_of(ctx)
        p.setdefault("principalType", old.get("principalType") or "User")
        p["createdOn"] = old.get("createdOn") or _now()
        p["updatedOn"] = _now()
        p.setdefault("condition", None)
        p.setdefault("conditionVersion", None)
        return body
