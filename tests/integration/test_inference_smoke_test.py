"""airgap.aks_inference.inference_smoke_test run by ansible-playbook against the OpenAI-compatible
test server (tests/fixtures/openai_server.py) on 127.0.0.1.

Each test writes a playbook (localhost, connection=local) whose tasks register the module's result,
ignore its failure, save the result as JSON, and fail the play at the end if a task failed; the test
then asserts on the exit code, the saved results, the output and the server's request log.
Deadlines are short; nothing asserts on speed.
"""
import json
import os
import shutil
import subprocess
import sys

from ansible_collections.airgap.aks_inference.plugins.modules.inference_smoke_test import ARGUMENT_SPEC

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from openai_server import DEFAULT_ANSWER, DEFAULT_MODELS, free_port, openai_server  # noqa: E402,F401 pylint: disable=unused-import

MODULE = "airgap.aks_inference.inference_smoke_test"
MODEL = DEFAULT_MODELS[0]


def _tool(name):
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else shutil.which(name)


def _env():
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    })
    return env


class Run:
    def __init__(self, proc, results):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.results = results

    def __repr__(self):
        return "rc=%s\n%s" % (self.rc, self.output)


def run_module(tmp_path, *tasks, verbosity=0):
    """Run the module once per ``tasks`` entry (a dict of module arguments, ``check_mode`` optional)."""
    playbook_tasks = []
    for i, args in enumerate(tasks):
        args = dict(args)
        check_mode = args.pop("check_mode", False)
        playbook_tasks.append({"name": "smoke test %d" % i, MODULE: args, "register": "smoke%d" % i,
                               "ignore_errors": True, "check_mode": check_mode})
    registered = ["smoke%d" % i for i in range(len(tasks))]
    playbook_tasks.append({"name": "keep the results", "ansible.builtin.copy": {
        "content": "{{ [%s] | to_nice_json }}" % ", ".join(registered), "dest": str(tmp_path / "results.json")},
        "check_mode": False})
    playbook_tasks.append({"name": "fail as the module did", "ansible.builtin.fail": {"msg": "a smoke test failed"},
                           "when": " or ".join("%s is failed" % name for name in registered)})
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": playbook_tasks}]))
    cmd = [_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120, check=False)
    path = tmp_path / "results.json"
    return Run(proc, json.loads(path.read_text()) if path.exists() else [None] * len(tasks))


def test_success_non_streaming_and_in_check_mode(tmp_path, openai_server):
    server = openai_server(models=["other-model", MODEL])
    args = {"base_url": server.base_url + "/v1", "model": MODEL, "timeout": 10, "max_tokens": 64}
    run = run_module(tmp_path, args, dict(args, check_mode=True))
    assert run.rc == 0, run
    for result in run.results:
        assert result["failed"] is False and result["changed"] is False
        assert result["answer"] == DEFAULT_ANSWER and result["answer_truncated"] is False
        assert result["models"] == ["other-model", MODEL]
        assert result["base_url"] == server.base_url
        assert result["stream"] is False and result["time_to_first_token"] is None
        assert result["completion_tokens"] == len(DEFAULT_ANSWER.split())
        assert result["token_count_source"] == "usage" and result["prompt_tokens"] > 0
        assert result["tokens_per_second"] > 0 and result["latency"] >= 0
        assert result["finish_reason"] == "stop" and result["attempts"] == 2
    chats = [r for r in server.requests if r["path"] == "/v1/chat/completions"]
    assert len(chats) == 2  # check mode runs the same requests: they only read


def test_success_streaming(tmp_path, openai_server):
    with_usage = openai_server()
    without_usage = openai_server(stream_usage=False)
    run = run_module(
        tmp_path,
        {"base_url": with_usage.base_url, "model": MODEL, "stream": True, "timeout": 10},
        {"base_url": without_usage.base_url, "model": MODEL, "stream": True, "timeout": 10,
         "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Ready?"}]})
    assert run.rc == 0, run
    for result, source in zip(run.results, ("usage", "chunks")):
        assert result["stream"] is True and result["answer"] == DEFAULT_ANSWER
        assert result["completion_tokens"] == len(DEFAULT_ANSWER.split())
        assert result["token_count_source"] == source
        assert result["time_to_first_token"] > 0 and result["tokens_per_second"] > 0
    body = without_usage.requests[-1]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_slow_start_is_survived(tmp_path, openai_server):
    # Port closed for the first second (likely still while ansible starts), then 503 "still loading"
    # for a while from the first request on (always seen).
    server = openai_server(refuse_seconds=1.0, loading_seconds=0.7)
    run = run_module(tmp_path, {"base_url": server.base_url, "model": MODEL, "timeout": 15, "stream": True})
    assert run.rc == 0, run
    result = run.results[0]
    assert result["answer"] == DEFAULT_ANSWER
    assert result["attempts"] > 2 and result["ready_after"] > 0
    assert len([r for r in server.requests if r["path"] == "/v1/models"]) > 1


def test_error_answer_fails_with_its_message(tmp_path, openai_server):
    message = "CUDA out of memory. Tried to allocate 2.00 GiB"
    openai_shape = openai_server(error_status=500, error_shape="openai", error_message=message)
    vllm_shape = openai_server(error_status=500, error_shape="vllm", error_message=message)
    run = run_module(tmp_path,
                     {"base_url": openai_shape.base_url, "model": MODEL, "timeout": 10},
                     {"base_url": vllm_shape.base_url, "model": MODEL, "timeout": 10, "stream": True})
    assert run.rc != 0, run
    for result in run.results:  # {"error": {"message": ...}} and {"object": "error", "message": ...}
        assert result["failed"] is True
        assert result["msg"] == "POST /v1/chat/completions answered HTTP 500: " + message
        assert result["status"] == 500 and result["attempts"] == 2
    assert message in run.output


def test_never_ready_fails_at_the_deadline_naming_what_it_saw(tmp_path, openai_server):
    server = openai_server(never_ready=True)
    run = run_module(tmp_path,
                     {"base_url": server.base_url, "model": MODEL, "timeout": 1.5},
                     {"base_url": "http://127.0.0.1:%d" % free_port(), "model": MODEL, "timeout": 0.5})
    assert run.rc != 0, run
    loading, refused = run.results
    assert loading["failed"] and refused["failed"]
    assert loading["msg"].startswith("%s was not ready within the 1.5s timeout (" % server.base_url)
    assert loading["msg"].endswith("last seen: GET /v1/models answered HTTP 503: "
                                   "Model is still loading, please retry later")
    assert loading["last_seen"] in loading["msg"] and loading["attempts"] > 1
    assert refused["msg"].endswith("last seen: GET /v1/models: connection refused")
    assert not [r for r in server.requests if r["path"] == "/v1/chat/completions"]


def test_wrong_model_fails_listing_what_is_served(tmp_path, openai_server):
    server = openai_server(models=["mistral-7b-instruct", "llama-3.1-8b-instruct"])
    run = run_module(tmp_path, {"base_url": server.base_url, "model": "llama-3.1-70b-instruct", "timeout": 10})
    assert run.rc != 0, run
    result = run.results[0]
    assert result["msg"] == ("model 'llama-3.1-70b-instruct' is not served at %s; it lists: "
                             "mistral-7b-instruct, llama-3.1-8b-instruct" % server.base_url)
    assert result["models"] == ["mistral-7b-instruct", "llama-3.1-8b-instruct"]
    assert not [r for r in server.requests if r["path"] == "/v1/chat/completions"]


def test_api_key_never_appears_in_output(tmp_path, openai_server):
    key, wrong_key = "sk-airgap-test-5f1d9c2e7b", "sk-airgap-wrong-8a4c6e0f3d"
    server = openai_server(api_key=key)
    run = run_module(tmp_path,
                     {"base_url": server.base_url, "model": MODEL, "api_key": key, "stream": True, "timeout": 10},
                     {"base_url": server.base_url, "model": MODEL, "api_key": wrong_key, "timeout": 10},
                     verbosity=3)
    assert run.rc != 0, run  # the second task fails
    good, bad = run.results
    assert good["failed"] is False and good["answer"] == DEFAULT_ANSWER
    assert bad["msg"] == "GET /v1/models answered HTTP 401: Unauthorized"
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.output  # -vvv did print the task arguments
    saved = (tmp_path / "results.json").read_text()
    for secret in (key, wrong_key):
        assert secret not in run.output
        assert secret not in saved
    sent = [r["headers"].get("Authorization") for r in server.requests]
    assert sent.count("Bearer %s" % key) == 2 and sent.count("Bearer %s" % wrong_key) == 1


def test_bad_input_fails_naming_the_field(tmp_path):
    run = run_module(tmp_path,
                     {"base_url": "10.0.0.5:8000", "model": MODEL},
                     {"base_url": "http://127.0.0.1:9", "model": MODEL, "prompt": "hi",
                      "messages": [{"role": "user", "content": "hi"}]})
    assert run.rc != 0, run
    url, exclusive = run.results
    assert url["msg"] == "base_url must be an http:// or https:// URL with a host, got '10.0.0.5:8000'"
    assert "mutually exclusive" in exclusive["msg"] and "prompt" in exclusive["msg"]


def test_documentation_renders_and_matches_the_argument_spec():
    doc = subprocess.run([_tool("ansible-doc"), MODULE], cwd=ROOT, env=_env(), capture_output=True, text=True,
                         timeout=60, check=False)
    assert doc.returncode == 0, doc.stderr
    assert "EXAMPLES" in doc.stdout and "RETURN VALUES" in doc.stdout and "[WARNING]" not in doc.stderr
    raw = subprocess.run([_tool("ansible-doc"), "--json", MODULE], cwd=ROOT, env=_env(), capture_output=True,
                         text=True, timeout=60, check=True).stdout
    documented = json.loads(raw)[MODULE]["doc"]
    options = documented["options"]
    assert sorted(options) == sorted(ARGUMENT_SPEC)
    for name, spec in ARGUMENT_SPEC.items():
        assert options[name]["type"] == spec["type"], name
        assert options[name].get("required", False) == spec.get("required", False), name
        assert options[name].get("default") == spec.get("default"), name
        assert options[name].get("no_log", False) is False  # no_log is the spec's business
    assert ARGUMENT_SPEC["api_key"]["no_log"] is True
    assert documented["attributes"]["check_mode"]["support"] == "full"
