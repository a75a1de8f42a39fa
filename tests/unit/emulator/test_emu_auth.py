"""Token endpoint (real azure-identity / MSAL) and ARM authentication."""
import time

import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from armemu.testing import NET_API


def _cred(emu, secret=None, tenant=None, client_id=None):
    return ClientSecretCredential(tenant or emu.tenant_id, client_id or emu.client_id,
                                  secret or emu.client_secret, authority=emu.url,
                                  disable_instance_discovery=True, connection_verify=emu.ca_path)


def test_client_secret_credential_gets_token(arm):
    tok = _cred(arm).get_token(f"{arm.url}/.default")
    assert tok.token and "." not in tok.token  # opaque, not a JWT
    assert 3000 < tok.expires_on - time.time() <= 3600
    paths = [(e["method"], e["path"], e["status"]) for e in arm.requests() if e["kind"] == "token"]
    assert ("GET", f"/{arm.tenant_id}/v2.0/.well-known/openid-configuration", 200) in paths
    assert ("POST", f"/{arm.tenant_id}/oauth2/v2.0/token", 200) in paths
    assert arm.writes() == []


def test_msal_confidential_client_with_custom_authority(arm):
    # MSAL's own verify= lands on a requests.Session, which REQUESTS_CA_BUNDLE in the
    # environment would override; hand it a session that ignores the environment.
    session = requests.Session()
    session.trust_env = False
    session.verify = arm.ca_path
    app = msal.ConfidentialClientApplication(
        arm.client_id, client_credential=arm.client_secret,
        authority=f"{arm.url}/{arm.tenant_id}", instance_discovery=False, http_client=session)
    result = app.acquire_token_for_client(scopes=[f"{arm.url}/.default"])
    assert result.get("token_type") == "Bearer", result
    assert result["expires_in"] <= 3599


def test_bad_secret_is_invalid_client(arm):
    with pytest.raises(ClientAuthenticationError) as ei:
        _cred(arm, secret="wrong").get_token(f"{arm.url}/.default")
    assert "AADSTS7000215" in str(ei.value)
    tok_entries = [e for e in arm.requests() if e["path"].endswith("/oauth2/v2.0/token")]
    assert tok_entries[-1]["status"] == 401


def test_unknown_client_id(arm, http):
    r = http.post(f"{arm.url}/{arm.tenant_id}/oauth2/v2.0/token",
                  data={"grant_type": "client_credentials", "client_id": "nope",
                        "client_secret": arm.client_secret, "scope": f"{arm.url}/.default"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "AADSTS700016" in r.json()["error_description"]


def test_unknown_tenant(arm, http):
    r = http.get(f"{arm.url}/99999999-9999-4999-8999-999999999999/v2.0/.well-known/openid-configuration")
    assert r.status_code == 400 and "AADSTS90002" in r.json()["error_description"]
    r = http.post(f"{arm.url}/99999999-9999-4999-8999-999999999999/oauth2/v2.0/token",
                  data={"grant_type": "client_credentials", "client_id": arm.client_id,
                        "client_secret": arm.client_secret, "scope": f"{arm.url}/.default"})
    assert r.status_code == 400 and "AADSTS90002" in r.json()["error_description"]
    with pytest.raises(ClientAuthenticationError):
        _cred(arm, tenant="99999999-9999-4999-8999-999999999999").get_token(f"{arm.url}/.default")


def test_scope_must_end_with_default(arm, http):
    r = http.post(f"{arm.url}/{arm.tenant_id}/oauth2/v2.0/token",
                  data={"grant_type": "client_credentials", "client_id": arm.client_id,
                        "client_secret": arm.client_secret, "scope": f"{arm.url}/user_impersonation"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    assert "x-ms-request-id" in r.headers


def test_openid_configuration(arm, http):
    cfg = http.get(f"{arm.url}/{arm.tenant_id}/v2.0/.well-known/openid-configuration").json()
    assert cfg["token_endpoint"] == f"{arm.url}/{arm.tenant_id}/oauth2/v2.0/token"
    for k in ("issuer", "authorization_endpoint", "device_authorization_endpoint", "jwks_uri"):
        assert cfg[k].startswith(arm.url)


def test_arm_requires_bearer_token(arm, http):
    url = f"{arm.url}/subscriptions/{arm.subscription_id}/resourcegroups?api-version=2024-03-01"
    r = http.get(url)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "AuthenticationFailed"
    assert "WWW-Authenticate" not in r.headers
    assert r.headers["x-ms-request-id"]
    r = http.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
    r = http.get(url, headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationFailed"
    assert all(e["kind"] == "arm" and e["status"] == 401 for e in arm.requests())


def test_expired_and_wrong_audience_tokens(arm, http):
    cred = _cred(arm)
    own = cred.get_token(f"{arm.url}/.default").token
    url = f"{arm.url}/subscriptions/{arm.subscription_id}/resourcegroups?api-version=2024-03-01"
    assert http.get(url, headers={"Authorization": f"Bearer {own}"}).status_code == 200
    arm.expire_tokens(own)
    r = http.get(url, headers={"Authorization": f"Bearer {own}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "ExpiredAuthenticationToken"
    aks = cred.get_token("6dae42f8-4368-4678-94ff-3960e28e3630/.default").token
    r = http.get(url, headers={"Authorization": f"Bearer {aks}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_operation_polls_need_a_token_too(client, http):
    client.make_rg()
    r = client.put(client.vnet("rg1", "v"), {"location": "westeurope",
                                             "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})
    poll = http.get(r.headers["Azure-AsyncOperation"])
    assert poll.status_code == 401
    assert client.body(client.get(r.headers["Azure-AsyncOperation"], api_version=None))["status"] == "Succeeded"
    assert NET_API in r.headers["Azure-AsyncOperation"]
