"""The jumpbox_vm role (GPU jump box, Azure side) end to end against the ARM emulator.

network.yml then jumpbox.yml, as two runs: the second has no isolated_network fact and finds the
subnets through the isolated_network_* variables, as a run of playbooks/jumpbox.yml alone would.
"""
import json
import os
import subprocess
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm_lookup import arm_requests, by_suffix  # noqa: E402 pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RG = "rg-it-jb"
MODULES = ("public_ip_address", "nat_gateway", "network_interface", "virtual_machine")


def _public_key(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sshkey")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "it@jumpbox", "-f", str(folder / "key")],
                   check=True)
    return (folder / "key.pub").read_text().strip(), (folder / "key").read_text()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return _public_key(tmp_path_factory)


@pytest.fixture(autouse=True)
def modules_in_action_group():
    """module_defaults reach the new modules only through meta/runtime.yml's action group."""
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        group = yaml.safe_load(handle)["action_groups"]["azure"]
    missing = [m for m in MODULES if m not in group]
    assert not missing, "add %s to action_groups.azure in meta/runtime.yml" % ", ".join(missing)


@pytest.fixture
def base(keys):
    return {"isolated_network_resource_group": RG, "jumpbox_vm_ssh_public_key": keys[0]}


def fact_of(run):
    for name, result in run.tasks():
        if name.endswith("Publish what the host-side stage needs"):
            return result["ansible_facts"]["jumpbox_vm"]
    raise AssertionError("the jumpbox_vm fact was not set: %r" % run)


def test_lifecycle(playbook, arm, base, keys):
    """One network, then: check mode, an Azure-side refusal, faults, converge, no-op, diff, teardown."""
    assert playbook("network.yml", base).rc == 0

    # Check mode: everything reported, nothing written.
    arm.clear_requests()
    check = playbook("jumpbox.yml", base, check=True)
    assert check.rc == 0, check
    assert check.changed > 0 and arm.writes() == []

    # The API server subnet, named where the role cannot tell: Azure shows it delegated to AKS.
    refused = playbook("jumpbox.yml", dict(base, jumpbox_vm_subnet="snet-apiserver",
                                           jumpbox_vm_cluster_subnets=["snet-other"]))
    assert refused.rc != 0
    msg = refused.failure_message()
    assert msg.startswith("jumpbox_vm_subnet:") and "Microsoft.ContainerService/managedClusters" in msg, msg
    assert arm.writes() == []

    # 429 with Retry-After on the NAT gateway, then a VM create whose operation ends Failed.
    arm.add_fault(method="PUT", path=r"/natGateways/ng-jumpbox$", status=429, retry_after=1, times=2)
    arm.add_fault(method="PUT", path=r"/virtualMachines/vm-jumpbox$", operation="Failed",
                  code="AllocationFailed", message="Allocation failed. We do not have sufficient capacity")
    failed = playbook("jumpbox.yml", base)
    assert failed.rc != 0
    msg = failed.failure_message()
    assert "AllocationFailed" in msg and "sufficient capacity" in msg, msg
    assert "Traceback" not in json.dumps(failed.events)
    statuses = [(r["method"], r["status"]) for r in arm_requests(arm) if "/natgateways/" in r["path"].lower()]
    assert statuses.count(("PUT", 429)) == 2
    assert by_suffix(arm, "/virtualMachines/vm-jumpbox")["properties"]["provisioningState"] == "Failed"

    # Converge: the Failed VM is applied again, everything else is in place.
    run = playbook("jumpbox.yml", base)
    assert run.rc == 0, run
    vm = by_suffix(arm, "/virtualMachines/vm-jumpbox")
    props = vm["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["hardwareProfile"]["vmSize"] == "Standard_NC24ads_A100_v4"
    assert props["storageProfile"]["imageReference"] == {"publisher": "Canonical", "offer": "ubuntu-24_04-lts",
                                                         "sku": "server", "version": "latest"}
    linux = props["osProfile"]["linuxConfiguration"]
    assert linux["disablePasswordAuthentication"] is True
    assert linux["ssh"]["publicKeys"][0]["keyData"] == " ".join(keys[0].split()[:2])
    assert vm["identity"]["type"] == "SystemAssigned" and vm["identity"]["principalId"]
    assert props["storageProfile"]["osDisk"]["diskSizeGB"] == 256
    assert [(d["lun"], d["diskSizeGB"], d["caching"]) for d in props["storageProfile"]["dataDisks"]] == [
        (0, 1024, "ReadOnly")]
    nic = by_suffix(arm, "/networkInterfaces/vm-jumpbox-nic")
    config = nic["properties"]["ipConfigurations"][0]["properties"]
    assert "publicIPAddress" not in config and config["privateIPAddress"] == "10.40.6.4"
    assert config["subnet"]["id"].lower().endswith("/subnets/snet-jumpbox")
    jumpbox = by_suffix(arm, "/subnets/snet-jumpbox")
    assert jumpbox["properties"]["natGateway"]["id"].lower().endswith("/natgateways/ng-jumpbox")
    assert jumpbox["properties"]["defaultOutboundAccess"] is False  # kept by the attach
    assert jumpbox["properties"]["networkSecurityGroup"]["id"].lower().endswith("/nsg-snet-jumpbox")
    for name in ("snet-nodes", "snet-apiserver", "snet-private-endpoints"):
        assert "natGateway" not in by_suffix(arm, "/subnets/" + name)["properties"], name
    nat = by_suffix(arm, "/natGateways/ng-jumpbox")
    assert [s["id"].lower().rsplit("/", 1)[-1] for s in nat["properties"]["subnets"]] == ["snet-jumpbox"]
    fact = fact_of(run)
    assert fact["private_ip_address"] == "10.40.6.4" and fact["admin_username"] == "azureuser"
    assert fact["principal_id"] == vm["identity"]["principalId"] and fact["id"] == vm["id"]
    assert fact["egress_ip_address"] == by_suffix(arm, "/publicIPAddresses/pip-ng-jumpbox")["properties"]["ipAddress"]

    # Converge again: nothing to do, reads only.
    arm.clear_requests()
    again = playbook("jumpbox.yml", base)
    assert again.rc == 0, again
    assert again.changed == 0, [name for name, r in again.tasks() if r.get("changed")]
    assert arm.writes() == []

    # Diff: a bigger model cache and other tags show before and after.
    diff = playbook("jumpbox.yml", dict(base, jumpbox_vm_data_disk_size_gb=2048,
                                        jumpbox_vm_tags={"owner": "platform"}), diff=True, json_output=False)
    assert diff.rc == 0, diff.stdout[-3000:]
    assert "2048" in diff.stdout and "1024" in diff.stdout and "platform" in diff.stdout
    disk = by_suffix(arm, "/virtualMachines/vm-jumpbox")["properties"]["storageProfile"]["dataDisks"][0]
    assert disk["diskSizeGB"] == 2048
    assert by_suffix(arm, "/disks/vm-jumpbox-modelcache")["properties"]["diskSizeGB"] == 2048

    # Teardown: refused without the confirmation, then in reverse order.
    refused = playbook("jumpbox.yml", dict(base, jumpbox_vm_state="absent"))
    assert refused.rc != 0 and "jumpbox_vm_teardown_confirm" in refused.failure_message()
    arm.clear_requests()
    gone = playbook("jumpbox.yml", dict(base, jumpbox_vm_state="absent", jumpbox_vm_teardown_confirm=RG))
    assert gone.rc == 0, gone
    deletes = [r["path"].lower().split("/providers/")[-1].split("/")[1] for r in arm.writes()
               if r["method"] == "DELETE"]
    assert deletes == ["virtualmachines", "networkinterfaces", "natgateways", "publicipaddresses"], deletes
    detach = [r for r in arm.writes() if r["method"] == "PUT"]
    assert len(detach) == 1 and detach[0]["path"].lower().endswith("/subnets/snet-jumpbox")
    left = " ".join(arm.resources()).lower()
    for kind in ("/virtualmachines/", "/disks/", "/networkinterfaces/", "/natgateways/", "/publicipaddresses/"):
        assert kind not in left, kind
    subnet = by_suffix(arm, "/subnets/snet-jumpbox")["properties"]
    assert "natGateway" not in subnet and subnet["defaultOutboundAccess"] is False
    # ... after which the network can go too.
    # (teardown.yml covers every stage; the ones never built here find nothing to remove)
    network_gone = playbook("teardown.yml", dict(base, teardown_confirm=RG, container_registry_name="acrjbtest",
                                                 model_storage_account_name="stjbtest"))
    assert network_gone.rc == 0 and arm.resources() == {}, network_gone


BAD_INPUT = [
    ({"jumpbox_vm_subnet": "snet-nodes"}, "jumpbox_vm_subnet: snet-nodes is the node subnet"),
    ({"jumpbox_vm_size": "Standard_D8s_v5"}, "jumpbox_vm_size: Standard_D8s_v5 is not a GPU size"),
    ({"jumpbox_vm_ssh_public_key": ""}, "jumpbox_vm_ssh_public_key: is required"),
    ({"jumpbox_vm_ssh_public_key": "Sup3r-Secret-Passw0rd!"}, "jumpbox_vm_ssh_public_key: is not an SSH public key"),
    ("private-key", "jumpbox_vm_ssh_public_key: is a private key"),
    ({"jumpbox_vm_admin_username": "root"}, "jumpbox_vm_admin_username: 'root' is reserved"),
]


@pytest.mark.parametrize("extra,words", BAD_INPUT, ids=[c[1].split(":")[0] + "-" + str(i) for i, c in
                                                        enumerate(BAD_INPUT)])
def test_bad_input_fails_before_any_request(playbook, arm, base, keys, extra, words):
    if extra == "private-key":
        extra = {"jumpbox_vm_ssh_public_key": keys[1]}
    run = playbook("jumpbox.yml", dict(base, **extra))
    assert run.rc != 0
    assert run.failure_message().startswith(words), run.failure_message()
    assert arm_requests(arm) == []
    secret = str(extra.get("jumpbox_vm_ssh_public_key") or "")
    if secret:  # a password or private key given by mistake is never repeated
        marker = secret.strip().splitlines()[-2] if "PRIVATE KEY" in secret else secret
        assert marker not in run.stdout + run.stderr


def test_nat_gateway_on_a_node_subnet_given_by_the_fact_is_refused(playbook, arm, base):
    """With the isolated_network fact (network.yml and jumpbox.yml in one run), its subnets rule."""
    fact = {"resource_group": RG, "location": "westeurope",
            "subnet_ids": {key: "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/"
                                "vnet-llm/subnets/%s" % (arm.subscription_id, RG, name)
                           for key, name in (("jumpbox", "snet-jumpbox"), ("nodes", "snet-nodes"),
                                             ("apiserver", "snet-apiserver"))}}
    run = playbook("jumpbox.yml", dict(base, isolated_network=fact, jumpbox_vm_subnet=fact["subnet_ids"]["nodes"]))
    assert run.rc != 0
    msg = run.failure_message()
    assert msg.startswith("jumpbox_vm_subnet:") and "not the jump-box subnet" in msg, msg
    assert arm_requests(arm) == []


def test_check_mode_before_the_network_exists(playbook, arm, base):
    run = playbook("jumpbox.yml", base, check=True)
    assert run.rc == 0, run
    assert run.changed > 0 and arm.writes() == [] and arm.resources() == {}
    fact = fact_of(run)
    assert fact["subnet_id"] == ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/"
                                 "vnet-llm/subnets/snet-jumpbox" % (arm.subscription_id, RG))
