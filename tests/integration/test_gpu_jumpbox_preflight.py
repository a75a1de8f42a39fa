"""Bad input to the gpu_jumpbox role fails early, naming the variable.

Each case runs ansible-playbook against this machine (connection=local, check
mode) with one bad variable over a good baseline; the run must fail in the
role's argument validation or its preflight -- before the driver, runtime or
any other task list -- with a message that names the variable. Every mirror of
the baseline is a small HTTP server on 127.0.0.1; no other address is used.
"""

import json
import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu_jumpbox_preflight")
BIN = os.path.dirname(sys.executable)


class MirrorHandler(BaseHTTPRequestHandler):
    """200 for anything under /ok/, 404 elsewhere; HEAD and GET."""

    def _answer(self):
        status = 200 if self.path.startswith("/ok/") else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def mirror():
    server = ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    return port


def baseline(mirror):
    return {
        "gpu_jumpbox_nvidia_toolkit_repo_url": mirror + "/ok/stable/deb/$(ARCH)",
        "gpu_jumpbox_nvidia_toolkit_repo_key_url": mirror + "/ok/gpgkey",
        "gpu_jumpbox_debian_mirror_url": mirror + "/ok/debian",
        "gpu_jumpbox_debian_security_mirror_url": mirror + "/ok/debian-security",
        "gpu_jumpbox_pip_index_url": mirror + "/ok/simple/",
        "gpu_jumpbox_acr_login_server": "airgaptest.azurecr.io",
        "gpu_jumpbox_acr_imds_url": "http://127.0.0.1:9/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x",
        "gpu_jumpbox_nfs_storage_account": "airgapmodels",
        "gpu_jumpbox_nfs_share": "weights",
        "gpu_jumpbox_nfs_mount_state": "present",
        "ansible_python_interpreter": sys.executable,
    }


def facts(distribution, version):
    return {
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": version.split(".")[0],
        "kernel": "6.8.0-1015-azure",
        "architecture": "x86_64",
        "virtualization_role": "guest",
        "virtualization_type": "kvm",
        "service_mgr": "systemd",
    }


def run(tmp_path, variables, entry="main"):
    variables = dict(variables, role_entry=entry)
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LIBRARY=os.path.join(HERE, "library"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "--check", os.path.join(HERE, "preflight.yml"),
         "-e", "@" + str(vars_file)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    start = proc.stdout.find("{")
    events = json.loads(proc.stdout[start:]) if start >= 0 else {}
    tasks = [(t["task"]["name"].split(" : ", 1)[-1], t["hosts"].get("localhost", {}))
             for p in events.get("plays", []) for t in p["tasks"]]
    return proc, tasks


def first_failure(tasks):
    for name, result in tasks:
        if result.get("failed"):
            for item in result.get("results") or []:
                if item.get("failed"):
                    return name, item.get("msg", "")
            return name, result.get("msg", "")
    return None, ""


def test_baseline_passes_the_preflight(mirror, tmp_path):
    proc, tasks = run(tmp_path, baseline(mirror), entry="preflight")
    assert proc.returncode == 0, (first_failure(tasks), proc.stderr[-2000:])
    names = [name for name, _result in tasks]
    assert "Preflight | Ask each mirror for its index" in names
    probed = [r["item"]["var"] for n, res in tasks if n == "Preflight | Ask each mirror for its index"
              for r in res["results"]]
    assert probed[:2] == ["gpu_jumpbox_nvidia_toolkit_repo_url", "gpu_jumpbox_nvidia_toolkit_repo_key_url"]
    assert "gpu_jumpbox_pip_index_url" in probed


@pytest.mark.parametrize(
    "platform, runtime, extra",
    [
        (("Ubuntu", "22.04"), "docker", {}),
        (("Ubuntu", "24.04"), "podman", {"gpu_jumpbox_nvidia_driver_branch": "550"}),
        (("Debian", "12.7"), "podman", {"gpu_jumpbox_nfs_mount_options": "vers=4.1,nconnect=4"}),
    ],
)
def test_supported_platforms_pass(mirror, tmp_path, platform, runtime, extra):
    variables = dict(baseline(mirror), fake_facts=facts(*platform), gpu_jumpbox_container_runtime=runtime, **extra)
    proc, tasks = run(tmp_path, variables, entry="preflight")
    assert proc.returncode == 0, first_failure(tasks)


CASES = [
    # (id, variables over the baseline, fake platform or None, words the message must hold)
    ("unsupported-distribution", {}, ("Fedora", "40"), ["unsupported distribution", "Fedora 40 is not supported"]),
    ("unsupported-release", {}, ("Ubuntu", "20.04"), ["unsupported distribution", "Ubuntu 20.04 is not supported"]),
    ("debian-11", {}, ("Debian", "11.9"), ["unsupported distribution", "Debian 11.9"]),
    ("runtime-choice", {"gpu_jumpbox_container_runtime": "crio"}, None, ["gpu_jumpbox_container_runtime", "crio"]),
    ("podman-without-cdi", {"gpu_jumpbox_container_runtime": "podman"}, ("Ubuntu", "22.04"),
     ["gpu_jumpbox_container_runtime", "CDI"]),
    ("driver-branch", {"gpu_jumpbox_nvidia_driver_branch": "latest"}, ("Ubuntu", "24.04"),
     ["gpu_jumpbox_nvidia_driver_branch", "latest"]),
    ("docker-source", {"gpu_jumpbox_docker_source": "snap"}, None, ["gpu_jumpbox_docker_source"]),
    ("apt-format", {"gpu_jumpbox_apt_source_format": "yaml"}, None, ["gpu_jumpbox_apt_source_format"]),
    ("toolkit-url-scheme", {"gpu_jumpbox_nvidia_toolkit_repo_url": "ftp://mirror/nvidia"}, None,
     ["gpu_jumpbox_nvidia_toolkit_repo_url", "http:// or https://"]),
    ("toolkit-repo-down", {"gpu_jumpbox_nvidia_toolkit_repo_url": "CLOSED/stable/deb/$(ARCH)"}, None,
     ["gpu_jumpbox_nvidia_toolkit_repo_url", "does not answer"]),
    ("toolkit-key-404", {"gpu_jumpbox_nvidia_toolkit_repo_key_url": "MIRROR/missing/gpgkey"}, None,
     ["gpu_jumpbox_nvidia_toolkit_repo_key_url", "HTTP 404"]),
    ("pip-index-down", {"gpu_jumpbox_pip_index_url": "CLOSED/simple/"}, None,
     ["gpu_jumpbox_pip_index_url", "does not answer"]),
    ("debian-mirror-404", {"gpu_jumpbox_debian_mirror_url": "MIRROR/nothing-here"}, ("Debian", "12"),
     ["gpu_jumpbox_debian_mirror_url", "HTTP 404"]),
    ("docker-repo-down", {"gpu_jumpbox_docker_source": "docker", "gpu_jumpbox_docker_repo_url": "CLOSED/linux/debian"},
     None, ["gpu_jumpbox_docker_repo_url", "does not answer"]),
    ("mount-options-nfs3", {"gpu_jumpbox_nfs_mount_options": ["vers=3", "nconnect=4"]}, None,
     ["gpu_jumpbox_nfs_mount_options", "vers=4"]),
    ("mount-options-no-version", {"gpu_jumpbox_nfs_mount_options": "minorversion=1,sec=sys"}, None,
     ["gpu_jumpbox_nfs_mount_options", "vers=4"]),
    ("mount-options-two-versions", {"gpu_jumpbox_nfs_mount_options": ["vers=4", "nfsvers=3"]}, None,
     ["gpu_jumpbox_nfs_mount_options"]),
    ("mount-point-relative", {"gpu_jumpbox_nfs_mount_point": "models"}, None, ["gpu_jumpbox_nfs_mount_point"]),
    ("mount-state", {"gpu_jumpbox_nfs_mount_state": "remounted"}, None, ["gpu_jumpbox_nfs_mount_state"]),
    ("storage-account-name", {"gpu_jumpbox_nfs_storage_account": "Bad_Account"}, None,
     ["gpu_jumpbox_nfs_storage_account"]),
    ("share-without-account", {"gpu_jumpbox_nfs_storage_account": ""}, None, ["gpu_jumpbox_nfs_storage_account"]),
    ("login-server-url", {"gpu_jumpbox_acr_login_server": "https://airgaptest.azurecr.io"}, None,
     ["gpu_jumpbox_acr_login_server"]),
    ("refresh-margin", {"gpu_jumpbox_acr_refresh_margin": -5}, None, ["gpu_jumpbox_acr_refresh_margin"]),
    ("reboot-timeout-type", {"gpu_jumpbox_reboot_timeout": "soon"}, None, ["gpu_jumpbox_reboot_timeout"]),
]


@pytest.mark.parametrize("variables, platform, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_early_naming_the_variable(mirror, closed_port, tmp_path, variables, platform, words):
    closed = "http://127.0.0.1:%d" % closed_port
    variables = {k: (v.replace("CLOSED", closed).replace("MIRROR", mirror) if isinstance(v, str) else v)
                 for k, v in variables.items()}
    run_vars = dict(baseline(mirror), **variables)
    if platform:
        run_vars["fake_facts"] = facts(*platform)
    proc, tasks = run(tmp_path, run_vars)
    assert proc.returncode != 0, "the run should have failed"
    task, message = first_failure(tasks)
    assert task is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    # it failed in argument validation or preflight, before any other task list
    assert task.startswith("Preflight | ") or task.startswith("Validating arguments"), task
    started = [name for name, _result in tasks]
    assert not [n for n in started if n.split(" | ")[0] in ("Driver", "Runtime", "Toolkit", "NFS", "Tools")], started
    for word in words:
        assert word in message, message


def test_the_role_never_uses_apt_key():
    """Keys go to gpu_jumpbox_apt_keyring_dir and are named with signed-by; apt-key is deprecated."""
    usage = re.compile(r"apt_key\s*:|apt-key\s+(add|adv)|trusted\.gpg")
    role = os.path.join(ROOT, "roles", "gpu_jumpbox")
    offenders = []
    for dirpath, _dirs, files in os.walk(role):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            if usage.search(text):
                offenders.append(os.path.relpath(path, ROOT))
    assert offenders == []
