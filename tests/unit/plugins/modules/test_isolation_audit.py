"""isolation_audit module: the run on a fake ARM (result, reports, fail_on), bad report names refused first."""
import json
import os
import sys

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.modules import isolation_audit as mod

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
from test_isolation_audit import (  # noqa: E402 pylint: disable=wrong-import-position
    GROUPS, NODES, PARAMS, SUB, FakeArm, clean_world)


class FakeModule:
    def __init__(self, params, world):
        self.params = dict({"extra_resource_groups": [], "private_dns_zones": None, "fail_on": "high",
                            "report_dir": None, "report_formats": ["json", "markdown", "junit"],
                            "report_name": "isolation-audit"}, **PARAMS)
        self.params.update(params)
        self.arm = FakeArm(world, GROUPS)
        self.subscription_id = SUB
        self.settings_checked = False

    def check_settings(self):
        self.settings_checked = True

    def client(self):
        return self.arm


def test_clean_run_returns_the_verdict_and_writes_the_reports(tmp_path):
    module = FakeModule({"report_dir": str(tmp_path / "r")}, clean_world())
    result = mod.run(module)
    assert result["changed"] is False and result["passed"] is True and result["blocking"] == []
    assert sorted(result["reports"]) == ["json", "junit", "markdown"]
    assert result["scope"]["node_subnets"] == [NODES] and result["scope"]["node_resource_group"]
    assert json.load(open(result["reports"]["json"]))["scope"] == result["scope"]


def test_findings_at_or_above_fail_on_fail_after_the_reports_are_written(tmp_path):
    world = clean_world()
    world[NODES]["properties"]["natGateway"] = {"id": "/x/natGateways/ng"}
    module = FakeModule({"report_dir": str(tmp_path), "fail_on": "critical"}, world)
    with pytest.raises(mod.AuditFailed) as err:
        mod.run(module)
    result = err.value.to_result()
    assert result["msg"].startswith("isolation audit: 1 finding(s) at or above critical: NET-001 critical ")
    assert result["passed"] is False and result["changed"] is False
    assert os.path.exists(result["reports"]["junit"])

    module = FakeModule({"fail_on": "none"}, world)
    assert mod.run(module)["blocking"] == []


@pytest.mark.parametrize("name", ["", "..", "a/b", "../x"])
def test_bad_report_name_is_refused_before_anything(name):
    module = FakeModule({"report_name": name}, clean_world())
    with pytest.raises(InputError) as err:
        mod.run(module)
    assert err.value.field == "report_name" and not module.settings_checked and module.arm.calls == []
