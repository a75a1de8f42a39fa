"""virtual_machine: validate, desired, normalize, to_body, and the run with a fake ARM client."""
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    TAGS_ARGUMENT_SPEC,
    WAIT_ARGUMENT_SPEC,
)
from ansible_collections.airgap.aks_inference.plugins.modules import virtual_machine as vm_mod

SUB = "00000000-0000-0000-0000-000000000001"
RG = "/subscriptions/%s/resourceGroups/rg" % SUB
VM_ID = RG + "/providers/Microsoft.Compute/virtualMachines/vm-jumpbox"
NIC_ID = RG + "/providers/Microsoft.Network/networkInterfaces/vm-jumpbox-nic"
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK5YrIV66wcDfuC2ssrQIkuOPJu8d4URc86wAxXcn2XP ed@laptop"
RSA_1024 = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCv1vfq59gsG+fcOIbGVWg4qhSxTdQonoKvM7eExjL5CE1ASi5aLlpzK4Ue+Cj00U1x9"
            "qbcsy5UDDfrxjlyy85bPgXj7nUqxTFmLD1xSmwAuxkDT6GKyomiyz1V6OSphz0f3OmQE+XIUQkD0k/ED8EyAxp3DsyH2wKHSztfP+1mnQ"
            "== short")
PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----"


class FakeClient:
    def __init__(self, current=None, nic=None):
        self.current = current
        self.nic = nic
        self.calls = []

    def get(self, rid, api):
        self.calls.append(("GET", rid))
        if "/networkInterfaces/" in rid:
            return self.nic
        return self.current

    def put(self, rid, api, body):
        self.calls.append(("PUT", rid, body))
        self.current = dict(body, id=rid)
        self.current["identity"] = dict(body.get("identity") or {}, principalId="pid-1", tenantId="tid")
        return Response(200, {}, self.current)

    def writes(self):
        return [c for c in self.calls if c[0] != "GET"]


class FakeModule:
    def __init__(self, params, client=None, check_mode=False):
        spec = dict(WAIT_ARGUMENT_SPEC)
        spec.update(TAGS_ARGUMENT_SPEC)
        spec.update(vm_mod.ARGUMENT_SPEC)
        result = ArgumentSpecValidator(spec).validate(dict(params, poll_interval=0.01, wait_timeout=5))
        assert not result.error_messages, result.error_messages
        self.params = result.validated_parameters
        self.check_mode = check_mode
        self._client = client or FakeClient()
        self.subscription_id = SUB

    def check_settings(self):
        return {}

    def client(self):
        return self._client

    def deadline(self):
        return azure_wait.Deadline(5)


def params(**change):
    base = dict(
        resource_group="rg", name="vm-jumpbox", location="westeurope", size="Standard_NC24ads_A100_v4",
        image=dict(publisher="Canonical", offer="ubuntu-24_04-lts", sku="server"),
        admin_username="azureuser", ssh_public_keys=[ED25519], network_interfaces=["vm-jumpbox-nic"],
        os_disk=dict(size_gb=256, storage_account_type="Premium_LRS", name="vm-jumpbox-osdisk"),
        data_disks=[dict(lun=0, size_gb=1024, caching="ReadOnly", name="vm-jumpbox-modelcache")],
    )
    base.update(change)
    return base


def resource(check_mode=False, client=None, **change):
    module = FakeModule(params(**change), client=client, check_mode=check_mode)
    return vm_mod.VirtualMachine(module)


def azure_view(vm):
    """What Azure answers for the VM the module created: defaults filled in, ids, read-only fields."""
    body = vm.to_body(vm.desired(), None)
    props = body["properties"]
    props["provisioningState"] = "Succeeded"
    props["vmId"] = "vmid"
    storage = props["storageProfile"]
    storage["imageReference"]["exactVersion"] = "24.04.202501010"
    os_managed = dict(storage["osDisk"]["managedDisk"], id=RG + "/providers/Microsoft.Compute/disks/os")
    storage["osDisk"].update(osType="Linux", managedDisk=os_managed)
    for disk in storage["dataDisks"]:
        disk["managedDisk"]["id"] = RG + "/providers/Microsoft.Compute/disks/" + disk["name"]
        disk.update(toBeDetached=False, writeAcceleratorEnabled=False)
    linux = props["osProfile"]["linuxConfiguration"]
    linux["ssh"]["publicKeys"][0]["keyData"] = ED25519  # Azure keeps the comment it was given
    linux["provisionVMAgent"] = True
    props["osProfile"].update(allowExtensionOperations=True, requireGuestProvisionSignal=True, secrets=[])
    body.update(id=VM_ID, name="vm-jumpbox", type="Microsoft.Compute/virtualMachines",
                identity={"type": "SystemAssigned", "principalId": "pid-1", "tenantId": "tid"})
    return body


def test_desired_is_arm_shape_with_password_auth_off_and_identity():
    desired = resource().desired()
    props = desired["properties"]
    assert desired["identity"] == {"type": "SystemAssigned"}
    assert props["osProfile"] == {
        "computerName": "vm-jumpbox", "adminUsername": "azureuser",
        "linuxConfiguration": {"disablePasswordAuthentication": True, "ssh": {"publicKeys": [
            {"path": "/home/azureuser/.ssh/authorized_keys", "keyData": " ".join(ED25519.split()[:2])}]}}}
    assert props["storageProfile"]["imageReference"] == {"publisher": "Canonical", "offer": "ubuntu-24_04-lts",
                                                         "sku": "server", "version": "latest"}
    assert props["storageProfile"]["osDisk"] == {"createOption": "FromImage", "name": "vm-jumpbox-osdisk",
                                                 "diskSizeGB": 256, "caching": "ReadWrite", "deleteOption": "Delete",
                                                 "managedDisk": {"storageAccountType": "Premium_LRS"}}
    assert props["storageProfile"]["dataDisks"] == [{
        "lun": 0, "name": "vm-jumpbox-modelcache", "createOption": "Empty", "diskSizeGB": 1024, "caching": "ReadOnly",
        "deleteOption": "Delete", "managedDisk": {"storageAccountType": "Premium_LRS"}}]
    assert props["networkProfile"]["networkInterfaces"] == [
        {"id": NIC_ID, "properties": {"primary": True, "deleteOption": "Detach"}}]
    assert "plan" not in desired or desired["plan"] is None


def test_plan_defaults_from_the_image():
    vm = resource(image=dict(publisher="nvidia", offer="ngc_azure_17_11", sku="ngc-base-version-24_03_4_gen2"),
                  plan={})
    assert vm.desired()["plan"] == {"name": "ngc-base-version-24_03_4_gen2", "product": "ngc_azure_17_11",
                                    "publisher": "nvidia"}


def test_same_vm_as_azure_reports_it_is_no_change():
    vm = resource()
    current = azure_view(vm)
    comparison = vm.fields.compare(vm.desired(), vm.normalize(current))
    assert comparison.differences == []


def test_immutable_changes_are_named():
    vm = resource()
    current = azure_view(vm)
    for change, path in ((dict(admin_username="jumpadmin"), "properties.osProfile"),
                         (dict(ssh_public_keys=[ED25519.replace("K5Yr", "K6Yr")]), "properties.osProfile"),
                         (dict(image=dict(publisher="Canonical", offer="ubuntu-24_04-lts", sku="minimal")),
                          "properties.storageProfile.imageReference"),
                         (dict(zone="2"), "zones")):
        other = resource(**change)
        comparison = other.fields.compare(other.desired(), other.normalize(current))
        assert comparison.immutable and comparison.immutable[0].startswith(path), (change, comparison.immutable)


def test_resize_and_bigger_data_disk_are_updates_keeping_disk_ids():
    vm = resource()
    current = azure_view(vm)
    other = resource(size="Standard_NC48ads_A100_v4", data_disks=[dict(lun=0, size_gb=2048, caching="ReadOnly",
                                                                       name="vm-jumpbox-modelcache")])
    comparison = other.fields.compare(other.desired(), other.normalize(current))
    assert not comparison.immutable
    assert set(comparison.differences) == {"properties.hardwareProfile.vmSize", "properties.storageProfile.dataDisks"}
    body = other.to_body(other.desired(), current)
    disk = body["properties"]["storageProfile"]["dataDisks"][0]
    assert disk["diskSizeGB"] == 2048 and disk["managedDisk"]["id"].endswith("/disks/vm-jumpbox-modelcache")
    assert body["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"].endswith("/disks/os")
    assert "exactVersion" not in body["properties"]["storageProfile"]["imageReference"]
    assert body["identity"] == {"type": "SystemAssigned"}
    for key in ("vmId", "provisioningState"):
        assert key not in body["properties"]


def test_data_disks_not_listed_stay_attached():
    vm = resource()
    current = azure_view(vm)
    current["properties"]["storageProfile"]["dataDisks"].append(
        {"lun": 5, "name": "scratch", "createOption": "Attach", "diskSizeGB": 64, "diskIOPSReadWrite": 500,
         "managedDisk": {"id": RG + "/providers/Microsoft.Compute/disks/scratch"}})
    comparison = vm.fields.compare(vm.desired(), vm.normalize(current))
    assert comparison.differences == []
    body = vm.to_body(vm.desired(), current)
    disks = body["properties"]["storageProfile"]["dataDisks"]
    assert [d["lun"] for d in disks] == [0, 5] and "diskIOPSReadWrite" not in disks[1]


def test_user_assigned_identities_are_kept():
    vm = resource()
    current = azure_view(vm)
    uai = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
    current["identity"] = {"type": "SystemAssigned, UserAssigned", "principalId": "p",
                           "userAssignedIdentities": {uai: {"principalId": "x", "clientId": "y"}}}
    assert vm.fields.compare(vm.desired(), vm.normalize(current)).differences == []
    expected = {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {uai: {}}}
    assert vm.to_body(vm.desired(), current)["identity"] == expected


@pytest.mark.parametrize("change,field,words", [
    (dict(ssh_public_keys=[PRIVATE]), "ssh_public_keys[0]", "is a private key"),
    (dict(ssh_public_keys=["hunter2-password"]), "ssh_public_keys[0]", "passwords are not accepted"),
    (dict(ssh_public_keys=[RSA_1024]), "ssh_public_keys[0]", "1024-bit RSA key"),
    (dict(ssh_public_keys=[]), "ssh_public_keys", "at least one public key"),
    (dict(admin_username="root"), "admin_username", "reserved"),
    (dict(admin_username=None), "admin_username", "required with ssh_public_keys"),
    (dict(size="NC24ads"), "size", "not an Azure VM size"),
    (dict(name="vm_jumpbox"), "computer_name", "set computer_name"),
    (dict(image=dict(publisher="Canonical", offer="o", sku="s", version="newest")), "image.version", "newest"),
    (dict(os_disk=dict(size_gb=5000)), "os_disk", "1 to 4095"),
    (dict(data_disks=[dict(lun=0, size_gb=8192, caching="ReadOnly")]), "data_disks[0]", "4 TiB"),
    (dict(data_disks=[dict(lun=0, size_gb=10), dict(lun=0, size_gb=20)]), "data_disks[1].lun", "already used"),
    (dict(data_disks=[dict(lun=64, size_gb=10)]), "data_disks[0].lun", "0 to 63"),
    (dict(network_interfaces=[]), "network_interfaces", "at least one"),
])
def test_bad_input_names_the_field_and_never_echoes_a_secret(change, field, words):
    client = FakeClient()
    module = FakeModule(params(**change), client=client)
    with pytest.raises(InputError) as err:
        vm_mod.run(module)
    assert err.value.field == field and words in err.value.problem, err.value.message
    assert client.calls == []
    assert "b3BlbnNzaC1rZXkt" not in err.value.message and "hunter2" not in err.value.message


def test_ssh_keys_are_no_log():
    assert vm_mod.ARGUMENT_SPEC["ssh_public_keys"]["no_log"] is True


def test_run_creates_then_returns_identity_and_private_ip():
    nic = {"id": NIC_ID, "properties": {"ipConfigurations": [
        {"name": "ipconfig1", "properties": {"primary": True, "privateIPAddress": "10.40.6.4"}}]}}
    client = FakeClient(nic=nic)
    result = vm_mod.run(FakeModule(params(), client=client))
    assert result["changed"] is True and len(client.writes()) == 1
    assert result["principal_id"] == "pid-1" and result["private_ip_address"] == "10.40.6.4"
    assert result["admin_username"] == "azureuser"
    body = client.writes()[0][2]
    assert body["properties"]["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"] is True
    assert "adminPassword" not in str(body)


def test_check_mode_create_sends_no_write():
    client = FakeClient()
    result = vm_mod.run(FakeModule(params(), client=client, check_mode=True))
    assert result["changed"] is True and client.writes() == []


def test_required_on_create():
    client = FakeClient()
    with pytest.raises(InputError) as err:
        vm_mod.run(FakeModule(dict(resource_group="rg", name="vm-jumpbox", location="westeurope"), client=client))
    assert err.value.field == "size"
    assert client.writes() == []
