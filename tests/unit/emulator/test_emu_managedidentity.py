"""Microsoft.ManagedIdentity/userAssignedIdentities in the emulator."""
API = "2024-11-30"


def identity(client, name="id-aks"):
    return client.rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name


def test_create_is_synchronous_and_ids_are_stable(client):
    client.make_rg()
    first = client.put(identity(client), {"location": "westeurope", "tags": {"a": "b"}}, api_version=API)
    assert first.status_code == 201 and "Azure-AsyncOperation" not in first.headers
    props = client.body(first)["properties"]
    assert set(props) >= {"tenantId", "principalId", "clientId"} and "provisioningState" not in props
    again = client.put(identity(client), {"location": "westeurope", "properties": {"principalId": "forged"}},
                       api_version=API)
    assert again.status_code == 200
    assert client.body(again)["properties"]["principalId"] == props["principalId"]  # read-only, kept
    assert client.body(again).get("tags") is None


def test_name_rule_and_delete(client):
    client.make_rg()
    bad = client.put(identity(client, "-x"), {"location": "westeurope"}, api_version=API)
    assert bad.status_code == 400 and client.body(bad)["error"]["code"] == "InvalidResourceName"
    client.put(identity(client), {"location": "westeurope"}, api_version=API)
    assert client.delete(identity(client), api_version=API).status_code == 200
    assert client.get(identity(client), api_version=API).status_code == 404
