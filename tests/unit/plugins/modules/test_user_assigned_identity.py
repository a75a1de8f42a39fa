"""user_assigned_identity: name rule, desired, and the ids it returns."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.modules import user_assigned_identity

SUB = "00000000-0000-0000-0000-000000000001"


class FakeClient:
    def __init__(self, current=None):
        self.current = current
        self.calls = []

    def get(self, rid, api):
        self.calls.append(("GET", rid, api))
        return self.current

    def put(self, rid, api, body):
        self.calls.append(("PUT", rid, body))
        self.current = dict(body, id=rid, properties={"principalId": "p", "clientId": "c", "tenantId": "t"})
        return Response(201, {}, self.current)


class FakeModule:
    def __init__(self, params, client, check_mode=False):
        self.params = dict(state="present", wait=True, poll_interval=0.01, wait_timeout=5, tags=None,
                           purge_tags=True, resource_group="rg", location=None)
        self.params.update(params)
        self.check_mode = check_mode
        self._client = client
        self.subscription_id = SUB

    def check_settings(self):
        return {}

    def client(self):
        return self._client

    def deadline(self):
        return azure_wait.Deadline(5)


@pytest.mark.parametrize("name", ["ab", "-id", "id with space", "x" * 129])
def test_bad_names_fail_before_any_request(name):
    client = FakeClient()
    with pytest.raises(InputError) as err:
        user_assigned_identity.run(FakeModule({"name": name, "location": "westeurope"}, client))
    assert err.value.field == "name" and client.calls == []


def test_create_returns_principal_and_client_ids():
    client = FakeClient()
    result = user_assigned_identity.run(FakeModule({"name": "id-aks-kubelet", "location": "westeurope",
                                                    "tags": {"a": "b"}}, client))
    assert result["changed"] is True
    assert (result["principal_id"], result["client_id"], result["tenant_id"]) == ("p", "c", "t")
    assert client.calls[1][2] == {"location": "westeurope", "tags": {"a": "b"}}
    assert result["id"].endswith("/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aks-kubelet")


def test_existing_identity_is_no_change_and_location_cannot_move():
    current = {"id": "x", "location": "westeurope", "properties": {"principalId": "p", "clientId": "c"}}
    client = FakeClient(current)
    result = user_assigned_identity.run(FakeModule({"name": "id-a", "location": "WestEurope"}, client))
    assert result["changed"] is False and result["principal_id"] == "p"
    with pytest.raises(InputError) as err:
        user_assigned_identity.run(FakeModule({"name": "id-a", "location": "northeurope"}, FakeClient(current)))
    assert err.value.field == "location"
