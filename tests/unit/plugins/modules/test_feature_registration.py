"""feature_registration: register, wait, re-register the provider; idempotence; wait: false; check mode."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError, WaitTimeout
from ansible_collections.airgap.aks_inference.plugins.modules import feature_registration

SUB = "00000000-0000-0000-0000-000000000001"


class FakeClient:
    """A feature that goes Registering -> Registered after ``polls`` GETs."""

    def __init__(self, state="NotRegistered", polls=2):
        self.state = state
        self.polls = polls
        self.calls = []

    def get(self, rid, api):
        self.calls.append(("GET", rid))
        if self.state == "Registering":
            self.polls -= 1
            if self.polls < 0:
                self.state = "Registered"
        return {"id": rid, "properties": {"state": self.state}}

    def post(self, path, api, body=None, action=None):
        self.calls.append(("POST", path))
        if path.endswith("/features/ManagedGPUExperiencePreview/register"):
            self.state = "Registering"
        return Response(200, {}, {"properties": {"state": self.state}} if "/features/" in path else {})

    def writes(self):
        return [c for c in self.calls if c[0] == "POST"]


class FakeModule:
    def __init__(self, client, check_mode=False, **params):
        self.params = dict(namespace="Microsoft.ContainerService", name="ManagedGPUExperiencePreview",
                           state="registered", register_provider=True, wait=True, wait_timeout=5, poll_interval=0.001)
        self.params.update(params)
        self.check_mode = check_mode
        self._client = client
        self.subscription_id = SUB

    def check_settings(self):
        return {}

    def client(self):
        return self._client

    def deadline(self):
        return azure_wait.Deadline(self.params["wait_timeout"])


def test_register_wait_and_reregister_the_provider():
    client = FakeClient()
    result = feature_registration.run(FakeModule(client))
    assert result["changed"] is True and result["feature_state"] == "Registered" and result["provider_registered"]
    posted = [w[1].rsplit("/", 2)[-2:] for w in client.writes()]
    assert posted == [["ManagedGPUExperiencePreview", "register"], ["Microsoft.ContainerService", "register"]]
    assert result["diff"] == {"before": {"state": "NotRegistered"}, "after": {"state": "Registered"}}


def test_registered_feature_sends_no_write():
    client = FakeClient("Registered")
    result = feature_registration.run(FakeModule(client))
    assert result["changed"] is False and client.writes() == []


def test_wait_false_then_wait():
    client = FakeClient(polls=3)
    first = feature_registration.run(FakeModule(client, wait=False))
    assert first["changed"] is True and first["feature_state"] == "Registering" and not first["provider_registered"]
    second = feature_registration.run(FakeModule(client))
    assert second["feature_state"] == "Registered" and second["provider_registered"] and second["changed"]
    third = feature_registration.run(FakeModule(client))
    assert third["changed"] is False


def test_check_mode_sends_no_write():
    client = FakeClient()
    result = feature_registration.run(FakeModule(client, check_mode=True))
    assert result["changed"] is True and client.writes() == []


def test_timeout_says_azure_carries_on():
    client = FakeClient(polls=10 ** 9)
    with pytest.raises(WaitTimeout) as err:
        feature_registration.run(FakeModule(client, wait_timeout=0.05))
    assert "carries on" in err.value.message


@pytest.mark.parametrize("params,field", [({"namespace": "containerservice"}, "namespace"),
                                          ({"name": "bad name"}, "name")])
def test_bad_input_before_any_request(params, field):
    client = FakeClient()
    with pytest.raises(InputError) as err:
        feature_registration.run(FakeModule(client, **params))
    assert err.value.field == field and client.calls == []
