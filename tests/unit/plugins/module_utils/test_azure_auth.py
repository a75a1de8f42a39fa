"""Credential and cloud resolution, including the names AWX injects."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_auth
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

SUB = "22222222-2222-4222-8222-222222222222"


@pytest.fixture(autouse=True)
def no_cli(monkeypatch):
    monkeypatch.setattr(azure_auth.shutil, "which", lambda name: None)


def resolve(params=None, env=None):
    return azure_auth.resolve_settings(dict(params or {}), dict(env or {}))


def test_explicit_options_win():
    s = resolve({"subscription_id": SUB, "client_id": "c", "client_secret": "s", "tenant_id": "t"},
                {"AZURE_CLIENT_ID": "env-c", "AZURE_CLIENT_SECRET": "env-s", "AZURE_TENANT_ID": "env-t"})
    assert (s["kind"], s["origin"], s["client_id"], s["tenant_id"]) == ("service_principal", "options", "c", "t")


def test_azure_identity_env_names():
    s = resolve(env={"AZURE_SUBSCRIPTION_ID": SUB, "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s",
                     "AZURE_TENANT_ID": "t"})
    assert (s["kind"], s["origin"], s["client_secret"], s["subscription_id"]) == (
        "service_principal", "environment", "s", SUB)


def test_awx_env_names():
    s = resolve(env={"AZURE_SUBSCRIPTION_ID": SUB, "AZURE_CLIENT_ID": "c", "AZURE_SECRET": "awx-s",
                     "AZURE_TENANT": "awx-t", "AZURE_CLOUD_ENVIRONMENT": "AzureUSGovernment"})
    assert (s["client_secret"], s["tenant_id"]) == ("awx-s", "awx-t")
    assert s["arm_endpoint"] == "https://management.usgovcloudapi.net"
    assert s["authority"] == "https://login.microsoftonline.us"
    assert s["credential_scope"] == "https://management.usgovcloudapi.net/.default"


def test_partial_service_principal_names_what_is_missing():
    with pytest.raises(InputError) as err:
        resolve({"subscription_id": SUB, "client_id": "c", "tenant_id": "t"})
    assert err.value.field == "client_secret"
    with pytest.raises(InputError) as err:
        resolve(env={"AZURE_SUBSCRIPTION_ID": SUB, "AZURE_CLIENT_ID": "c", "AZURE_SECRET": "s"})
    assert err.value.field == "tenant_id" and "AZURE_TENANT" in err.value.message


def test_missing_subscription_fails_first():
    with pytest.raises(InputError) as err:
        resolve({"client_id": "c", "client_secret": "s", "tenant_id": "t"})
    assert err.value.field == "subscription_id"


def test_managed_identity_and_cli():
    s = resolve({"subscription_id": SUB, "auth_source": "managed_identity", "managed_identity_client_id": "mi"})
    assert (s["kind"], s["client_id"]) == ("managed_identity", "mi")
    assert resolve({"subscription_id": SUB, "auth_source": "cli"})["kind"] == "cli"


def test_auto_falls_back_to_cli_when_installed(monkeypatch):
    monkeypatch.setattr(azure_auth.shutil, "which", lambda name: "/usr/bin/az")
    assert resolve({"subscription_id": SUB})["kind"] == "cli"


def test_no_credential_at_all():
    with pytest.raises(InputError) as err:
        resolve({"subscription_id": SUB})
    assert err.value.field == "auth_source"


@pytest.mark.parametrize("cloud,endpoint", [("AzureCloud", "https://management.azure.com"),
                                            ("AzureChinaCloud", "https://management.chinacloudapi.cn"),
                                            ("azure_us_government", "https://management.usgovcloudapi.net")])
def test_clouds(cloud, endpoint):
    s = resolve({"subscription_id": SUB, "auth_source": "cli", "cloud": cloud})
    assert s["arm_endpoint"] == endpoint and s["known_authority"]


def test_custom_endpoint_needs_authority_and_https():
    with pytest.raises(InputError) as err:
        resolve({"subscription_id": SUB, "auth_source": "cli", "arm_endpoint": "https://127.0.0.1:8443"})
    assert err.value.field == "authority"
    with pytest.raises(InputError) as err:
        resolve({"subscription_id": SUB, "auth_source": "cli", "arm_endpoint": "http://127.0.0.1:8443",
                 "authority": "https://127.0.0.1:8443"})
    assert err.value.field == "arm_endpoint"
    s = resolve({"subscription_id": SUB, "auth_source": "cli", "arm_endpoint": "https://127.0.0.1:8443/",
                 "authority": "https://127.0.0.1:8443"})
    assert s["cloud"] == "Custom" and not s["known_authority"]
    assert s["credential_scope"] == "https://127.0.0.1:8443/.default"


def test_unknown_cloud_and_missing_ca_bundle():
    with pytest.raises(InputError) as err:
        resolve({"subscription_id": SUB, "auth_source": "cli", "cloud": "Mars"})
    assert err.value.field == "cloud"
    with pytest.raises(InputError) as err:
        resolve({"subscription_id": SUB, "auth_source": "cli", "ca_bundle": "/nonexistent/ca.pem"})
    assert err.value.field == "ca_bundle"


def test_describe_has_no_secret():
    s = resolve({"subscription_id": SUB, "client_id": "c", "client_secret": "TOPSECRET", "tenant_id": "t"})
    assert "TOPSECRET" not in repr(azure_auth.describe(s))


def test_build_credential_kinds(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    s = resolve({"subscription_id": SUB, "client_id": "c", "client_secret": "s", "tenant_id": "t",
                 "arm_endpoint": "https://127.0.0.1:1", "authority": "https://127.0.0.1:1", "ca_bundle": str(ca)})
    cred = azure_auth.build_credential(s)
    assert type(cred).__name__ == "ClientSecretCredential"
    assert type(azure_auth.build_credential(dict(s, kind="managed_identity", client_id=None))).__name__ == \
        "ManagedIdentityCredential"
