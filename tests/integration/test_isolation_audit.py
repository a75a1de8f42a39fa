"""playbooks/verify.yml against the ARM emulator: the isolation audit of a clean environment (seeded, and built
by the stage playbooks) finds nothing above info; every seeded leak is found with its severity and resource id;
fail_on fails the play after writing the reports; the audit only reads; the smoke test runs from the jump box
or says it skipped."""
import json
import os
import sys
import xml.etree.ElementTree as ET

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures"))
from isolation_seed import (  # noqa: E402 pylint: disable=wrong-import-position
    LEAKS, expected_findings, local_ssh_key, seed)
from openai_server import openai_server  # noqa: E402,F401 pylint: disable=wrong-import-position,unused-import

AUDIT_TASK = "Audit | Check the live resources for every egress path the isolated architecture forbids"
SMOKE_TASK = "Smoke | Ask for the models"


def task_result(run, prefix):
    for name, result in run.tasks():
        if name.split(" : ", 1)[-1].startswith(prefix):
            return result
    raise AssertionError("no task %r in %s" % (prefix, [n for n, _r in run.tasks()]))


def reports_of(folder, name="isolation-audit"):
    folder = str(folder)
    with open(os.path.join(folder, name + ".json")) as handle:
        data = json.load(handle)
    with open(os.path.join(folder, name + ".md")) as handle:
        markdown = handle.read()
    junit = ET.parse(os.path.join(folder, name + ".xml")).getroot()
    return data, markdown, junit


def above_info(findings):
    return [(f["id"], f["severity"], f["resource_id"]) for f in findings if f["severity"] != "info"]


def audit_requests(arm):
    return [r for r in arm.requests() if r["kind"] == "arm"]


def test_clean_environment_passes_reports_in_three_formats_and_only_reads(playbook, arm, tmp_path):
    variables = seed(arm, "rg-ia")
    node_rg = variables.pop("node_resource_group")
    arm.clear_requests()
    reports = tmp_path / "reports"
    run = playbook("verify.yml", dict(variables, verify_report_dir=str(reports)))
    assert run.rc == 0, run
    result = task_result(run, AUDIT_TASK)
    assert above_info(result["findings"]) == [] and result["passed"] is True
    assert result["counts"]["critical"] == result["counts"]["high"] == 0
    assert result["scope"]["node_resource_group"] == node_rg
    assert [c for c in result["checks"] if c["status"] not in ("passed", "skipped")] == []
    assert arm.writes() == [] and audit_requests(arm) and all(r["method"] == "GET" for r in audit_requests(arm))

    data, markdown, junit = reports_of(reports)
    assert data["passed"] is True and data["counts"] == result["counts"]
    assert "| Check | Area | Status | Findings | Note |" in markdown and "PASSED" in markdown
    suite = junit.find("testsuite")
    assert int(suite.get("tests")) == len(result["checks"]) and suite.get("failures") == "0"
    assert "Smoke test SKIPPED" in task_result(run, "Smoke | Say plainly")["msg"]

    check = playbook("verify.yml", dict(variables, verify_report_dir=str(tmp_path / "check")), check=True)
    assert check.rc == 0, check
    assert above_info(task_result(check, AUDIT_TASK)["findings"]) == [] and arm.writes() == []


def test_every_seeded_leak_is_found_and_fail_on_high_fails_the_play(playbook, arm, tmp_path):
    variables = seed(arm, "rg-ia-leaky", leaks=LEAKS)
    node_rg = variables.pop("node_resource_group")
    arm.clear_requests()
    run = playbook("verify.yml", dict(variables, verify_fail_on="none", verify_report_dir=str(tmp_path / "all")))
    assert run.rc == 0, run
    found = [(i, s, r.lower()) for i, s, r in above_info(task_result(run, AUDIT_TASK)["findings"])]
    expected = expected_findings(arm.subscription_id, "rg-ia-leaky", node_rg, LEAKS)
    missing = [e for e in expected if e not in found]
    assert not missing, "leaks not found: %s\nfound: %s" % (missing, found)
    unexpected = [f for f in found if f not in expected]
    assert not unexpected, "findings no leak explains: %s" % unexpected

    data, markdown, junit = reports_of(tmp_path / "all")
    assert data["passed"] is False and data["fail_on"] == "none"
    assert "| Severity | Check | Resource | Finding | Remediation |" in markdown
    assert "| critical | NET-001 No NAT gateway on a node or API-server subnet |" in markdown
    failed = sorted(c.get("name").split()[0] for c in junit.iter("testcase") if c.find("failure") is not None)
    assert failed == sorted({e[0] for e in expected})  # with fail_on none, JUnit fails from low up

    reports = tmp_path / "gate"
    gate = playbook("verify.yml", dict(variables, verify_fail_on="high", verify_report_dir=str(reports)))
    assert gate.rc != 0
    message = gate.failure_message()
    assert message.startswith("isolation audit: ") and "at or above high" in message and "NET-001" in message
    failed_task = task_result(gate, AUDIT_TASK)
    assert failed_task["failed"] and failed_task["blocking"] and \
        all(f["severity"] in ("critical", "high") for f in failed_task["blocking"])
    data, _markdown, junit = reports_of(reports)  # written before failing
    assert data["fail_on"] == "high"
    high = sorted({e[0] for e in expected if e[1] in ("critical", "high")})
    assert sorted(c.get("name").split()[0] for c in junit.iter("testcase") if c.find("failure") is not None) == high
    assert arm.writes() == []


@pytest.mark.parametrize("leak", ["nat_on_nodes", "zone_not_linked", "cluster_outbound"])
def test_one_leak_alone_is_found_and_gated_by_its_severity(playbook, arm, tmp_path, leak):
    variables = seed(arm, "rg-ia-one", leaks=[leak])
    node_rg = variables.pop("node_resource_group")
    expected = expected_findings(arm.subscription_id, "rg-ia-one", node_rg, [leak])
    worst = "critical" if any(e[1] == "critical" for e in expected) else expected[0][1]
    run = playbook("verify.yml", dict(variables, verify_fail_on=worst, verify_report_dir=""))
    assert run.rc != 0 and "at or above %s" % worst in run.failure_message()
    found = [(i, s, r.lower()) for i, s, r in above_info(task_result(run, AUDIT_TASK)["findings"])]
    assert sorted(found) == sorted(expected)


def test_bad_input_fails_before_any_request(playbook, arm):
    run = playbook("verify.yml", {"verify_resource_group": "rg-x", "verify_cluster":
                                  "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/virtualNetworks/v",
                                  "verify_report_dir": ""})
    assert run.rc != 0 and run.failure_message().startswith("cluster: ")
    assert audit_requests(arm) == []


def test_smoke_test_from_the_jump_box(playbook, arm, tmp_path, openai_server):  # pylint: disable=redefined-outer-name
    variables = seed(arm, "rg-ia-smoke")
    variables.pop("node_resource_group")
    server = openai_server(models=["llama-3.1-8b-instruct"], loading_seconds=0.3)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n"
        "jumpbox:\n  hosts:\n    jb-local:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")
    run = playbook("verify.yml", dict(variables, verify_base_url=server.base_url, verify_model="llama-3.1-8b-instruct",
                                      verify_report_dir=""), inventory=str(inventory))
    assert run.rc == 0, run
    smoke = task_result(run, SMOKE_TASK)
    assert smoke["answer"] and smoke["model"] == "llama-3.1-8b-instruct"
    assert smoke["_ansible_delegated_vars"]["ansible_host"] == "jb-local"  # ran on the jump box
    assert any(r["path"].endswith("/chat/completions") for r in server.requests)

    no_model = playbook("verify.yml", dict(variables, verify_base_url=server.base_url, verify_model="",
                                           verify_report_dir=""), inventory=str(inventory))
    assert no_model.rc != 0 and no_model.failure_message().startswith("verify_model:")


STAGES = "../tests/integration/playbooks/isolation_stages.yml"


def test_clean_environment_built_by_the_stage_playbooks_passes(playbook, arm, tmp_path):
    """network, registry, storage, cluster and jump box stages in one run (their facts feed the audit's defaults)."""
    reports = tmp_path / "reports"
    run = playbook(STAGES, {
        "isolated_network_resource_group": "rg-ia-stages",
        "container_registry_name": "acrstages",
        "model_storage_account_name": "ststages",
        "model_storage_model_size_gib": 20,
        "aks_cluster_name": "aks-stages",
        "aks_cluster_kubeconfig_path": str(tmp_path / "kube" / "aks-stages"),
        "jumpbox_vm_ssh_public_key": local_ssh_key(),
        "verify_report_dir": str(reports),
    })
    assert run.rc == 0, run
    result = task_result(run, AUDIT_TASK)
    assert above_info(result["findings"]) == [], result["findings"]
    scope = result["scope"]
    assert scope["cluster"].endswith("/managedClusters/aks-stages") and scope["registry"].endswith("/acrstages")
    assert scope["storage_account"].endswith("/storageAccounts/ststages")
    assert scope["jumpbox_subnet"].endswith("/subnets/snet-jumpbox") and scope["jumpbox_vm"].endswith("/vm-jumpbox")
    statuses = dict((c["id"], c["status"]) for c in result["checks"])
    for check_id in ("NET-001", "NET-002", "AKS-001", "AKS-002", "AKS-003", "ACR-001", "ACR-002", "ACR-003",
                     "STG-001", "STG-002", "DNS-001", "DNS-002", "JMP-001", "JMP-002", "JMP-003"):
        assert statuses[check_id] == "passed", (check_id, statuses[check_id])
    assert reports_of(reports)[0]["passed"] is True
