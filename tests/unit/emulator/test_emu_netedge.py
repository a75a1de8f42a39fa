"""publicIPAddresses, natGateways and networkInterfaces, and the subnet back-references they add."""
import pytest

NET_API = "2024-05-01"


def pip_id(client, name="pip1"):
    return f"{client.rg('rg1')}/providers/Microsoft.Network/publicIPAddresses/{name}"


def nat_id(client, name="ng1"):
    return f"{client.rg('rg1')}/providers/Microsoft.Network/natGateways/{name}"


def nic_id(client, name="nic1"):
    return f"{client.rg('rg1')}/providers/Microsoft.Network/networkInterfaces/{name}"


def ok(client, resp):
    assert resp.status_code in (200, 201), resp.text()
    assert client.poll(resp)["status"] == "Succeeded"
    return resp


def error(resp, status=400):
    assert resp.status_code == status, resp.text()
    return resp.json()["error"]


def make_pip(client, name="pip1", sku="Standard", zones=None, **props):
    body = {"location": "westeurope", "sku": {"name": sku},
            "properties": dict({"publicIPAllocationMethod": "Static"}, **props)}
    if zones:
        body["zones"] = zones
    ok(client, client.put(pip_id(client, name), body))
    return client.body(client.get(pip_id(client, name)))


def make_nat(client, name="ng1", pips=("pip1",), zones=None):
    body = {"location": "westeurope", "sku": {"name": "Standard"},
            "properties": {"publicIpAddresses": [{"id": pip_id(client, p)} for p in pips]}}
    if zones:
        body["zones"] = zones
    return client.put(nat_id(client, name), body)


def network(client, prefix="10.0.6.0/24"):
    client.make_rg()
    client.make_vnet(subnets=[{"name": "jb", "properties": {"addressPrefix": prefix,
                                                            "defaultOutboundAccess": False}}])
    return client.subnet("rg1", "vnet1", "jb")


def make_nic(client, subnet, name="nic1", **ipconfig):
    body = {"location": "westeurope", "properties": {"ipConfigurations": [
        {"name": "ipconfig1", "properties": dict({"subnet": {"id": subnet}}, **ipconfig)}]}}
    return client.put(nic_id(client, name), body)


def attach(client, subnet, nat):
    props = {k: v for k, v in client.body(client.get(subnet))["properties"].items() if k != "provisioningState"}
    if nat is None:
        props.pop("natGateway", None)
    else:
        props["natGateway"] = {"id": nat}
    return client.put(subnet, {"properties": props})


# -- public IP addresses ------------------------------------------------------------------
def test_standard_public_ip_must_be_static_and_gets_an_address(client):
    client.make_rg()
    err = error(client.put(pip_id(client), {"location": "westeurope", "sku": {"name": "Standard"}, "properties": {}}))
    assert err["code"] == "StandardSkuPublicIPAddressesMustBeStatic" and pip_id(client) in err["message"]
    first = make_pip(client)
    second = make_pip(client, "pip2")
    assert first["sku"] == {"name": "Standard", "tier": "Regional"}
    assert first["properties"]["ipAddress"] == "203.0.113.1" and second["properties"]["ipAddress"] == "203.0.113.2"
    assert first["properties"]["idleTimeoutInMinutes"] == 4 and first["properties"]["publicIPAddressVersion"] == "IPv4"
    again = make_pip(client, idleTimeoutInMinutes=10)  # an update keeps the address
    assert again["properties"]["ipAddress"] == "203.0.113.1"


def test_public_ip_rules(client):
    client.make_rg()
    err = error(client.put(pip_id(client), {"location": "westeurope", "sku": {"name": "Standard"},
                                            "properties": {"publicIPAllocationMethod": "Static",
                                                           "idleTimeoutInMinutes": 31}}))
    assert err["code"] == "PublicIPIdleTimeoutIsOutOfRange" and "31" in err["message"]
    make_pip(client, zones=["1"])
    err = error(client.put(pip_id(client), {"location": "westeurope", "sku": {"name": "Standard"}, "zones": ["2"],
                                            "properties": {"publicIPAllocationMethod": "Static"}}))
    assert err["code"] == "ResourceAvailabilityZonesCannotBeModified"
    basic = client.put(pip_id(client, "basic"), {"location": "westeurope", "properties": {}})
    ok(client, basic)
    body = client.body(client.get(pip_id(client, "basic")))
    assert body["sku"]["name"] == "Basic" and "ipAddress" not in body["properties"]


# -- NAT gateways -------------------------------------------------------------------------
def test_nat_gateway_needs_standard_static_public_ips_in_its_region(client):
    subnet = network(client)
    ok(client, client.put(pip_id(client, "basic"), {"location": "westeurope", "properties": {}}))
    err = error(make_nat(client, pips=("basic",)))
    assert err["code"] == "NatGatewayCannotUseBasicSkuPublicIp" and "basic" in err["message"]
    err = error(make_nat(client, pips=("missing",)))
    assert err["code"] == "InvalidResourceReference"
    ok(client, client.put(pip_id(client, "north"), {"location": "northeurope", "sku": {"name": "Standard"},
                                                    "properties": {"publicIPAllocationMethod": "Static"}}))
    assert error(make_nat(client, pips=("north",)))["code"] == "InvalidResourceReference"
    err = error(client.put(nat_id(client), {"location": "westeurope", "properties": {}}))
    assert err["code"] == "NatGatewaySkuRequired"
    make_pip(client)
    ok(client, make_nat(client))
    nat = client.body(client.get(nat_id(client)))
    assert nat["properties"]["idleTimeoutInMinutes"] == 4 and nat["properties"]["subnets"] == []
    pip = client.body(client.get(pip_id(client)))
    assert pip["properties"]["natGateway"]["id"] == nat_id(client)
    # one public IP, one user
    assert error(make_nat(client, "ng2"))["code"] == "PublicIpAddressInUse"
    ok(client, attach(client, subnet, nat_id(client)))
    assert [s["id"] for s in client.body(client.get(nat_id(client)))["properties"]["subnets"]] == [subnet]


def test_zonal_nat_gateway_takes_its_zone_or_zone_redundant_addresses(client):
    client.make_rg()
    make_pip(client, "z2", zones=["2"])
    make_pip(client, "zr", zones=["1", "2", "3"])
    make_pip(client, "regional")
    assert error(make_nat(client, pips=("z2",), zones=["1"]))["code"] == "NatGatewayPublicIpZoneMismatch"
    assert error(make_nat(client, pips=("regional",), zones=["1"]))["code"] == "NatGatewayPublicIpZoneMismatch"
    ok(client, make_nat(client, pips=("zr",), zones=["1"]))
    assert error(make_nat(client, "ng2", pips=("z2",), zones=["1", "2"]))["code"] == "NatGatewayCannotHaveMultipleZones"


@pytest.mark.parametrize("idle", [3, 121])
def test_nat_gateway_idle_timeout_range(client, idle):
    client.make_rg()
    make_pip(client)
    err = error(client.put(nat_id(client), {"location": "westeurope", "sku": {"name": "Standard"},
                                            "properties": {"idleTimeoutInMinutes": idle,
                                                           "publicIpAddresses": [{"id": pip_id(client)}]}}))
    assert err["code"] == "NatGatewayInvalidIdleTimeout" and str(idle) in err["message"]


def test_attached_nat_gateway_and_its_public_ip_cannot_be_deleted(client):
    subnet = network(client)
    make_pip(client)
    ok(client, make_nat(client))
    ok(client, attach(client, subnet, nat_id(client)))
    err = error(client.delete(nat_id(client)))
    assert err["code"] == "CannotDeleteNatGatewayAssociatedToSubnet"
    assert "still configured on 1 subnets" in err["message"]
    err = error(client.delete(pip_id(client)))
    assert err["code"] == "PublicIPAddressCannotBeDeleted" and nat_id(client) in err["message"]
    ok(client, attach(client, subnet, None))
    assert "natGateway" not in client.body(client.get(subnet))["properties"]
    assert client.delete(nat_id(client)).status_code == 202
    assert client.delete(pip_id(client)).status_code == 202


# -- network interfaces -------------------------------------------------------------------
def test_nic_gets_the_next_free_address_from_the_fifth_and_keeps_it(client):
    subnet = network(client)
    for index in range(3):
        ok(client, make_nic(client, subnet, name=f"nic{index}"))
    addresses = [client.body(client.get(nic_id(client, f"nic{i}")))["properties"]["ipConfigurations"][0]
                 ["properties"]["privateIPAddress"] for i in range(3)]
    assert addresses == ["10.0.6.4", "10.0.6.5", "10.0.6.6"]
    ok(client, make_nic(client, subnet, name="nic1"))  # an update keeps the address
    config = client.body(client.get(nic_id(client, "nic1")))["properties"]["ipConfigurations"][0]
    assert config["properties"]["privateIPAddress"] == "10.0.6.5"
    assert config["id"] == nic_id(client, "nic1") + "/ipConfigurations/ipconfig1"
    assert config["properties"]["primary"] is True and config["properties"]["privateIPAllocationMethod"] == "Dynamic"
    assert client.delete(nic_id(client, "nic0")).status_code == 202
    ok(client, make_nic(client, subnet, name="nic3"))
    assert client.body(client.get(nic_id(client, "nic3")))["properties"]["ipConfigurations"][0]["properties"][
        "privateIPAddress"] == "10.0.6.4"
    # the subnet shows the IP configurations in it
    refs = [c["id"] for c in client.body(client.get(subnet))["properties"]["ipConfigurations"]]
    assert sorted(refs) == sorted(nic_id(client, n) + "/ipConfigurations/ipconfig1" for n in ("nic1", "nic2", "nic3"))
    assert error(client.delete(subnet))["code"] == "InUseSubnetCannotBeDeleted"


@pytest.mark.parametrize("ipconfig,code", [
    ({"privateIPAllocationMethod": "Static"}, "PrivateIPAddressMissing"),
    ({"privateIPAllocationMethod": "Static", "privateIPAddress": "10.0.7.10"}, "PrivateIPAddressNotInSubnet"),
    ({"privateIPAllocationMethod": "Static", "privateIPAddress": "10.0.6.3"}, "PrivateIPAddressInReservedRange"),
    ({"privateIPAllocationMethod": "Static", "privateIPAddress": "10.0.6.255"}, "PrivateIPAddressInReservedRange"),
    ({"privateIPAllocationMethod": "Static", "privateIPAddress": "10.0.6.4"}, "PrivateIPAddressIsAllocated"),
    ({"privateIPAllocationMethod": "Sometimes"}, "InvalidRequestFormat"),
])
def test_nic_static_address_rules(client, ipconfig, code):
    subnet = network(client)
    ok(client, make_nic(client, subnet, name="first"))
    err = error(make_nic(client, subnet, **ipconfig))
    assert err["code"] == code, err


def test_nic_static_address_and_missing_subnet(client):
    subnet = network(client)
    ok(client, make_nic(client, subnet, privateIPAllocationMethod="static", privateIPAddress="10.0.6.10"))
    config = client.body(client.get(nic_id(client)))["properties"]["ipConfigurations"][0]["properties"]
    assert config["privateIPAllocationMethod"] == "Static" and config["privateIPAddress"] == "10.0.6.10"
    err = error(make_nic(client, subnet.replace("/jb", "/nope"), name="nic2"))
    assert err["code"] == "InvalidResourceReference"
    err = error(client.put(nic_id(client, "nic3"), {"location": "westeurope", "properties": {"ipConfigurations": []}}))
    assert err["code"] == "NetworkInterfaceWithoutIpConfiguration"
    err = error(client.put(nic_id(client, "nic4"), {"location": "northeurope", "properties": {"ipConfigurations": [
        {"name": "c", "properties": {"subnet": {"id": subnet}}}]}}))
    assert err["code"] == "InvalidResourceReference"


def test_subnet_fills_up(client):
    subnet = network(client, prefix="10.0.6.0/29")  # 8 addresses, 5 reserved
    for index in range(3):
        ok(client, make_nic(client, subnet, name=f"n{index}"))
    err = error(make_nic(client, subnet, name="n3"))
    assert err["code"] == "SubnetIsFull" and "10.0.6.0/29" in err["message"]


def test_public_ip_on_a_nic_shows_on_both_sides(client):
    subnet = network(client)
    make_pip(client)
    ok(client, make_nic(client, subnet, publicIPAddress={"id": pip_id(client)}))
    pip = client.body(client.get(pip_id(client)))
    assert pip["properties"]["ipConfiguration"]["id"] == nic_id(client) + "/ipConfigurations/ipconfig1"
    assert error(make_nat(client))["code"] == "PublicIpAddressInUse"
    assert error(client.delete(pip_id(client)))["code"] == "PublicIPAddressCannotBeDeleted"
