"""Microsoft.KeyVault vaults and secrets (ARM view) in the emulator."""
from armemu.providers.keyvault import secret_value

KV = "2023-07-01"


def vault_id(client, name="kvtest01"):
    return f"{client.rg('rg1')}/providers/Microsoft.KeyVault/vaults/{name}"


def make_vault(client, arm, name="kvtest01", **props):
    body = {"location": "westeurope", "properties": dict({"tenantId": arm.tenant_id,
                                                          "sku": {"family": "A", "name": "standard"}}, **props)}
    r = client.put(vault_id(client, name), body, api_version=KV)
    assert r.status_code in (200, 201), r.text()
    assert client.body(r)["properties"]["provisioningState"] == "RegisteringDns"
    client.poll(r)
    return client.body(client.get(vault_id(client, name), api_version=KV))


def test_vault_rules(client, arm):
    client.make_rg()
    vault = make_vault(client, arm, enableRbacAuthorization=True, publicNetworkAccess="disabled",
                       enablePurgeProtection=True)
    p = vault["properties"]
    assert p["vaultUri"] == "https://kvtest01.vault.azure.net/"
    assert p["publicNetworkAccess"] == "Disabled" and p["softDeleteRetentionInDays"] == 90
    assert p["provisioningState"] == "Succeeded"
    base = {"location": "westeurope", "properties": {"tenantId": arm.tenant_id,
                                                     "sku": {"family": "A", "name": "standard"}}}
    for props, words in (({"enablePurgeProtection": False}, "cannot be disabled"),
                         ({"softDeleteRetentionInDays": 30}, "cannot be changed"),
                         ({"enableSoftDelete": False}, "Soft delete cannot be disabled")):
        body = dict(base, properties=dict(base["properties"], **props))
        r = client.put(vault_id(client), body, api_version=KV)
        assert r.status_code == 400 and words in client.body(r)["error"]["message"], r.text()
    r = client.put(vault_id(client, "1-bad"), base, api_version=KV)
    assert client.body(r)["error"]["code"] == "VaultNameNotValid"
    r = client.put(vault_id(client, "kvother"), dict(base, properties={"sku": {"family": "A", "name": "standard"}}),
                   api_version=KV)
    assert "tenantId" in client.body(r)["error"]["message"]


def test_secret_value_is_never_returned_and_each_write_is_a_version(client, arm):
    client.make_rg()
    make_vault(client, arm)
    sid = vault_id(client) + "/secrets/ngc-api-key"
    r = client.put(sid, {"properties": {"contentType": "text/plain"}}, api_version=KV)
    assert r.status_code == 400 and "value is required" in client.body(r)["error"]["message"]
    r = client.put(sid, {"tags": {"a": "b"}, "properties": {"value": "nvapi-SECRET-1", "contentType": "text/plain"}},
                   api_version=KV)
    assert r.status_code == 201 and "Azure-AsyncOperation" not in r.headers
    first = client.body(r)
    assert "nvapi-SECRET-1" not in r.text()
    assert first["properties"]["secretUri"] == "https://kvtest01.vault.azure.net/secrets/ngc-api-key"
    assert first["properties"]["secretUriWithVersion"].startswith(first["properties"]["secretUri"] + "/")
    assert secret_value(arm, sid) == "nvapi-SECRET-1"
    r = client.patch(sid, {"tags": {"a": "c"}, "properties": {"attributes": {"enabled": False}}}, api_version=KV)
    patched = client.body(r)
    assert r.status_code == 200 and patched["tags"] == {"a": "c"}
    assert patched["properties"]["secretUriWithVersion"] == first["properties"]["secretUriWithVersion"]
    assert patched["properties"]["attributes"]["enabled"] is False
    assert secret_value(arm, sid) == "nvapi-SECRET-1"
    r = client.put(sid, {"properties": {"value": "nvapi-SECRET-2"}}, api_version=KV)
    assert client.body(r)["properties"]["secretUriWithVersion"] != first["properties"]["secretUriWithVersion"]
    listing = client.get(vault_id(client) + "/secrets", api_version=KV)
    assert "nvapi-SECRET" not in listing.text() and len(client.body(listing)["value"]) == 1
    r = client.delete(sid, api_version=KV)
    assert r.status_code == 405
    # The secrets go with the vault.
    assert client.delete(vault_id(client), api_version=KV).status_code == 200
    assert secret_value(arm, sid) is None
