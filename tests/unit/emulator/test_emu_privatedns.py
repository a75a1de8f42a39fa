"""privateDnsZones and virtualNetworkLinks."""
import re

from armemu.testing import DNS_API

ZONE = "privatelink.azurecr.io"


def _make_zone(client, name=ZONE):
    r = client.put(client.zone("rg1", name), {"location": "global"}, api_version=DNS_API)
    assert r.status_code == 202, r.text()
    assert client.poll(r)["status"] == "Succeeded"
    return client.body(client.get(client.zone("rg1", name), api_version=DNS_API))


def _link_body(client, vnet="vnet1", **props):
    return {"location": "global", "properties": {"virtualNetwork": {"id": client.vnet("rg1", vnet)},
                                                 "registrationEnabled": False, **props}}


def test_zone_lifecycle(client, arm):
    client.make_rg()
    r = client.put(client.zone("rg1", ZONE), {"location": "Global", "tags": {"a": "b"}}, api_version=DNS_API)
    assert r.status_code == 202 and r.text() == ""
    base = f"{arm.url}/subscriptions/{arm.subscription_id}/resourceGroups/rg1/providers/Microsoft.Network"
    assert re.match(rf"^{re.escape(base)}/privateDnsOperationStatuses/[^/?]+\?api-version={DNS_API}$",
                    r.headers["Azure-AsyncOperation"])
    assert r.headers["Location"].startswith(f"{base}/privateDnsOperationResults/")
    assert client.poll(r)["status"] == "Succeeded"
    res = client.get(r.headers["Location"], api_version=None)
    assert res.status_code == 200 and client.body(res)["name"] == ZONE
    z = client.body(client.get(client.zone("rg1", ZONE), api_version=DNS_API))
    assert z["location"] == "global" and z["type"] == "Microsoft.Network/privateDnsZones"
    assert re.match(r"^[0-9a-f-]{36}$", z["etag"])
    p = z["properties"]
    assert p["provisioningState"] == "Succeeded" and p["numberOfRecordSets"] == 1
    assert p["maxNumberOfRecordSets"] == 25000 and p["numberOfVirtualNetworkLinks"] == 0
    assert p["maxNumberOfVirtualNetworkLinksWithRegistration"] == 100
    r = client.patch(client.zone("rg1", ZONE), {"tags": {"x": "y"}}, api_version=DNS_API)
    assert r.status_code == 202 and client.poll(r)["status"] == "Succeeded"
    z2 = client.body(client.get(client.zone("rg1", ZONE), api_version=DNS_API))
    assert z2["tags"] == {"x": "y"} and z2["etag"] != z["etag"]
    lst = client.body(client.get(f"{client.rg('rg1')}/providers/Microsoft.Network/privateDnsZones",
                                 api_version=DNS_API))
    assert [x["name"] for x in lst["value"]] == [ZONE]
    r = client.delete(client.zone("rg1", ZONE), api_version=DNS_API)
    assert r.status_code == 202 and client.poll(r)["status"] == "Succeeded"
    assert client.get(client.zone("rg1", ZONE), api_version=DNS_API).status_code == 404


def test_zone_rules(client):
    client.make_rg()
    r = client.put(client.zone("rg1", ZONE), {"location": "westeurope"}, api_version=DNS_API)
    err = client.body(r)["error"]
    assert r.status_code == 400 and err["code"] == "LocationNotAvailableForResourceType"
    assert "westeurope" in err["message"] and "global" in err["message"]
    for bad in ("localhost", "bad_-.example..com", "-x.example.com"):
        r = client.put(client.zone("rg1", bad), {"location": "global"}, api_version=DNS_API)
        assert r.status_code == 400 and bad in client.body(r)["error"]["message"], bad
    r = client.put(client.zone("rg1", ZONE), {"location": "global"}, api_version="2024-05-01")
    assert client.body(r)["error"]["code"] == "InvalidApiVersionParameter"


def test_links(client):
    client.make_rg()
    client.make_vnet()
    client.make_vnet(name="vnet2", prefixes=("10.1.0.0/16",))
    _make_zone(client)
    link = client.link("rg1", ZONE, "to-vnet1")
    r = client.put(link, {"location": "global", "properties": {
        "virtualNetwork": {"id": client.vnet("rg1", "ghost")}}}, api_version=DNS_API)
    assert r.status_code == 400 and client.vnet("rg1", "ghost") in client.body(r)["error"]["message"]
    r = client.put(link, _link_body(client, registrationEnabled="yes"), api_version=DNS_API)
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "InvalidRequestFormat"
    r = client.put(link, {**_link_body(client), "location": "westeurope"}, api_version=DNS_API)
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "LocationNotAvailableForResourceType"
    r = client.put(link, _link_body(client), api_version=DNS_API)
    assert r.status_code == 202 and client.poll(r)["status"] == "Succeeded"
    g = client.body(client.get(link, api_version=DNS_API))
    assert g["properties"]["virtualNetworkLinkState"] == "Completed"
    assert g["properties"]["registrationEnabled"] is False
    assert g["properties"]["resolutionPolicy"] == "Default"
    assert g["properties"]["virtualNetwork"]["id"] == client.vnet("rg1", "vnet1")
    assert "resolutionPolicy" not in client.body(client.get(link, api_version="2020-06-01"))["properties"]
    z = client.body(client.get(client.zone("rg1", ZONE), api_version=DNS_API))
    assert z["properties"]["numberOfVirtualNetworkLinks"] == 1
    # the same VNet twice in one zone
    r = client.put(client.link("rg1", ZONE, "again"), _link_body(client), api_version=DNS_API)
    assert r.status_code == 409 and client.body(r)["error"]["code"] == "Conflict"
    r = client.put(client.link("rg1", ZONE, "two"), _link_body(client, "vnet2"), api_version=DNS_API)
    client.poll(r)
    # a zone with links cannot be deleted
    r = client.delete(client.zone("rg1", ZONE), api_version=DNS_API)
    err = client.body(r)["error"]
    assert r.status_code == 409 and err["code"] == "CannotDeleteResource" and "to-vnet1" in err["message"]
    for name in ("to-vnet1", "two"):
        r = client.delete(client.link("rg1", ZONE, name), api_version=DNS_API)
        assert r.status_code == 202 and client.poll(r)["status"] == "Succeeded"
    r = client.delete(client.zone("rg1", ZONE), api_version=DNS_API)
    assert r.status_code == 202


def test_link_progress_under_time_scale(client, arm):
    client.make_rg()
    client.make_vnet()
    _make_zone(client)
    arm.set_time_scale(1.0)
    r = client.put(client.link("rg1", ZONE, "l"), _link_body(client), api_version=DNS_API)
    g = client.body(client.get(client.link("rg1", ZONE, "l"), api_version=DNS_API))
    assert g["properties"]["provisioningState"] == "Creating"
    assert g["properties"]["virtualNetworkLinkState"] == "InProgress"
    assert client.get(r.headers["Location"], api_version=None).status_code == 202
    arm.advance(31)
    g = client.body(client.get(client.link("rg1", ZONE, "l"), api_version=DNS_API))
    assert g["properties"]["provisioningState"] == "Succeeded"
    assert g["properties"]["virtualNetworkLinkState"] == "Completed"
