"""Retry schedule and error mapping."""
import email.utils

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import RetrySchedule
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import (
    ArmError,
    InputError,
    parse_arm_error,
)


@pytest.mark.parametrize("status,retry", [(429, True), (500, True), (502, True), (503, True), (504, True),
                                          (408, True), (400, False), (404, False), (409, False), (501, False)])
def test_retryable_statuses(status, retry):
    assert RetrySchedule.retryable_status(status) is retry


@pytest.mark.parametrize("code,retry", [("AnotherOperationInProgress", True), ("Conflict", False),
                                        ("InUseSubnetCannotBeUpdated", False), (None, False)])
def test_a_conflict_is_retried_only_while_another_operation_holds_the_resource(code, retry):
    assert RetrySchedule.retryable_status(409, code) is retry
    assert RetrySchedule.retryable_status(400, code) is False


def test_retry_after_seconds_and_date():
    assert RetrySchedule.parse_retry_after("7") == 7.0
    assert RetrySchedule.parse_retry_after("0") == 0.0
    assert RetrySchedule.parse_retry_after(None) is None
    assert RetrySchedule.parse_retry_after("soon") is None
    date = email.utils.formatdate(1000 + 30, usegmt=True)
    assert RetrySchedule.parse_retry_after(date, now=1000) == pytest.approx(30, abs=1)


def test_retry_after_is_honoured_exactly():
    schedule = RetrySchedule(max_attempts=5, total_timeout=100, rand=lambda: 0.0)
    assert schedule.next_delay(1, elapsed=0, retry_after=12) == 12


def test_backoff_is_jittered_exponential_and_capped():
    low = RetrySchedule(base=1, cap=10, rand=lambda: 0.0)
    high = RetrySchedule(base=1, cap=10, rand=lambda: 1.0)
    assert [low.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1, 2, 4, 5, 5]
    assert [high.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]


def test_attempts_and_total_time_are_bounded():
    schedule = RetrySchedule(max_attempts=3, total_timeout=10, rand=lambda: 1.0)
    assert schedule.next_delay(2, elapsed=0) == 2
    assert schedule.next_delay(3, elapsed=0) is None  # third try was the last
    assert schedule.next_delay(1, elapsed=9.5) is None  # sleeping would cross the budget
    assert schedule.next_delay(1, elapsed=0, retry_after=11) is None


def test_parse_arm_error_shapes():
    assert parse_arm_error(400, {"error": {"code": "InvalidParameter", "message": "bad", "target": "x",
                                           "details": [{"code": "D", "message": "m"}]}}) == (
        "InvalidParameter", "bad", "x", [{"code": "D", "message": "m"}])
    assert parse_arm_error(409, {"code": "Conflict", "message": "busy"})[:2] == ("Conflict", "busy")
    assert parse_arm_error(502, None, "<html>bad gateway</html>")[:2] == ("HttpStatus502", "<html>bad gateway</html>")


def test_errors_render_for_the_user():
    err = ArmError(400, "NetcfgSubnetRangeOutsideVnet", "Subnet x is outside", action="create or update /s/x")
    assert err.to_result()["msg"] == "create or update /s/x failed: NetcfgSubnetRangeOutsideVnet: Subnet x is outside"
    assert err.to_result()["error"]["code"] == "NetcfgSubnetRangeOutsideVnet"
    assert InputError("subnets.nodes.prefix", "bad").to_result() == {"msg": "subnets.nodes.prefix: bad",
                                                                     "field": "subnets.nodes.prefix"}
