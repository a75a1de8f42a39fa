"""aks_credentials: the kubeconfig lands with mode 0600, is rewritten only when it differs, never returned."""
import base64
import json
import os
import stat

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError
from ansible_collections.airgap.aks_inference.plugins.modules import aks_credentials

SUB = "00000000-0000-0000-0000-000000000001"
KUBECONFIG = b"apiVersion: v1\nclusters:\n- cluster:\n    server: https://aks.privatelink.westeurope.azmk8s.io:443\n" \
             b"users:\n- user:\n    token: s3cr3t-t0ken\n"


class FakeClient:
    def __init__(self, content=KUBECONFIG, name="clusterUser"):
        self.content = content
        self.name = name
        self.calls = []

    def post(self, path, api, body=None, action=None):
        self.calls.append(path)
        return Response(200, {}, {"kubeconfigs": [{"name": self.name,
                                                   "value": base64.b64encode(self.content).decode()}]})


class FakeModule:
    def __init__(self, client, check_mode=False, **params):
        self.params = dict(resource_group="rg", cluster_name="aks", admin=False, format=None, api_version="2026-08-01")
        self.params.update(params)
        self.check_mode = check_mode
        self._client = client
        self.subscription_id = SUB

    def check_settings(self):
        return {}

    def client(self):
        return self._client


def test_writes_0600_in_a_0700_directory_and_returns_no_secret(tmp_path):
    path = tmp_path / "kube" / "config"
    result = aks_credentials.run(FakeModule(FakeClient(), path=str(path)))
    assert path.read_bytes() == KUBECONFIG
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert result["changed"] is True and result["server"] == "https://aks.privatelink.westeurope.azmk8s.io:443"
    assert "s3cr3t" not in json.dumps(result)
    assert result["sha256"] and result["credential"] == "clusterUser"


def test_same_content_is_no_change_and_a_wrong_mode_is_fixed(tmp_path):
    path = tmp_path / "config"
    aks_credentials.run(FakeModule(FakeClient(), path=str(path)))
    assert aks_credentials.run(FakeModule(FakeClient(), path=str(path)))["changed"] is False
    os.chmod(path, 0o644)
    assert aks_credentials.run(FakeModule(FakeClient(), path=str(path)))["changed"] is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_check_mode_reads_but_writes_nothing(tmp_path):
    path = tmp_path / "config"
    client = FakeClient()
    result = aks_credentials.run(FakeModule(client, check_mode=True, path=str(path)))
    assert result["changed"] is True and not path.exists() and len(client.calls) == 1


def test_admin_and_format(tmp_path):
    client = FakeClient(name="clusterAdmin")
    result = aks_credentials.run(FakeModule(client, admin=True, path=str(tmp_path / "c")))
    assert client.calls[0].endswith("/managedClusters/aks/listClusterAdminCredential")
    assert result["credential"] == "clusterAdmin"
    client = FakeClient()
    aks_credentials.run(FakeModule(client, format="exec", path=str(tmp_path / "d")))
    assert client.calls[0].endswith("/listClusterUserCredential?format=exec")


@pytest.mark.parametrize("params,field", [({"admin": True, "format": "exec"}, "format"),
                                          ({"cluster_name": "-x"}, "cluster_name")])
def test_bad_input_before_any_request(tmp_path, params, field):
    client = FakeClient()
    with pytest.raises(InputError) as err:
        aks_credentials.run(FakeModule(client, path=str(tmp_path / "c"), **params))
    assert err.value.field == field and client.calls == []


def test_a_directory_as_path_is_refused(tmp_path):
    with pytest.raises(InputError) as err:
        aks_credentials.run(FakeModule(FakeClient(), path=str(tmp_path)))
    assert err.value.field == "path"


def test_empty_answer_is_an_arm_error(tmp_path):
    class Empty(FakeClient):
        def post(self, path, api, body=None, action=None):
            return Response(200, {}, {"kubeconfigs": []})
    with pytest.raises(ArmError):
        aks_credentials.run(FakeModule(Empty(), path=str(tmp_path / "c")))


def test_check_mode_before_the_cluster_exists(tmp_path):
    class Missing(FakeClient):
        def post(self, path, api, body=None, action=None):
            raise ArmError(404, "ResourceNotFound", "not found")
    result = aks_credentials.run(FakeModule(Missing(), check_mode=True, path=str(tmp_path / "c")))
    assert result["changed"] is True and result["sha256"] is None
    with pytest.raises(ArmError):
        aks_credentials.run(FakeModule(Missing(), path=str(tmp_path / "c")))


def test_credentials_are_masked_for_ansible(tmp_path):
    class Ansible:
        no_log_values = set()

    module = FakeModule(FakeClient(), path=str(tmp_path / "c"))
    module.module = Ansible()
    aks_credentials.run(module)
    assert "s3cr3t-t0ken" in module.module.no_log_values
    assert aks_credentials.secret_values("    client-key-data: QUJDREVGR0hJSg==\n    token: x\n") == [
        "QUJDREVGR0hJSg=="]
