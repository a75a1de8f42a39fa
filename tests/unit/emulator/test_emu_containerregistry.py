"""Microsoft.ContainerRegistry in the emulator: registries, importImage, cacheRules, credentialSets."""
import pytest

from armemu.providers.containerregistry import aks_cache_rule_problem, catalogue

ACR = "2023-07-01"
KV = "2023-07-01"
AUTHZ = "2022-04-01"
DIGEST = "sha256:" + "ab" * 32


def reg_id(client, name="acrtest01", rg="rg1"):
    return f"{client.rg(rg)}/providers/Microsoft.ContainerRegistry/registries/{name}"


def make_registry(client, sku="Premium", name="acrtest01", **props):
    r = client.put(reg_id(client, name), {"location": "westeurope", "sku": {"name": sku}, "properties": props},
                   api_version=ACR)
    assert r.status_code in (200, 201), r.text()
    assert client.poll(r)["status"] == "Succeeded"
    return client.body(client.get(reg_id(client, name), api_version=ACR))


def put_child(client, path, body):
    r = client.put(path, body, api_version=ACR)
    if r.status_code in (200, 201) and "Azure-AsyncOperation" in r.headers:
        assert client.poll(r)["status"] == "Succeeded"
    return r


@pytest.fixture
def registry(client):
    client.make_rg()
    return make_registry(client, publicNetworkAccess="Disabled", dataEndpointEnabled=True,
                         zoneRedundancy="Enabled")


def test_registry_defaults_and_premium_rules(client, registry):
    p = registry["properties"]
    assert p["loginServer"] == "acrtest01.azurecr.io"
    assert p["dataEndpointHostNames"] == ["acrtest01.westeurope.data.azurecr.io"]
    assert p["adminUserEnabled"] is False and p["anonymousPullEnabled"] is False
    assert registry["sku"] == {"name": "Premium", "tier": "Premium"}
    assert p["privateEndpointConnections"] == []
    for props, code in (({"publicNetworkAccess": "Disabled"}, "DisablingPublicNetworkAccessNotSupported"),
                        ({"dataEndpointEnabled": True}, "DedicatedDataEndpointNotSupported"),
                        ({"zoneRedundancy": "Enabled"}, "ZoneRedundancyNotSupported")):
        r = client.put(reg_id(client, "acrbasic01"), {"location": "westeurope", "sku": {"name": "Standard"},
                                                      "properties": props}, api_version=ACR)
        assert r.status_code == 400 and client.body(r)["error"]["code"] == code, r.text()
        assert "Standard" in client.body(r)["error"]["message"]
    r = client.put(reg_id(client), {"location": "westeurope", "sku": {"name": "Premium"},
                                    "properties": {"zoneRedundancy": "Disabled"}}, api_version=ACR)
    assert client.body(r)["error"]["code"] == "ZoneRedundancyCannotBeChanged"
    r = client.put(reg_id(client, "bad-name"), {"location": "westeurope", "sku": {"name": "Premium"}},
                   api_version=ACR)
    assert r.status_code == 400 and client.body(r)["error"]["code"] == "RegistryNameInvalid"


def test_import_image_keeps_a_catalogue_and_refuses_existing_tags(client, arm, registry):
    rid = reg_id(client)
    body = {"source": {"registryUri": "docker.io", "sourceImage": f"vllm/vllm-openai@{DIGEST}"},
            "targetTags": ["vllm/vllm-openai:v0.6.3"]}
    r = client.call("POST", rid + "/importImage", body, api_version=ACR)
    assert r.status_code == 202 and "Location" in r.headers
    assert client.poll(r)["status"] == "Succeeded"
    assert catalogue(arm, rid) == {"vllm/vllm-openai": {"v0.6.3": DIGEST}}
    again = client.call("POST", rid + "/importImage", body, api_version=ACR)
    err = client.body(again)["error"]
    assert again.status_code == 409 and err["code"] == "TagAlreadyExists" and "vllm/vllm-openai:v0.6.3" in err["message"]
    forced = client.call("POST", rid + "/importImage", dict(body, mode="Force"), api_version=ACR)
    assert client.poll(forced)["status"] == "Succeeded"
    # A source by tag gets a stand-in digest; the default target is the source repository and tag.
    r = client.call("POST", rid + "/importImage", {"source": {"registryUri": "ghcr.io", "sourceImage": "org/app:1.0"}},
                    api_version=ACR)
    client.poll(r)
    assert catalogue(arm, rid)["org/app"]["1.0"].startswith("sha256:")
    # NGC wants credentials for NIM images.
    r = client.call("POST", rid + "/importImage",
                    {"source": {"registryUri": "nvcr.io", "sourceImage": "nim/meta/llama-3.1-8b-instruct:1.8.3"}},
                    api_version=ACR)
    assert client.body(r)["error"]["code"] == "ImportSourceUnauthorized"
    # The registry's own tags and PATCH leave the catalogue alone.
    r = client.patch(rid, {"tags": {"acr-import.x": "docker.io/vllm/vllm-openai"}}, api_version=ACR)
    assert r.status_code == 200
    assert "vllm/vllm-openai" in catalogue(arm, rid)
    assert "_catalog" not in client.body(client.get(rid, api_version=ACR))


def test_failed_import_operation_imports_nothing(client, arm, registry):
    rid = reg_id(client)
    arm.add_fault(method="POST", path="/importImage$", operation="Failed", code="ImportImageFailed",
                  message="upstream said no")
    r = client.call("POST", rid + "/importImage",
                    {"source": {"registryUri": "docker.io", "sourceImage": "library/nginx:1.27"}}, api_version=ACR)
    status = client.poll(r)
    assert status["status"] == "Failed" and status["error"]["code"] == "ImportImageFailed"
    assert catalogue(arm, rid) == {}


def rule(client, name, source, target, cred=None):
    props = {"sourceRepository": source, "targetRepository": target}
    if cred:
        props["credentialSetResourceId"] = cred
    return put_child(client, f"{reg_id(client)}/cacheRules/{name}", {"properties": props})


def test_cache_rules_overlap_limits_and_immutability(client, registry):
    assert rule(client, "aks-managed-mcr", "mcr.microsoft.com/*", "aks-managed-repository/*").status_code == 201
    r = rule(client, "aks-managed-sub", "mcr.microsoft.com/oss/*", "aks-managed-repository/oss/*")
    assert r.status_code == 409 and client.body(r)["error"]["code"] == "CacheRuleConflict"
    assert "aks-managed-mcr" in client.body(r)["error"]["message"]
    # A static rule may sit under a wildcard rule; two static rules may not serve one repository.
    assert rule(client, "static-one", "mcr.microsoft.com/oss/nginx", "aks-managed-repository/nginx").status_code == 201
    r = rule(client, "static-two", "docker.io/library/nginx", "aks-managed-repository/nginx")
    assert client.body(r)["error"]["code"] == "CacheRuleConflict"
    r = rule(client, "quaycache", "quay.io/*", "*")
    assert client.body(r)["error"]["code"] == "CacheRuleConflict"
    for name, source, target, code in (("abc", "docker.io/*", "hub/*", "InvalidResourceName"),
                                       ("unknown-up", "example.com/x/*", "x/*", "UnsupportedUpstreamRegistry"),
                                       ("half-wild", "docker.io/*", "hub", "InvalidParameter"),
                                       ("mid-wild", "docker.io/a/*/b", "a/b", "InvalidParameter")):
        r = rule(client, name, source, target)
        assert r.status_code == 400 and client.body(r)["error"]["code"] == code, (name, r.text())
    r = rule(client, "aks-managed-mcr", "mcr.microsoft.com/*", "other/*")
    assert client.body(r)["error"]["code"] == "CacheRuleRepositoriesCannotBeUpdated"
    rules = client.body(client.get(reg_id(client) + "/cacheRules", api_version=ACR))["value"]
    assert sorted(x["name"] for x in rules) == ["aks-managed-mcr", "static-one"]


def test_aks_cache_rule_problem_helper(client, arm, registry):
    app = arm.app
    ctx = type("Ctx", (), {"get": lambda self, rid: app.store.get(rid.lower())})()
    record = app.store.get(reg_id(client).lower())
    assert "no cache rule aks-managed-mcr" in aks_cache_rule_problem(ctx, record)
    rule(client, "aks-managed-mcr", "mcr.microsoft.com/*", "aks-managed-repository/*")
    assert aks_cache_rule_problem(ctx, record) is None


def test_credential_sets_health_and_references(client, arm, registry):
    rid = reg_id(client)
    cred_id = rid + "/credentialSets/dockerhub"
    uris = {"usernameSecretIdentifier": "https://kvtest01.vault.azure.net/secrets/hub-user",
            "passwordSecretIdentifier": "https://kvtest01.vault.azure.net/secrets/hub-token"}
    # The rule needs the credential set first.
    r = rule(client, "dockerhub", "docker.io/*", "docker.io/*", cred=cred_id)
    assert client.body(r)["error"]["code"] == "CredentialSetNotFound"
    bad = put_child(client, cred_id, {"identity": {"type": "SystemAssigned"}, "properties": {
        "loginServer": "docker.io", "authCredentials": [dict(uris, name="Credential1",
                                                             passwordSecretIdentifier="https://example.com/x")]}})
    assert client.body(bad)["error"]["code"] == "InvalidKeyVaultSecretUri"
    r = put_child(client, cred_id, {"identity": {"type": "SystemAssigned"}, "properties": {
        "loginServer": "docker.io", "authCredentials": [dict(uris, name="Credential1")]}})
    assert r.status_code == 201, r.text()
    cred = client.body(client.get(cred_id, api_version=ACR))
    principal = cred["identity"]["principalId"]
    assert cred["properties"]["authCredentials"][0]["credentialHealth"]["errorCode"] == "KeyVaultSecretNotFound"
    # Secrets in a vault, then the role: Healthy.
    vault = f"{client.rg('rg1')}/providers/Microsoft.KeyVault/vaults/kvtest01"
    r = client.put(vault, {"location": "westeurope", "properties": {
        "tenantId": arm.tenant_id, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": True}},
        api_version=KV)
    client.poll(r)
    for name in ("hub-user", "hub-token"):
        assert client.put(f"{vault}/secrets/{name}", {"properties": {"value": "v-" + name}},
                          api_version=KV).status_code == 201
    cred = client.body(client.get(cred_id, api_version=ACR))
    assert cred["properties"]["authCredentials"][0]["credentialHealth"]["errorCode"] == "KeyVaultSecretAccessDenied"
    assignment = f"{vault}/providers/Microsoft.Authorization/roleAssignments/0b8e7a9c-51f6-4a57-9a2e-6f6f2b6c9d10"
    r = client.put(assignment, {"properties": {
        "roleDefinitionId": f"/subscriptions/{arm.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/"
                            "4633458b-17de-408a-b874-0445c86b69e6",
        "principalId": principal, "principalType": "ServicePrincipal"}}, api_version=AUTHZ)
    assert r.status_code == 201, r.text()
    cred = client.body(client.get(cred_id, api_version=ACR))
    assert cred["properties"]["authCredentials"][0]["credentialHealth"] == {"status": "Healthy"}
    # Unauthenticated-only upstreams take no credential set; the login server must match.
    r = rule(client, "mcr-with-creds", "mcr.microsoft.com/dotnet/*", "dotnet/*", cred=cred_id)
    assert client.body(r)["error"]["code"] == "CredentialSetNotSupported"
    r = rule(client, "ghcr-with-hub", "ghcr.io/org/*", "org/*", cred=cred_id)
    assert client.body(r)["error"]["code"] == "CredentialSetLoginServerMismatch"
    assert rule(client, "dockerhub", "docker.io/*", "docker.io/*", cred=cred_id).status_code == 201
    r = client.delete(cred_id, api_version=ACR)
    assert r.status_code == 409 and client.body(r)["error"]["code"] == "CredentialSetInUse"
    # PATCH drops the credential set from the rule; then the credential set can go.
    r = client.patch(rid + "/cacheRules/dockerhub", {"properties": {"credentialSetResourceId": None}},
                     api_version=ACR)
    assert r.status_code == 200, r.text()
    r = client.delete(cred_id, api_version=ACR)
    assert r.status_code == 202


def test_deleting_the_registry_removes_rules_and_credential_sets(client, arm, registry):
    rule(client, "aks-managed-mcr", "mcr.microsoft.com/*", "aks-managed-repository/*")
    r = client.delete(reg_id(client), api_version=ACR)
    assert r.status_code == 202
    client.poll(r)
    assert not [k for k in arm.resources() if "containerregistry" in k.lower()]
