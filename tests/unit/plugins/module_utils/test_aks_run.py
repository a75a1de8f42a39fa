# -*- coding: utf-8 -*-
"""plugins/module_utils/aks_run.py: the context zip, the apply command, polling the command result."""
import base64
import io
import zipfile

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import aks_run
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError, WaitTimeout
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_wait import Deadline

CID = aks_run.cluster_id("sub", "rg", "aks-llm")
LOCATION = "https://arm" + CID + "/commandResults/abc123?api-version=2025-10-01"


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
    def __init__(self, first, polls=()):
        self.first = first
        self.polls = list(polls)
        self.posted = []
        self.polled = []

    def post(self, path, api_version, body=None, action=None):
        self.posted.append((path, api_version, body))
        return self.first

    def poll(self, url):
        self.polled.append(url)
        return self.polls.pop(0)


def result(state="succeeded", exit_code=0, logs="ok\n", reason=None):
    props = {"provisioningState": state, "exitCode": exit_code, "startedAt": "t0", "finishedAt": "t1", "logs": logs}
    if reason:
        props["reason"] = reason
    return {"id": "abc123", "properties": props}


def unzip(context):
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(context)))
    return dict((info.filename, archive.read(info).decode()) for info in archive.infolist())


def test_cluster_id():
    assert CID == "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-llm"


def test_context_zip_keeps_the_directory_under_its_folder_and_is_deterministic(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "10-b.yaml").write_text("b")
    (tmp_path / "m" / "00-a.yaml").write_text("a")
    (tmp_path / "m" / ".hidden").write_text("x")
    (tmp_path / "extra.sh").write_text("echo")
    context, names = aks_run.context_zip(directory=str(tmp_path / "m"), files=[str(tmp_path / "extra.sh")])
    assert names == ["manifests/00-a.yaml", "manifests/10-b.yaml", "extra.sh"]
    assert unzip(context) == {"manifests/00-a.yaml": "a", "manifests/10-b.yaml": "b", "extra.sh": "echo"}
    assert aks_run.context_zip(directory=str(tmp_path / "m"), files=[str(tmp_path / "extra.sh")])[0] == context


def test_context_zip_refuses_missing_and_clashing_files(tmp_path):
    with pytest.raises(InputError, match="context_dir"):
        aks_run.context_zip(directory=str(tmp_path / "none"))
    with pytest.raises(InputError, match="files"):
        aks_run.context_zip(files=[str(tmp_path / "none.yaml")])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.yaml").write_text("1")
    (tmp_path / "b" / "x.yaml").write_text("2")
    with pytest.raises(InputError, match="same name"):
        aks_run.context_zip(files=[str(tmp_path / "a" / "x.yaml"), str(tmp_path / "b" / "x.yaml")])
    assert aks_run.context_zip() == ("", [])


def test_apply_command_diffs_first_then_applies_and_waits():
    command = aks_run.apply_command("manifests", "airgap.aks_inference", ["inference/llm"], 1800)
    assert command.startswith("if kubectl diff --server-side --field-manager=airgap.aks_inference --force-conflicts "
                              "-f manifests/ >/dev/null 2>&1; then echo 'airgap.aks_inference: unchanged'; else "
                              "kubectl apply --server-side")
    assert command.endswith("fi && kubectl -n inference rollout status deployment/llm --timeout=1800s")


def test_apply_command_quotes_and_checks_rollouts():
    assert "-f 'my dir'/" in aks_run.apply_command("my dir", "fm")
    with pytest.raises(InputError, match="rollouts"):
        aks_run.apply_command("m", "fm", ["llm"])


def test_changes_are_told_by_the_marker():
    assert aks_run.applied_changes("deployment.apps/llm serverside-applied\nairgap.aks_inference: applied\n")
    assert not aks_run.applied_changes("airgap.aks_inference: unchanged\ndeployment \"llm\" successfully rolled out")
    # the marker inside an echoed command line is not the marker
    assert aks_run.applied_changes("$ if kubectl diff ...; then echo 'airgap.aks_inference: unchanged'; fi")


def test_request_body_carries_the_cluster_token_only_when_given():
    assert aks_run.request_body("kubectl get ns") == {"command": "kubectl get ns", "context": ""}
    assert aks_run.request_body("c", "Zm9v", "tok") == {"command": "c", "context": "Zm9v", "clusterToken": "tok"}


def test_command_id_of():
    assert aks_run.command_id_of(LOCATION) == "abc123"
    assert aks_run.command_id_of("https://arm/operations/x") is None
    assert aks_run.command_id_of(None) is None


def test_polls_the_location_until_the_result_is_final():
    clock = Clock()
    first = Response(202, {"Location": LOCATION, "Retry-After": "2"}, None)
    client = FakeClient(first, polls=[Response(202, {"Location": LOCATION}, None),
                                      Response(200, {}, result(logs="applied\n"))])
    response, url = aks_run.start(client, CID, aks_run.request_body("kubectl get ns"))
    assert client.posted == [(CID + "/runCommand", "2025-10-01", {"command": "kubectl get ns", "context": ""})]
    outcome = aks_run.wait_for_result(client, response, url, Deadline(60, clock), "cmd", poll=1.0, sleep=clock.sleep)
    assert client.polled == [LOCATION, LOCATION] and clock.sleeps == [2.0, 1.0]
    assert outcome == {"command_id": "abc123", "provisioning_state": "succeeded", "exit_code": 0, "started_at": "t0",
                       "finished_at": "t1", "logs": "applied\n", "reason": None}
    assert aks_run.check_result(outcome, "cmd") is outcome


def test_a_result_in_the_first_answer_needs_no_poll():
    clock = Clock()
    client = FakeClient(Response(200, {}, result()))
    response, url = aks_run.start(client, CID, aks_run.request_body("c"))
    outcome = aks_run.wait_for_result(client, response, url, Deadline(60, clock), "cmd", sleep=clock.sleep)
    assert client.polled == [] and outcome["exit_code"] == 0


def test_a_running_result_is_polled_again():
    clock = Clock()
    client = FakeClient(Response(202, {"Location": LOCATION}, None),
                        polls=[Response(200, {}, {"id": "abc123", "properties": {"provisioningState": "Running"}}),
                               Response(200, {}, result())])
    response, url = aks_run.start(client, CID, aks_run.request_body("c"))
    assert aks_run.wait_for_result(client, response, url, Deadline(60, clock), "cmd", poll=0.5,
                                   sleep=clock.sleep)["provisioning_state"] == "succeeded"
    assert len(client.polled) == 2


def test_timeout_says_the_command_may_still_run():
    clock = Clock()
    client = FakeClient(Response(202, {"Location": LOCATION}, None), polls=[Response(202, {}, None)] * 20)
    response, url = aks_run.start(client, CID, aks_run.request_body("c"))
    with pytest.raises(WaitTimeout, match="abc123.*may still be running"):
        aks_run.wait_for_result(client, response, url, Deadline(10, clock), "cmd", poll=3.0, sleep=clock.sleep)


def test_no_location_and_no_result_is_an_error():
    client = FakeClient(Response(202, {}, None))
    response, url = aks_run.start(client, CID, aks_run.request_body("c"))
    with pytest.raises(aks_run.RunCommandFailed, match="without a command result"):
        aks_run.wait_for_result(client, response, url, Deadline(10, Clock()), "cmd")


@pytest.mark.parametrize("body, match", [
    (result(state="failed", exit_code=None, logs="", reason="ImagePullBackoff"), "ended failed: ImagePullBackoff"),
    (result(exit_code=1, logs="error: unable to recognize\n"), "exited 1: error: unable to recognize"),
])
def test_failures_carry_the_reason_or_the_logs(body, match):
    outcome = aks_run.normalize(body)
    with pytest.raises(aks_run.RunCommandFailed, match=match) as err:
        aks_run.check_result(outcome, "the command")
    assert err.value.to_result()["command"]["command_id"] == "abc123"
