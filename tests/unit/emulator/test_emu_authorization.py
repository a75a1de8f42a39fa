"""Microsoft.Authorization role assignments and custom role definitions in the emulator."""
AUTHZ = "2022-04-01"
ACR = "2023-07-01"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
PRINCIPAL = "5b0f4bd2-6a43-4a2e-8d15-5a0c3c3b8f11"
NAME_1 = "1a2b3c4d-0000-4000-8000-000000000001"
NAME_2 = "1a2b3c4d-0000-4000-8000-000000000002"


def role_def(arm, guid):
    return f"/subscriptions/{arm.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def assignment(scope, name):
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"


def test_assignments_at_a_resource_scope(client, arm):
    client.make_rg()
    registry = f"{client.rg('rg1')}/providers/Microsoft.ContainerRegistry/registries/acrtest01"
    client.poll(client.put(registry, {"location": "westeurope", "sku": {"name": "Premium"}}, api_version=ACR))
    body = {"properties": {"roleDefinitionId": role_def(arm, ACR_PULL), "principalId": PRINCIPAL.upper(),
                           "principalType": "ServicePrincipal"}}
    r = client.put(assignment(registry, NAME_1), body, api_version=AUTHZ)
    assert r.status_code == 201, r.text()
    created = client.body(r)
    assert created["properties"]["scope"] == registry and created["properties"]["principalId"] == PRINCIPAL
    # Same (scope, role, principal) under another name: RoleAssignmentExists.
    r = client.put(assignment(registry, NAME_2), body, api_version=AUTHZ)
    assert r.status_code == 409 and client.body(r)["error"]["code"] == "RoleAssignmentExists"
    # Not updatable; the name must be a GUID; the role must exist; the principal must be a GUID.
    other = {"properties": dict(body["properties"], principalId="9c1f2b8e-1111-4c3d-8e2f-0a0b0c0d0e0f")}
    assert client.body(client.put(assignment(registry, NAME_1), other, api_version=AUTHZ))["error"]["code"] == \
        "RoleAssignmentUpdateNotPermitted"
    assert client.body(client.put(assignment(registry, "not-a-guid"), body, api_version=AUTHZ))["error"]["code"] == \
        "InvalidRoleAssignmentId"
    missing = {"properties": dict(body["properties"], roleDefinitionId=role_def(arm, NAME_2))}
    assert client.body(client.put(assignment(registry, NAME_2), missing, api_version=AUTHZ))["error"]["code"] == \
        "RoleDefinitionDoesNotExist"
    bad = {"properties": dict(body["properties"], principalId="kubelet")}
    assert client.body(client.put(assignment(registry, NAME_2), bad, api_version=AUTHZ))["error"]["code"] == \
        "InvalidPrincipalId"
    listing = client.get(f"{registry}/providers/Microsoft.Authorization/roleAssignments"
                         f"?$filter=principalId%20eq%20'{PRINCIPAL}'", api_version=AUTHZ)
    assert [a["name"] for a in client.body(listing)["value"]] == [NAME_1]
    assert client.delete(assignment(registry, NAME_1), api_version=AUTHZ).status_code == 200
    assert client.body(client.get(f"{registry}/providers/Microsoft.Authorization/roleAssignments",
                                  api_version=AUTHZ))["value"] == []


def test_custom_role_definitions_are_listed(client, arm):
    client.make_rg()
    sub = f"/subscriptions/{arm.subscription_id}"
    guid = "0e5a9a6c-5f2e-4f9d-9b44-61a2f1b4c0aa"
    r = client.put(f"{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                   {"properties": {"roleName": "Registry Cache Reader", "permissions": []}}, api_version=AUTHZ)
    assert r.status_code == 201, r.text()
    r = client.put(f"{sub}/providers/Microsoft.Authorization/roleDefinitions/{NAME_2}",
                   {"properties": {"roleName": "AcrPull"}}, api_version=AUTHZ)
    assert r.status_code == 409
    listing = client.body(client.get(f"{sub}/providers/Microsoft.Authorization/roleDefinitions", api_version=AUTHZ))
    assert [d["properties"]["roleName"] for d in listing["value"]] == ["Registry Cache Reader"]
    body = {"properties": {"roleDefinitionId": role_def(arm, guid), "principalId": PRINCIPAL}}
    assert client.put(assignment(client.rg("rg1"), NAME_1), body, api_version=AUTHZ).status_code == 201
