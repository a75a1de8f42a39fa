# -*- coding: utf-8 -*-
"""ansible-playbook runs model_weights (connection=local) against the fake Hub on 127.0.0.1.

The run goes through AnsiballZ like on the jump box: module_utils shipped with the module, the real
huggingface_hub, the token as a no_log option. HTTP(S)_PROXY point at a closed port on 127.0.0.1 and
NO_PROXY lists only the loopback, so a request to any other host fails here instead of leaving.
"""
import hashlib
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from hf_hub_server import HubServer  # noqa: E402  pylint: disable=wrong-import-position
from weights_model import make_model  # noqa: E402  pylint: disable=wrong-import-position

pytest.importorskip("huggingface_hub")
REPO = "acme/tiny-llm"
TOKEN = "hf_integration_secret_987"

PLAYBOOK = """
- name: Stage model weights
  hosts: localhost
  gather_facts: false
  vars:
    common: &common
      source: huggingface
      repo_id: {repo}
      revision: main
      endpoint: "{{{{ hub_endpoint }}}}"
      hf_token: "{{{{ hf_token }}}}"
      download_dir: "{{{{ work }}}}/hf-cache"
      require_mount: false
  tasks:
    - name: Check mode on an empty share
      airgap.aks_inference.model_weights:
        <<: *common
        dest: "{{{{ work }}}}/share/llm"
      check_mode: true
      register: check

    - name: First run
      airgap.aks_inference.model_weights:
        <<: *common
        dest: "{{{{ work }}}}/share/llm"
        prune: true
      register: first

    - name: Second run
      airgap.aks_inference.model_weights:
        <<: *common
        dest: "{{{{ work }}}}/share/llm"
        prune: true
      register: second

    - name: Verify
      airgap.aks_inference.model_weights:
        state: verified
        dest: "{{{{ work }}}}/share/llm"
        require_mount: false
      register: verify

    - name: Corrupt a shard on the share
      ansible.builtin.shell: printf 'XXXX' | dd of={{{{ work }}}}/share/llm/model-00002-of-00003.safetensors bs=1 seek=4096 conv=notrunc
      changed_when: true

    - name: Verify finds it
      airgap.aks_inference.model_weights:
        state: verified
        dest: "{{{{ work }}}}/share/llm"
        require_mount: false
      register: verify_bad
      ignore_errors: true

    - name: Stage repairs it
      airgap.aks_inference.model_weights:
        <<: *common
        dest: "{{{{ work }}}}/share/llm"
      register: repair

    - name: Unknown revision
      airgap.aks_inference.model_weights:
        <<: *common
        revision: "0000000000000000000000000000000000000000"
        dest: "{{{{ work }}}}/share/other"
      register: unknown
      ignore_errors: true

    - name: Quota too small
      airgap.aks_inference.model_weights:
        <<: *common
        quota_gib: 0.0001
        dest: "{{{{ work }}}}/share/small"
      register: quota
      ignore_errors: true

    - name: Not on a mounted share
      airgap.aks_inference.model_weights:
        <<: *common
        require_mount: true
        dest: "{{{{ work }}}}/share/unmounted"
      register: unmounted
      ignore_errors: true

    - name: Stage the staged share again as a directory source (media carried over)
      airgap.aks_inference.model_weights:
        source: directory
        src: "{{{{ work }}}}/share/llm"
        dest: "{{{{ work }}}}/share2/llm"
        require_mount: false
      register: media

    - name: Save the results
      ansible.builtin.copy:
        content: "{{{{ {{'check': check, 'first': first, 'second': second, 'verify': verify,
                     'verify_bad': verify_bad, 'repair': repair, 'unknown': unknown, 'quota': quota,
                     'unmounted': unmounted, 'media': media}} | to_json }}}}"
        dest: "{{{{ work }}}}/results.json"
        mode: "0644"
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    work = tmp_path_factory.mktemp("weights-integration")
    sums = make_model(str(work / "model"), shards=3)
    with HubServer() as hub:
        hub.add_repo(REPO, str(work / "model"))
        hub.require_token(REPO, TOKEN)
        playbook = work / "stage.yml"
        playbook.write_text(PLAYBOOK.format(repo=REPO))
        (work / "vars.json").write_text(json.dumps({"hub_endpoint": hub.endpoint, "hf_token": TOKEN,
                                                    "work": str(work)}))
        env = dict(os.environ)
        env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", PATH=BIN + os.pathsep + env.get("PATH", ""),
                   HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", ALL_PROXY="http://127.0.0.1:9",
                   NO_PROXY="127.0.0.1,localhost", HF_HUB_DISABLE_XET="1", HF_HOME=str(work / "hf-home"))
        env.pop("HF_TOKEN", None)
        env.pop("HF_ENDPOINT", None)
        proc = subprocess.run(
            [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
             "-e", "ansible_python_interpreter=" + sys.executable, "-e", "@" + str(work / "vars.json"),
             str(playbook)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=600, check=False)
        requests = list(hub.requests)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.load(open(str(work / "results.json")))
    return {"work": work, "sums": sums, "results": results, "stdout": proc.stdout, "requests": requests}


def test_check_mode_then_first_run_then_no_op(staged):
    r = staged["results"]
    assert r["check"]["changed"] and len(r["check"]["copied"]) == len(staged["sums"])
    assert r["first"]["changed"] and r["first"]["complete"] and r["first"]["revision_ref"] == "main"
    assert r["first"]["bytes_copied"] == r["first"]["bytes"] > 0
    assert not r["second"]["changed"] and r["second"]["bytes_copied"] == 0
    share = staged["work"] / "share" / "llm"
    for rel, digest in staged["sums"].items():
        if rel != "model-00002-of-00003.safetensors":  # corrupted and repaired later in the play
            assert hashlib.sha256((share / rel).read_bytes()).hexdigest() == digest


def test_verify_and_repair(staged):
    r = staged["results"]
    assert r["verify"]["bad_files"] == [] and r["verify"]["complete"]
    assert r["verify_bad"]["failed"] and r["verify_bad"]["bad_files"][0]["path"] == "model-00002-of-00003.safetensors"
    assert r["repair"]["copied"] == ["model-00002-of-00003.safetensors"] and r["repair"]["complete"]
    share = staged["work"] / "share" / "llm"
    assert hashlib.sha256((share / "model-00002-of-00003.safetensors").read_bytes()).hexdigest() == \
        staged["sums"]["model-00002-of-00003.safetensors"]


def test_bad_input_fails_clearly(staged):
    r = staged["results"]
    assert r["unknown"]["failed"] and r["unknown"]["msg"].startswith("revision: '0000000000000000000000000000000000000000'")
    assert r["quota"]["failed"] and r["quota"]["msg"].startswith("quota_gib:")
    assert r["unmounted"]["failed"] and "is not on a mounted share" in r["unmounted"]["msg"]


def test_media_copy_of_a_staged_share(staged):
    media = staged["results"]["media"]
    assert media["complete"] and media["source"]["carried_manifest"] == staged["results"]["repair"]["digest"]


def test_token_never_shown_and_only_sent_to_the_hub(staged):
    assert TOKEN not in staged["stdout"]
    assert TOKEN not in json.dumps(staged["results"])
    hub_requests = [r for r in staged["requests"] if r["server"] == "hub"]
    cdn_requests = [r for r in staged["requests"] if r["server"] == "cdn"]
    assert hub_requests and all(r["authorization"] for r in hub_requests)
    assert cdn_requests and not any(r["authorization"] for r in cdn_requests)
    assert all(r["host"].startswith("127.0.0.1:") for r in staged["requests"])
