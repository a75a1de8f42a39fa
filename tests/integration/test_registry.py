"""The container_registry role end to end against the ARM emulator.

The network it needs (resource group, virtual network, private endpoint subnet, private DNS zones
linked to the network) is put into the emulator directly, which takes milliseconds; the network role
has its own tests.
"""
import json
import os
import sys

import pytest
from armemu.providers.containerregistry import catalogue
from armemu.providers.keyvault import secret_value
from armemu.providers.privatelink import resolve

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm_lookup import arm_requests, by_suffix, resource_ids_with  # noqa: E402 pylint: disable=wrong-import-position

RG = "rg-it"
REGISTRY = "acrit01"
VAULT = "kv-it-01"
KUBELET = "5b0f4bd2-6a43-4a2e-8d15-5a0c3c3b8f11"
NGC_KEY = "nvapi-IT-SECRET-NGC-KEY-41f7c0de"
HUB_TOKEN = "dckr_pat_IT-SECRET-TOKEN-8c1e9a"
SECRETS = {"dockerhub-username": "it-hub-user", "dockerhub-token": HUB_TOKEN, "ngc-api-key": NGC_KEY}
VLLM_DIGEST = "sha256:" + "5e" * 32
BASE = {
    "container_registry_resource_group": RG,
    "container_registry_location": "westeurope",
    "container_registry_name": REGISTRY,
    "container_registry_key_vault_name": VAULT,
    "container_registry_key_vault_secrets": SECRETS,
    "container_registry_credential_sets": [
        {"name": "dockerhub", "login_server": "docker.io", "username_secret": "dockerhub-username",
         "password_secret": "dockerhub-token"}],
    "container_registry_cache_rules": [
        {"name": "dockerhub", "source": "docker.io/*", "target": "docker.io/*", "credential_set": "dockerhub"}],
    "container_registry_imports": [
        {"source": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.3", "username": "$oauthtoken",
         "password_secret": "ngc-api-key"},
        {"source": "docker.io/vllm/vllm-openai@" + VLLM_DIGEST, "target_tags": ["vllm/vllm-openai:v0.8.5"]}],
    "container_registry_acr_pull_principals": [KUBELET],
}
ZONES = ("privatelink.azurecr.io", "privatelink.vaultcore.azure.net")


@pytest.fixture
def registry_playbook(playbook):
    def run(extra=None, name="registry.yml", **kwargs):
        return playbook(name, dict(BASE, **(extra or {})), **kwargs)
    return run


@pytest.fixture
def network(private_endpoint_network):
    """What the isolated_network stage leaves behind, put straight into the emulator."""
    return private_endpoint_network(RG, ZONES)


def registry_id(arm):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerRegistry/registries/%s" % (
        arm.subscription_id, RG, REGISTRY)


MINIMAL = {
    "container_registry_key_vault_name": "",
    "container_registry_key_vault_secrets": {},
    "container_registry_credential_sets": [],
    "container_registry_cache_rules": [],
    "container_registry_imports": [
        {"source": "docker.io/vllm/vllm-openai@" + VLLM_DIGEST, "target_tags": ["vllm/vllm-openai:v0.8.5"]}],
    "container_registry_acr_pull_principals": [],
}


def stage_resources(arm):
    """Ids of what the registry stage creates (everything but the network it was given)."""
    return resource_ids_with(arm, ("/registries/", "/vaults/", "/privateendpoints/", "/networkinterfaces/",
                                   "/roleassignments/", "/a/"))


def test_converge_noop_and_teardown(registry_playbook, arm, client, network):
    # Converge, at -vvv and with --diff: no secret value anywhere in the output.
    run = registry_playbook(verbose=3, diff=True, json_output=False)
    assert run.rc == 0, run.stdout[-4000:]
    output = run.stdout + run.stderr
    for secret in (NGC_KEY, HUB_TOKEN):
        assert secret not in output
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output  # the secret options were there, masked
    assert "<hidden: new value>" in output  # the diff of a secret shows that it changes, not what to

    registry = by_suffix(arm, "/registries/" + REGISTRY)
    assert registry["sku"]["name"] == "Premium"
    p = registry["properties"]
    assert p["publicNetworkAccess"] == "Disabled" and p["adminUserEnabled"] is False
    assert p["anonymousPullEnabled"] is False and p["zoneRedundancy"] == "Enabled"
    assert p["dataEndpointEnabled"] is True
    assert [c["properties"]["privateLinkServiceConnectionState"]["status"]
            for c in p["privateEndpointConnections"]] == ["Approved"]
    # The registry (and the vault) resolve privately inside the network, to their endpoints' addresses.
    endpoint = by_suffix(arm, "/privateEndpoints/pe-" + REGISTRY)["properties"]["customDnsConfigs"]
    addresses = dict((c["fqdn"], c["ipAddresses"]) for c in endpoint)
    assert sorted(addresses) == [REGISTRY + ".azurecr.io", REGISTRY + ".westeurope.data.azurecr.io"]
    for fqdn, ips in addresses.items():
        assert resolve(arm, fqdn, network["id"]) == ips and ips[0].startswith("10.40.5.")
    assert resolve(arm, VAULT + ".vault.azure.net", network["id"])[0].startswith("10.40.5.")
    rules = {r["name"]: r["properties"] for rid, r in arm.resources().items() if "/cacheRules/" in rid}
    assert rules["aks-managed-mcr"]["sourceRepository"] == "mcr.microsoft.com/*"
    assert rules["aks-managed-mcr"]["targetRepository"] == "aks-managed-repository/*"
    assert rules["dockerhub"]["credentialSetResourceId"].endswith("/credentialSets/dockerhub")
    cred = by_suffix(arm, "/credentialSets/dockerhub")
    assert cred["properties"]["authCredentials"][0]["credentialHealth"] == {"status": "Healthy"}
    vault = by_suffix(arm, "/vaults/" + VAULT)
    assert vault["properties"]["enableRbacAuthorization"] is True
    assert vault["properties"]["publicNetworkAccess"] == "Disabled"
    assert secret_value(arm, vault["id"] + "/secrets/ngc-api-key") == NGC_KEY
    images = catalogue(arm, registry_id(arm))
    assert images["vllm/vllm-openai"] == {"v0.8.5": VLLM_DIGEST}
    assert "1.8.3" in images["nim/meta/llama-3.1-8b-instruct"]
    pulls = [r for rid, r in arm.resources().items()
             if "/roleassignments/" in rid.lower() and r["properties"]["principalId"] == KUBELET]
    assert len(pulls) == 1 and pulls[0]["properties"]["roleDefinitionId"].endswith("7f951dda-4ed3-4680-a7ca-43fe172d538d")
    assert pulls[0]["properties"]["scope"].lower() == registry_id(arm).lower()
    # Nothing secret in what Azure returns either (the write requests carry it, as they must).
    returned = json.dumps(arm.resources())
    assert NGC_KEY not in returned and HUB_TOKEN not in returned

    # The same input again: nothing changes, reads only.
    arm.clear_requests()
    again = registry_playbook()
    assert again.rc == 0, again
    assert again.changed == 0, [name for name, r in again.tasks() if r.get("changed")]
    assert arm.writes() == []

    # Teardown: refused without the confirmation, then everything of the stage goes, the network stays.
    arm.clear_requests()
    refused = registry_playbook({"container_registry_state": "absent"})
    assert refused.rc != 0 and "container_registry_teardown_confirm" in refused.failure_message()
    assert arm_requests(arm) == []
    teardown = {"container_registry_state": "absent", "container_registry_teardown_confirm": RG}
    run = registry_playbook(teardown)
    assert run.rc == 0, run
    assert stage_resources(arm) == []
    assert by_suffix(arm, "/virtualNetworks/vnet-llm")
    # The private endpoint subnet is free again: its addresses and interfaces went with the endpoints.
    assert client.delete(client.subnet(RG, "vnet-llm", "snet-private-endpoints")).status_code == 202


def test_check_mode_on_an_empty_subscription_writes_nothing(registry_playbook, arm):
    run = registry_playbook(check=True)
    assert run.rc == 0, run
    assert run.changed > 0
    changed = [name for name, r in run.tasks() if r.get("changed")]
    assert any("Container registry" in name for name in changed)
    assert any("imported by Azure" in name for name in changed)
    assert arm.writes() == []
    assert arm.resources() == {}


def test_faults_are_survived_a_failed_import_fails_and_diff_shows_changes(registry_playbook, arm, network):
    arm.add_fault(method="PUT", path=r"/registries/%s$" % REGISTRY, status=429, retry_after=1, times=2)
    arm.add_fault(method="PUT", path=r"/registries/%s$" % REGISTRY, status=503, times=1)
    run = registry_playbook(MINIMAL)
    assert run.rc == 0, run
    statuses = [(r["method"], r["status"]) for r in arm_requests(arm) if "/registries/" + REGISTRY in r["path"]]
    assert statuses.count(("PUT", 429)) == 2 and ("PUT", 503) in statuses
    assert catalogue(arm, registry_id(arm)) == {"vllm/vllm-openai": {"v0.8.5": VLLM_DIGEST}}

    # A failed import operation fails the task with Azure's code and message, and is not recorded.
    more = dict(MINIMAL, container_registry_imports=MINIMAL["container_registry_imports"] + [
        {"source": "ghcr.io/org/tokenizer:2.1", "target_tags": ["org/tokenizer:2.1"]}])
    arm.add_fault(method="POST", path="/importImage$", operation="Failed", code="ImportImageFailed",
                  message="the upstream registry closed the connection")
    run = registry_playbook(more)
    assert run.rc != 0
    msg = run.failure_message()
    assert "ImportImageFailed" in msg and "the upstream registry closed the connection" in msg
    assert "Traceback" not in run.stdout
    assert "org/tokenizer" not in catalogue(arm, registry_id(arm))

    # Run again with a tag changed, in diff mode: the import happens now and the diff shows the tag.
    run = registry_playbook(dict(more, container_registry_tags={"owner": "platform"}), diff=True, json_output=False)
    assert run.rc == 0, run.stdout[-3000:]
    assert "owner" in run.stdout and "platform" in run.stdout
    assert "managed-by" in run.stdout  # the tag being purged shows on the before side
    assert catalogue(arm, registry_id(arm))["org/tokenizer"] == {"2.1": catalogue(arm, registry_id(arm))[
        "org/tokenizer"]["2.1"]}
    tags = by_suffix(arm, "/registries/" + REGISTRY)["tags"]
    assert tags["owner"] == "platform" and "managed-by" not in tags
    assert len([k for k in tags if k.startswith("acr-import.")]) == 2  # the import records stay


BAD_INPUT = [
    ({"container_registry_sku": "Standard"}, "container_registry_sku: Standard: a private endpoint needs a Premium"),
    ({"container_registry_cache_rules": [
        {"name": "aks-managed-mcr", "source": "mcr.microsoft.com/*", "target": "*"}]},
     "container_registry_cache_rules[0].target: the rule aks-managed-mcr must map mcr.microsoft.com/* to "
     "aks-managed-repository/* exactly"),
    ({"container_registry_cache_rules": [
        {"name": "dockerhub", "source": "docker.io/*", "target": "docker.io/*"},
        {"name": "dockerhub-library", "source": "docker.io/library/*", "target": "docker.io/library/*"}]},
     "container_registry_cache_rules[1].target: 'docker.io/library/*' overlaps the target 'docker.io/*'"),
    ({"container_registry_cache_rules": [
        {"name": "mcr-oss", "source": "mcr.microsoft.com/oss/*", "target": "aks-managed-repository/oss/*"}]},
     "container_registry_cache_rules[0].target: 'aks-managed-repository/oss/*' overlaps the target "
     "'aks-managed-repository/*' of the registry's existing rule aks-managed-mcr"),
    ({"container_registry_credential_sets": [
        {"name": "dockerhub", "login_server": "docker.io", "username_secret": "dockerhub-username",
         "password_secret": "https://kv-it-01.example.com/secrets/dockerhub-token"}]},
     "container_registry_credential_sets[0].password_secret: 'https://kv-it-01.example.com/secrets/dockerhub-token' "
     "is not a Key Vault secret URI"),
]


@pytest.mark.parametrize("extra,words", BAD_INPUT, ids=[case[1].split(":")[0] for case in BAD_INPUT])
def test_bad_input_fails_before_any_request(registry_playbook, arm, extra, words):
    run = registry_playbook(extra)
    assert run.rc != 0
    assert words in run.failure_message(), run.failure_message()
    assert [r for r in arm.requests() if r["kind"] in ("arm", "token")] == []
