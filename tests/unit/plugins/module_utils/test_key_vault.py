"""Key Vault names, secret URIs (public and sovereign clouds) and the value fingerprint."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import key_vault
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError


@pytest.mark.parametrize("uri,expected", [
    ("https://kv-llm.vault.azure.net/secrets/ngc-api-key",
     {"vault": "kv-llm", "suffix": "vault.azure.net", "name": "ngc-api-key", "version": None}),
    ("https://KV-LLM.vault.azure.cn/secrets/token/0123456789abcdef0123456789abcdef",
     {"vault": "kv-llm", "suffix": "vault.azure.cn", "name": "token", "version": "0123456789abcdef0123456789abcdef"}),
    ("https://kvgov01.vault.usgovcloudapi.net/secrets/x/",
     {"vault": "kvgov01", "suffix": "vault.usgovcloudapi.net", "name": "x", "version": None}),
])
def test_secret_uris(uri, expected):
    assert key_vault.parse_secret_uri("uri", uri) == expected


@pytest.mark.parametrize("uri", [
    "http://kv-llm.vault.azure.net/secrets/x",
    "https://kv-llm.vault.azure.net/keys/x",
    "https://kv-llm.example.com/secrets/x",
    "https://kv.vault.azure.net/secrets/x",            # vault name too short
    "https://kv-llm.vault.azure.net/secrets/x_y",      # '_' is not allowed in a secret name
    "https://kv-llm.vault.azure.net/secrets/x/123",    # not a version
    "kv-llm/secrets/x",
])
def test_not_secret_uris(uri):
    with pytest.raises(InputError) as err:
        key_vault.parse_secret_uri("password_secret_uri", uri)
    assert err.value.field == "password_secret_uri" and "is not a Key Vault secret URI" in err.value.problem


@pytest.mark.parametrize("name,ok", [
    ("kv-llm-isolated", True), ("kv1", True), ("1kv", False), ("kv--llm", False), ("kv-", False),
    ("k" * 25, False), ("kv_llm", False),
])
def test_vault_names(name, ok):
    if ok:
        key_vault.check_vault_name("name", name)
    else:
        with pytest.raises(InputError):
            key_vault.check_vault_name("name", name)


def test_fingerprint_matches_only_its_value_and_hides_it():
    stored = key_vault.fingerprint("nvapi-secret", iterations=1000)
    assert key_vault.fingerprint_matches("nvapi-secret", stored)
    assert not key_vault.fingerprint_matches("nvapi-secreT", stored)
    assert "nvapi" not in stored and stored.startswith("pbkdf2-sha256$1000$")
    assert len(key_vault.fingerprint("x" * 10000)) < 256  # fits an ARM tag value
    # A fresh salt each time: the same value gives different tags, both matching.
    other = key_vault.fingerprint("nvapi-secret", iterations=1000)
    assert other != stored and key_vault.fingerprint_matches("nvapi-secret", other)


@pytest.mark.parametrize("stored", [None, "", "sha256$abc", "pbkdf2-sha256$10$c2FsdA$aGFzaA",
                                    "pbkdf2-sha256$notanumber$c2FsdA$aGFzaA", "pbkdf2-sha256$1000$!!$!!"])
def test_unreadable_fingerprints_never_match(stored):
    assert key_vault.fingerprint_matches("value", stored) is False


def test_vault_suffix_by_cloud():
    assert key_vault.vault_suffix("AzureCloud") == "vault.azure.net"
    assert key_vault.vault_suffix("AzureChinaCloud") == "vault.azure.cn"
    assert key_vault.vault_suffix("AzureUSGovernment") == "vault.usgovcloudapi.net"
    assert key_vault.vault_suffix("Custom") == "vault.azure.net"
