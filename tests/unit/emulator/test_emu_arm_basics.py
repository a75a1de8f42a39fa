"""Generic ARM behaviour: api-version, subscriptions, resource groups, ids, errors, HTTP."""
import http.client
import json
import ssl

from armemu.testing import NET_API, RG_API


def test_api_version_required_and_checked(client):
    client.make_rg()
    r = client.get(client.rg("rg1"), api_version=None)
    assert r.status_code == 400
    assert client.body(r)["error"]["code"] == "MissingApiVersionParameter"
    r = client.get(client.rg("rg1"), api_version="2010-01-01")
    err = client.body(r)["error"]
    assert r.status_code == 400 and err["code"] == "InvalidApiVersionParameter"
    assert "2010-01-01" in err["message"] and "2024-03-01" in err["message"]
    r = client.get(client.vnet("rg1", "v"), api_version="2024-03-01-preview")
    assert client.body(r)["error"]["code"] == "InvalidApiVersionParameter"
    assert "2024-07-01" in client.body(r)["error"]["message"]


def test_subscription(client):
    r = client.get(f"/subscriptions/{client.sub}", api_version="2022-12-01")
    assert r.status_code == 200 and client.body(r)["subscriptionId"] == client.sub
    r = client.get("/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups", api_version=RG_API)
    assert r.status_code == 404
    assert client.body(r)["error"]["code"] == "SubscriptionNotFound"
    r = client.get("/subscriptions", api_version="2022-12-01")
    assert [s["subscriptionId"] for s in client.body(r)["value"]] == [client.sub]


def test_resource_group_lifecycle(client, arm):
    rg = client.rg("MyRG")
    r = client.put(rg, {"location": "West Europe", "tags": {"env": "test"}}, api_version=RG_API)
    assert r.status_code == 201
    b = client.body(r)
    assert b["id"] == f"/subscriptions/{client.sub}/resourceGroups/MyRG"
    assert b["location"] == "westeurope" and b["properties"]["provisioningState"] == "Succeeded"
    assert b["type"] == "Microsoft.Resources/resourceGroups" and b["tags"] == {"env": "test"}
    assert client.put(rg, {"location": "westeurope"}, api_version=RG_API).status_code == 200
    # case-insensitive names and segments; the creation casing comes back
    r = client.get(f"/SUBSCRIPTIONS/{client.sub}/RESOURCEGROUPS/myrg", api_version=RG_API)
    assert r.status_code == 200 and client.body(r)["name"] == "MyRG"
    assert "tags" not in client.body(r)  # PUT without tags replaced them
    r = client.put(rg, {"location": "eastus"}, api_version=RG_API)
    assert r.status_code == 409 and client.body(r)["error"]["code"] == "InvalidResourceGroupLocation"
    r = client.put(client.rg("other"), {}, api_version=RG_API)
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "LocationRequired"
    r = client.put(client.rg("other"), {"location": "mars"}, api_version=RG_API)
    assert r.status_code == 400 and "mars" in client.body(r)["error"]["message"]
    r = client.put(client.rg("bad.name."), {"location": "westeurope"}, api_version=RG_API)
    assert r.status_code == 400 and "bad.name." in client.body(r)["error"]["message"]
    r = client.patch(rg, {"tags": {"a": "b"}}, api_version=RG_API)
    assert r.status_code == 200 and client.body(r)["tags"] == {"a": "b"}
    lst = client.body(client.get(f"/subscriptions/{client.sub}/resourcegroups", api_version=RG_API))
    assert [g["name"] for g in lst["value"]] == ["MyRG"]
    assert client.call("HEAD", rg, api_version=RG_API).status_code == 204
    assert client.call("HEAD", client.rg("nope"), api_version=RG_API).status_code == 404

    r = client.delete(rg, api_version=RG_API)
    assert r.status_code == 202
    loc = r.headers["Location"]
    assert loc.startswith(f"{arm.url}/subscriptions/{client.sub}/operationresults/")
    assert "Azure-AsyncOperation" not in r.headers
    assert client.get(loc, api_version=None).status_code == 200
    r = client.get(rg, api_version=RG_API)
    assert r.status_code == 404 and client.body(r)["error"]["code"] == "ResourceGroupNotFound"
    r = client.delete(rg, api_version=RG_API)
    assert r.status_code == 404 and client.body(r)["error"]["code"] == "ResourceGroupNotFound"


def test_resource_group_delete_cascades(client, arm):
    client.make_rg("rg1")
    client.make_rg("keep")
    client.make_nsg("rg1")
    client.make_vnet("rg1", subnets=[{"name": "s1", "properties": {"addressPrefix": "10.0.1.0/24"}}])
    r = client.put(client.zone("rg1", "privatelink.azurecr.io"), {"location": "global"}, api_version="2024-06-01")
    client.poll(r)
    assert len(arm.resources()) == 6
    r = client.delete(client.rg("rg1"), api_version=RG_API)
    assert client.get(r.headers["Location"], api_version=None).status_code == 200
    assert list(arm.resources()) == [f"/subscriptions/{client.sub}/resourceGroups/keep"]
    r = client.get(client.vnet("rg1", "vnet1"))
    assert client.body(r)["error"]["code"] == "ResourceGroupNotFound"


def test_resource_group_delete_progresses_with_time(client, arm):
    client.make_rg()
    arm.set_time_scale(1.0)
    r = client.delete(client.rg("rg1"), api_version=RG_API)
    loc = r.headers["Location"]
    assert int(r.headers["Retry-After"]) >= 1
    p = client.get(loc, api_version=None)
    assert p.status_code == 202 and p.headers["Location"].split("?")[0] == loc.split("?")[0]
    g = client.body(client.get(client.rg("rg1"), api_version=RG_API))
    assert g["properties"]["provisioningState"] == "Deleting"
    r = client.put(client.vnet("rg1", "v"), {"location": "westeurope",
                                             "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})
    assert r.status_code == 409 and client.body(r)["error"]["code"] == "ResourceGroupBeingDeleted"
    arm.advance(60)
    assert client.get(loc, api_version=None).status_code == 200
    assert client.get(client.rg("rg1"), api_version=RG_API).status_code == 404


def test_missing_parents_and_types(client):
    r = client.get(client.vnet("nope", "v"))
    assert r.status_code == 404 and client.body(r)["error"]["code"] == "ResourceGroupNotFound"
    client.make_rg()
    r = client.get(client.vnet("rg1", "v"))
    err = client.body(r)["error"]
    assert r.status_code == 404 and err["code"] == "ResourceNotFound"
    assert err["message"].startswith(
        "The Resource 'Microsoft.Network/virtualNetworks/v' under resource group 'rg1' was not found.")
    r = client.get(client.subnet("rg1", "v", "s"))
    assert r.status_code == 404 and client.body(r)["error"]["code"] == "ParentResourceNotFound"
    r = client.put(client.subnet("rg1", "v", "s"), {"properties": {"addressPrefix": "10.0.0.0/24"}})
    assert r.status_code == 404 and client.body(r)["error"]["code"] == "ParentResourceNotFound"
    r = client.get(f"{client.rg('rg1')}/providers/Microsoft.Network/widgets/w")
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "InvalidResourceType"
    r = client.get(f"{client.rg('rg1')}/providers/Microsoft.Nope/widgets/w")
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "InvalidResourceNamespace"
    assert client.delete(client.vnet("rg1", "ghost")).status_code == 204


def test_bad_json_body(client, http, token):
    client.make_rg()
    r = http.put(client.url(client.vnet("rg1", "v")), data=b"{not json",
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequestContent"


def test_every_response_has_request_id(client, http):
    client.make_rg()
    for r in (http.get(f"{client.emu.url}/_emulator/health"),
              http.get(client.url(client.rg("rg1"), RG_API)),
              http.get(f"{client.emu.url}/nothing/here")):
        assert r.headers.get("x-ms-request-id")
    assert client.get(client.rg("rg1"), api_version=RG_API).headers["x-ms-request-id"]


def test_keep_alive_and_head(arm, token):
    ctx = ssl.create_default_context(cafile=arm.ca_path)
    conn = http.client.HTTPSConnection("127.0.0.1", arm.port, context=ctx, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/subscriptions/{arm.subscription_id}/resourcegroups/rg9?api-version={RG_API}"
    conn.request("PUT", path, body=json.dumps({"location": "westeurope"}),
                 headers={**headers, "Content-Type": "application/json"})
    r1 = conn.getresponse()
    r1.read()
    sock = conn.sock
    conn.request("HEAD", path, headers=headers)
    r2 = conn.getresponse()
    assert r2.read() == b"" and r2.status == 204
    conn.request("GET", path, headers=headers)
    r3 = conn.getresponse()
    assert json.loads(r3.read())["name"] == "rg9"
    assert conn.sock is sock  # one connection for all three
    conn.close()
    assert r1.status == 201


def test_generic_list_and_providers(client):
    client.make_rg()
    client.make_nsg()
    client.make_vnet()
    r = client.get(f"{client.rg('rg1')}/resources", api_version=RG_API)
    assert sorted(x["type"] for x in client.body(r)["value"]) == [
        "Microsoft.Network/networkSecurityGroups", "Microsoft.Network/virtualNetworks"]
    r = client.get(f"/subscriptions/{client.sub}/providers/Microsoft.Network", api_version="2021-04-01")
    types = {t["resourceType"]: t for t in client.body(r)["resourceTypes"]}
    assert NET_API in types["virtualNetworks"]["apiVersions"]
    assert client.body(r)["registrationState"] == "Registered"
    r = client.get(f"/subscriptions/{client.sub}/providers/Microsoft.Network/virtualNetworks")
    assert [v["name"] for v in client.body(r)["value"]] == ["vnet1"]
