"""Unit tests of plugins/module_utils/acr_token.py.

The logic runs against a fake transport (a recorded list of requests, canned
answers); UrlFetcher runs against the HTTPS stand-in of IMDS + ACR from
tests/molecule_fixtures on 127.0.0.1 with a CA made for the test.
"""

import base64
import json
import os
import stat
import sys
import threading
import time

import pytest

from ansible.module_utils.urls import open_url
from ansible_collections.airgap.aks_inference.plugins.module_utils import acr_token as at

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "molecule_fixtures")
sys.path.insert(0, os.path.abspath(FIXTURES))
import standin_server  # noqa: E402  pylint: disable=wrong-import-position

SERVER = "myacr.azurecr.io"
NOW = 1_750_000_000


def jwt(**claims):
    return standin_server.make_jwt(claims)


def auth_of(config, server=SERVER):
    return base64.b64decode(config["auths"][server]["auth"]).decode()


class FakeFetch(object):
    """Answers requests from a queue of (status, headers, body-dict) and records them."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, method, url, headers=None, data=None, use_proxy=True):
        self.calls.append({"method": method, "url": url, "headers": headers or {}, "data": data, "use_proxy": use_proxy})
        status, headers_out, body = self.answers.pop(0)
        return status, headers_out, json.dumps(body).encode() if not isinstance(body, bytes) else body


ACCESS = jwt(tid="tenant-from-token", exp=NOW + 3600)
REFRESH = jwt(exp=NOW + 3 * 3600, aud=SERVER)


def ok_login():
    return FakeFetch((200, {}, {"access_token": ACCESS}), (200, {}, {"refresh_token": REFRESH}))


def params(tmp_path, **over):
    base = {
        "login_server": SERVER,
        "registry_url": None,
        "state": "present",
        "config_path": str(tmp_path / "docker" / "config.json"),
        "imds_url": at.DEFAULT_IMDS_URL,
        "client_id": None,
        "tenant_id": None,
        "refresh_margin": 900,
        "force": False,
    }
    base.update(over)
    return base


def no_sleep(_seconds):
    return None


# ----------------------------------------------------------------- tokens and auth values


def test_jwt_claims_and_expiry():
    token = jwt(exp=NOW, tid="t")
    assert at.jwt_claims(token) == {"exp": NOW, "tid": "t"}
    assert at.token_expiry(token) == NOW
    for bad in ("", "abc", "a.b", "a.!!!.c", None, 42, jwt(exp="soon"), jwt(exp=True)):
        assert at.token_expiry(bad) is None


def test_auth_round_trip():
    value = at.encode_auth("tok")
    assert base64.b64decode(value) == b"00000000-0000-0000-0000-000000000000:tok"
    assert at.decode_auth(value) == (at.ACR_USERNAME, "tok")
    assert at.decode_auth("user:pass") is None  # not base64
    assert at.decode_auth(base64.b64encode(b"no-colon").decode()) is None
    assert at.decode_auth("") is None and at.decode_auth(None) is None


# ----------------------------------------------------------------- the credential file


def test_load_config(tmp_path):
    path = tmp_path / "config.json"
    assert at.load_config(str(path)) == {}
    path.write_text("  \n")
    assert at.load_config(str(path)) == {}
    path.write_text('{"auths": {}}')
    assert at.load_config(str(path)) == {"auths": {}}
    path.write_text("{not json")
    with pytest.raises(at.AcrLoginError, match="is not valid JSON"):
        at.load_config(str(path))
    path.write_text("[]")
    with pytest.raises(at.AcrLoginError, match="does not hold a JSON object"):
        at.load_config(str(path))


@pytest.mark.parametrize(
    "config, needed, reason",
    [
        ({}, True, "no entry for"),
        ({"auths": {SERVER: {"auth": at.encode_auth("x", "admin")}}}, True, "is not an ACR token login"),
        ({"auths": {SERVER: {"identitytoken": "x"}}}, True, "is not an ACR token login"),
        ({"auths": {SERVER: {"auth": at.encode_auth("not-a-jwt")}}}, True, "not a JWT"),
        ({"auths": {SERVER: {"auth": at.encode_auth(jwt(exp=NOW + 600))}}}, True, "expires within 900 seconds"),
        ({"auths": {SERVER: {"auth": at.encode_auth(jwt(exp=NOW - 10))}}}, True, "expires within"),
        ({"auths": {SERVER: {"auth": at.encode_auth(jwt(exp=NOW + 901))}}}, False, "valid for 901 more seconds"),
    ],
)
def test_login_status(config, needed, reason):
    got_needed, got_reason, _expiry = at.login_status(config, SERVER, NOW, 900)
    assert got_needed is needed
    assert reason in got_reason


def test_with_entry_keeps_everything_else():
    config = {
        "auths": {
            "other.io": {"auth": "b3RoZXI6eA=="},
            SERVER: {"identitytoken": "old", "username": "u", "password": "p", "email": "ops@example.invalid"},
        },
        "psFormat": "table",
        "credHelpers": {"gcr.io": "gcloud"},
    }
    new = at.with_entry(config, SERVER, "tok")
    assert new["auths"]["other.io"] == {"auth": "b3RoZXI6eA=="}
    assert new["psFormat"] == "table" and new["credHelpers"] == {"gcr.io": "gcloud"}
    assert new["auths"][SERVER] == {"email": "ops@example.invalid", "auth": at.encode_auth("tok")}
    assert config["auths"][SERVER]["identitytoken"] == "old"  # input untouched
    assert at.with_entry({"auths": "garbage"}, SERVER, "t")["auths"] == {SERVER: {"auth": at.encode_auth("t")}}


def test_without_entry():
    config = {"auths": {SERVER: {"auth": "x"}, "o": {"auth": "y"}}}
    assert at.without_entry(config, SERVER) == {"auths": {"o": {"auth": "y"}}}
    assert SERVER in config["auths"]


def test_credential_helper_warning():
    assert at.credential_helper_warning({}, SERVER) is None
    assert "credsStore" in at.credential_helper_warning({"credsStore": "desktop"}, SERVER)
    assert "credHelpers" in at.credential_helper_warning({"credHelpers": {SERVER: "acr-env"}}, SERVER)
    assert at.credential_helper_warning({"credHelpers": {"gcr.io": "gcloud"}}, SERVER) is None


def test_write_config_is_private_and_atomic(tmp_path):
    path = tmp_path / "new" / "config.json"
    old_umask = os.umask(0)
    try:
        at.write_config(str(path), {"auths": {}})
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"auths": {}}
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]


def test_default_config_path():
    assert at.default_config_path("docker").endswith("/.docker/config.json")
    assert at.default_config_path("podman").endswith("/.config/containers/auth.json")
    with pytest.raises(at.AcrLoginError):
        at.default_config_path("crio")


@pytest.mark.parametrize("value", ["myacr.azurecr.io", "MyAcr.AzureCR.io", "registry.local:5000", "localhost"])
def test_valid_login_servers(value):
    assert at.validate_login_server(value) == value.lower()


@pytest.mark.parametrize("value", ["", None, "https://myacr.azurecr.io", "myacr.azurecr.io/path", "my acr.io", "-x.io"])
def test_invalid_login_servers(value):
    with pytest.raises(at.AcrLoginError, match="login_server must be a registry host name"):
        at.validate_login_server(value)


# ----------------------------------------------------------------- HTTP calls


def test_imds_token_url():
    assert at.imds_token_url(at.DEFAULT_IMDS_URL) == at.DEFAULT_IMDS_URL
    url = at.imds_token_url(at.DEFAULT_IMDS_URL, "cid")
    assert url.endswith("&client_id=cid") and "resource=https://management.azure.com/" in url
    assert at.imds_token_url(url, "other").count("client_id") == 1


def test_get_imds_token_request():
    fetch = FakeFetch((200, {}, {"access_token": ACCESS}))
    assert at.get_imds_token(fetch, at.DEFAULT_IMDS_URL, "cid", sleep=no_sleep) == ACCESS
    (call,) = fetch.calls
    assert call["method"] == "GET" and call["headers"] == {"Metadata": "true"}
    assert call["use_proxy"] is False
    assert "client_id=cid" in call["url"]


def test_get_imds_token_retries_throttling():
    slept = []
    fetch = FakeFetch((429, {"Retry-After": "7"}, {}), (503, {}, {}), (200, {}, {"access_token": ACCESS}))
    assert at.get_imds_token(fetch, at.DEFAULT_IMDS_URL, sleep=slept.append) == ACCESS
    assert slept == [7.0, 2.0]


def test_get_imds_token_errors():
    fetch = FakeFetch((400, {}, {"error": "invalid_request", "error_description": "Identity not found"}))
    with pytest.raises(at.AcrLoginError) as exc:
        at.get_imds_token(fetch, at.DEFAULT_IMDS_URL, sleep=no_sleep)
    assert "HTTP 400: invalid_request: Identity not found" in str(exc.value)
    assert "needs client_id" in str(exc.value)
    with pytest.raises(at.AcrLoginError, match="returned no access_token"):
        at.get_imds_token(FakeFetch((200, {}, {"token": "x"})), at.DEFAULT_IMDS_URL, sleep=no_sleep)
    with pytest.raises(at.AcrLoginError, match="HTTP 500"):
        at.get_imds_token(FakeFetch(*[(500, {}, b"oops")] * 4), at.DEFAULT_IMDS_URL, sleep=no_sleep)


def test_exchange_request():
    fetch = FakeFetch((200, {}, {"refresh_token": REFRESH}))
    assert at.exchange_for_refresh_token(fetch, "https://myacr.azurecr.io/", SERVER, ACCESS, "tid", sleep=no_sleep) == REFRESH
    (call,) = fetch.calls
    assert call["method"] == "POST" and call["url"] == "https://myacr.azurecr.io/oauth2/exchange"
    assert call["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(pair.split("=", 1) for pair in call["data"].split("&"))
    assert form["grant_type"] == "access_token" and form["service"] == SERVER and form["tenant"] == "tid"
    assert form["access_token"] == ACCESS


def test_exchange_errors_never_echo_the_token():
    fetch = FakeFetch((401, {}, {"errors": [{"code": "UNAUTHORIZED", "message": "no pull permission"}]}))
    with pytest.raises(at.AcrLoginError) as exc:
        at.exchange_for_refresh_token(fetch, "https://r", SERVER, ACCESS, None, sleep=no_sleep)
    assert "HTTP 401: UNAUTHORIZED: no pull permission" in str(exc.value)
    assert "AcrPull" in str(exc.value) and ACCESS not in str(exc.value)
    with pytest.raises(at.AcrLoginError, match="returned no refresh_token"):
        at.exchange_for_refresh_token(FakeFetch((200, {}, b"not json")), "https://r", SERVER, ACCESS, None, sleep=no_sleep)


# ----------------------------------------------------------------- the whole run


def test_first_login_writes_the_entry_and_returns_no_secret(tmp_path):
    fetch = ok_login()
    p = params(tmp_path)
    result = at.ensure_login(p, fetch, now=NOW, sleep=no_sleep)
    assert result["changed"] is True and result["reason"].startswith("no entry")
    assert result["expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + 3 * 3600))
    assert fetch.calls[1]["url"] == "https://myacr.azurecr.io/oauth2/exchange"
    assert "tenant=tenant-from-token" in fetch.calls[1]["data"]
    config = json.loads(open(p["config_path"]).read())
    assert auth_of(config) == "00000000-0000-0000-0000-000000000000:" + REFRESH
    assert stat.S_IMODE(os.stat(p["config_path"]).st_mode) == 0o600
    dumped = json.dumps(result)
    assert REFRESH not in dumped and ACCESS not in dumped


def test_second_run_sends_nothing(tmp_path):
    p = params(tmp_path)
    at.ensure_login(p, ok_login(), now=NOW, sleep=no_sleep)
    fetch = FakeFetch()
    result = at.ensure_login(p, fetch, now=NOW + 60, sleep=no_sleep)
    assert result["changed"] is False and fetch.calls == []
    assert "valid for" in result["reason"]


def test_renewal_inside_the_margin_and_force(tmp_path):
    p = params(tmp_path)
    at.ensure_login(p, ok_login(), now=NOW, sleep=no_sleep)
    late = NOW + 3 * 3600 - 100
    result = at.ensure_login(p, ok_login(), now=late, sleep=no_sleep)
    assert result["changed"] and "expires within" in result["reason"]
    result = at.ensure_login(dict(p, force=True), ok_login(), now=NOW, sleep=no_sleep)
    assert result["changed"] and result["reason"] == "force"


def test_keeps_other_entries_and_tightens_the_mode(tmp_path):
    p = params(tmp_path)
    os.makedirs(os.path.dirname(p["config_path"]))
    with open(p["config_path"], "w") as f:
        json.dump({"auths": {"other.io": {"auth": "eA=="}}, "psFormat": "x"}, f)
    os.chmod(p["config_path"], 0o644)
    at.ensure_login(p, ok_login(), now=NOW, sleep=no_sleep)
    config = json.loads(open(p["config_path"]).read())
    assert config["auths"]["other.io"] == {"auth": "eA=="} and config["psFormat"] == "x"
    assert stat.S_IMODE(os.stat(p["config_path"]).st_mode) == 0o600
    # a valid token in a file someone opened up again: only the mode changes
    os.chmod(p["config_path"], 0o644)
    fetch = FakeFetch()
    result = at.ensure_login(p, fetch, now=NOW, sleep=no_sleep)
    assert result["changed"] and "set to 0600" in result["reason"] and fetch.calls == []
    assert stat.S_IMODE(os.stat(p["config_path"]).st_mode) == 0o600


def test_explicit_tenant_client_and_registry_url(tmp_path):
    fetch = ok_login()
    p = params(tmp_path, tenant_id="explicit", client_id="cid", registry_url="https://10.0.0.4:443/")
    at.ensure_login(p, fetch, now=NOW, sleep=no_sleep)
    assert "client_id=cid" in fetch.calls[0]["url"]
    assert fetch.calls[1]["url"] == "https://10.0.0.4:443/oauth2/exchange"
    assert "tenant=explicit" in fetch.calls[1]["data"] and "service=myacr.azurecr.io" in fetch.calls[1]["data"]


def test_check_mode_sends_and_writes_nothing(tmp_path):
    p = params(tmp_path)
    fetch = FakeFetch()
    result = at.ensure_login(p, fetch, now=NOW, check_mode=True, sleep=no_sleep)
    assert result["changed"] is True and fetch.calls == []
    assert not os.path.exists(p["config_path"])


def test_absent(tmp_path):
    p = params(tmp_path)
    at.ensure_login(p, ok_login(), now=NOW, sleep=no_sleep)
    result = at.ensure_login(dict(p, state="absent"), FakeFetch(), now=NOW, check_mode=True)
    assert result["changed"] and SERVER in json.loads(open(p["config_path"]).read())["auths"]
    result = at.ensure_login(dict(p, state="absent"), FakeFetch(), now=NOW)
    assert result["changed"] and json.loads(open(p["config_path"]).read())["auths"] == {}
    assert at.ensure_login(dict(p, state="absent"), FakeFetch(), now=NOW)["changed"] is False


def test_a_failed_login_leaves_the_file_alone(tmp_path):
    p = params(tmp_path)
    os.makedirs(os.path.dirname(p["config_path"]))
    with open(p["config_path"], "w") as f:
        f.write('{"auths": {}}')
    fetch = FakeFetch((200, {}, {"access_token": ACCESS}), (403, {}, {"errors": [{"code": "DENIED", "message": "no"}]}))
    with pytest.raises(at.AcrLoginError, match="HTTP 403"):
        at.ensure_login(p, fetch, now=NOW, sleep=no_sleep)
    assert open(p["config_path"]).read() == '{"auths": {}}'


# ----------------------------------------------------------------- real HTTPS, with the stand-in


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    tls = str(tmp_path_factory.mktemp("tls"))
    state = standin_server.AzureStandIn(login_server=SERVER)
    server = standin_server.make_azure_server(0, tls, state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": "https://127.0.0.1:%d" % server.server_address[1], "ca": os.path.join(tls, "ca.pem"), "state": state}
    server.shutdown()
    server.server_close()


def test_url_fetcher_against_the_standin(standin, tmp_path):
    fetch = at.UrlFetcher(open_url, ca_path=standin["ca"], timeout=5)
    imds = standin["url"] + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"
    p = params(tmp_path, registry_url=standin["url"], imds_url=imds, client_id="cid")
    result = at.ensure_login(p, fetch)
    assert result["changed"]
    token = auth_of(json.loads(open(p["config_path"]).read())).split(":", 1)[1]
    assert at.token_expiry(token) > time.time() + 3 * 3600 - 60
    exchanges = [e for e in standin["state"].log if e["path"] == "/oauth2/exchange"]
    assert exchanges[-1]["status"] == 200 and exchanges[-1]["tenant"] == standin_server.TENANT
    assert at.ensure_login(p, fetch)["changed"] is False


def test_url_fetcher_verifies_the_certificate(standin):
    fetch = at.UrlFetcher(open_url, timeout=5)  # the system CAs do not know the test CA
    with pytest.raises(at.AcrLoginError, match="cannot reach https://127.0.0.1"):
        fetch("GET", standin["url"] + "/_standin/requests")


def test_url_fetcher_returns_http_errors(standin):
    fetch = at.UrlFetcher(open_url, ca_path=standin["ca"], timeout=5)
    status, _headers, body = fetch("GET", standin["url"] + "/metadata/identity/oauth2/token?resource=x&api-version=1")
    assert status == 400 and b"metadata header" in body


def test_url_fetcher_reports_a_closed_port():
    fetch = at.UrlFetcher(open_url, timeout=2)
    with pytest.raises(at.AcrLoginError, match="cannot reach http://127.0.0.1:9/x"):
        fetch("GET", "http://127.0.0.1:9/x?secret=1")
