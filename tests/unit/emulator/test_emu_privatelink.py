"""Private endpoints, DNS zone groups and their A records in the emulator."""
import pytest

from armemu.providers.privatelink import resolve
from armemu.testing import DNS_API

ACR = "2023-07-01"
KV = "2023-07-01"


def registry(client, name="acrtest01", sku="Premium"):
    rid = f"{client.rg('rg1')}/providers/Microsoft.ContainerRegistry/registries/{name}"
    r = client.put(rid, {"location": "westeurope", "sku": {"name": sku}}, api_version=ACR)
    client.poll(r)
    return rid


def pe_id(client, name="pe-acr"):
    return f"{client.rg('rg1')}/providers/Microsoft.Network/privateEndpoints/{name}"


def endpoint(client, target, group="registry", name="pe-acr", subnet=None):
    body = {"location": "westeurope", "properties": {
        "subnet": {"id": subnet or client.subnet("rg1", "vnet1", "pe")},
        "privateLinkServiceConnections": [
            {"name": name, "properties": {"privateLinkServiceId": target, "groupIds": [group]}}]}}
    return client.put(pe_id(client, name), body)


@pytest.fixture
def network(client):
    client.make_rg()
    vnet = client.make_vnet(subnets=[{"name": "pe", "properties": {"addressPrefix": "10.0.5.0/24"}}])
    zone = client.zone("rg1", "privatelink.azurecr.io")
    client.poll(client.put(zone, {"location": "global"}, api_version=DNS_API))
    link = client.link("rg1", "privatelink.azurecr.io", "vnet1")
    client.poll(client.put(link, {"location": "global", "properties": {"virtualNetwork": {"id": vnet["id"]}}},
                           api_version=DNS_API))
    return vnet


def test_registry_endpoint_zone_group_and_private_resolution(client, arm, network):
    rid = registry(client)
    r = endpoint(client, rid)
    assert r.status_code == 201, r.text()
    assert client.poll(r)["status"] == "Succeeded"
    pe = client.body(client.get(pe_id(client)))
    p = pe["properties"]
    assert [c["fqdn"] for c in p["customDnsConfigs"]] == ["acrtest01.azurecr.io",
                                                          "acrtest01.westeurope.data.azurecr.io"]
    assert [c["ipAddresses"] for c in p["customDnsConfigs"]] == [["10.0.5.4"], ["10.0.5.5"]]
    state = p["privateLinkServiceConnections"][0]["properties"]["privateLinkServiceConnectionState"]
    assert state["status"] == "Approved"
    nic = client.body(client.get(p["networkInterfaces"][0]["id"]))
    members = sorted(c["properties"]["privateLinkConnectionProperties"]["requiredMemberName"]
                     for c in nic["properties"]["ipConfigurations"])
    assert members == ["registry", "registry_data_westeurope"]
    reg = client.body(client.get(rid, api_version=ACR))
    conns = reg["properties"]["privateEndpointConnections"]
    assert len(conns) == 1 and conns[0]["properties"]["privateEndpoint"]["id"] == pe["id"]
    assert conns[0]["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"

    zone = client.zone("rg1", "privatelink.azurecr.io")
    group = pe_id(client) + "/privateDnsZoneGroups/default"
    r = client.put(group, {"properties": {"privateDnsZoneConfigs": [
        {"name": "privatelink-azurecr-io", "properties": {"privateDnsZoneId": zone}}]}})
    assert r.status_code == 201, r.text()
    client.poll(r)
    body = client.body(client.get(group))
    sets = body["properties"]["privateDnsZoneConfigs"][0]["properties"]["recordSets"]
    assert [(s["recordSetName"], s["ipAddresses"]) for s in sets] == [
        ("acrtest01", ["10.0.5.4"]), ("acrtest01.westeurope.data", ["10.0.5.5"])]
    record = client.body(client.get(zone + "/A/acrtest01.westeurope.data", api_version=DNS_API))
    assert record["properties"]["aRecords"] == [{"ipv4Address": "10.0.5.5"}] and record["properties"]["ttl"] == 10
    assert resolve(arm, "acrtest01.azurecr.io", network["id"]) == ["10.0.5.4"]
    assert resolve(arm, "acrtest01.westeurope.data.azurecr.io", network["id"]) == ["10.0.5.5"]
    assert resolve(arm, "acrtest01.azurecr.io", network["id"].replace("vnet1", "other")) is None
    assert client.body(client.get(zone, api_version=DNS_API))["properties"]["numberOfRecordSets"] == 3

    # The subnet (and its VNet) cannot go while the endpoint uses it.
    r = client.delete(client.subnet("rg1", "vnet1", "pe"))
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "InUseSubnetCannotBeDeleted"
    # Deleting the endpoint removes its interface and the records of its zone group.
    client.poll(client.delete(pe_id(client)))
    assert resolve(arm, "acrtest01.azurecr.io") is None
    assert client.get(p["networkInterfaces"][0]["id"]).status_code == 404
    assert client.body(client.get(rid, api_version=ACR))["properties"]["privateEndpointConnections"] == []
    assert client.delete(client.subnet("rg1", "vnet1", "pe")).status_code == 202


def test_endpoint_rules(client, network):
    basic = registry(client, "acrbasic01", sku="Standard")
    r = endpoint(client, basic)
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "PrivateEndpointNotSupportedForSku"
    assert "Standard" in client.body(r)["error"]["message"]
    rid = registry(client)
    r = endpoint(client, rid, group="vault")
    assert client.body(r)["error"]["code"] == "InvalidPrivateEndpointGroupId"
    body = {"location": "westeurope", "properties": {
        "subnet": {"id": client.subnet("rg1", "vnet1", "pe")},
        "privateLinkServiceConnections": [
            {"name": "c", "properties": {"privateLinkServiceId": rid, "groupIds": ["registry", "registry"]}}]}}
    r = client.put(pe_id(client), body)
    assert client.body(r)["error"]["code"] == "OnlyOneGroupIdPermitted"
    r = endpoint(client, rid, subnet=client.subnet("rg1", "vnet1", "missing"))
    assert client.body(r)["error"]["code"] == "InvalidResourceReference"
    r = endpoint(client, rid.replace("acrtest01", "acrnothere"))
    assert client.body(r)["error"]["code"] == "PrivateLinkServiceIdNotFound"
    # The registry cannot drop to Standard while it has an endpoint; once it is gone the endpoint is Disconnected.
    client.poll(endpoint(client, rid))
    r = client.put(rid, {"location": "westeurope", "sku": {"name": "Standard"}}, api_version=ACR)
    assert client.body(r)["error"]["code"] == "SkuDowngradeNotAllowed"
    client.poll(client.delete(rid, api_version=ACR))
    conn = client.body(client.get(pe_id(client)))["properties"]["privateLinkServiceConnections"][0]
    assert conn["properties"]["privateLinkServiceConnectionState"]["status"] == "Disconnected"


def test_key_vault_endpoint_takes_the_next_address(client, arm, network):
    rid = registry(client)
    client.poll(endpoint(client, rid))
    vault = f"{client.rg('rg1')}/providers/Microsoft.KeyVault/vaults/kvtest01"
    client.poll(client.put(vault, {"location": "westeurope", "properties": {
        "tenantId": arm.tenant_id, "sku": {"family": "A", "name": "standard"}}}, api_version=KV))
    r = endpoint(client, vault, group="vault", name="pe-kv")
    assert r.status_code == 201, r.text()
    client.poll(r)
    configs = client.body(client.get(pe_id(client, "pe-kv")))["properties"]["customDnsConfigs"]
    assert configs == [{"fqdn": "kvtest01.vault.azure.net", "ipAddresses": ["10.0.5.6"]}]
    conns = client.body(client.get(vault, api_version=KV))["properties"]["privateEndpointConnections"]
    assert [c["properties"]["privateEndpoint"]["id"].rsplit("/", 1)[-1] for c in conns] == ["pe-kv"]
