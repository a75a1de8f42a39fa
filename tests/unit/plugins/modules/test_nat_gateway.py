"""nat_gateway: validate, desired, normalize, to_body, and the detach-then-delete run."""
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    TAGS_ARGUMENT_SPEC,
    WAIT_ARGUMENT_SPEC,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import prune_none
from ansible_collections.airgap.aks_inference.plugins.modules import nat_gateway as nat_mod

SUB = "00000000-0000-0000-0000-000000000001"
RG = "/subscriptions/%s/resourceGroups/rg" % SUB
NAT = RG + "/providers/Microsoft.Network/natGateways/ng-jumpbox"
PIP = RG + "/providers/Microsoft.Network/publicIPAddresses/pip-ng-jumpbox"
SUBNET = RG + "/providers/Microsoft.Network/virtualNetworks/vnet-llm/subnets/snet-jumpbox"


class FakeClient:
    def __init__(self, resources):
        self.resources = dict(resources)
        self.calls = []

    def get(self, rid, api):
        self.calls.append(("GET", rid))
        return self.resources.get(rid)

    def put(self, rid, api, body):
        self.calls.append(("PUT", rid, body))
        self.resources[rid] = dict(body, id=rid)
        if rid == SUBNET:
            nat = self.resources.get(NAT)
            if nat is not None:
                nat["properties"]["subnets"] = []
        return Response(200, {}, self.resources[rid])

    def delete(self, rid, api):
        self.calls.append(("DELETE", rid))
        self.resources.pop(rid, None)
        return None

    def writes(self):
        return [c[:2] for c in self.calls if c[0] != "GET"]


class FakeModule:
    subscription_id = SUB

    def __init__(self, client=None, check_mode=False, **params):
        spec = dict(WAIT_ARGUMENT_SPEC)
        spec.update(TAGS_ARGUMENT_SPEC)
        spec.update(nat_mod.ARGUMENT_SPEC)
        base = dict(resource_group="rg", name="ng-jumpbox", location="westeurope",
                    public_ip_addresses=["pip-ng-jumpbox"], poll_interval=0.01, wait_timeout=5)
        base.update(params)
        result = ArgumentSpecValidator(spec).validate(base)
        assert not result.error_messages, result.error_messages
        self.params = result.validated_parameters
        self.check_mode = check_mode
        self._client = client

    def check_settings(self):
        return {}

    def client(self):
        return self._client

    def deadline(self):
        return azure_wait.Deadline(5)


def azure_nat(subnets=()):
    return {"id": NAT, "location": "westeurope", "sku": {"name": "Standard"},
            "properties": {"provisioningState": "Succeeded", "resourceGuid": "g", "idleTimeoutInMinutes": 4,
                           "publicIpAddresses": [{"id": PIP.upper()}], "publicIpPrefixes": [],
                           "subnets": [{"id": s} for s in subnets]}}


def azure_subnet():
    return {"id": SUBNET, "name": "snet-jumpbox", "etag": 'W/"1"', "properties": {
        "addressPrefix": "10.40.6.0/24", "defaultOutboundAccess": False, "natGateway": {"id": NAT},
        "networkSecurityGroup": {"id": RG + "/providers/Microsoft.Network/networkSecurityGroups/nsg"},
        "provisioningState": "Succeeded", "ipConfigurations": [{"id": "x"}]}}


def test_desired_and_same_gateway_is_no_change():
    resource = nat_mod.NatGateway(FakeModule())
    desired = prune_none(resource.desired())
    assert desired == {"location": "westeurope", "sku": {"name": "Standard"},
                       "properties": {"publicIpAddresses": [PIP]}}
    assert resource.fields.compare(desired, resource.normalize(azure_nat([SUBNET]))).differences == []
    body = resource.to_body(desired, azure_nat([SUBNET]))
    assert body["properties"]["publicIpAddresses"] == [{"id": PIP}]
    assert "subnets" not in body["properties"] and "provisioningState" not in body["properties"]


def test_other_public_ips_and_idle_timeout_are_updates():
    resource = nat_mod.NatGateway(FakeModule(public_ip_addresses=["pip-2"], idle_timeout=10))
    comparison = resource.fields.compare(prune_none(resource.desired()), resource.normalize(azure_nat()))
    assert sorted(comparison.differences) == ["properties.idleTimeoutInMinutes", "properties.publicIpAddresses"]
    assert not comparison.immutable


@pytest.mark.parametrize("params,field", [
    (dict(idle_timeout=3), "idle_timeout"),
    (dict(idle_timeout=121), "idle_timeout"),
    (dict(public_ip_addresses=[]), "public_ip_addresses"),
    (dict(public_ip_addresses=["p%d" % i for i in range(17)]), "public_ip_addresses"),
    (dict(zones=["1", "2"]), "zones"),
    (dict(public_ip_addresses=["bad name"]), "public_ip_addresses[0]"),
])
def test_bad_input_names_the_field(params, field):
    with pytest.raises(InputError) as err:
        nat_mod.NatGateway(FakeModule(**params)).validate()
    assert err.value.field == field


def test_delete_while_attached_is_refused_before_any_write():
    client = FakeClient({NAT: azure_nat([SUBNET])})
    with pytest.raises(InputError) as err:
        nat_mod.run(FakeModule(client=client, state="absent"))
    assert err.value.field == "detach_subnets" and SUBNET in err.value.message
    assert client.writes() == []


def test_detach_then_delete_keeps_every_other_subnet_property():
    client = FakeClient({NAT: azure_nat([SUBNET]), SUBNET: azure_subnet()})
    result = nat_mod.run(FakeModule(client=client, state="absent", detach_subnets=True))
    assert result["changed"] is True and result["detached_subnets"] == [SUBNET]
    assert client.writes() == [("PUT", SUBNET), ("DELETE", NAT)]
    body = client.calls[[c[0] for c in client.calls].index("PUT")][2]
    assert body == {"properties": {"addressPrefix": "10.40.6.0/24", "defaultOutboundAccess": False,
                                   "networkSecurityGroup": azure_subnet()["properties"]["networkSecurityGroup"]}}


def test_detach_in_check_mode_writes_nothing():
    client = FakeClient({NAT: azure_nat([SUBNET]), SUBNET: azure_subnet()})
    result = nat_mod.run(FakeModule(client=client, check_mode=True, state="absent", detach_subnets=True))
    assert result["changed"] is True and result["detached_subnets"] == [SUBNET] and client.writes() == []


def test_check_mode_preview_has_ids():
    client = FakeClient({})
    result = nat_mod.run(FakeModule(client=client, check_mode=True))
    assert result["changed"] is True and client.writes() == []
    assert result["state"]["properties"]["publicIpAddresses"] == [PIP]
