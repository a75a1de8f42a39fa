"""virtualMachines (Linux, SSH key) and the managed disks they create."""
import copy

import pytest

VM_API = "2024-07-01"
DISK_API = "2024-03-02"
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK5YrIV66wcDfuC2ssrQIkuOPJu8d4URc86wAxXcn2XP ed@laptop"
RSA_1024 = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCv1vfq59gsG+fcOIbGVWg4qhSxTdQonoKvM7eExjL5CE1ASi5aLlpzK4Ue+Cj00U1x9"
            "qbcsy5UDDfrxjlyy85bPgXj7nUqxTFmLD1xSmwAuxkDT6GKyomiyz1V6OSphz0f3OmQE+XIUQkD0k/ED8EyAxp3DsyH2wKHSztfP+1mnQ"
            "== short")


def vm_id(client, name="vm1"):
    return f"{client.rg('rg1')}/providers/Microsoft.Compute/virtualMachines/{name}"


def disk_id(client, name):
    return f"{client.rg('rg1')}/providers/Microsoft.Compute/disks/{name}"


def nic_id(client, name="nic1"):
    return f"{client.rg('rg1')}/providers/Microsoft.Network/networkInterfaces/{name}"


@pytest.fixture
def nic(client):
    client.make_rg()
    client.make_vnet(subnets=[{"name": "jb", "properties": {"addressPrefix": "10.0.6.0/24"}}])
    for name in ("nic1", "nic2"):
        r = client.put(nic_id(client, name), {"location": "westeurope", "properties": {"ipConfigurations": [
            {"name": "ipconfig1", "properties": {"subnet": {"id": client.subnet("rg1", "vnet1", "jb")}}}]}})
        assert client.poll(r)["status"] == "Succeeded"
    return nic_id(client)


def body(nic, **change):
    out = {"location": "westeurope", "identity": {"type": "SystemAssigned"}, "properties": {
        "hardwareProfile": {"vmSize": "Standard_NC24ads_A100_v4"},
        "storageProfile": {
            "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                               "version": "latest"},
            "osDisk": {"createOption": "FromImage", "name": "vm1-os", "diskSizeGB": 256, "deleteOption": "Delete",
                       "managedDisk": {"storageAccountType": "Premium_LRS"}},
            "dataDisks": [{"lun": 0, "name": "vm1-cache", "createOption": "Empty", "diskSizeGB": 1024,
                           "caching": "ReadOnly", "deleteOption": "Delete",
                           "managedDisk": {"storageAccountType": "Premium_LRS"}}]},
        "osProfile": {"computerName": "vm1", "adminUsername": "azureuser", "linuxConfiguration": {
            "disablePasswordAuthentication": True,
            "ssh": {"publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": ED25519}]}}},
        "networkProfile": {"networkInterfaces": [{"id": nic, "properties": {"primary": True}}]}}}
    for path, value in change.items():
        target = out
        keys = path.split(".")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return out


def put(client, payload, name="vm1"):
    return client.put(vm_id(client, name), payload, api_version=VM_API)


def get(client, name="vm1"):
    return client.body(client.get(vm_id(client, name), api_version=VM_API))


def error(resp, status=400):
    assert resp.status_code == status, resp.text()
    return resp.json()["error"]


def test_create_is_long_running_with_identity_disks_and_nic_back_reference(client, arm, nic):
    arm.set_time_scale(1.0)
    r = put(client, body(nic))
    assert r.status_code == 201 and client.body(r)["properties"]["provisioningState"] == "Creating"
    assert "/providers/Microsoft.Compute/locations/westeurope/operations/" in r.headers["Azure-AsyncOperation"]
    assert client.body(client.get(r.headers["Azure-AsyncOperation"]))["status"] == "InProgress"
    arm.advance(121)
    assert client.poll(r)["status"] == "Succeeded"
    vm = get(client)
    assert vm["properties"]["provisioningState"] == "Succeeded"
    assert vm["identity"]["type"] == "SystemAssigned" and vm["identity"]["principalId"]
    assert vm["identity"]["tenantId"] == arm.tenant_id
    assert vm["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"] == disk_id(client, "vm1-os")
    assert vm["properties"]["osProfile"]["linuxConfiguration"]["provisionVMAgent"] is True
    os_disk = client.body(client.get(disk_id(client, "vm1-os"), api_version=DISK_API))
    cache = client.body(client.get(disk_id(client, "vm1-cache"), api_version=DISK_API))
    assert os_disk["managedBy"] == vm["id"] and os_disk["properties"]["diskState"] == "Attached"
    assert os_disk["properties"]["creationData"]["createOption"] == "FromImage"
    assert cache["properties"]["diskSizeGB"] == 1024 and cache["sku"]["name"] == "Premium_LRS"
    nic_body = client.body(client.get(nic))
    assert nic_body["properties"]["virtualMachine"]["id"] == vm["id"]
    assert nic_body["properties"]["primary"] is True and nic_body["properties"]["macAddress"].startswith("00-0D-3A-")


def test_update_keeps_identity_resizes_and_grows_disks(client, nic):
    client.poll(put(client, body(nic)))
    principal = get(client)["identity"]["principalId"]
    bigger = body(nic, **{"properties.hardwareProfile": {"vmSize": "Standard_NC48ads_A100_v4"}})
    bigger["properties"]["storageProfile"]["dataDisks"][0]["diskSizeGB"] = 2048
    r = put(client, bigger)
    assert r.status_code == 200 and client.body(r)["properties"]["provisioningState"] == "Updating"
    client.poll(r)
    vm = get(client)
    assert vm["identity"]["principalId"] == principal
    assert vm["properties"]["hardwareProfile"]["vmSize"] == "Standard_NC48ads_A100_v4"
    assert client.body(client.get(disk_id(client, "vm1-cache"), api_version=DISK_API))["properties"][
        "diskSizeGB"] == 2048
    smaller = copy.deepcopy(bigger)
    smaller["properties"]["storageProfile"]["dataDisks"][0]["diskSizeGB"] = 512
    assert error(put(client, smaller))["code"] == "ResizeDiskError"


@pytest.mark.parametrize("change,code,target", [
    ({"properties.osProfile.linuxConfiguration.disablePasswordAuthentication": False}, "InvalidParameter",
     "adminPassword"),
    ({"properties.osProfile.linuxConfiguration": {"disablePasswordAuthentication": True}}, "InvalidParameter",
     "linuxConfiguration"),
    ({"properties.osProfile.linuxConfiguration.ssh": {"publicKeys": [
        {"path": "/home/azureuser/.ssh/authorized_keys", "keyData": "hunter2"}]}}, "InvalidParameter",
     "linuxConfiguration.ssh.publicKeys.keyData"),
    ({"properties.osProfile.linuxConfiguration.ssh": {"publicKeys": [
        {"path": "/home/azureuser/.ssh/authorized_keys", "keyData": RSA_1024}]}}, "InvalidParameter",
     "linuxConfiguration.ssh.publicKeys.keyData"),
    ({"properties.osProfile.linuxConfiguration.ssh": {"publicKeys": [
        {"path": "/root/.ssh/authorized_keys", "keyData": ED25519}]}}, "InvalidParameter",
     "linuxConfiguration.ssh.publicKeys.path"),
    ({"properties.osProfile.adminUsername": "admin"}, "InvalidParameter", "adminUsername"),
    ({"properties.hardwareProfile": {}}, "InvalidParameter", "hardwareProfile.vmSize"),
    ({"properties.storageProfile.osDisk.diskSizeGB": 16}, "InvalidParameter", "osDisk.diskSizeGB"),
    ({"properties.storageProfile.dataDisks": [{"lun": 0, "createOption": "Empty", "diskSizeGB": 8192,
                                               "caching": "ReadOnly"}]}, "InvalidParameter", "dataDisks.caching"),
    ({"properties.storageProfile.dataDisks": [{"lun": 0, "createOption": "Empty"}]}, "InvalidParameter",
     "dataDisk.diskSizeGB"),
    ({"properties.networkProfile": None}, "InvalidParameter", "networkProfile"),
])
def test_create_rules(client, nic, change, code, target):
    err = error(put(client, body(nic, **change)))
    assert (err["code"], err.get("target")) == (code, target), err


def test_password_is_accepted_when_enabled_and_never_returned(client, nic):
    payload = body(nic, **{"properties.osProfile.linuxConfiguration.disablePasswordAuthentication": False,
                           "properties.osProfile.adminPassword": "Correct-Horse-9"})
    client.poll(put(client, payload))
    assert "Correct-Horse-9" not in client.get(vm_id(client), api_version=VM_API).text()


def test_unknown_image_and_marketplace_plan(client, arm, nic):
    unknown = body(nic, **{"properties.storageProfile.imageReference": {
        "publisher": "Canonical", "offer": "ubuntu-26_04-lts", "sku": "server", "version": "latest"}})
    err = error(put(client, unknown), status=404)
    assert err["code"] == "PlatformImageNotFound" and "Canonical:ubuntu-26_04-lts:server:latest" in err["message"]
    ngc = {"publisher": "nvidia", "offer": "ngc_azure_17_11", "sku": "ngc-base-version-24_03_4_gen2",
           "version": "latest"}
    r = put(client, body(nic, **{"properties.storageProfile.imageReference": ngc}))
    assert r.status_code == 201
    status = client.poll(r)
    assert status["status"] == "Failed" and status["error"]["code"] == "VMMarketplaceInvalidInput"
    assert get(client)["properties"]["provisioningState"] == "Failed"
    client.delete(vm_id(client), api_version=VM_API)
    with_plan = body(nic, **{"properties.storageProfile.imageReference": ngc})
    with_plan["plan"] = {"name": ngc["sku"], "product": ngc["offer"], "publisher": "nvidia"}
    assert client.poll(put(client, with_plan, name="vm2"))["status"] == "Succeeded"
    dsvm = {"publisher": "microsoft-dsvm", "offer": "ubuntu-hpc", "sku": "2404", "version": "latest"}
    other = body(nic_id(client, "nic2"), **{"properties.storageProfile.imageReference": dsvm})
    other["properties"]["storageProfile"]["osDisk"]["name"] = "vm3-os"
    other["properties"]["storageProfile"]["dataDisks"][0]["name"] = "vm3-cache"
    assert client.poll(put(client, other, name="vm3"))["status"] == "Succeeded"  # no plan needed


def test_what_cannot_change(client, nic):
    client.poll(put(client, body(nic)))
    for change, field in (({"properties.osProfile.adminUsername": "other"}, "osProfile.adminUsername"),
                          ({"properties.osProfile.linuxConfiguration.ssh": {"publicKeys": []}},
                           "linuxConfiguration.ssh.publicKeys"),
                          ({"properties.storageProfile.imageReference": {
                              "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "minimal",
                              "version": "latest"}}, "imageReference"),
                          ({"zones": ["1"]}, "zones")):
        err = error(put(client, body(nic, **change)))
        assert (err["code"], err["target"]) == ("PropertyChangeNotAllowed", field), err


def test_nic_of_a_vm_cannot_be_deleted_nor_shared(client, nic):
    client.poll(put(client, body(nic)))
    err = error(client.delete(nic))
    assert err["code"] == "NicInUse" and vm_id(client) in err["message"]
    second = body(nic)
    second["properties"]["storageProfile"]["osDisk"]["name"] = "vm2-os"
    second["properties"]["storageProfile"]["dataDisks"][0]["name"] = "vm2-cache"
    assert error(put(client, second, name="vm2"))["code"] == "NicInUse"


def test_delete_takes_disks_with_delete_option_and_detaches_the_rest(client, nic):
    payload = body(nic)
    payload["properties"]["storageProfile"]["dataDisks"].append(
        {"lun": 1, "name": "vm1-keep", "createOption": "Empty", "diskSizeGB": 64, "deleteOption": "Detach"})
    client.poll(put(client, payload))
    err = error(client.delete(disk_id(client, "vm1-keep"), api_version=DISK_API), status=409)
    assert err["code"] == "OperationNotAllowed" and "is attached to VM" in err["message"]
    r = client.delete(vm_id(client), api_version=VM_API)
    assert r.status_code == 202 and client.poll(r)["status"] == "Succeeded"
    left = {rid.rsplit("/", 1)[-1] for rid in client.emu.resources()}
    assert {"vm1", "vm1-os", "vm1-cache"}.isdisjoint(left) and {"vm1-keep", "nic1"} <= left
    kept = client.body(client.get(disk_id(client, "vm1-keep"), api_version=DISK_API))
    assert kept["properties"]["diskState"] == "Unattached" and "managedBy" not in kept
    assert "virtualMachine" not in client.body(client.get(nic))["properties"]
    assert client.delete(disk_id(client, "vm1-keep"), api_version=DISK_API).status_code == 202
    assert client.delete(nic).status_code == 202


def test_attach_an_existing_disk(client, nic):
    r = client.put(disk_id(client, "spare"), {"location": "westeurope", "sku": {"name": "Premium_LRS"},
                                              "properties": {"creationData": {"createOption": "Empty"},
                                                             "diskSizeGB": 128}}, api_version=DISK_API)
    assert client.poll(r)["status"] == "Succeeded"
    payload = body(nic)
    payload["properties"]["storageProfile"]["dataDisks"].append(
        {"lun": 2, "createOption": "Attach", "managedDisk": {"id": disk_id(client, "spare")}})
    client.poll(put(client, payload))
    disks = {d["lun"]: d for d in get(client)["properties"]["storageProfile"]["dataDisks"]}
    assert disks[2]["name"] == "spare" and disks[2]["diskSizeGB"] == 128
    assert client.body(client.get(disk_id(client, "spare"), api_version=DISK_API))["managedBy"] == vm_id(client)
