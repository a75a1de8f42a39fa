"""The get -> compare -> change -> wait -> diff engine, with a fake ARM client."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    ensure,
    provider_id,
    reference_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable

SUB = "00000000-0000-0000-0000-000000000001"
RID = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Test/widgets/w1" % SUB


class FakeClient:
    def __init__(self, current=None, after=None):
        self.current = current
        self.after = after
        self.calls = []

    def get(self, rid, api):
        self.calls.append(("GET", rid))
        if self.after is not None and any(c[0] == "PUT" for c in self.calls):
            return self.after
        return self.current

    def put(self, rid, api, body):
        self.calls.append(("PUT", rid, body))
        return Response(200, {}, dict(body, id=rid))

    def delete(self, rid, api):
        # ArmClient.delete answers None when the delete finished synchronously (204).
        self.calls.append(("DELETE", rid))
        self.current = None
        return None

    def poll(self, url):
        raise AssertionError("no polling expected")

    def writes(self):
        return [c for c in self.calls if c[0] != "GET"]


class FakeModule:
    def __init__(self, params, client, check_mode=False):
        base = {"state": "present", "wait": True, "poll_interval": 0.01, "wait_timeout": 5, "tags": None,
                "purge_tags": True}
        base.update(params)
        self.params = base
        self.check_mode = check_mode
        self._client = client
        self.subscription_id = SUB

    def check_settings(self):
        return {}

    def client(self):
        return self._client

    def deadline(self):
        return azure_wait.Deadline(5)


class Widget(ArmResource):
    resource_type = "Microsoft.Test/widgets"
    api_version = "2024-01-01"
    required_on_create = ("location",)
    fields = FieldTable({"location": Field("ci", updatable=False), "properties.size": Field("exact")})

    def resource_id(self):
        return RID

    def validate(self):
        if self.params.get("size") is not None and self.params["size"] < 1:
            raise InputError("size", "must be at least 1")

    def desired(self):
        return {"location": self.params.get("location"), "properties": {"size": self.params.get("size")}}


EXISTING = {"id": RID, "location": "westeurope", "tags": {"a": "1"},
            "properties": {"size": 2, "provisioningState": "Succeeded", "unmanaged": "keep-me"}}


def run(params, current=None, check_mode=False, after=None):
    client = FakeClient(current, after)
    module = FakeModule(params, client, check_mode)
    return ensure(module, Widget(module)), client


def test_create_sends_put_and_reports_change():
    result, client = run({"location": "westeurope", "size": 3})
    assert result["changed"] is True
    assert client.writes()[0][2] == {"location": "westeurope", "properties": {"size": 3}}
    assert result["diff"] == {"before": {}, "after": {"location": "westeurope", "properties": {"size": 3}}}


def test_no_change_sends_no_write():
    result, client = run({"location": "WestEurope", "size": 2}, current=EXISTING)
    assert result["changed"] is False and client.writes() == []


def test_update_keeps_unmanaged_properties_and_drops_read_only():
    result, client = run({"size": 5}, current=EXISTING)
    body = client.writes()[0][2]
    assert body["properties"] == {"size": 5, "unmanaged": "keep-me"}
    assert result["differences"] == ["properties.size"]


def test_check_mode_reports_but_never_writes():
    result, client = run({"location": "westeurope", "size": 9}, check_mode=True)
    assert result["changed"] is True and client.writes() == []
    result, client = run({"size": 9}, current=EXISTING, check_mode=True)
    assert result["changed"] is True and client.writes() == []
    assert result["state"]["properties"]["size"] == 9


def test_immutable_field_refused_before_any_write():
    with pytest.raises(InputError) as err:
        run({"location": "northeurope"}, current=EXISTING)
    assert err.value.field == "location"


def test_required_on_create_names_the_option():
    with pytest.raises(InputError) as err:
        run({"size": 3})
    assert err.value.field == "location"


def test_bad_input_fails_before_any_request():
    client = FakeClient()
    module = FakeModule({"size": 0}, client)
    with pytest.raises(InputError):
        ensure(module, Widget(module))
    assert client.calls == []


def test_failed_provisioning_state_is_applied_again():
    failed = dict(EXISTING, properties=dict(EXISTING["properties"], provisioningState="Failed"))
    result, client = run({"size": 2}, current=failed)
    assert result["changed"] is True and len(client.writes()) == 1


def test_tags_purge_and_merge():
    result, client = run({"tags": {"b": "2"}}, current=EXISTING)
    assert client.writes()[0][2]["tags"] == {"b": "2"}
    result, client = run({"tags": {"b": "2"}, "purge_tags": False}, current=EXISTING)
    assert client.writes()[0][2]["tags"] == {"a": "1", "b": "2"}
    result, client = run({"tags": {"a": "1"}, "purge_tags": False}, current=EXISTING)
    assert result["changed"] is False


def test_absent_deletes_once():
    result, client = run({"state": "absent"}, current=EXISTING)
    assert result["changed"] is True and client.writes() == [("DELETE", RID)]
    result, client = run({"state": "absent"})
    assert result["changed"] is False and client.writes() == []
    result, client = run({"state": "absent"}, current=EXISTING, check_mode=True)
    assert result["changed"] is True and client.writes() == []


def test_wait_false_returns_after_the_put():
    class Slow(FakeClient):
        def put(self, rid, api, body):
            self.calls.append(("PUT", rid, body))
            return Response(201, {"Azure-AsyncOperation": "https://arm/op"},
                            dict(body, id=rid, properties={"provisioningState": "Creating"}))

    client = Slow()
    module = FakeModule({"location": "westeurope", "size": 1, "wait": False}, client)
    result = ensure(module, Widget(module))
    assert result["state"]["provisioning_state"] == "Creating"


def test_ids():
    assert provider_id(SUB, "rg", "Microsoft.Network/virtualNetworks/subnets", "v", "s") == (
        "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s" % SUB)
    with pytest.raises(ValueError):
        provider_id(SUB, "rg", "Microsoft.Network/virtualNetworks/subnets", "v")
    module = FakeModule({"resource_group": "rg"}, None)
    assert reference_id(module, "nsg1", "Microsoft.Network/networkSecurityGroups").endswith(
        "/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg1")
    assert reference_id(module, "/subscriptions/x/y", "T/t") == "/subscriptions/x/y"


@pytest.mark.parametrize("environ, given, expected", [
    ({}, None, 5.0),                                          # the documented default
    ({"AIRGAP_AZURE_POLL_INTERVAL": "0.25"}, None, 0.25),     # e.g. an emulator running 20 x faster
    ({"AIRGAP_AZURE_POLL_INTERVAL": "0.25"}, 2.0, 2.0),       # the task's own value wins
])
def test_poll_interval_from_the_task_then_the_environment_then_the_default(monkeypatch, environ, given, expected):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import AzureModule

    monkeypatch.delenv("AIRGAP_AZURE_POLL_INTERVAL", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    args = {"name": "w1"} if given is None else {"name": "w1", "poll_interval": given}
    with patch_module_args(args):
        module = AzureModule({"name": dict(type="str", required=True)})
    assert module.params["poll_interval"] == expected
