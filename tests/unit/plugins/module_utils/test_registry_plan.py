"""The container_registry role's input checks (registry_plan_problems)."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.filter.registry_plan_problems import registry_plan_problems

GOOD = {
    "name": "acrllmisolated",
    "sku": "Premium",
    "public_network_access": "Disabled",
    "zone_redundancy": True,
    "data_endpoint_enabled": True,
    "private_endpoint": True,
    "key_vault_name": "kv-llm-isolated",
    "secret_names": ["dockerhub-username", "dockerhub-token", "ngc-api-key"],
    "credential_sets": [{"name": "dockerhub", "login_server": "docker.io", "username_secret": "dockerhub-username",
                         "password_secret": "dockerhub-token"},
                        {"name": "ghcr-creds", "login_server": "ghcr.io",
                         "username_secret": "https://kvother.vault.azure.net/secrets/gh-user",
                         "password_secret": "https://kvother.vault.azure.cn/secrets/gh-token"}],
    "cache_rules": [{"name": "dockerhub", "source": "docker.io/*", "target": "docker.io/*",
                     "credential_set": "dockerhub"},
                    {"name": "aks-managed-mcr", "source": "mcr.microsoft.com/*", "target": "aks-managed-repository/*"},
                    {"name": "k8s-io", "source": "registry.k8s.io/*", "target": "registry.k8s.io/*"}],
    "imports": [{"source": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.3", "username": "$oauthtoken",
                 "password_secret": "ngc-api-key"},
                {"source": "docker.io/vllm/vllm-openai:v0.8.5", "target_tags": ["vllm/vllm-openai:v0.8.5"],
                 "credential_set": "dockerhub"}],
    "acr_pull_principals": ["5b0f4bd2-6a43-4a2e-8d15-5a0c3c3b8f11",
                            {"principal_id": "9c1f2b8e-1111-4c3d-8e2f-0a0b0c0d0e0f", "principal_type": "User"}],
}


def test_a_sound_plan_has_no_problems():
    assert registry_plan_problems(GOOD) == []
    assert registry_plan_problems({"name": "acrllm01", "sku": "Premium", "private_endpoint": True}) == []


@pytest.mark.parametrize("change,expected", [
    ({"name": ""}, "container_registry_name: '' is not a registry name"),
    ({"sku": "Standard"}, "container_registry_sku: Standard: a private endpoint needs a Premium registry"),
    ({"sku": "Standard", "private_endpoint": False, "zone_redundancy": False, "data_endpoint_enabled": False},
     "container_registry_sku: Standard: disabling public network access needs a Premium registry"),
    ({"cache_rules": [{"name": "aks-managed-mcr", "source": "mcr.microsoft.com/*", "target": "*"}]},
     "container_registry_cache_rules[0].target: the rule aks-managed-mcr must map"),
    ({"cache_rules": [{"name": "mcr-oss", "source": "mcr.microsoft.com/oss/*", "target": "aks-managed-repository/o/*"}]},
     "container_registry_cache_rules[0].target: 'aks-managed-repository/o/*' overlaps the target "
     "'aks-managed-repository/*' of the registry's existing rule aks-managed-mcr"),
    ({"cache_rules": [{"name": "hub-a", "source": "docker.io/*", "target": "hub/*"},
                      {"name": "hub-b", "source": "docker.io/library/*", "target": "hub/library/*"}]},
     "container_registry_cache_rules[1].target: 'hub/library/*' overlaps the target 'hub/*'"),
    ({"cache_rules": [{"name": "hub-a", "source": "docker.io/*", "target": "hub/*", "credential_set": "nope"}]},
     "container_registry_cache_rules[0].credential_set: 'nope' is not a credential set"),
    ({"credential_sets": [{"name": "dockerhub", "login_server": "docker.io", "username_secret": "dockerhub-username",
                           "password_secret": "https://kv-llm.example.com/secrets/token"}]},
     "container_registry_credential_sets[0].password_secret: 'https://kv-llm.example.com/secrets/token' is not a "
     "Key Vault secret URI"),
    ({"credential_sets": [{"name": "dockerhub", "login_server": "docker.io", "username_secret": "unknown",
                           "password_secret": "dockerhub-token"}]},
     "container_registry_credential_sets[0].username_secret: 'unknown' is neither a Key Vault secret URI nor a "
     "secret of key_vault_secrets"),
    ({"credential_sets": [{"name": "mcr-creds", "login_server": "mcr.microsoft.com", "username_secret": "ngc-api-key",
                           "password_secret": "ngc-api-key"}]},
     "container_registry_credential_sets[0].login_server: mcr.microsoft.com supports unauthenticated pulls only"),
    ({"key_vault_name": ""}, "container_registry_key_vault_name: is required"),
    ({"key_vault_name": "kv--bad"}, "container_registry_key_vault_name: 'kv--bad' is not a Key Vault name"),
    ({"imports": [{"source": "vllm/vllm-openai:v1"}]},
     "container_registry_imports[0].source: 'vllm/vllm-openai:v1' names no registry"),
    ({"imports": [{"source": "docker.io/x/y:1", "credential_set": "ghcr-creds"}]},
     "container_registry_imports[0].credential_set: credential set 'ghcr-creds' keeps its secrets in a Key Vault"),
    ({"imports": [{"source": "docker.io/x/y:1", "username": "me"}]},
     "container_registry_imports[0].password_secret: is required with username"),
    ({"imports": [{"source": "docker.io/x/y:1", "target_tags": ["y"]}]},
     "container_registry_imports[0].target_tags[0]: 'y' is not repository:tag"),
    ({"acr_pull_principals": ["kubelet"]}, "container_registry_acr_pull_principals[0]: 'kubelet' is not a principal"),
])
def test_bad_plans_name_the_variable(change, expected):
    problems = registry_plan_problems(dict(GOOD, **change))
    assert problems, change
    assert problems[0].startswith(expected), problems
