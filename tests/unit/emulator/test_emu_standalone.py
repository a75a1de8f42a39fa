"""python -m armemu as a separate process."""
import json
import os
import signal
import subprocess
import sys
import time

import requests

EMU_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "emulator"))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = EMU_DIR + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_standalone_start_use_stop(tmp_path):
    wd = tmp_path / "emu"
    proc = subprocess.Popen([sys.executable, "-m", "armemu", "--workdir", str(wd), "--port", "0",
                             "--time-scale", "0"], env=_env(), stderr=subprocess.PIPE, text=True)
    try:
        info_path = wd / "emulator.json"
        for _attempt in range(200):
            if info_path.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        info = json.loads(info_path.read_text())
        assert info["pid"] == proc.pid and info["url"].startswith("https://127.0.0.1:")
        assert set(info) == {"url", "ca_path", "tenant_id", "client_id", "client_secret",
                             "subscription_id", "pid"}
        s = requests.Session()
        s.trust_env = False
        s.verify = info["ca_path"]
        tok = s.post(f"{info['url']}/{info['tenant_id']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": info["client_id"],
            "client_secret": info["client_secret"], "scope": f"{info['url']}/.default"}).json()
        r = s.put(f"{info['url']}/subscriptions/{info['subscription_id']}/resourcegroups/x?api-version=2024-03-01",
                  json={"location": "westeurope"}, headers={"Authorization": f"Bearer {tok['access_token']}"})
        assert r.status_code == 201
        # --stop sends SIGTERM to the recorded pid
        out = subprocess.run([sys.executable, "-m", "armemu", "--workdir", str(wd), "--stop"],
                             env=_env(), capture_output=True, text=True, timeout=20, check=False)
        assert out.returncode == 0, out.stderr
        assert proc.wait(timeout=10) == 0
        err = proc.stderr.read()
        assert "PUT /subscriptions/" in err and "-> 201" in err  # one line per request
        assert not info_path.exists()
        # the CA is reused on the next start
        assert (wd / "ca.pem").exists()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)


def test_standalone_refuses_non_loopback(tmp_path):
    out = subprocess.run([sys.executable, "-m", "armemu", "--workdir", str(tmp_path), "--host", "10.1.2.3",
                          "--port", "0"], env=_env(), capture_output=True, text=True, timeout=20, check=False)
    assert out.returncode != 0 and "127.0.0.0/8" in out.stderr
    out = subprocess.run([sys.executable, "-m", "armemu", "--workdir", str(tmp_path), "--host", "0.0.0.0",
                          "--port", "0"], env=_env(), capture_output=True, text=True, timeout=20, check=False)
    assert out.returncode != 0


def test_certificates_are_reused(tmp_path):
    sys.path.insert(0, EMU_DIR)
    from armemu.certs import ensure_certs
    a = ensure_certs(str(tmp_path))
    before = [open(p, "rb").read() for p in a]
    b = ensure_certs(str(tmp_path))
    assert a == b and [open(p, "rb").read() for p in b] == before
    c = ensure_certs(str(tmp_path), host="127.0.0.2")  # new SAN: server cert renewed, CA kept
    assert open(c[0], "rb").read() == before[0] and open(c[1], "rb").read() != before[1]
