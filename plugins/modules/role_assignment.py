#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: role_assignment
short_description: Assign or remove an Azure RBAC role for a principal at a scope
version_added: 0.1.0
description:
  - Ensures a principal (a managed identity, a service principal, a user or a group) holds a role at a
    scope (a subscription, a resource group or a resource), for example C(AcrPull) on a registry for a
    cluster's kubelet identity.
  - Idempotent on (scope, role, principal). The module first lists the assignments of the principal at the
    scope (C($filter=principalId eq '...')), so an assignment made by someone else is found and not
    duplicated; a new one gets a deterministic name (a UUID derived from scope, role and principal).
  - Built-in roles this collection uses are resolved by name without a request (C(AcrPull), C(AcrPush),
    C(Reader), C(Contributor), C(Network Contributor), C(Managed Identity Operator),
    C(Private DNS Zone Contributor), C(Key Vault Administrator), C(Key Vault Secrets Officer),
    C(Key Vault Secrets User), C(Azure Kubernetes Service RBAC Cluster Admin),
    C(Azure Kubernetes Service Cluster User Role)); other names are looked up in the subscription's
    role definitions.
  - Assignments are not updated in place (Azure refuses it); only their existence is managed.
options:
  scope:
    description: Resource id of the scope (subscription, resource group or resource).
    type: str
    required: true
  role:
    description: Role name (for example V(AcrPull), V(Network Contributor)), role definition GUID or role definition id.
    type: str
    required: true
  principal_id:
    description: Object id of the principal (for a managed identity its principal id).
    type: str
    required: true
  principal_type:
    description:
      - Type of the principal. With V(ServicePrincipal) Azure does not wait for a newly created identity to
        replicate in Entra ID before accepting the assignment.
    type: str
    choices: [ServicePrincipal, User, Group, ForeignGroup, Device]
    default: ServicePrincipal
  name:
    description: Name (GUID) for a new assignment, instead of the deterministic one.
    type: str
  description:
    description: Description stored with a new assignment.
    type: str
  state:
    description:
      - Whether the principal should hold the role at the scope.
      - V(absent) removes every assignment of that role to that principal at exactly that scope.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: The kubelet identity pulls from the registry
  airgap.aks_inference.role_assignment:
    scope: "{{ container_registry.id }}"
    role: AcrPull
    principal_id: "{{ kubelet_identity.principal_id }}"

- name: A credential set reads its secrets
  airgap.aks_inference.role_assignment:
    scope: "{{ vault.id }}"
    role: Key Vault Secrets User
    principal_id: "{{ credential_set.principal_id }}"
"""

RETURN = r"""
id:
  description: Resource id of the role assignment (the existing one when found, else the one created or to be created).
  returned: always
  type: str
name:
  description: Name (GUID) of the role assignment.
  returned: always
  type: str
role_definition_id:
  description: Id of the role definition.
  returned: always
  type: str
existing:
  description: Whether an assignment for (scope, role, principal) existed before the task.
  returned: always
  type: bool
diff:
  description: Before and after of the assignment.
  returned: always
  type: dict
"""

from urllib.parse import quote

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import AzureModule
from ansible_collections.airgap.aks_inference.plugins.module_utils.rbac import (
    PRINCIPAL_TYPES,
    assignment_name,
    check_guid,
    check_scope,
    role_definition_id,
    role_guid_of,
    role_reference,
    same_scope,
)

AUTHORIZATION_API_VERSION = "2022-04-01"
PROVIDER = "/providers/Microsoft.Authorization"


def _odata(text):
    return quote(text, safe="")


def resolve_role(module, client, field="role"):
    kind, ref = role_reference(field, module.params["role"])
    if kind == "guid":
        return ref
    path = "/subscriptions/%s%s/roleDefinitions?$filter=%s" % (
        module.subscription_id, PROVIDER, _odata("roleName eq '%s'" % ref.replace("'", "''")))
    for definition in client.list(path, AUTHORIZATION_API_VERSION):
        if str((definition.get("properties") or {}).get("roleName", "")).lower() == ref.lower():
            return role_guid_of(definition.get("id") or definition.get("name"))
    raise InputError(field, "no role definition named %r in subscription %s" % (ref, module.subscription_id))


def find_assignments(client, scope, role_guid, principal_id):
    path = "%s%s/roleAssignments?$filter=%s" % (scope, PROVIDER, _odata("principalId eq '%s'" % principal_id))
    found = []
    try:
        items = client.list(path, AUTHORIZATION_API_VERSION)
    except ArmError as err:
        if err.status != 404:
            raise
        items = []  # the scope does not exist (yet, in check mode): nothing is assigned at it
    for item in items:
        props = item.get("properties") or {}
        if (same_scope(props.get("scope"), scope) and role_guid_of(props.get("roleDefinitionId")) == role_guid
                and str(props.get("principalId", "")).lower() == principal_id):
            found.append(item)
    return found


def describe(scope, role_def_id, principal_id, principal_type):
    return {"scope": scope, "role_definition_id": role_def_id, "principal_id": principal_id,
            "principal_type": principal_type}


def ensure_assignment(module):
    p = module.params
    scope = check_scope("scope", p["scope"])
    principal_id = check_guid("principal_id", p["principal_id"], "a principal (object) id GUID")
    role_reference("role", p["role"])
    if p.get("name"):
        check_guid("name", p["name"], "a role assignment name (a GUID)")
    module.check_settings()
    client = module.client()
    role_guid = resolve_role(module, client)
    role_def_id = role_definition_id(module.subscription_id, role_guid)
    name = (p.get("name") or assignment_name(scope, role_guid, principal_id)).lower()
    rid = "%s%s/roleAssignments/%s" % (scope, PROVIDER, name)
    wanted = describe(scope, role_def_id, principal_id, p["principal_type"])

    found = find_assignments(client, scope, role_guid, principal_id)
    found.sort(key=lambda item: str(item.get("name", "")).lower() != name)  # ours first
    result = {"changed": False, "id": rid, "name": name, "role_definition_id": role_def_id, "existing": bool(found)}

    if p["state"] == "absent":
        if found:
            result.update(changed=True, id=found[0]["id"], name=found[0]["name"],
                          diff={"before": wanted, "after": {}})
            if not module.check_mode:
                for item in found:
                    client.delete(item["id"], AUTHORIZATION_API_VERSION)
        else:
            result["diff"] = {"before": {}, "after": {}}
        return result

    if found:
        result.update(id=found[0]["id"], name=found[0]["name"], diff={"before": wanted, "after": wanted})
        return result
    result.update(changed=True, diff={"before": {}, "after": wanted})
    if module.check_mode:
        return result
    body = {"properties": {"roleDefinitionId": role_def_id, "principalId": principal_id,
                           "principalType": p["principal_type"]}}
    if p.get("description"):
        body["properties"]["description"] = p["description"]
    try:
        response = client.put(rid, AUTHORIZATION_API_VERSION, body)
    except ArmError as err:
        if err.code != "RoleAssignmentExists":
            raise
        # Made meanwhile (or invisible to the list a moment ago): adopt it.
        found = find_assignments(client, scope, role_guid, principal_id)
        if not found:
            raise
        result.update(changed=False, existing=True, id=found[0]["id"], name=found[0]["name"],
                      diff={"before": wanted, "after": wanted})
        return result
    created = response.body or {}
    result["id"] = created.get("id") or rid
    return result


def main():
    module = AzureModule(
        dict(
            scope=dict(type="str", required=True),
            role=dict(type="str", required=True),
            principal_id=dict(type="str", required=True),
            principal_type=dict(type="str", choices=list(PRINCIPAL_TYPES), default="ServicePrincipal"),
            name=dict(type="str"),
            description=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        wait=False,
    )
    module.run(ensure_assignment)


if __name__ == "__main__":
    main()
