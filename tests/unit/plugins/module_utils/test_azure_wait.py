"""Long-running operation polling with a fake client and a fake clock."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, WaitTimeout


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class FakeClient:
    def __init__(self, polls=(), gets=()):
        self.polls = list(polls)
        self.gets = list(gets)
        self.polled = []

    def poll(self, url):
        self.polled.append(url)
        return self.polls.pop(0)

    def get(self, rid, api):
        return self.gets.pop(0)


def accepted(header, url, retry_after="1"):
    return Response(201, {header: url, "Retry-After": retry_after}, {"properties": {"provisioningState": "Updating"}})


def test_finished_response_needs_no_poll():
    client = FakeClient()
    clock = Clock()
    body = azure_wait.wait_for_operation(client, Response(200, {}, {"id": "x"}), azure_wait.Deadline(10, clock),
                                         "op", sleep=clock.sleep)
    assert body == {"id": "x"} and client.polled == []


def test_async_operation_polled_until_succeeded_honouring_retry_after():
    clock = Clock()
    client = FakeClient(polls=[Response(200, {"Retry-After": "2"}, {"status": "InProgress"}),
                               Response(200, {}, {"status": "Succeeded"})])
    azure_wait.wait_for_operation(client, accepted("Azure-AsyncOperation", "https://arm/op/1"),
                                  azure_wait.Deadline(60, clock), "op", sleep=clock.sleep)
    assert client.polled == ["https://arm/op/1", "https://arm/op/1"]
    assert clock.sleeps == [1.0, 2.0]


def test_failed_operation_raises_its_own_error():
    clock = Clock()
    client = FakeClient(polls=[Response(200, {}, {"status": "Failed", "error": {
        "code": "SubnetIsFull", "message": "no room"}})])
    with pytest.raises(ArmError) as err:
        azure_wait.wait_for_operation(client, accepted("Azure-AsyncOperation", "u"), azure_wait.Deadline(60, clock),
                                      "create x", sleep=clock.sleep)
    assert err.value.code == "SubnetIsFull"
    assert "create x failed: SubnetIsFull: no room" == err.value.message


def test_location_operation_polled_until_not_202():
    clock = Clock()
    client = FakeClient(polls=[Response(202, {}, None), Response(200, {}, {"done": True})])
    result = azure_wait.wait_for_operation(client, accepted("Location", "https://arm/loc"),
                                           azure_wait.Deadline(60, clock), "op", sleep=clock.sleep)
    assert result == {"done": True}


def test_timeout_names_the_operation_and_budget():
    clock = Clock()
    client = FakeClient(polls=[Response(200, {"Retry-After": "10"}, {"status": "InProgress"})] * 10)
    with pytest.raises(WaitTimeout) as err:
        azure_wait.wait_for_operation(client, accepted("Azure-AsyncOperation", "u", "10"),
                                      azure_wait.Deadline(25, clock), "create cluster", sleep=clock.sleep)
    assert "timed out after 25s waiting for create cluster" in err.value.message
    assert clock.now == pytest.approx(25)


def test_poll_interval_is_bounded():
    clock = Clock()
    client = FakeClient(polls=[Response(200, {}, {"status": "Succeeded"})])
    azure_wait.wait_for_operation(client, accepted("Azure-AsyncOperation", "u", "3600"),
                                  azure_wait.Deadline(600, clock), "op", sleep=clock.sleep)
    assert clock.sleeps == [azure_wait.MAX_POLL]


def test_wait_for_provisioning_reads_until_terminal():
    clock = Clock()
    client = FakeClient(gets=[{"properties": {"provisioningState": "Creating"}},
                              {"properties": {"provisioningState": "Updating"}},
                              {"properties": {"provisioningState": "Succeeded"}}])
    body = azure_wait.wait_for_provisioning(client, "id", "v", azure_wait.Deadline(60, clock), "x",
                                            sleep=clock.sleep, poll=1)
    assert body["properties"]["provisioningState"] == "Succeeded" and clock.sleeps == [1, 1]
