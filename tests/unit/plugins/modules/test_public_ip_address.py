"""public_ip_address: always Standard and Static; desired, normalize, validate."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import prune_none
from ansible_collections.airgap.aks_inference.plugins.modules import public_ip_address as pip_mod

SUB = "00000000-0000-0000-0000-000000000001"


class Module:
    subscription_id = SUB

    def __init__(self, **params):
        self.params = dict(resource_group="rg", name="pip-ng-jumpbox", location="westeurope", zones=None,
                           idle_timeout=None, state="present", tags=None, purge_tags=True)
        self.params.update(params)


def azure(zones=None, sku="Standard", method="Static"):
    body = {"id": "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/p" % SUB,
            "location": "westeurope", "sku": {"name": sku, "tier": "Regional"},
            "properties": {"provisioningState": "Succeeded", "publicIPAllocationMethod": method,
                           "publicIPAddressVersion": "IPv4", "idleTimeoutInMinutes": 4, "ipAddress": "203.0.113.1",
                           "ipTags": [], "natGateway": {"id": "x"}}}
    if zones:
        body["zones"] = zones
    return body


def test_desired_is_standard_static_ipv4():
    desired = prune_none(pip_mod.PublicIpAddress(Module()).desired())
    assert desired == {"location": "westeurope", "sku": {"name": "Standard"},
                       "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"}}
    assert "allocation" not in str(pip_mod.ARGUMENT_SPEC) and "sku" not in pip_mod.ARGUMENT_SPEC


def test_same_address_is_no_change_and_zones_or_sku_are_immutable():
    resource = pip_mod.PublicIpAddress(Module(zones=["2", "1"]))
    assert resource.fields.compare(prune_none(resource.desired()), resource.normalize(azure(["1", "2"]))).differences == []
    basic = pip_mod.PublicIpAddress(Module())
    comparison = basic.fields.compare(prune_none(basic.desired()), basic.normalize(azure(sku="Basic", method="Dynamic")))
    assert sorted(comparison.immutable) == ["properties.publicIPAllocationMethod", "sku.name"]
    zonal = pip_mod.PublicIpAddress(Module(zones=["3"]))
    assert zonal.fields.compare(prune_none(zonal.desired()), zonal.normalize(azure())).immutable == ["zones"]


def test_body_drops_read_only_fields():
    resource = pip_mod.PublicIpAddress(Module())
    body = resource.to_body(prune_none(resource.desired()), azure())
    for key in ("ipAddress", "natGateway", "provisioningState"):
        assert key not in body["properties"]


@pytest.mark.parametrize("params,field", [(dict(idle_timeout=31), "idle_timeout"), (dict(idle_timeout=3), "idle_timeout"),
                                          (dict(name="-bad"), "name")])
def test_bad_input_names_the_field(params, field):
    with pytest.raises(InputError) as err:
        pip_mod.PublicIpAddress(Module(**params)).validate()
    assert err.value.field == field
