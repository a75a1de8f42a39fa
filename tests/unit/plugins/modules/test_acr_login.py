"""The acr_login module end to end (AnsibleModule, open_url, the file) against the HTTPS stand-in."""

import json
import os
import stat
import sys
import threading

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.airgap.aks_inference.plugins.modules import acr_login

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "molecule_fixtures")
sys.path.insert(0, os.path.abspath(FIXTURES))
import standin_server  # noqa: E402  pylint: disable=wrong-import-position

SERVER = "myacr.azurecr.io"


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    tls = str(tmp_path_factory.mktemp("tls"))
    state = standin_server.AzureStandIn(login_server=SERVER)
    server = standin_server.make_azure_server(0, tls, state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "https://127.0.0.1:%d" % server.server_address[1]
    yield {"url": url, "ca": os.path.join(tls, "ca.pem"), "state": state,
           "imds": url + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"}
    server.shutdown()
    server.server_close()


def run(args, capsys, check_mode=False, diff=False):
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            acr_login.main()
    out = json.loads(capsys.readouterr().out)
    return exc.value.code, out


def test_login_idempotence_and_no_secret_in_output(standin, tmp_path, capsys):
    path = str(tmp_path / "auth.json")
    args = {"login_server": SERVER, "registry_url": standin["url"], "imds_url": standin["imds"],
            "ca_path": standin["ca"], "config_path": path, "runtime": "podman"}
    code, out = run(args, capsys, diff=True)
    assert code == 0 and out["changed"] is True, out
    assert out["config_path"] == path and out["login_server"] == SERVER
    assert out["diff"]["before"]["entry"] is False and out["diff"]["after"]["entry"] is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    stored = json.load(open(path))["auths"][SERVER]["auth"]
    import base64
    token = base64.b64decode(stored).decode().split(":", 1)[1]
    assert token not in json.dumps(out)
    exchanges = len([e for e in standin["state"].log if e["path"] == "/oauth2/exchange"])

    code, out = run(args, capsys)
    assert code == 0 and out["changed"] is False and "diff" not in out
    assert len([e for e in standin["state"].log if e["path"] == "/oauth2/exchange"]) == exchanges


def test_check_mode(standin, tmp_path, capsys):
    path = str(tmp_path / "config.json")
    before = len(standin["state"].log)
    code, out = run({"login_server": SERVER, "registry_url": standin["url"], "imds_url": standin["imds"],
                     "ca_path": standin["ca"], "config_path": path}, capsys, check_mode=True)
    assert code == 0 and out["changed"] is True
    assert not os.path.exists(path) and len(standin["state"].log) == before


def test_failure_message(standin, tmp_path, capsys):
    code, out = run({"login_server": "other.azurecr.io", "registry_url": standin["url"], "imds_url": standin["imds"],
                     "ca_path": standin["ca"], "config_path": str(tmp_path / "c.json")}, capsys)
    assert code == 1 and out["failed"]
    assert "HTTP 401" in out["msg"] and "service must be myacr.azurecr.io" in out["msg"]


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"login_server": "https://myacr.azurecr.io"}, "login_server must be a registry host name"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"refresh_margin": -1}, "refresh_margin must not be negative"),
        ({"runtime": "crio"}, "runtime must be one of"),
    ],
)
def test_bad_input_fails_before_any_request(standin, tmp_path, capsys, extra, message):
    before = len(standin["state"].log)
    args = {"login_server": SERVER, "imds_url": standin["imds"], "config_path": str(tmp_path / "c.json")}
    args.update(extra)
    code, out = run(args, capsys)
    assert code == 1 and message in out["msg"]
    assert len(standin["state"].log) == before
