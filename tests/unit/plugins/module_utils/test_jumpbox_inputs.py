"""The jumpbox_vm role's input: where things go, and what is refused before any request."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils.jumpbox_inputs import resolve, subnet_problems

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK5YrIV66wcDfuC2ssrQIkuOPJu8d4URc86wAxXcn2XP ed@laptop"
SUB = "00000000-0000-0000-0000-000000000001"
NET = "/subscriptions/%s/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-llm/subnets/" % SUB
FACT = {"resource_group": "rg-net", "location": "swedencentral",
        "subnet_ids": {"jumpbox": NET + "snet-jumpbox", "nodes": NET + "snet-nodes", "apiserver": NET + "snet-apiserver",
                       "private_endpoints": NET + "snet-pe"}}


def variables(**change):
    base = {"jumpbox_vm_state": "present", "jumpbox_vm_ssh_public_key": ED25519,
            "jumpbox_vm_size": "Standard_NC24ads_A100_v4", "jumpbox_vm_admin_username": "azureuser",
            "jumpbox_vm_os_disk_size_gb": 256, "jumpbox_vm_os_disk_type": "Premium_LRS",
            "jumpbox_vm_data_disk_size_gb": 1024, "jumpbox_vm_data_disk_type": "Premium_LRS",
            "jumpbox_vm_data_disk_caching": "ReadOnly", "jumpbox_vm_nat_idle_timeout": 4,
            "jumpbox_vm_image": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server"},
            "jumpbox_vm_subnet": "", "jumpbox_vm_cluster_subnets": [], "isolated_network": {}, "fallback": {}}
    base.update(change)
    return base


def test_defaults_without_the_fact():
    out = resolve(variables())
    assert out["problems"] == []
    assert (out["resource_group"], out["location"]) == ("rg-llm-isolated", "westeurope")
    assert out["subnet"] == {"subscription": None, "resource_group": "rg-llm-isolated",
                             "virtual_network": "vnet-llm", "name": "snet-jumpbox", "id": None}
    assert [(s["name"], s["source"]) for s in out["cluster_subnets"]] == [
        ("snet-nodes", "isolated_network_nodes_subnet.name"), ("snet-apiserver", "isolated_network_apiserver_subnet.name")]


def test_isolated_network_variables_are_the_fallback():
    fallback = {"resource_group": "rg-a", "location": "northeurope", "virtual_network": "vnet-a",
                "jumpbox": "jb", "nodes": "n", "apiserver": "api"}
    out = resolve(variables(fallback=fallback))
    assert (out["resource_group"], out["location"], out["subnet"]["virtual_network"], out["subnet"]["name"]) == (
        "rg-a", "northeurope", "vnet-a", "jb")
    assert [s["name"] for s in out["cluster_subnets"]] == ["n", "api"]


def test_the_fact_wins_and_its_subnets_are_ids():
    out = resolve(variables(isolated_network=FACT, fallback={"resource_group": "ignored"}))
    assert out["problems"] == []
    assert (out["resource_group"], out["location"]) == ("rg-net", "swedencentral")
    assert out["subnet"]["id"] == NET + "snet-jumpbox" and out["subnet"]["resource_group"] == "rg-net"
    assert [s["source"] for s in out["cluster_subnets"]] == ["isolated_network.subnet_ids.nodes",
                                                             "isolated_network.subnet_ids.apiserver"]


@pytest.mark.parametrize("change,words", [
    (dict(jumpbox_vm_subnet="snet-nodes"), "jumpbox_vm_subnet: snet-nodes is the node subnet of the cluster "
                                           "(isolated_network_nodes_subnet.name)"),
    (dict(jumpbox_vm_subnet="SNET-APISERVER"), "is the API server subnet"),
    (dict(jumpbox_vm_subnet="snet-x", jumpbox_vm_cluster_subnets=["snet-x"]),
     "(jumpbox_vm_cluster_subnets[0])"),
    (dict(jumpbox_vm_subnet=NET + "snet-nodes", isolated_network=FACT), "not the jump-box subnet"),
    (dict(jumpbox_vm_subnet="/subscriptions/x/whatever"), "is not a subnet resource id"),
    (dict(jumpbox_vm_size="Standard_D4s_v5"), "jumpbox_vm_size: Standard_D4s_v5 is not a GPU size"),
    (dict(jumpbox_vm_ssh_public_key=""), "jumpbox_vm_ssh_public_key: is required"),
    (dict(jumpbox_vm_ssh_public_key="-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"),
     "jumpbox_vm_ssh_public_key: is a private key"),
    (dict(jumpbox_vm_admin_username="admin"), "jumpbox_vm_admin_username: 'admin' is reserved"),
    (dict(jumpbox_vm_os_disk_size_gb=8000), "jumpbox_vm_os_disk_size_gb: size must be 1 to 4095"),
    (dict(jumpbox_vm_data_disk_size_gb=8192), "jumpbox_vm_data_disk_size_gb: host caching ReadOnly"),
    (dict(jumpbox_vm_image={"publisher": "Canonical"}), "jumpbox_vm_image: needs offer, sku"),
    (dict(jumpbox_vm_nat_idle_timeout=200), "jumpbox_vm_nat_idle_timeout: must be 4 to 120"),
])
def test_problems_name_the_variable(change, words):
    problems = resolve(variables(**change))["problems"]
    assert any(words in p for p in problems), problems


def test_same_subnet_in_another_resource_group_is_not_a_cluster_subnet():
    other = "/subscriptions/%s/resourceGroups/rg-other/providers/Microsoft.Network/virtualNetworks/vnet-llm/" \
            "subnets/snet-nodes" % SUB
    assert resolve(variables(jumpbox_vm_subnet=other))["problems"] == []


def test_removal_needs_no_key_and_no_subnet_checks():
    out = resolve(variables(jumpbox_vm_state="absent", jumpbox_vm_ssh_public_key="", jumpbox_vm_subnet="snet-nodes",
                            jumpbox_vm_size="x"))
    assert out["problems"] == [] and out["resource_group"] == "rg-llm-isolated"


def read(props, sid=NET + "snet-jumpbox"):
    return {"changed": False, "id": sid, "state": {"id": sid, "properties": props}}


def test_azure_side_delegated_subnet_is_refused():
    inputs = resolve(variables(isolated_network=FACT))
    props = {"defaultOutboundAccess": False, "delegations": [
        {"name": "aks", "properties": {"serviceName": "Microsoft.ContainerService/managedClusters"}}]}
    problems = subnet_problems(read(props), inputs)
    assert problems and problems[0].startswith("jumpbox_vm_subnet:") and "managedClusters" in problems[0]


def test_azure_side_listed_private_cluster_subnet_is_refused_by_its_real_id():
    inputs = resolve(variables(jumpbox_vm_cluster_subnets=[NET.upper() + "SNET-JUMPBOX"]))
    problems = subnet_problems(read({"defaultOutboundAccess": False}), inputs)
    assert problems and "no default outbound access" in problems[0]
    assert subnet_problems(read({"defaultOutboundAccess": True}), inputs) == []


def test_azure_side_jumpbox_subnet_is_fine():
    inputs = resolve(variables(isolated_network=FACT))
    assert subnet_problems(read({"defaultOutboundAccess": False, "delegations": []}), inputs) == []


def test_missing_subnet_is_only_fine_in_check_mode():
    inputs = resolve(variables())
    missing = {"failed": False, "msg": "address_prefix: is required to create ...", "field": "address_prefix"}
    assert subnet_problems(missing, inputs, check_mode=True) == []
    problems = subnet_problems(missing, inputs)
    assert "does not exist" in problems[0] and "snet-jumpbox (virtual network vnet-llm" in problems[0]
    denied = {"msg": "AuthorizationFailed: no read permission"}
    assert "cannot read the subnet" in subnet_problems(denied, inputs, check_mode=True)[0]


def test_numbers_from_the_command_line_are_strings():
    assert resolve(variables(jumpbox_vm_data_disk_size_gb="2048", jumpbox_vm_os_disk_size_gb="512",
                             jumpbox_vm_nat_idle_timeout="10"))["problems"] == []
    problems = resolve(variables(jumpbox_vm_data_disk_size_gb="8192", jumpbox_vm_nat_idle_timeout="ten"))["problems"]
    assert any(p.startswith("jumpbox_vm_data_disk_size_gb: host caching") for p in problems)
    assert any(p.startswith("jumpbox_vm_nat_idle_timeout:") for p in problems)
    assert resolve(variables(jumpbox_vm_data_disk_size_gb="0"))["problems"] == []
