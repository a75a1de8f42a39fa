"""desired / normalize / to_body / validate of the network modules."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import prune_none
from ansible_collections.airgap.aks_inference.plugins.modules import network_security_group as nsg_mod
from ansible_collections.airgap.aks_inference.plugins.modules import private_dns_zone as zone_mod
from ansible_collections.airgap.aks_inference.plugins.modules import subnet as subnet_mod
from ansible_collections.airgap.aks_inference.plugins.modules import virtual_network as vnet_mod

SUB = "00000000-0000-0000-0000-000000000001"


class Module:
    subscription_id = SUB

    def __init__(self, **params):
        self.params = params


def rule(**kw):
    base = dict(name="r", priority=100, direction="Outbound", access="Allow", protocol="Tcp",
                source_address_prefixes=["*"], source_port_ranges=["*"], destination_address_prefixes=["*"],
                destination_port_ranges=["443"], description=None)
    base.update(kw)
    return base


def nsg(rules, purge=True):
    return nsg_mod.NetworkSecurityGroup(Module(resource_group="rg", name="nsg1", location="westeurope", rules=rules,
                                               purge_rules=purge, tags=None, purge_tags=True))


def test_nsg_rule_normalized_and_back_to_wire_form():
    azure_rule = {"name": "r", "properties": {"sourceAddressPrefix": "*", "sourceAddressPrefixes": [],
                                              "destinationPortRanges": ["443", "4443"], "destinationPortRange": None,
                                              "provisioningState": "Succeeded"}}
    normalized = nsg_mod.normalize_rule(azure_rule)
    assert normalized["properties"]["sourceAddressPrefixes"] == ["*"]
    assert normalized["properties"]["destinationPortRanges"] == ["443", "4443"]
    wire = nsg_mod.wire_rule(normalized)["properties"]
    assert wire["sourceAddressPrefix"] == "*" and "sourceAddressPrefixes" not in wire
    assert wire["destinationPortRanges"] == ["443", "4443"]


def test_nsg_same_rules_in_other_form_are_equal():
    resource = nsg([rule(destination_port_ranges=["4443", "443"], destination_address_prefixes=["10.0.0.0/28"])])
    current = {"location": "westeurope", "properties": {"securityRules": [
        {"name": "R", "properties": {"priority": 100, "direction": "outbound", "access": "Allow", "protocol": "tcp",
                                     "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                     "destinationAddressPrefix": "10.0.0.0/28",
                                     "destinationPortRanges": ["443", "4443"]}}],
        "defaultSecurityRules": [{"name": "DenyAllInBound"}]}}
    comparison = resource.fields.compare(resource.desired(), resource.normalize(current))
    assert comparison.differences == []


def test_nsg_purge_rules_false_keeps_other_rules_in_body():
    current = {"location": "westeurope", "properties": {"securityRules": [
        {"name": "other", "properties": {"priority": 300, "direction": "Inbound", "access": "Allow",
                                         "protocol": "*", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                         "destinationAddressPrefix": "*", "destinationPortRange": "22"}}]}}
    resource = nsg([rule()], purge=False)
    body = resource.to_body(resource.desired(), current)
    assert [r["name"] for r in body["properties"]["securityRules"]] == ["r", "other"]
    assert "defaultSecurityRules" not in body["properties"]
    purged = nsg([rule()]).to_body(nsg([rule()]).desired(), current)
    assert [r["name"] for r in purged["properties"]["securityRules"]] == ["r"]


@pytest.mark.parametrize("rules,field", [
    ([rule(priority=99)], "rules[0].priority"),
    ([rule(), rule(name="s")], "rules[1].priority"),
    ([rule(), rule(name="R", priority=200)], "rules[1].name"),
    ([rule(destination_port_ranges=["https"])], "rules[0].destination_port_ranges"),
    ([rule(source_address_prefixes=[])], "rules[0].source_address_prefixes"),
])
def test_nsg_bad_rules_name_the_field(rules, field):
    with pytest.raises(InputError) as err:
        nsg(rules).validate()
    assert err.value.field == field


def test_nsg_same_priority_other_direction_is_fine():
    nsg([rule(), rule(name="in", direction="Inbound")]).validate()


def subnet(**params):
    base = dict(resource_group="rg", virtual_network="vnet", name="snet", address_prefix=None, address_prefixes=None,
                default_outbound_access=None, network_security_group=None, nat_gateway=None, delegations=None,
                private_endpoint_network_policies=None)
    base.update(params)
    return subnet_mod.Subnet(Module(**base))


def test_subnet_desired_resolves_names_to_ids():
    desired = subnet(address_prefix="10.0.0.0/24", network_security_group="nsg1", default_outbound_access=False,
                     delegations=["Microsoft.ContainerService/managedClusters"]).desired()
    props = desired["properties"]
    assert props["networkSecurityGroup"]["id"] == (
        "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg1" % SUB)
    assert props["defaultOutboundAccess"] is False
    assert props["delegations"] == ["Microsoft.ContainerService/managedClusters"]


def test_subnet_delegations_compared_by_service_and_kept_by_name():
    current = {"properties": {"addressPrefix": "10.0.0.0/24", "routeTable": {"id": "/rt"},
                              "ipConfigurations": [{"id": "/nic"}], "provisioningState": "Succeeded",
                              "delegations": [{"name": "aks", "id": "/d", "properties": {
                                  "serviceName": "Microsoft.ContainerService/managedClusters"}}]}}
    resource = subnet(delegations=["microsoft.containerservice/managedclusters"], address_prefix="10.0.0.0/24")
    desired = prune_none(resource.desired())  # as the engine does: only what the user set
    assert resource.fields.compare(desired, resource.normalize(current)).differences == []
    body = resource.to_body(desired, current)
    assert body["properties"]["delegations"][0]["name"] == "aks"
    assert body["properties"]["routeTable"] == {"id": "/rt"}  # not managed here, kept
    assert "ipConfigurations" not in body["properties"] and "provisioningState" not in body["properties"]


def test_subnet_validation():
    with pytest.raises(InputError) as err:
        subnet(address_prefix="10.0.0.7/24").validate()
    assert err.value.field == "address_prefix"
    with pytest.raises(InputError) as err:
        subnet(address_prefixes=["10.0.0.0/24", "10.0.0.128/25"]).validate()
    assert err.value.field == "address_prefixes[1]"


def vnet(**params):
    base = dict(resource_group="rg", name="vnet", location="westeurope", address_prefixes=["10.0.0.0/16"],
                dns_servers=None, tags=None, purge_tags=True)
    base.update(params)
    return vnet_mod.VirtualNetwork(Module(**base))


CURRENT_VNET = {"location": "westeurope", "properties": {
    "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "resourceGuid": "g", "provisioningState": "Succeeded",
    "subnets": [{"name": "out-of-band", "properties": {"addressPrefix": "10.0.9.0/24"}}]}}


def test_vnet_update_sends_every_existing_subnet_back():
    resource = vnet(address_prefixes=["10.0.0.0/16", "10.1.0.0/16"])
    body = resource.to_body(resource.desired(), CURRENT_VNET)
    assert body["properties"]["subnets"] == CURRENT_VNET["properties"]["subnets"]
    assert "resourceGuid" not in body["properties"]


def test_vnet_space_that_would_orphan_a_subnet_is_refused():
    resource = vnet(address_prefixes=["10.1.0.0/16"])
    with pytest.raises(InputError) as err:
        resource.to_body(resource.desired(), CURRENT_VNET)
    assert err.value.field == "address_prefixes" and "out-of-band" in err.value.message


def test_vnet_validation():
    with pytest.raises(InputError) as err:
        vnet(address_prefixes=["10.0.0.0/16", "10.0.128.0/17"]).validate()
    assert err.value.field == "address_prefixes[1]"
    with pytest.raises(InputError) as err:
        vnet(dns_servers=["dns.example"]).validate()
    assert err.value.field == "dns_servers[0]"


@pytest.mark.parametrize("name,ok", [("privatelink.azurecr.io", True), ("privatelink.file.core.windows.net", True),
                                     ("localhost", False), ("-bad.example.com", False), ("a..b", False)])
def test_dns_zone_names(name, ok):
    resource = zone_mod.PrivateDnsZone(Module(resource_group="rg", name=name))
    if ok:
        resource.validate()
    else:
        with pytest.raises(InputError):
            resource.validate()
