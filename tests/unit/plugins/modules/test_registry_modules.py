"""The registry stage's modules: validate / desired / normalize / to_body, and the runs of the modules
that are not plain CRUD (key_vault_secret, role_assignment, acr_import) against a fake ARM client."""
import json

import pytest
import yaml

from ansible_collections.airgap.aks_inference.plugins.module_utils import key_vault as kv_utils
from ansible_collections.airgap.aks_inference.plugins.module_utils.acr import ledger_key
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import prune_none
from ansible_collections.airgap.aks_inference.plugins.modules import acr_cache_rule as rule_mod
from ansible_collections.airgap.aks_inference.plugins.modules import acr_credential_set as cred_mod
from ansible_collections.airgap.aks_inference.plugins.modules import acr_import as import_mod
from ansible_collections.airgap.aks_inference.plugins.modules import container_registry as acr_mod
from ansible_collections.airgap.aks_inference.plugins.modules import container_registry_info as info_mod
from ansible_collections.airgap.aks_inference.plugins.modules import key_vault as vault_mod
from ansible_collections.airgap.aks_inference.plugins.modules import key_vault_secret as secret_mod
from ansible_collections.airgap.aks_inference.plugins.modules import private_dns_zone_group as group_mod
from ansible_collections.airgap.aks_inference.plugins.modules import private_endpoint as pe_mod
from ansible_collections.airgap.aks_inference.plugins.modules import role_assignment as ra_mod

SUB = "22222222-2222-4222-8222-222222222222"
RG = "/subscriptions/%s/resourceGroups/rg" % SUB
REGISTRY = RG + "/providers/Microsoft.ContainerRegistry/registries/acrllm01"
VAULT = RG + "/providers/Microsoft.KeyVault/vaults/kv-llm"
PRINCIPAL = "5b0f4bd2-6a43-4a2e-8d15-5a0c3c3b8f11"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


class Module:
    subscription_id = SUB
    check_mode = False
    settings = {"cloud": "AzureCloud"}

    def __init__(self, **params):
        self.params = params
        self._client = None

    def check_settings(self):
        return self.settings

    def client(self):
        return self._client

    def deadline(self):
        from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_wait import Deadline
        return Deadline(30)


class FakeClient:
    """Answers from a dict of resources; records every call; ``fail`` maps (method, path) to an ArmError."""

    def __init__(self, resources=None, lists=None, fail=None):
        self.resources = dict(resources or {})
        self.lists = dict(lists or {})
        self.fail = dict(fail or {})
        self.calls = []

    def _maybe_fail(self, method, path):
        for (m, fragment), err in list(self.fail.items()):
            if m == method and fragment in path:
                if isinstance(err, list):
                    if err:
                        raise err.pop(0)
                    continue
                raise err

    def get(self, rid, api):
        self.calls.append(("GET", rid))
        return self.resources.get(rid)

    def list(self, path, api):
        self.calls.append(("LIST", path))
        self._maybe_fail("LIST", path)
        return self.lists.get(path.split("?")[0], [])

    def put(self, rid, api, body):
        self.calls.append(("PUT", rid, body))
        self._maybe_fail("PUT", rid)
        stored = dict(body, id=rid, name=rid.rsplit("/", 1)[-1])
        self.resources[rid] = stored
        return Response(201, {}, stored)

    def patch(self, rid, api, body):
        self.calls.append(("PATCH", rid, body))
        merged = dict(self.resources.get(rid) or {})
        merged.update(body)
        self.resources[rid] = merged
        return Response(200, {}, merged)

    def delete(self, rid, api):
        self.calls.append(("DELETE", rid))
        self.resources.pop(rid, None)
        return None

    def post(self, path, api, body=None, action=None):
        self.calls.append(("POST", path, body))
        self._maybe_fail("POST", path)
        return Response(200, {}, None)

    def request(self, method, path, api, body=None, action=None):
        self.calls.append((method, path))
        return Response(200, {}, {"tenantId": "11111111-1111-4111-8111-111111111111"})

    def writes(self):
        return [c for c in self.calls if c[0] in ("PUT", "PATCH", "DELETE", "POST")]


def fake(module, client):
    module._client = client
    return module


# -- container_registry -------------------------------------------------------------------
def registry(**params):
    base = dict(resource_group="rg", name="acrllm01", location="westeurope", sku="Premium", admin_user_enabled=False,
                public_network_access="Disabled", anonymous_pull_enabled=False, zone_redundancy=True,
                data_endpoint_enabled=True, network_rule_bypass_options=None, tags=None, purge_tags=True,
                state="present")
    base.update(params)
    return acr_mod.ContainerRegistry(Module(**base))


def test_registry_desired_and_premium_checks():
    desired = prune_none(registry().desired())
    assert desired == {"location": "westeurope", "sku": {"name": "Premium"}, "properties": {
        "adminUserEnabled": False, "publicNetworkAccess": "Disabled", "anonymousPullEnabled": False,
        "zoneRedundancy": "Enabled", "dataEndpointEnabled": True}}
    current = {"location": "westeurope", "sku": {"name": "Premium", "tier": "Premium"}, "properties": dict(
        desired["properties"], loginServer="acrllm01.azurecr.io", zoneRedundancy="enabled", provisioningState="Succeeded")}
    resource = registry()
    assert resource.fields.compare(desired, resource.normalize(current)).differences == []
    assert resource.to_body(desired, current)["sku"] == {"name": "Premium"}
    for params, field in ((dict(sku="Standard"), "public_network_access"),
                          (dict(sku="Standard", public_network_access="Enabled"), "zone_redundancy"),
                          (dict(sku="Standard", public_network_access=None, zone_redundancy=None), "data_endpoint_enabled"),
                          (dict(sku="Basic", public_network_access=None, zone_redundancy=None,
                                data_endpoint_enabled=None, anonymous_pull_enabled=True), "anonymous_pull_enabled"),
                          (dict(name="acr-llm"), "name")):
        with pytest.raises(InputError) as err:
            registry(**params).validate()
        assert err.value.field == field


def test_registry_keeps_import_records_among_its_tags():
    resource = registry(tags={"owner": "platform"})
    current = {"tags": {"owner": "x", "stale": "1", ledger_key("vllm/vllm-openai:v1"): "docker.io/vllm/vllm-openai:v1"}}
    assert resource.desired_tags(current) == {"owner": "platform",
                                              ledger_key("vllm/vllm-openai:v1"): "docker.io/vllm/vllm-openai:v1"}


# -- acr_cache_rule -----------------------------------------------------------------------------
def cache_rule(**params):
    base = dict(resource_group="rg", registry="acrllm01", name="dockerhub", source_repository="docker.io/*",
                target_repository="docker.io/*", credential_set="dockerhub", state="present")
    base.update(params)
    return rule_mod.CacheRule(Module(**base))


def test_cache_rule_desired_body_and_immutable_fields():
    resource = cache_rule()
    desired = prune_none(resource.desired())
    assert desired["properties"]["credentialSetResourceId"] == REGISTRY + "/credentialSets/dockerhub"
    current = {"properties": {"sourceRepository": "docker.io/*", "targetRepository": "docker.io/*",
                              "provisioningState": "Succeeded", "creationDate": "x"}}
    comparison = resource.fields.compare(desired, resource.normalize(current))
    assert comparison.differences == ["properties.credentialSetResourceId"] and not comparison.immutable
    removed = cache_rule(credential_set="")
    body = removed.to_body(prune_none(removed.desired()), dict(current, properties=dict(
        current["properties"], credentialSetResourceId=REGISTRY + "/credentialSets/dockerhub")))
    assert "credentialSetResourceId" not in body["properties"] and "creationDate" not in body["properties"]
    moved = cache_rule(target_repository="hub/*")
    assert moved.fields.compare(prune_none(moved.desired()), moved.normalize(current)).immutable


@pytest.mark.parametrize("params,field", [
    (dict(name="aks-managed-mcr", source_repository="mcr.microsoft.com/*", target_repository="*"), "target_repository"),
    (dict(source_repository="example.org/*"), "source_repository"),
    (dict(target_repository="hub"), "target_repository"),
    (dict(name="hub"), "name"),
    (dict(credential_set="x_y"), "credential_set"),
    (dict(registry="acr-llm"), "registry"),
])
def test_cache_rule_bad_input(params, field):
    with pytest.raises(InputError) as err:
        cache_rule(**params).validate()
    assert err.value.field == field


def test_cache_rule_overlap_and_missing_credential_set_are_checked_before_the_put():
    aks = {"name": "aks-managed-mcr", "properties": {"sourceRepository": "mcr.microsoft.com/*",
                                                     "targetRepository": "aks-managed-repository/*"}}
    client = FakeClient(lists={REGISTRY + "/cacheRules": [aks]})
    with pytest.raises(InputError) as err:
        cache_rule(name="mcr-oss", source_repository="mcr.microsoft.com/oss/*",
                   target_repository="aks-managed-repository/oss/*", credential_set=None).before_create(client)
    assert err.value.field == "target_repository" and "aks-managed-mcr" in err.value.problem
    with pytest.raises(InputError) as err:
        cache_rule().before_create(client)
    assert err.value.field == "credential_set" and "create it first" in err.value.problem
    client.fail[("LIST", "/cacheRules")] = ArmError(404, "ResourceNotFound", "no registry")
    cache_rule(credential_set=None).before_create(client)  # no registry yet: nothing to collide with


# -- acr_credential_set ---------------------------------------------------------------------------
def credential_set(**params):
    base = dict(resource_group="rg", registry="acrllm01", name="dockerhub", login_server="Docker.io",
                username_secret_uri="https://kv-llm.vault.azure.net/secrets/hub-user",
                password_secret_uri="https://kv-llm.vault.azure.net/secrets/hub-token", state="present")
    base.update(params)
    return cred_mod.CredentialSet(Module(**base))


def test_credential_set_desired_and_health_ignored():
    resource = credential_set()
    desired = prune_none(resource.desired())
    assert desired["identity"] == {"type": "SystemAssigned"} and desired["properties"]["loginServer"] == "docker.io"
    current = {"identity": {"type": "SystemAssigned", "principalId": PRINCIPAL, "tenantId": "t"}, "properties": {
        "loginServer": "docker.io", "provisioningState": "Succeeded", "authCredentials": [
            {"name": "Credential1", "usernameSecretIdentifier": "https://kv-llm.vault.azure.net/secrets/hub-user",
             "passwordSecretIdentifier": "https://KV-LLM.vault.azure.net/secrets/hub-token",
             "credentialHealth": {"status": "Healthy"}}]}}
    assert resource.fields.compare(desired, resource.normalize(current)).differences == []
    body = resource.to_body(desired, current)
    assert body["identity"] == {"type": "SystemAssigned"}
    assert "credentialHealth" not in body["properties"]["authCredentials"][0]
    assert resource.result(current)["identity"]["principalId"] == PRINCIPAL


@pytest.mark.parametrize("params,field", [
    (dict(password_secret_uri="https://kv-llm.example.com/secrets/hub-token"), "password_secret_uri"),
    (dict(username_secret_uri="hub-user"), "username_secret_uri"),
    (dict(login_server="mcr.microsoft.com"), "login_server"),
    (dict(login_server="registry.example.com"), "login_server"),
    (dict(name="hub"), "name"),
])
def test_credential_set_bad_input(params, field):
    with pytest.raises(InputError) as err:
        credential_set(**params).validate()
    assert err.value.field == field


# -- key_vault ----------------------------------------------------------------------------------------
def test_key_vault_body_gets_the_subscription_tenant():
    module = Module(resource_group="rg", name="kv-llm", location="westeurope", sku="standard", vault_tenant_id=None,
                    enable_rbac_authorization=True, public_network_access="Disabled",
                    soft_delete_retention_days=None, enable_purge_protection=None, tags=None, purge_tags=True)
    resource = vault_mod.KeyVault(module)
    resource.validate()
    resource.before_create(FakeClient())
    body = resource.to_body(prune_none(resource.desired()), None)
    assert body["properties"] == {"tenantId": "11111111-1111-4111-8111-111111111111",
                                  "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": True,
                                  "publicNetworkAccess": "Disabled"}
    for params, field in ((dict(soft_delete_retention_days=3), "soft_delete_retention_days"),
                          (dict(vault_tenant_id="tenant"), "vault_tenant_id"), (dict(name="kv_llm"), "name")):
        with pytest.raises(InputError) as err:
            vault_mod.KeyVault(Module(**dict(module.params, **params))).validate()
        assert err.value.field == field


# -- private_endpoint / private_dns_zone_group -----------------------------------------------------
def endpoint(**params):
    base = dict(resource_group="rg", name="pe-acr", location="westeurope", subnet="snet-pe", virtual_network="vnet-llm",
                target=REGISTRY, group_id="registry", connection_name=None, custom_network_interface_name=None,
                tags=None, purge_tags=True, state="present")
    base.update(params)
    return pe_mod.PrivateEndpoint(Module(**base))


def test_private_endpoint_desired_compare_and_premium_check():
    resource = endpoint()
    resource.validate()
    desired = prune_none(resource.desired())
    assert desired["properties"]["subnet"]["id"] == RG + "/providers/Microsoft.Network/virtualNetworks/vnet-llm/subnets/snet-pe"
    assert desired["properties"]["privateLinkServiceConnections"] == [
        {"name": "pe-acr", "properties": {"privateLinkServiceId": REGISTRY, "groupIds": ["registry"]}}]
    current = {"location": "westeurope", "properties": {
        "subnet": {"id": desired["properties"]["subnet"]["id"].upper()},
        "privateLinkServiceConnections": [{"name": "pe-acr", "id": "x", "properties": {
            "privateLinkServiceId": REGISTRY, "groupIds": ["Registry"], "provisioningState": "Succeeded",
            "privateLinkServiceConnectionState": {"status": "Approved"}}}],
        "customDnsConfigs": [{"fqdn": "acrllm01.azurecr.io", "ipAddresses": ["10.40.5.4"]}]}}
    assert resource.fields.compare(desired, resource.normalize(current)).differences == []
    body = resource.to_body(desired, current)
    conn = body["properties"]["privateLinkServiceConnections"][0]
    assert "privateLinkServiceConnectionState" not in conn["properties"] and "id" not in conn
    assert "customDnsConfigs" not in body["properties"]
    other = endpoint(target=REGISTRY.replace("acrllm01", "acrother1"))
    assert other.fields.compare(prune_none(other.desired()), other.normalize(current)).immutable
    with pytest.raises(InputError) as err:
        endpoint().before_create(FakeClient({REGISTRY: {"name": "acrllm01", "sku": {"name": "Standard"}}}))
    assert err.value.field == "target" and "only a Premium registry" in err.value.problem
    endpoint().before_create(FakeClient({REGISTRY: {"name": "acrllm01", "sku": {"name": "Premium"}}}))


@pytest.mark.parametrize("params,field", [
    (dict(group_id="vault"), "group_id"),
    (dict(target="acrllm01"), "target"),
    (dict(virtual_network=None), "virtual_network"),
    (dict(subnet=RG + "/providers/Microsoft.Network/virtualNetworks/vnet-llm"), "subnet"),
])
def test_private_endpoint_bad_input(params, field):
    with pytest.raises(InputError) as err:
        endpoint(**params).validate()
    assert err.value.field == field


def test_zone_group_desired_and_names():
    module = Module(resource_group="rg", private_endpoint="pe-acr", name="default",
                    zones=["privatelink.azurecr.io", RG + "/providers/Microsoft.Network/privateDnsZones/x.example"],
                    zone_resource_group=None, state="present")
    resource = group_mod.PrivateDnsZoneGroup(module)
    resource.validate()
    configs = resource.desired()["properties"]["privateDnsZoneConfigs"]
    assert [c["name"] for c in configs] == ["privatelink-azurecr-io", "x-example"]
    assert configs[0]["properties"]["privateDnsZoneId"].endswith("/privateDnsZones/privatelink.azurecr.io")
    with pytest.raises(InputError) as err:
        group_mod.PrivateDnsZoneGroup(Module(**dict(module.params, zones=["privatelink.azurecr.io"] * 2))).validate()
    assert err.value.field == "zones[1]"


# -- container_registry_info -------------------------------------------------------------------------
def test_info_summarizes_connections_rules_and_credential_sets():
    body = {"id": REGISTRY, "sku": {"name": "Premium"}, "location": "westeurope", "properties": {
        "loginServer": "acrllm01.azurecr.io", "publicNetworkAccess": "Disabled",
        "privateEndpointConnections": [{"id": "c1", "name": "pe.1", "properties": {
            "privateEndpoint": {"id": "pe"}, "privateLinkServiceConnectionState": {"status": "Approved"}}}]}}
    rules = [{"name": "aks-managed-mcr", "properties": {"sourceRepository": "mcr.microsoft.com/*",
                                                        "targetRepository": "aks-managed-repository/*"}},
             {"name": "hub", "properties": {"sourceRepository": "docker.io/*", "targetRepository": "docker.io/*",
                                            "credentialSetResourceId": REGISTRY + "/credentialSets/dockerhub"}}]
    creds = [{"name": "dockerhub", "identity": {"principalId": PRINCIPAL}, "properties": {"loginServer": "docker.io"}}]
    out = info_mod.summarize(body, rules, creds)
    assert out["private_endpoint_connections"] == [{"id": "c1", "name": "pe.1", "private_endpoint_id": "pe",
                                                    "status": "Approved", "description": None}]
    assert out["cache_rules"][0]["credential_set"] is None and out["cache_rules"][1]["credential_set"] == "dockerhub"
    assert out["credential_sets"] == [{"name": "dockerhub", "login_server": "docker.io", "principal_id": PRINCIPAL}]
    missing = fake(Module(resource_group="rg", name="acrllm01", id=None), FakeClient())
    assert info_mod.read_registry(missing)["exists"] is False
    with pytest.raises(InputError):
        info_mod.registry_id(Module(resource_group=None, name=None, id="/subscriptions/x/resourceGroups/rg"))


# -- key_vault_secret ---------------------------------------------------------------------------------
SECRET_ID = VAULT + "/secrets/ngc-api-key"


def secret_module(client, **params):
    base = dict(resource_group="rg", vault="kv-llm", name="ngc-api-key", value="nvapi-TOPSECRET", content_type=None,
                enabled=None, update_secret="when_changed", tags=None, purge_tags=True, state="present")
    base.update(params)
    return fake(Module(**base), client)


def stored_secret(value, **tags):
    fp = kv_utils.fingerprint(value, iterations=1000)
    return {"id": SECRET_ID, "tags": dict(tags, **{kv_utils.FINGERPRINT_TAG: fp}), "properties": {
        "secretUri": "https://kv-llm.vault.azure.net/secrets/ngc-api-key",
        "secretUriWithVersion": "https://kv-llm.vault.azure.net/secrets/ngc-api-key/v1",
        "attributes": {"enabled": True}}}


def test_secret_is_written_with_a_fingerprint_and_never_returned():
    client = FakeClient({VAULT: {"properties": {"vaultUri": "https://kv-llm.vault.azure.net/"}}})
    result = secret_mod.ensure_secret(secret_module(client, tags={"a": "b"}))
    assert result["changed"] and result["value_changed"]
    put = [c for c in client.writes() if c[0] == "PUT"][0]
    assert put[2]["properties"]["value"] == "nvapi-TOPSECRET"
    assert kv_utils.fingerprint_matches("nvapi-TOPSECRET", put[2]["tags"][kv_utils.FINGERPRINT_TAG])
    assert put[2]["tags"]["a"] == "b"
    assert "nvapi-TOPSECRET" not in json.dumps(result)
    assert result["diff"]["after"]["value"] == secret_mod.HIDDEN_NEW


def test_secret_same_value_no_write_other_value_new_version_metadata_only_patch():
    client = FakeClient({SECRET_ID: stored_secret("nvapi-TOPSECRET", a="b")})
    result = secret_mod.ensure_secret(secret_module(client, tags={"a": "b"}))
    assert not result["changed"] and client.writes() == []
    assert result["secret_uri"] == "https://kv-llm.vault.azure.net/secrets/ngc-api-key"
    changed = secret_mod.ensure_secret(secret_module(FakeClient({SECRET_ID: stored_secret("old")})))
    assert changed["changed"] and changed["value_changed"]
    assert changed["diff"] == {"before": {"value": secret_mod.HIDDEN}, "after": {"value": secret_mod.HIDDEN_NEW}}
    client = FakeClient({SECRET_ID: stored_secret("nvapi-TOPSECRET", a="b")})
    meta = secret_mod.ensure_secret(secret_module(client, tags={"a": "c"}, content_type="text/plain"))
    assert meta["changed"] and not meta["value_changed"]
    assert [c[0] for c in client.writes()] == ["PATCH"]
    patch = client.writes()[0][2]
    assert "value" not in patch["properties"] and kv_utils.FINGERPRINT_TAG in patch["tags"]


def test_secret_update_modes_and_check_mode():
    assert secret_mod.value_needs_writing({"update_secret": "on_create", "value": "x"}, stored_secret("y")) is False
    assert secret_mod.value_needs_writing({"update_secret": "always", "value": "y"}, stored_secret("y")) is True
    assert secret_mod.value_needs_writing({"update_secret": "when_changed", "value": "y"}, {"tags": {}}) is True
    client = FakeClient()
    module = secret_module(client)
    module.check_mode = True
    result = secret_mod.ensure_secret(module)
    assert result["changed"] and client.writes() == []
    assert result["secret_uri"] == "https://kv-llm.vault.azure.net/secrets/ngc-api-key"


# -- role_assignment --------------------------------------------------------------------------------------
def assignment_module(client, **params):
    base = dict(scope=REGISTRY, role="AcrPull", principal_id=PRINCIPAL, principal_type="ServicePrincipal", name=None,
                description=None, state="present")
    base.update(params)
    return fake(Module(**base), client)


def existing_assignment(name="0a1b2c3d-0000-4000-8000-00000000000a", scope=REGISTRY, role=ACR_PULL):
    return {"id": "%s/providers/Microsoft.Authorization/roleAssignments/%s" % (scope, name), "name": name,
            "properties": {"scope": scope, "principalId": PRINCIPAL,
                           "roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s"
                           % (SUB, role)}}


def test_role_assignment_created_with_a_deterministic_name_then_found():
    client = FakeClient()
    first = ra_mod.ensure_assignment(assignment_module(client))
    put = client.writes()[0]
    assert first["changed"] and put[0] == "PUT" and put[1].endswith("/roleAssignments/" + first["name"])
    assert put[2]["properties"] == {"roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/"
                                                        "roleDefinitions/%s" % (SUB, ACR_PULL),
                                    "principalId": PRINCIPAL, "principalType": "ServicePrincipal"}
    assert "principalId%20eq%20%27" in client.calls[0][1]
    again = ra_mod.ensure_assignment(assignment_module(FakeClient()))
    assert again["name"] == first["name"]


def test_role_assignment_made_by_someone_else_is_adopted_not_duplicated():
    path = REGISTRY + "/providers/Microsoft.Authorization/roleAssignments"
    others = [existing_assignment(), existing_assignment("0a1b2c3d-0000-4000-8000-00000000000b",
                                                         scope=RG),  # inherited from the group: not this scope
              existing_assignment("0a1b2c3d-0000-4000-8000-00000000000c", role="8311e382-0749-4cb8-b61a-304f252e45ec")]
    client = FakeClient(lists={path: others})
    result = ra_mod.ensure_assignment(assignment_module(client))
    assert not result["changed"] and result["existing"] and result["name"].endswith("0a")
    assert client.writes() == []
    gone = FakeClient(lists={path: others})
    removed = ra_mod.ensure_assignment(assignment_module(gone, state="absent"))
    assert removed["changed"] and [c[:2] for c in gone.writes()] == [("DELETE", others[0]["id"])]


def test_role_assignment_race_and_role_lookup():
    path = REGISTRY + "/providers/Microsoft.Authorization/roleAssignments"
    client = FakeClient(fail={("PUT", "/roleAssignments/"): ArmError(409, "RoleAssignmentExists", "exists")})
    client.lists = {}

    def list_after_put(p, api):
        client.calls.append(("LIST", p))
        return [existing_assignment()] if any(c[0] == "PUT" for c in client.calls) else []
    client.list = list_after_put
    result = ra_mod.ensure_assignment(assignment_module(client))
    assert not result["changed"] and result["existing"]
    custom = "0e5a9a6c-5f2e-4f9d-9b44-61a2f1b4c0aa"
    lookup = FakeClient(lists={"/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions" % SUB: [
        {"id": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (SUB, custom),
         "properties": {"roleName": "Registry Cache Reader"}}]})
    created = ra_mod.ensure_assignment(assignment_module(lookup, role="registry cache reader"))
    assert created["role_definition_id"].endswith(custom)
    with pytest.raises(InputError) as err:
        ra_mod.ensure_assignment(assignment_module(FakeClient(), role="No Such Role"))
    assert err.value.field == "role"
    with pytest.raises(InputError) as err:
        ra_mod.ensure_assignment(assignment_module(FakeClient(), principal_id="kubelet"))
    assert err.value.field == "principal_id"


# -- acr_import ------------------------------------------------------------------------------------------------
DIGEST = "sha256:" + "5e" * 32


def import_module(client, **params):
    base = dict(resource_group="rg", registry="acrllm01", source="nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.3",
                source_registry_id=None, target_tags=None, username="$oauthtoken", password="nvapi-TOPSECRET",
                existing_tag="fail", wait_timeout=30, poll_interval=0.01)
    base.update(params)
    return fake(Module(**base), client)


def test_import_plan_and_body():
    params = import_module(None).params
    ref, source, targets = import_mod.plan(params)
    assert source == "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.3"
    assert targets == ["nim/meta/llama-3.1-8b-instruct:1.8.3"]
    body = import_mod.import_body(params, ref, targets, force=False)
    assert body == {"source": {"sourceImage": "nim/meta/llama-3.1-8b-instruct:1.8.3", "registryUri": "nvcr.io",
                               "credentials": {"password": "nvapi-TOPSECRET", "username": "$oauthtoken"}},
                    "targetTags": targets, "mode": "NoForce"}
    from_acr = dict(params, source="app@" + DIGEST, username=None, password=None,
                    source_registry_id=REGISTRY.replace("acrllm01", "acrupstream"))
    ref, source, _targets = import_mod.plan(from_acr)
    assert import_mod.import_body(from_acr, ref, ["app:1"], True)["source"] == {
        "sourceImage": "app@" + DIGEST, "resourceId": from_acr["source_registry_id"]}
    for change, field in ((dict(source="vllm/vllm-openai:1"), "source"), (dict(password=None), "password"),
                          (dict(target_tags=["a:1", "A:1"]), "target_tags[1]"), (dict(target_tags=[]), "target_tags"),
                          (dict(registry="acr_llm"), "registry")):
        with pytest.raises(InputError) as err:
            import_mod.plan(dict(params, **change))
        assert err.value.field == field


def test_import_is_recorded_and_not_repeated():
    client = FakeClient({REGISTRY: {"id": REGISTRY, "tags": {"owner": "x"}}})
    first = import_mod.ensure_import(import_module(client, source="docker.io/vllm/vllm-openai@" + DIGEST,
                                                   target_tags=["vllm/vllm-openai:v0.8.5"], username=None,
                                                   password=None))
    assert first["changed"] and first["imported"] == ["vllm/vllm-openai:v0.8.5"] and first["digest"] == DIGEST
    assert [c[0] for c in client.writes()] == ["POST", "PATCH"]
    tags = client.writes()[1][2]["tags"]
    assert tags["owner"] == "x" and tags[ledger_key("vllm/vllm-openai:v0.8.5")] == "docker.io/vllm/vllm-openai@" + DIGEST
    client.calls = []
    again = import_mod.ensure_import(import_module(client, source="docker.io/vllm/vllm-openai@" + DIGEST,
                                                   target_tags=["vllm/vllm-openai:v0.8.5"], username=None,
                                                   password=None))
    assert not again["changed"] and again["present"] == ["vllm/vllm-openai:v0.8.5"] and client.writes() == []
    moved = import_mod.ensure_import(import_module(FakeClient(dict(client.resources)),
                                                   source="docker.io/vllm/vllm-openai@sha256:" + "6f" * 32,
                                                   target_tags=["vllm/vllm-openai:v0.8.5"], username=None,
                                                   password=None, existing_tag="overwrite"))
    assert moved["changed"] and moved["diff"]["before"]["vllm/vllm-openai:v0.8.5"].endswith(DIGEST)


def test_existing_tag_without_a_record():
    conflict = ArmError(409, "TagAlreadyExists", "Tag nim/x:1 already exists in target registry.")
    client = FakeClient({REGISTRY: {"id": REGISTRY}}, fail={("POST", "/importImage"): conflict})
    with pytest.raises(InputError) as err:
        import_mod.ensure_import(import_module(client))
    assert err.value.field == "existing_tag" and "left alone" in err.value.problem
    assert "nvapi-TOPSECRET" not in err.value.message
    assert [c[0] for c in client.writes()] == ["POST"]
    kept = FakeClient({REGISTRY: {"id": REGISTRY}}, fail={("POST", "/importImage"): [conflict, conflict]})
    result = import_mod.ensure_import(import_module(kept, existing_tag="keep"))
    assert result["kept"] == ["nim/meta/llama-3.1-8b-instruct:1.8.3"] and result["imported"] == []
    assert [c[0] for c in kept.writes()] == ["POST", "POST", "PATCH"]
    client = FakeClient({REGISTRY: {"id": REGISTRY}})
    import_mod.ensure_import(import_module(client, existing_tag="overwrite"))
    assert client.writes()[0][2]["mode"] == "Force"


def test_import_check_mode_and_missing_registry():
    client = FakeClient()
    module = import_module(client)
    module.check_mode = True
    result = import_mod.ensure_import(module)
    assert result["changed"] and result["imported"] and client.writes() == []
    with pytest.raises(InputError) as err:
        import_mod.ensure_import(import_module(FakeClient()))
    assert err.value.field == "registry"


# -- documentation matches the specs ---------------------------------------------------------------------------
MODULES = (acr_mod, info_mod, rule_mod, cred_mod, import_mod, vault_mod, secret_mod, pe_mod, group_mod, ra_mod)


class SpecCaptured(Exception):
    pass


def module_spec(mod, monkeypatch):
    """The argument spec a module's main() declares (without the shared auth/wait/tags options)."""
    captured = {}

    def fake_module(spec, **kwargs):
        captured.update(spec)
        raise SpecCaptured()
    monkeypatch.setattr(mod, "AzureModule", fake_module)
    with pytest.raises(SpecCaptured):
        mod.main()
    return captured


@pytest.mark.parametrize("mod", MODULES, ids=[m.__name__.rsplit(".", 1)[-1] for m in MODULES])
def test_documentation_matches_the_spec_and_secrets_are_no_log(mod, monkeypatch):
    doc = yaml.safe_load(mod.DOCUMENTATION)
    yaml.safe_load(mod.EXAMPLES)
    yaml.safe_load(mod.RETURN)
    assert doc["module"] == mod.__name__.rsplit(".", 1)[-1]
    spec = module_spec(mod, monkeypatch)
    documented = dict((k, v) for k, v in doc["options"].items() if k in spec)
    assert set(documented) == set(spec), set(spec) ^ set(documented)
    for name, option in spec.items():
        assert doc["options"][name]["type"] == option["type"], name
        assert doc["options"][name].get("default") == option.get("default"), name
        assert doc["options"][name].get("choices") == option.get("choices"), name
    secret = [name for name, option in spec.items() if option.get("no_log")]
    assert secret == [name for name in ("value", "password") if name in spec]
