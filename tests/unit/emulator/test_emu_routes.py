"""routeTables and routes: validation, inline routes, subnet association and back-references."""
import pytest


def rt_id(client, name="rt1"):
    return f"{client.rg('rg1')}/providers/Microsoft.Network/routeTables/{name}"


def ok(client, resp):
    assert resp.status_code in (200, 201), resp.text()
    assert client.poll(resp)["status"] == "Succeeded"
    return resp


def error(resp, status=400):
    assert resp.status_code == status, resp.text()
    return resp.json()["error"]


def make_table(client, routes, name="rt1"):
    body = {"location": "westeurope", "properties": {"routes": [
        {"name": n, "properties": props} for n, props in routes]}}
    return client.put(rt_id(client, name), body)


def test_inline_routes_are_children_and_enums_canonical(client):
    client.make_rg()
    ok(client, make_table(client, [("default", {"addressPrefix": "0.0.0.0/0", "nextHopType": "internet"}),
                                   ("fw", {"addressPrefix": "10.9.0.0/16", "nextHopType": "VirtualAppliance",
                                           "nextHopIpAddress": "10.0.9.4"})]))
    table = client.body(client.get(rt_id(client)))
    routes = {r["name"]: r["properties"] for r in table["properties"]["routes"]}
    assert routes["default"]["nextHopType"] == "Internet"
    assert table["properties"]["disableBgpRoutePropagation"] is False
    child = client.body(client.get(rt_id(client) + "/routes/default"))
    assert child["properties"]["addressPrefix"] == "0.0.0.0/0"
    listed = client.body(client.get(rt_id(client) + "/routes"))["value"]
    assert sorted(r["name"] for r in listed) == ["default", "fw"]


@pytest.mark.parametrize("props, code", [
    ({"addressPrefix": "10.0.0.1/16", "nextHopType": "Internet"}, "InvalidCIDRNotation"),
    ({"addressPrefix": "NoSuchTag", "nextHopType": "Internet"}, "InvalidAddressPrefixFormat"),
    ({"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance"}, "InvalidNextHopIpAddress"),
    ({"addressPrefix": "0.0.0.0/0", "nextHopType": "Internet", "nextHopIpAddress": "10.0.0.4"},
     "NextHopIpAddressNotAllowed"),
    ({"addressPrefix": "0.0.0.0/0", "nextHopType": "Moon"}, "InvalidRequestFormat"),
])
def test_bad_routes_are_refused(client, props, code):
    client.make_rg()
    ok(client, make_table(client, []))
    err = error(client.put(rt_id(client) + "/routes/r1", {"properties": props}))
    assert err["code"] == code


def test_same_prefix_twice_conflicts_and_service_tags_are_accepted(client):
    client.make_rg()
    ok(client, make_table(client, [("a", {"addressPrefix": "0.0.0.0/0", "nextHopType": "None"})]))
    route = {"properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"}}
    err = error(client.put(rt_id(client) + "/routes/b", route))
    assert err["code"] == "RouteConflict" and "0.0.0.0/0" in err["message"]
    tag = {"properties": {"addressPrefix": "AzureCloud", "nextHopType": "Internet"}}
    ok(client, client.put(rt_id(client) + "/routes/c", tag))


def test_subnet_association_back_reference_and_delete_in_use(client):
    client.make_rg()
    ok(client, make_table(client, [("default", {"addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"})]))
    client.make_vnet(subnets=[{"name": "nodes", "properties": {
        "addressPrefix": "10.0.0.0/24", "routeTable": {"id": rt_id(client).upper()}}}])
    subnet = client.body(client.get(client.subnet("rg1", "vnet1", "nodes")))
    assert subnet["properties"]["routeTable"]["id"] == rt_id(client)
    table = client.body(client.get(rt_id(client)))
    assert table["properties"]["subnets"] == [{"id": client.subnet("rg1", "vnet1", "nodes")}]
    err = error(client.delete(rt_id(client)))
    assert err["code"] == "InUseRouteTableCannotBeDeleted" and "nodes" in err["message"]


def test_a_subnet_cannot_use_a_missing_route_table(client):
    client.make_rg()
    client.make_vnet(subnets=[])
    err = error(client.put(client.subnet("rg1", "vnet1", "s"), {"properties": {
        "addressPrefix": "10.0.1.0/24", "routeTable": {"id": rt_id(client, "missing")}}}))
    assert err["code"] == "InvalidResourceReference"
