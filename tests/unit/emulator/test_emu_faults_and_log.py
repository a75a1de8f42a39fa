"""Fault injection, the request log, the control API and time configuration."""
import pytest

from armemu.testing import NET_API, RG_API

VNET_BODY = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}


def test_status_fault_429_with_retry_after(client, arm):
    client.make_rg()
    fid = arm.add_fault(method="PUT", path=r"/virtualNetworks/", status=429, retry_after=7)
    r = client.put(client.vnet("rg1", "v"), VNET_BODY)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert client.body(r)["error"]["code"] == "TooManyRequests"
    assert arm.resources().get(client.vnet("rg1", "v")) is None  # not handled
    assert client.put(client.vnet("rg1", "v"), VNET_BODY).status_code == 201  # times=1
    entries = [e for e in arm.writes() if e["resource_type"] == "Microsoft.Network/virtualNetworks"]
    assert [(e["status"], e["fault"]) for e in entries] == [(429, fid), (201, None)]
    assert arm.faults()[0]["remaining"] == 0 and arm.faults()[0]["hits"] == 1


def test_status_fault_5xx_times_and_matching(client, arm):
    client.make_rg()
    arm.add_fault(status=500, times=2, resource_type="Microsoft.Network/virtualNetworks")
    arm.add_fault(method="GET", status=503, code="ServerBusy", message="try later")
    assert client.put(client.nsg("rg1", "n"), {"location": "westeurope"}).status_code == 201  # other type
    assert client.put(client.vnet("rg1", "v"), VNET_BODY).status_code == 500
    r = client.get(client.vnet("rg1", "v"))
    assert r.status_code == 500 and client.body(r)["error"]["code"] == "InternalServerError"
    assert client.put(client.vnet("rg1", "v"), VNET_BODY).status_code == 201
    r = client.get(client.rg("rg1"), api_version=RG_API)
    assert r.status_code == 503 and client.body(r)["error"] == {"code": "ServerBusy", "message": "try later"}
    assert client.get(client.rg("rg1"), api_version=RG_API).status_code == 200
    arm.add_fault(status=429, times=0)  # unlimited
    for _attempt in range(3):
        assert client.get(client.rg("rg1"), api_version=RG_API).status_code == 429
    arm.clear_faults()
    assert client.get(client.rg("rg1"), api_version=RG_API).status_code == 200


def test_operation_failed_fault(client, arm):
    client.make_rg()
    arm.add_fault(method="PUT", resource_type="Microsoft.Network/virtualNetworks", operation="Failed",
                  code="InternalServerError", message="boom")
    r = client.put(client.vnet("rg1", "v"), VNET_BODY)
    assert r.status_code == 201 and client.body(r)["properties"]["provisioningState"] == "Updating"
    assert client.poll(r) == {"status": "Failed", "error": {"code": "InternalServerError", "message": "boom"}}
    assert client.body(client.get(client.vnet("rg1", "v")))["properties"]["provisioningState"] == "Failed"
    # a second PUT succeeds and repairs it
    r = client.put(client.vnet("rg1", "v"), VNET_BODY)
    assert client.poll(r)["status"] == "Succeeded"
    # failed delete: the resource stays, Failed
    arm.add_fault(method="DELETE", path="virtualNetworks/v$", operation="Failed", code="Conflict",
                  message="stuck")
    r = client.delete(client.vnet("rg1", "v"))
    assert client.poll(r)["error"]["code"] == "Conflict"
    loc = client.get(r.headers["Location"], api_version=None)
    assert loc.status_code == 400 and client.body(loc)["error"]["message"] == "stuck"
    g = client.body(client.get(client.vnet("rg1", "v")))
    assert g["properties"]["provisioningState"] == "Failed"


def test_duration_fault_and_operation_poll_fault(client, arm):
    client.make_rg()
    arm.set_time_scale(1.0)
    arm.add_fault(method="PUT", resource_type="Microsoft.Network/networkSecurityGroups", duration=120)
    r = client.put(client.nsg("rg1", "n"), {"location": "westeurope"})
    arm.advance(60)  # nsg default would be 5 s
    assert client.body(client.get(r.headers["Azure-AsyncOperation"]))["status"] == "InProgress"
    arm.advance(61)
    arm.add_fault(kind="operation", status=503, retry_after=1)
    p = client.get(r.headers["Azure-AsyncOperation"])
    assert p.status_code == 503 and p.headers["Retry-After"] == "1"
    assert client.body(client.get(r.headers["Azure-AsyncOperation"]))["status"] == "Succeeded"
    polls = [e for e in arm.requests() if e["kind"] == "operation"]
    assert [e["status"] for e in polls] == [200, 503, 200]
    assert all(e["resource_type"] == "Microsoft.Network/networkSecurityGroups" for e in polls)


def test_fault_rule_validation(arm):
    with pytest.raises(ValueError):
        arm.add_fault(path="x")  # no effect
    with pytest.raises(ValueError):
        arm.add_fault(status=500, operation="Failed")
    with pytest.raises(ValueError):
        arm.add_fault(status=500, bogus=1)


def test_request_log_entries_and_writes(client, arm):
    client.make_rg()
    r = client.put(client.vnet("rg1", "v"), VNET_BODY)
    client.poll(r)
    client.get(client.vnet("rg1", "v"))
    client.patch(client.vnet("rg1", "v"), {"tags": {"a": "b"}})
    client.delete(client.vnet("rg1", "v"))
    entries = arm.requests()
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert {"seq", "time", "method", "path", "api_version", "status", "kind", "resource_type",
            "write"} <= set(entries[-1])
    arm_entries = [e for e in entries if e["kind"] != "token"]
    assert [(e["method"], e["kind"], e["write"], e["status"]) for e in arm_entries] == [
        ("PUT", "arm", True, 201), ("PUT", "arm", True, 201), ("GET", "operation", False, 200),
        ("GET", "arm", False, 200), ("PATCH", "arm", True, 200), ("DELETE", "arm", True, 202)]
    put = arm_entries[1]
    assert put["path"] == client.vnet("rg1", "v") and put["api_version"] == NET_API
    assert put["resource_type"] == "Microsoft.Network/virtualNetworks" and put["body"] == VNET_BODY
    assert "?" not in put["path"]
    writes = arm.writes()
    assert [(w["method"], w["resource_type"]) for w in writes] == [
        ("PUT", "Microsoft.Resources/resourceGroups"), ("PUT", "Microsoft.Network/virtualNetworks"),
        ("PATCH", "Microsoft.Network/virtualNetworks"), ("DELETE", "Microsoft.Network/virtualNetworks")]
    arm.clear_requests()
    assert arm.requests() == [] and arm.writes() == []


def test_control_api(client, arm, http):
    base = f"{arm.url}/_emulator"
    client.make_rg()
    assert http.get(f"{base}/health").json() == {"status": "ok"}
    r = http.post(f"{base}/faults", json={"method": "GET", "path": "resourceGroups/rg1$", "status": 503})
    assert r.status_code == 201 and r.json()["id"] >= 1
    assert http.get(f"{base}/faults").json()["value"][0]["status"] == 503
    assert client.get(client.rg("rg1"), api_version=RG_API).status_code == 503
    assert http.post(f"{base}/faults", json={"status": 500, "nonsense": True}).status_code == 400
    assert http.delete(f"{base}/faults").status_code == 204
    assert http.get(f"{base}/faults").json()["value"] == []
    log = http.get(f"{base}/requests").json()["value"]
    assert any(e["status"] == 503 and e["fault"] for e in log)
    assert all(e["kind"] != "control" or "/requests" not in e["path"] for e in log)
    assert [e["method"] for e in http.get(f"{base}/requests?writes=1").json()["value"]] == ["PUT"]
    assert http.get(f"{base}/resources").json()[client.rg("rg1")]["name"] == "rg1"
    cfg = http.post(f"{base}/config", json={"time_scale": 0.5,
                                            "durations": {"microsoft.network/virtualnetworks": 3}}).json()
    assert cfg["time_scale"] == 0.5 and cfg["durations"]["Microsoft.Network/virtualNetworks"] == 3
    assert http.get(f"{base}/config").json()["time_scale"] == 0.5
    assert http.post(f"{base}/config", json={"time_scale": -1}).status_code == 400
    assert http.delete(f"{base}/requests").status_code == 204
    assert http.get(f"{base}/requests").json()["value"] == []
    assert http.post(f"{base}/reset").status_code == 204
    assert http.get(f"{base}/resources").json() == {}
    assert arm.time_scale == 0.0  # reset restores the configured time scale
    info = http.get(f"{base}/info").json()
    assert info["url"] == arm.url and info["subscription_id"] == arm.subscription_id
