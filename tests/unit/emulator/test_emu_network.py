"""virtualNetworks, subnets, networkSecurityGroups (+ securityRules)."""
import re

from armemu.testing import NET_API

PREFIX = {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}


def _vnet_body(subnets=None, prefixes=("10.0.0.0/16",), **props):
    body = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": list(prefixes)}, **props}}
    if subnets is not None:
        body["properties"]["subnets"] = subnets
    return body


def _sn(name, prefix, **props):
    return {"name": name, "properties": {"addressPrefix": prefix, **props}}


def test_vnet_create_async_and_defaults(client, arm):
    client.make_rg()
    r = client.put(client.vnet("rg1", "vnet1"), _vnet_body([_sn("a", "10.0.0.0/24")]))
    assert r.status_code == 201
    b = client.body(r)
    assert b["properties"]["provisioningState"] == "Updating"
    op = r.headers["Azure-AsyncOperation"]
    assert re.match(rf"^{re.escape(arm.url)}/subscriptions/{arm.subscription_id}/providers/Microsoft.Network/"
                    rf"locations/westeurope/operations/[0-9a-f-]{{36}}\?api-version={NET_API}$", op)
    assert r.headers["Retry-After"] == "0"
    assert client.poll(r) == {"status": "Succeeded"}
    g = client.body(client.get(client.vnet("rg1", "vnet1")))
    p = g["properties"]
    assert p["provisioningState"] == "Succeeded"
    assert p["enableDdosProtection"] is False and p["virtualNetworkPeerings"] == []
    assert p["dhcpOptions"] == {"dnsServers": []} and re.match(r"^[0-9a-f-]{36}$", p["resourceGuid"])
    assert g["etag"].startswith('W/"')
    sub = p["subnets"][0]
    assert sub["id"] == client.subnet("rg1", "vnet1", "a")
    assert sub["type"] == "Microsoft.Network/virtualNetworks/subnets" and sub["etag"].startswith('W/"')
    assert sub["properties"]["privateEndpointNetworkPolicies"] == "Disabled"
    assert sub["properties"]["privateLinkServiceNetworkPolicies"] == "Enabled"
    assert sub["properties"]["provisioningState"] == "Succeeded"
    # idempotent PUT: 200, same etag
    r = client.put(client.vnet("rg1", "vnet1"), _vnet_body([_sn("a", "10.0.0.0/24")]))
    assert r.status_code == 200 and client.body(r)["properties"]["provisioningState"] == "Updating"
    client.poll(r)
    assert client.body(client.get(client.vnet("rg1", "vnet1")))["etag"] == g["etag"]
    # an older api-version does not show newer properties
    old = client.body(client.get(client.vnet("rg1", "vnet1"), api_version="2023-09-01"))
    assert "privateEndpointVNetPolicies" not in old["properties"]


def test_operation_progresses_with_time_scale(client, arm):
    client.make_rg()
    arm.set_time_scale(1.0)  # vnet default: 10 s
    r = client.put(client.vnet("rg1", "v"), _vnet_body())
    assert r.headers["Retry-After"] == "10"
    st = client.get(r.headers["Azure-AsyncOperation"])
    assert client.body(st) == {"status": "InProgress"} and int(st.headers["Retry-After"]) >= 1
    assert client.body(client.get(client.vnet("rg1", "v")))["properties"]["provisioningState"] == "Updating"
    arm.advance(5)
    assert client.body(client.get(r.headers["Azure-AsyncOperation"]))["status"] == "InProgress"
    arm.advance(5.1)
    assert client.body(client.get(client.vnet("rg1", "v")))["properties"]["provisioningState"] == "Succeeded"
    assert client.body(client.get(r.headers["Azure-AsyncOperation"]))["status"] == "Succeeded"
    arm.set_duration("Microsoft.Network/virtualNetworks", 100)
    arm.set_time_scale(0.001)  # 100 s * 0.001 = 0.1 s of real time
    r = client.put(client.vnet("rg1", "v2"), _vnet_body())
    assert r.headers["Retry-After"] == "0.01"  # the usual 10 s hint, scaled like the duration
    assert arm.config()["durations"]["Microsoft.Network/virtualNetworks"] == 100
    arm.advance(0.2)
    assert client.poll(r)["status"] == "Succeeded"
    arm.set_duration("Microsoft.Network/virtualNetworks", 2)
    arm.set_time_scale(0.1)  # 2 s * 0.1: the scaled 10 s hint (1 s) is capped by the 0.2 s left
    r = client.put(client.vnet("rg1", "v3"), _vnet_body())
    assert 0.01 <= float(r.headers["Retry-After"]) <= 0.2


def test_vnet_delete_async(client, arm):
    client.make_rg()
    client.make_vnet()
    arm.set_time_scale(1.0)
    r = client.delete(client.vnet("rg1", "vnet1"))
    assert r.status_code == 202 and "Azure-AsyncOperation" in r.headers and "Location" in r.headers
    g = client.body(client.get(client.vnet("rg1", "vnet1")))
    assert g["properties"]["provisioningState"] == "Deleting"
    loc = client.get(r.headers["Location"], api_version=None)
    assert loc.status_code == 202
    arm.advance(30)
    assert client.body(client.get(r.headers["Azure-AsyncOperation"]))["status"] == "Succeeded"
    assert client.get(r.headers["Location"], api_version=None).status_code == 200
    assert client.get(client.vnet("rg1", "vnet1")).status_code == 404
    assert client.delete(client.vnet("rg1", "vnet1")).status_code == 204


def test_vnet_validation(client):
    client.make_rg()
    v = client.vnet("rg1", "v")
    cases = [
        (_vnet_body(prefixes=()), "InvalidAddressSpace", "addressPrefixes"),
        (_vnet_body(prefixes=("10.0.0.1/16",)), "InvalidCIDRNotation", "10.0.0.0/16"),
        (_vnet_body(prefixes=("10.0.0/16",)), "InvalidAddressPrefixFormat", "10.0.0/16"),
        (_vnet_body(prefixes=("10.0.0.0/16", "10.0.128.0/17")), "VnetAddressSpacesOverlap", "10.0.128.0/17"),
        (_vnet_body([_sn("a", "10.1.0.0/24")]), "NetcfgSubnetRangeOutsideVnet", "10.1.0.0/24"),
        (_vnet_body([_sn("a", "10.0.0.0/24"), _sn("b", "10.0.0.128/25")]), "NetcfgSubnetRangesOverlap", "10.0.0.128/25"),
        (_vnet_body([_sn("a", "10.0.0.0/24"), _sn("A", "10.0.1.0/24")]), "DuplicateResourceName", "A"),
        ({"properties": PREFIX}, "LocationRequired", "location"),
        ({"location": "atlantis", "properties": PREFIX}, "LocationNotAvailableForResourceType", "atlantis"),
    ]
    for body, code, needle in cases:
        r = client.put(v, body)
        err = client.body(r)["error"]
        assert r.status_code == 400, (code, r.text())
        assert err["code"] == code and needle in err["message"], (code, err)
    r = client.put(client.vnet("rg1", "-bad"), _vnet_body())
    assert client.body(r)["error"]["code"] == "InvalidResourceName"
    assert list(client.emu.resources()) == [client.rg("rg1")]  # nothing half-created
    assert all(w["status"] == 400 for w in client.emu.writes()[1:])


def test_subnet_put_and_delete_update_vnet(client):
    client.make_rg()
    client.make_vnet(subnets=[_sn("a", "10.0.0.0/24")])
    r = client.put(client.subnet("rg1", "vnet1", "b"), {"properties": {"addressPrefix": "10.0.1.0/24",
                                                                       "defaultOutboundAccess": False}})
    assert r.status_code == 201 and client.body(r)["properties"]["provisioningState"] == "Updating"
    assert client.poll(r)["status"] == "Succeeded"
    g = client.body(client.get(client.vnet("rg1", "vnet1")))
    assert [s["name"] for s in g["properties"]["subnets"]] == ["a", "b"]
    assert g["properties"]["subnets"][1]["properties"]["defaultOutboundAccess"] is False
    lst = client.body(client.get(f"{client.vnet('rg1', 'vnet1')}/subnets"))
    assert [s["name"] for s in lst["value"]] == ["a", "b"]
    # standalone subnet rules
    for body, code in [
        ({"properties": {"addressPrefix": "10.9.0.0/24"}}, "NetcfgSubnetRangeOutsideVnet"),
        ({"properties": {"addressPrefix": "10.0.0.0/23"}}, "NetcfgSubnetRangesOverlap"),
        ({"properties": {}}, "NoAddressPrefixOrPoolProvided"),
        ({"properties": {"addressPrefix": "10.0.2.0/24", "defaultOutboundAccess": "no"}}, "InvalidRequestFormat"),
        ({"properties": {"addressPrefix": "10.0.2.0/24", "privateEndpointNetworkPolicies": "Sometimes"}},
         "InvalidRequestFormat"),
        ({"properties": {"addressPrefix": "10.0.2.0/24",
                         "delegations": [{"name": "d", "properties": {"serviceName": "Microsoft.Foo/bars"}}]}},
         "InvalidServiceNameOnDelegation"),
    ]:
        r = client.put(client.subnet("rg1", "vnet1", "c"), body)
        assert r.status_code == 400 and client.body(r)["error"]["code"] == code, (code, r.text())
    # enum casing is normalized, delegations get ids and actions
    r = client.put(client.subnet("rg1", "vnet1", "c"), {"properties": {
        "addressPrefix": "10.0.2.0/24", "privateEndpointNetworkPolicies": "enabled",
        "delegations": [{"name": "aks", "properties": {"serviceName": "Microsoft.ContainerService/managedClusters"}}]}})
    assert r.status_code == 201, r.text()
    c = client.body(r)["properties"]
    assert c["privateEndpointNetworkPolicies"] == "Enabled"
    d = c["delegations"][0]
    assert d["id"] == client.subnet("rg1", "vnet1", "c") + "/delegations/aks"
    assert d["properties"]["actions"] == ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    # delete a subnet: it leaves the vnet
    r = client.delete(client.subnet("rg1", "vnet1", "b"))
    assert r.status_code == 202
    client.poll(r)
    g = client.body(client.get(client.vnet("rg1", "vnet1")))
    assert [s["name"] for s in g["properties"]["subnets"]] == ["a", "c"]
    r = client.get(client.subnet("rg1", "vnet1", "b"))
    assert r.status_code == 404 and client.body(r)["error"]["code"] == "NotFound"


def test_vnet_put_without_subnets_removes_them(client):
    client.make_rg()
    client.make_vnet(subnets=[_sn("a", "10.0.0.0/24"), _sn("b", "10.0.1.0/24")])
    r = client.put(client.subnet("rg1", "vnet1", "c"), {"properties": {"addressPrefix": "10.0.2.0/24"}})
    client.poll(r)
    # PUT listing only "a": b and c are deleted
    v = client.make_vnet(subnets=[_sn("a", "10.0.0.0/24")])
    assert [s["name"] for s in v["properties"]["subnets"]] == ["a"]
    assert client.get(client.subnet("rg1", "vnet1", "c")).status_code == 404
    # PUT without properties.subnets: all gone
    v = client.make_vnet()
    assert v["properties"]["subnets"] == []
    # changing the address space so a listed subnet falls outside is refused
    client.make_vnet(subnets=[_sn("a", "10.0.0.0/24")])
    r = client.put(client.vnet("rg1", "vnet1"), _vnet_body([_sn("a", "10.0.0.0/24")], prefixes=("10.1.0.0/16",)))
    assert client.body(r)["error"]["code"] == "NetcfgSubnetRangeOutsideVnet"


def test_nsg_defaults_rules_and_priorities(client):
    client.make_rg()
    rule = {"name": "allow-https", "properties": {
        "protocol": "tcp", "access": "Allow", "direction": "Inbound", "priority": 100,
        "sourceAddressPrefix": "VirtualNetwork", "sourcePortRange": "*",
        "destinationAddressPrefix": "10.0.0.0/24", "destinationPortRanges": ["443", "8000-8080"]}}
    g = client.make_nsg(rules=[rule])
    p = g["properties"]
    assert [r["name"] for r in p["defaultSecurityRules"]] == [
        "AllowVnetInBound", "AllowAzureLoadBalancerInBound", "DenyAllInBound",
        "AllowVnetOutBound", "AllowInternetOutBound", "DenyAllOutBound"]
    assert {r["properties"]["priority"] for r in p["defaultSecurityRules"]} == {65000, 65001, 65500}
    r0 = p["securityRules"][0]
    assert r0["id"] == client.nsg("rg1", "nsg1") + "/securityRules/allow-https"
    assert r0["etag"].startswith('W/"') and r0["properties"]["provisioningState"] == "Succeeded"
    assert r0["properties"]["protocol"] == "Tcp" and r0["properties"]["sourcePortRanges"] == []
    assert r0["type"] == "Microsoft.Network/networkSecurityGroups/securityRules"
    clash = {"name": "other", "properties": {**rule["properties"], "priority": 100}}
    r = client.put(client.nsg("rg1", "nsg1"), {"location": "westeurope",
                                               "properties": {"securityRules": [rule, clash]}})
    err = client.body(r)["error"]
    assert r.status_code == 400 and err["code"] == "SecurityRuleConflict"
    assert "allow-https" in err["message"] and "other" in err["message"]
    out = {"name": "out", "properties": {**rule["properties"], "direction": "Outbound"}}
    assert client.make_nsg(rules=[rule, out])["properties"]["securityRules"][1]["properties"]["priority"] == 100
    # standalone rule PUT clashes with the existing one
    r = client.put(client.nsg("rg1", "nsg1") + "/securityRules/x", {"properties": {**rule["properties"]}})
    assert client.body(r)["error"]["code"] == "SecurityRuleConflict"
    bad = [
        ({"priority": 99}, "SecurityRuleInvalidPriority", "99"),
        ({"priority": 4097}, "SecurityRuleInvalidPriority", "4097"),
        ({"protocol": "Gre"}, "InvalidRequestFormat", "Gre"),
        ({"direction": "Sideways"}, "InvalidRequestFormat", "Sideways"),
        ({"destinationPortRanges": ["70000"]}, "SecurityRuleInvalidPortRange", "70000"),
        ({"destinationPortRanges": [], "destinationPortRange": None}, "SecurityRuleParametersMissing", "DestinationPortRange"),
        ({"sourceAddressPrefix": "NotATag"}, "SecurityRuleInvalidAddressPrefix", "NotATag"),
        ({"sourceAddressPrefix": None}, "SecurityRuleParametersMissing", "SourceAddressPrefix"),
        ({"access": None}, "SecurityRuleParametersMissing", "access"),
    ]
    for change, code, needle in bad:
        props = {**rule["properties"], **change, "priority": change.get("priority", 200)}
        r = client.put(client.nsg("rg1", "nsg2"), {"location": "westeurope", "properties": {
            "securityRules": [{"name": "r", "properties": props}]}})
        err = client.body(r)["error"]
        assert r.status_code == 400 and err["code"] == code and needle in err["message"], (change, err)


def test_subnet_nsg_reference(client):
    client.make_rg()
    client.make_nsg()
    client.make_nsg(name="far", location="eastus")
    client.make_vnet()
    missing = client.nsg("rg1", "ghost")
    r = client.put(client.subnet("rg1", "vnet1", "s"), {"properties": {
        "addressPrefix": "10.0.0.0/24", "networkSecurityGroup": {"id": missing}}})
    err = client.body(r)["error"]
    assert r.status_code == 400 and err["code"] == "InvalidResourceReference" and missing in err["message"]
    r = client.put(client.subnet("rg1", "vnet1", "s"), {"properties": {
        "addressPrefix": "10.0.0.0/24", "networkSecurityGroup": {"id": client.nsg("rg1", "far")}}})
    assert client.body(r)["error"]["code"] == "InvalidResourceReference"
    # a reference in other casing is accepted and returned canonical
    r = client.put(client.subnet("rg1", "vnet1", "s"), {"properties": {
        "addressPrefix": "10.0.0.0/24", "networkSecurityGroup": {"id": client.nsg("RG1", "NSG1").lower()}}})
    assert r.status_code == 201, r.text()
    client.poll(r)
    s = client.body(client.get(client.subnet("rg1", "vnet1", "s")))
    assert s["properties"]["networkSecurityGroup"] == {"id": client.nsg("rg1", "nsg1")}
    n = client.body(client.get(client.nsg("rg1", "nsg1")))
    assert n["properties"]["subnets"] == [{"id": client.subnet("rg1", "vnet1", "s")}]
    r = client.delete(client.nsg("rg1", "nsg1"))
    err = client.body(r)["error"]
    assert r.status_code == 400 and err["code"] == "InUseNetworkSecurityGroupCannotBeDeleted"
    assert client.subnet("rg1", "vnet1", "s") in err["message"]
    # a VNet PUT whose inline subnet omits the NSG drops the association
    client.make_vnet(subnets=[_sn("s", "10.0.0.0/24")])
    assert "subnets" not in client.body(client.get(client.nsg("rg1", "nsg1")))["properties"]
    r = client.delete(client.nsg("rg1", "nsg1"))
    assert r.status_code == 202
    client.poll(r)
    assert client.get(client.nsg("rg1", "nsg1")).status_code == 404


def test_patch_tags_and_preconditions(client):
    client.make_rg()
    v = client.make_vnet()
    r = client.patch(client.vnet("rg1", "vnet1"), {"tags": {"a": "1"}, "properties": {"enableDdosProtection": True}})
    assert r.status_code == 200
    b = client.body(r)
    assert b["tags"] == {"a": "1"} and b["properties"]["enableDdosProtection"] is False
    assert b["etag"] != v["etag"]
    r = client.patch(client.vnet("rg1", "vnet1"), {"tags": {"b": "2"}})
    assert client.body(r)["tags"] == {"b": "2"}
    assert client.patch(client.vnet("rg1", "nope"), {"tags": {}}).status_code == 404
    r = client.put(client.vnet("rg1", "vnet1"), _vnet_body(), headers={"If-None-Match": "*"})
    assert r.status_code == 412
    r = client.put(client.vnet("rg1", "vnet1"), _vnet_body(), headers={"If-Match": 'W/"stale"'})
    assert r.status_code == 412
    cur = client.body(client.get(client.vnet("rg1", "vnet1")))["etag"]
    assert client.put(client.vnet("rg1", "vnet1"), _vnet_body(), headers={"If-Match": cur}).status_code == 200


def test_location_normalized_and_case_insensitive_ids(client):
    client.make_rg()
    r = client.put(client.vnet("rg1", "MyVnet"), {"location": "West Europe", "properties": PREFIX})
    assert client.body(r)["location"] == "westeurope"
    g = client.body(client.get(client.vnet("RG1", "myvnet").replace("virtualNetworks", "VIRTUALNETWORKS")))
    assert g["name"] == "MyVnet" and g["id"] == client.vnet("rg1", "MyVnet")
    r = client.put(client.vnet("rg1", "myvnet"), {"location": "eastus", "properties": PREFIX})
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "InvalidResourceLocation"


def test_parallel_subnet_puts(client, arm):
    """Many clients at once (thread safety, one pipeline shared across threads)."""
    import concurrent.futures

    client.make_rg()
    client.make_vnet()

    def put(i):
        r = client.put(client.subnet("rg1", "vnet1", f"s{i}"), {"properties": {"addressPrefix": f"10.0.{i}.0/24"}})
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(put, range(24)))
    assert codes == [201] * 24
    v = client.body(client.get(client.vnet("rg1", "vnet1")))
    assert sorted(s["name"] for s in v["properties"]["subnets"]) == sorted(f"s{i}" for i in range(24))
    assert len([w for w in arm.writes() if w["resource_type"].endswith("/subnets")]) == 24
