"""network_interface: validate, desired, normalize (no public IP ever), to_body."""
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    TAGS_ARGUMENT_SPEC,
    WAIT_ARGUMENT_SPEC,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import prune_none
from ansible_collections.airgap.aks_inference.plugins.modules import network_interface as nic_mod

SUB = "00000000-0000-0000-0000-000000000001"
RG = "/subscriptions/%s/resourceGroups/rg" % SUB
SUBNET = RG + "/providers/Microsoft.Network/virtualNetworks/vnet-llm/subnets/snet-jumpbox"
PIP = RG + "/providers/Microsoft.Network/publicIPAddresses/pip-sneaky"


class FakeModule:
    subscription_id = SUB
    check_mode = False

    def __init__(self, **params):
        spec = dict(WAIT_ARGUMENT_SPEC)
        spec.update(TAGS_ARGUMENT_SPEC)
        spec.update(nic_mod.ARGUMENT_SPEC)
        base = dict(resource_group="rg", name="vm-jumpbox-nic", location="westeurope", subnet="snet-jumpbox",
                    virtual_network="vnet-llm")
        base.update(params)
        result = ArgumentSpecValidator(spec).validate(base)
        assert not result.error_messages, result.error_messages
        self.params = result.validated_parameters


def nic(**params):
    return nic_mod.NetworkInterface(FakeModule(**params))


def azure(private_ip="10.40.6.4", method="Dynamic", public_ip=None, extra_config=None):
    config = {"name": "ipconfig1", "id": "x/ipConfigurations/ipconfig1", "etag": 'W/"1"', "properties": {
        "provisioningState": "Succeeded", "privateIPAddress": private_ip, "privateIPAllocationMethod": method,
        "subnet": {"id": SUBNET.upper()}, "primary": True, "privateIPAddressVersion": "IPv4"}}
    if public_ip:
        config["properties"]["publicIPAddress"] = {"id": public_ip}
    configs = [config] + ([extra_config] if extra_config else [])
    return {"id": RG + "/providers/Microsoft.Network/networkInterfaces/vm-jumpbox-nic", "location": "westeurope",
            "properties": {"provisioningState": "Succeeded", "resourceGuid": "g", "macAddress": "00-0D-3A-00-00-01",
                           "ipConfigurations": configs, "enableAcceleratedNetworking": True,
                           "virtualMachine": {"id": RG + "/providers/Microsoft.Compute/virtualMachines/vm"}}}


def test_desired_has_no_public_ip_and_a_dynamic_address_by_default():
    desired = nic().desired()
    config = desired["properties"]["ipConfigurations"][0]
    assert config == {"name": "ipconfig1", "properties": {"primary": True, "privateIPAllocationMethod": "Dynamic",
                                                          "privateIPAddress": None, "publicIPAddress": "",
                                                          "subnet": {"id": SUBNET}}}
    assert "publicIPAddress" not in str(nic_mod.ARGUMENT_SPEC)


def test_static_address_implies_static():
    config = nic(private_ip_address="10.40.6.10").desired()["properties"]["ipConfigurations"][0]["properties"]
    assert config["privateIPAllocationMethod"] == "Static" and config["privateIPAddress"] == "10.40.6.10"


def test_unchanged_interface_is_no_change_even_with_azure_read_only_fields():
    resource = nic(accelerated_networking=True)
    comparison = resource.fields.compare(prune_none(resource.desired()), resource.normalize(azure()))
    assert comparison.differences == []


def test_public_ip_attached_out_of_band_is_a_difference_and_is_removed():
    resource = nic()
    current = azure(public_ip=PIP)
    desired = prune_none(resource.desired())
    comparison = resource.fields.compare(desired, resource.normalize(current))
    assert comparison.differences == ["properties.ipConfigurations"]
    assert PIP in str(comparison.diff["before"])
    body = resource.to_body(desired, current)
    config = body["properties"]["ipConfigurations"][0]["properties"]
    assert "publicIPAddress" not in config
    assert config["privateIPAddress"] == "10.40.6.4"  # the dynamic address Azure gave is kept
    for key in ("macAddress", "virtualMachine", "provisioningState", "resourceGuid"):
        assert key not in body["properties"]
    assert "provisioningState" not in config


def test_other_ip_configurations_are_purged():
    resource = nic()
    extra = {"name": "ipconfig2", "properties": {"privateIPAddress": "10.40.6.9", "subnet": {"id": SUBNET}}}
    current = azure(extra_config=extra)
    desired = prune_none(resource.desired())
    assert resource.fields.compare(desired, resource.normalize(current)).differences == ["properties.ipConfigurations"]
    assert [c["name"] for c in resource.to_body(desired, current)["properties"]["ipConfigurations"]] == ["ipconfig1"]


def test_moving_to_another_subnet_drops_the_old_dynamic_address():
    resource = nic(subnet=SUBNET.replace("snet-jumpbox", "snet-other"))
    desired = prune_none(resource.desired())
    config = resource.to_body(desired, azure())["properties"]["ipConfigurations"][0]["properties"]
    assert "privateIPAddress" not in config and config["subnet"]["id"].endswith("/snet-other")


@pytest.mark.parametrize("params,field", [
    (dict(subnet="snet-jumpbox", virtual_network=None), "virtual_network"),
    (dict(subnet="/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"), "subnet"),
    (dict(private_ip_address="10.40.6.300"), "private_ip_address"),
    (dict(private_ip_address="fd00::4"), "private_ip_address"),
    (dict(private_ip_allocation_method="Static"), "private_ip_address"),
    (dict(private_ip_address="10.40.6.10", private_ip_allocation_method="Dynamic"), "private_ip_allocation_method"),
    (dict(name="bad name"), "name"),
])
def test_bad_input_names_the_field(params, field):
    with pytest.raises(InputError) as err:
        nic(**params).validate()
    assert err.value.field == field


def test_result_has_the_private_ip():
    assert nic().result(azure())["private_ip_address"] == "10.40.6.4"
