"""Unit tests of plugins/module_utils/openai_smoke.py.

Pure functions are table-tested; the retry loop runs on a fake clock; the HTTP paths run against
the OpenAI-compatible test server (tests/fixtures/openai_server.py) on 127.0.0.1.
"""
import datetime
import http.client
import ipaddress
import json
import os
import socket
import ssl
import sys
import time
from urllib.error import URLError

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import openai_smoke
from ansible_collections.airgap.aks_inference.plugins.module_utils.openai_smoke import (
    Completion,
    Deadline,
    Options,
    Retrier,
    SmokeTestError,
    Transient,
)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "fixtures"))
from openai_server import DEFAULT_ANSWER, DEFAULT_MODELS, free_port, openai_server  # noqa: E402,F401 pylint: disable=unused-import

MODEL = DEFAULT_MODELS[0]


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch):
    """Requests to the test server must not go to a proxy configured on the machine."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def options(base_url, **kwargs):
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("request_timeout", 2)
    kwargs.setdefault("retry_delay", 0.05)
    kwargs.setdefault("max_retry_delay", 0.2)
    return Options(base_url=base_url, **kwargs)


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


# --- input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("http://10.0.0.5:8000", "http://10.0.0.5:8000"),
    ("http://10.0.0.5:8000/", "http://10.0.0.5:8000"),
    ("http://10.0.0.5:8000/v1", "http://10.0.0.5:8000"),
    ("http://10.0.0.5:8000/v1/", "http://10.0.0.5:8000"),
    ("https://llm.internal/prefix/v1", "https://llm.internal/prefix"),
    (" http://vllm.inference.svc:8000 ", "http://vllm.inference.svc:8000"),
])
def test_root_url(given, expected):
    assert openai_smoke.root_url(given) == expected


@pytest.mark.parametrize("given", ["", None, "10.0.0.5:8000", "ftp://host/", "http://", "http://h/?a=1", "http://h/#x"])
def test_root_url_rejects(given):
    with pytest.raises(SmokeTestError, match="base_url"):
        openai_smoke.root_url(given)


@pytest.mark.parametrize("change, field", [
    ({"base_url": "not a url"}, "base_url"),
    ({"model": " "}, "model"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": True}, "max_tokens"),
    ({"timeout": -1}, "timeout"),
    ({"request_timeout": 0}, "request_timeout"),
    ({"prompt": "  "}, "prompt"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "user"}]}, r"messages\[0\]"),
    ({"messages": [{"role": "user", "content": "hi"}, "hello"]}, r"messages\[1\]"),
    ({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, "mutually exclusive"),
])
def test_bad_input_fails_before_any_request(change, field):
    def opener_must_not_be_used(*_args, **_kwargs):
        raise AssertionError("a request was sent")

    params = dict(base_url="http://127.0.0.1:9", model=MODEL)
    params.update(change)
    with pytest.raises(SmokeTestError, match=field):
        openai_smoke.run(Options(**params), opener=opener_must_not_be_used)


def test_from_params_ignores_unset_options():
    opts = Options.from_params({"base_url": "http://h", "model": "m", "prompt": None, "messages": None,
                                "max_tokens": 8, "stream": True, "timeout": 3.0, "request_timeout": 1.0,
                                "validate_certs": True, "ca_path": None, "api_key": None, "headers": None,
                                "use_proxy": False})
    assert (opts.max_tokens, opts.stream, opts.timeout, opts.use_proxy, opts.headers) == (8, True, 3.0, False, {})


def test_chat_payload():
    plain = openai_smoke.chat_payload(Options(base_url="http://h", model="m", max_tokens=7))
    assert plain == {"model": "m", "messages": [{"role": "user", "content": openai_smoke.DEFAULT_PROMPT}],
                     "max_tokens": 7, "stream": False}
    streamed = openai_smoke.chat_payload(Options(base_url="http://h", model="m", stream=True, prompt="hi"))
    assert streamed["messages"] == [{"role": "user", "content": "hi"}]
    assert streamed["stream_options"] == {"include_usage": True}


# --- reading answers -----------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ('{"error": {"message": "Rate limit", "type": "RateLimitError", "code": 429}}', "Rate limit"),
    ('{"object": "error", "message": "The model `x` does not exist.", "type": "NotFoundError", "code": 404}',
     "The model `x` does not exist."),
    ('{"error": "Unauthorized"}', "Unauthorized"),
    ('{"detail": "Not Found"}', "Not Found"),
    ('{"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}', "field required"),
    ('{"message": "Service is not ready"}', "Service is not ready"),
    (b'{"error": {"message": "bytes too"}}', "bytes too"),
    ("upstream connect error", "upstream connect error"),
    ("", ""),
])
def test_error_message(body, message):
    assert openai_smoke.error_message(body) == message


@pytest.mark.parametrize("status, body, transient", [
    (503, '{"error": {"message": "overloaded"}}', True),
    (502, "Bad Gateway", True),
    (504, "", True),
    (429, '{"error": {"message": "Too many requests"}}', True),
    (500, '{"object": "error", "message": "Model is still loading"}', True),
    (404, '{"message": "Service is not ready"}', True),
    (500, '{"error": {"message": "The server is warming up"}}', True),
    (400, '{"object": "error", "message": "max_tokens must be at least 1"}', False),
    (401, '{"error": "Unauthorized"}', False),
    (500, '{"error": {"message": "CUDA out of memory"}}', False),
    (400, '{"error": {"message": "Error loading LoRA adapter"}}', False),
])
def test_classify_http_error(status, body, transient):
    err = openai_smoke.classify_http_error("POST /v1/chat/completions", status, body, {"Retry-After": "3"})
    assert isinstance(err, Transient if transient else SmokeTestError)
    assert "POST /v1/chat/completions answered HTTP %d" % status in str(err)
    if transient:
        assert err.retry_after == 3.0
    else:
        assert err.details["status"] == status


@pytest.mark.parametrize("exc, seen", [
    (URLError(ConnectionRefusedError(111, "Connection refused")), "connection refused"),
    (URLError(socket.timeout("timed out")), "no answer within 2s"),
    (TimeoutError("timed out"), "no answer within 2s"),
    (http.client.RemoteDisconnected("Remote end closed connection"), "connection closed without an answer"),
    (ConnectionResetError(104, "Connection reset by peer"), "Connection reset by peer"),
    (URLError(socket.gaierror(-2, "Name or service not known")), "cannot resolve the host"),
])
def test_connection_errors_are_transient(exc, seen):
    err = openai_smoke.classify_connection_error("GET /v1/models", exc, 2)
    assert isinstance(err, Transient)
    assert err.seen.startswith("GET /v1/models: ") and seen in err.seen


def test_tls_errors_are_fatal():
    err = openai_smoke.classify_connection_error(
        "GET /v1/models", URLError(ssl.SSLCertVerificationError(1, "certificate verify failed")), 2)
    assert isinstance(err, SmokeTestError)
    assert "ca_path" in str(err)


def test_parse_models():
    doc = {"object": "list", "data": [{"id": "a", "object": "model"}, {"id": "b"}, {"object": "model"}]}
    assert openai_smoke.parse_models(doc) == ["a", "b"]
    with pytest.raises(SmokeTestError, match="without a data list"):
        openai_smoke.parse_models({"models": ["a"]})


def test_iter_sse():
    lines = [b": keep-alive\n", b"event: message\n", b'data: {"a": 1}\r\n', b"\r\n",
             b"data:no-space\n", b"\n", b"data: line one\n", b"data: line two\n", b"\n", b"\n",
             b"data: [DONE]"]
    assert list(openai_smoke.iter_sse(lines)) == ['{"a": 1}', "no-space", "line one\nline two", "[DONE]"]


def test_completion_counts_tokens_not_role_chunks():
    done = Completion()
    done.add_chunk({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}, 1.0)
    done.add_chunk({"choices": [{"index": 0, "delta": {"reasoning_content": "Think"}}]}, 2.0)
    done.add_chunk({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}, 3.0)
    done.add_chunk({"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}, 4.0)
    done.add_chunk({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 3}}, 5.0)
    assert (done.answer, done.chunks, done.first_token_at, done.finish_reason) == ("Hello", 3, 2.0, "stop")
    assert done.usage["completion_tokens"] == 3


@pytest.mark.parametrize("chunk", [
    {"error": {"message": "engine died", "code": 500}},
    {"object": "error", "message": "engine died"},
])
def test_error_inside_a_stream_fails(chunk):
    with pytest.raises(SmokeTestError, match="engine died"):
        Completion().add_chunk(chunk, 1.0)


def test_completion_from_document():
    done = Completion.from_document({"choices": [{"message": {"role": "assistant", "content": "Hi"},
                                                  "finish_reason": "stop"}], "usage": {"completion_tokens": 1}})
    assert (done.answer, done.finish_reason, done.usage) == ("Hi", "stop", {"completion_tokens": 1})
    with pytest.raises(SmokeTestError, match="without choices"):
        Completion.from_document({"choices": []})
    with pytest.raises(SmokeTestError, match="boom"):
        Completion.from_document({"object": "error", "message": "boom"})


def _summary(stream, chunks, content="answer", reasoning="", usage=None, latency=2.0, ttft=None):
    done = Completion()
    done.content, done.reasoning, done.usage, done.chunks = [content], [reasoning], usage, chunks
    done.finish_reason = "length"
    opts = Options(base_url="http://h", model="m", stream=stream)
    client = openai_smoke.Client(opts)
    retrier = Retrier(client.base_url, opts, Deadline(10, FakeClock()))
    return openai_smoke.summarize(opts, client, ["m"], 0.0, retrier, done, latency, ttft)


def test_tokens_per_second_from_usage_or_chunks():
    assert _summary(False, 0, usage={"completion_tokens": 10, "prompt_tokens": 4})["tokens_per_second"] == 5.0
    streamed = _summary(True, 9, latency=2.5, ttft=0.5)  # no usage: 9 chunks over 2 s of generation
    assert (streamed["completion_tokens"], streamed["token_count_source"], streamed["tokens_per_second"]) == (
        9, "chunks", 4.5)
    unknown = _summary(False, 0)
    assert (unknown["completion_tokens"], unknown["tokens_per_second"], unknown["token_count_source"]) == (
        None, None, None)


def test_answer_is_truncated():
    result = _summary(False, 0, content="x" * (openai_smoke.ANSWER_MAX_CHARS + 5))
    assert len(result["answer"]) == openai_smoke.ANSWER_MAX_CHARS and result["answer_truncated"]


def test_empty_answer_fails():
    with pytest.raises(SmokeTestError, match="empty answer"):
        _summary(False, 0, content="  ")
    with pytest.raises(SmokeTestError, match="only reasoning .* raise max_tokens"):
        _summary(True, 5, content="", reasoning="Let me think")


# --- retries on a fake clock ---------------------------------------------------------------

def _retrier(clock, timeout=10.0, request_timeout=3.0):
    opts = Options(base_url="http://h", model="m", timeout=timeout, request_timeout=request_timeout)
    return Retrier("http://h", opts, Deadline(timeout, clock), clock.sleep)


def test_retries_back_off_then_succeed():
    clock = FakeClock()
    outcomes = [Transient("GET /v1/models: connection refused"), Transient("GET /v1/models: connection refused"),
                Transient("GET /v1/models answered HTTP 503: loading"), ["m"]]
    timeouts = []

    def call(timeout):
        timeouts.append(timeout)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    retrier = _retrier(clock)
    assert retrier.call("GET /v1/models", call) == ["m"]
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert timeouts == [3.0, 3.0, 3.0, 3.0]
    assert retrier.attempts == 4


def test_retry_after_is_honoured_and_request_timeout_shrinks_to_the_deadline():
    clock = FakeClock()
    timeouts = []

    def call(timeout):
        timeouts.append(timeout)
        if len(timeouts) == 1:
            raise Transient("busy", retry_after=8.5)
        return "ok"

    assert _retrier(clock).call("x", call) == "ok"
    assert clock.sleeps == [8.5]
    assert timeouts == [3.0, 1.5]


def test_deadline_fails_with_what_it_last_saw():
    clock = FakeClock()

    def call(_timeout):
        clock.now += 1  # each attempt takes a second
        raise Transient("GET /v1/models answered HTTP 503: Model is still loading")

    retrier = _retrier(clock, timeout=6.0)
    with pytest.raises(SmokeTestError) as caught:
        retrier.call("GET /v1/models", call)
    message = str(caught.value)
    assert "not ready within the 6s timeout" in message
    assert "last seen: GET /v1/models answered HTTP 503: Model is still loading" in message
    # attempts at 0, 1.5 and 3.5 s; then 1.5 s of sleep reach 6 s
    assert caught.value.details["attempts"] == retrier.attempts == 3
    assert clock.now - 1000.0 == pytest.approx(6.0)
    assert sum(clock.sleeps) <= 6.0


def test_fatal_errors_are_not_retried():
    clock = FakeClock()
    calls = []

    def call(_timeout):
        calls.append(1)
        raise SmokeTestError("POST /v1/chat/completions answered HTTP 400: bad", status=400)

    with pytest.raises(SmokeTestError, match="HTTP 400: bad"):
        _retrier(clock).call("x", call)
    assert len(calls) == 1 and clock.sleeps == []


# --- against the test server ---------------------------------------------------------------

def test_success(openai_server):
    server = openai_server(models=["other", MODEL])
    result = openai_smoke.run(options(server.base_url + "/v1", max_tokens=64, headers={"X-Trace": "smoke"}))
    assert result["models"] == ["other", MODEL]
    assert result["answer"] == DEFAULT_ANSWER
    assert result["finish_reason"] == "stop"
    assert result["completion_tokens"] == len(DEFAULT_ANSWER.split())
    assert result["token_count_source"] == "usage"
    assert result["prompt_tokens"] > 0
    assert result["tokens_per_second"] > 0 and result["latency"] >= 0
    assert result["time_to_first_token"] is None and result["stream"] is False
    assert result["attempts"] == 2
    models, chat = server.requests
    assert (models["method"], models["path"], chat["method"], chat["path"]) == (
        "GET", "/v1/models", "POST", "/v1/chat/completions")
    assert chat["body"]["model"] == MODEL and chat["body"]["max_tokens"] == 64
    assert chat["headers"]["X-Trace"] == "smoke"
    assert "Authorization" not in chat["headers"]


@pytest.mark.parametrize("stream_usage, source", [(True, "usage"), (False, "chunks")])
def test_streaming(openai_server, stream_usage, source):
    server = openai_server(stream_usage=stream_usage)
    result = openai_smoke.run(options(server.base_url, stream=True))
    assert result["answer"] == DEFAULT_ANSWER
    assert result["completion_tokens"] == len(DEFAULT_ANSWER.split())
    assert result["token_count_source"] == source
    assert result["time_to_first_token"] > 0 and result["tokens_per_second"] > 0
    assert result["time_to_first_token"] <= result["latency"]
    assert server.requests[-1]["body"]["stream"] is True
    assert server.requests[-1]["headers"]["Accept"] == "text/event-stream"


def test_max_tokens_cuts_the_answer(openai_server):
    server = openai_server()
    result = openai_smoke.run(options(server.base_url, max_tokens=2, stream=True))
    assert result["answer"] == " ".join(DEFAULT_ANSWER.split()[:2]) + " "
    assert (result["finish_reason"], result["completion_tokens"]) == ("length", 2)


def test_slow_start_503_is_survived(openai_server):
    server = openai_server(loading_seconds=0.5)
    result = openai_smoke.run(options(server.base_url))
    assert result["answer"] == DEFAULT_ANSWER
    assert result["attempts"] > 2
    assert len([r for r in server.requests if r["path"] == "/v1/models"]) == result["attempts"] - 1


def test_slow_start_connection_refused_is_survived(openai_server):
    server = openai_server(refuse_seconds=60, loading_seconds=0.2)

    def sleep(seconds):  # the port opens after the first refused attempt
        server.open_now()
        time.sleep(seconds)

    result = openai_smoke.run(options(server.base_url, stream=True), sleep=sleep)
    assert result["answer"] == DEFAULT_ANSWER
    assert result["attempts"] > len(server.requests) > 2  # the refused attempt never reached the server


def test_never_ready_fails_at_the_deadline(openai_server):
    server = openai_server(never_ready=True, retry_after=0.1)
    with pytest.raises(SmokeTestError) as caught:
        openai_smoke.run(options(server.base_url, timeout=0.6))
    message = str(caught.value)
    assert "was not ready within the 0.6s timeout" in message
    assert "last seen: GET /v1/models answered HTTP 503: Model is still loading, please retry later" in message
    assert caught.value.details["attempts"] == len(server.requests) > 1
    assert not [r for r in server.requests if r["path"] == "/v1/chat/completions"]


def test_nothing_listening_fails_with_connection_refused():
    with pytest.raises(SmokeTestError, match="last seen: GET /v1/models: connection refused"):
        openai_smoke.run(options("http://127.0.0.1:%d" % free_port(), timeout=0.3))


def test_request_timeout_is_reported(openai_server):
    server = openai_server(stall_seconds=2)
    with pytest.raises(SmokeTestError, match="last seen: GET /v1/models: no answer within 0.2s"):
        openai_smoke.run(options(server.base_url, timeout=0.5, request_timeout=0.2))


@pytest.mark.parametrize("shape", ["openai", "vllm"])
@pytest.mark.parametrize("stream", [False, True])
def test_error_answer_fails_at_once_with_its_message(openai_server, shape, stream):
    server = openai_server(error_status=400, error_shape=shape,
                           error_message="This model's maximum context length is 8192 tokens")
    with pytest.raises(SmokeTestError) as caught:
        openai_smoke.run(options(server.base_url, stream=stream))
    assert str(caught.value) == ("POST /v1/chat/completions answered HTTP 400: "
                                 "This model's maximum context length is 8192 tokens")
    assert caught.value.details == {"status": 400, "attempts": 2}


def test_wrong_model_lists_what_is_served(openai_server):
    server = openai_server(models=["mistral-7b", "llama-3.1-8b"])
    with pytest.raises(SmokeTestError) as caught:
        openai_smoke.run(options(server.base_url, model="llama-3.1-70b"))
    assert str(caught.value) == ("model 'llama-3.1-70b' is not served at %s; it lists: mistral-7b, llama-3.1-8b"
                                 % server.base_url)
    assert caught.value.details["models"] == ["mistral-7b", "llama-3.1-8b"]


def test_api_key_is_sent_as_bearer_token(openai_server):
    server = openai_server(api_key="s3cr3t-key")
    assert openai_smoke.run(options(server.base_url, api_key="s3cr3t-key"))["answer"] == DEFAULT_ANSWER
    assert {r["headers"]["Authorization"] for r in server.requests} == {"Bearer s3cr3t-key"}
    with pytest.raises(SmokeTestError, match="GET /v1/models answered HTTP 401: Unauthorized"):
        openai_smoke.run(options(server.base_url, api_key="wrong"))


def test_proxy_settings(openai_server, monkeypatch):
    server = openai_server()
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:%d" % free_port())
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert openai_smoke.run(options(server.base_url, use_proxy=False))["answer"] == DEFAULT_ANSWER
    with pytest.raises(SmokeTestError, match="connection refused"):
        openai_smoke.run(options(server.base_url, timeout=0.3))


# --- TLS -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (cert file, key file)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openai-test-server")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(certfile), str(keyfile)


def test_tls(openai_server, certificate):
    certfile, keyfile = certificate
    server = openai_server(certfile=certfile, keyfile=keyfile)
    assert server.base_url.startswith("https://127.0.0.1:")
    with pytest.raises(SmokeTestError, match="failed TLS: .*certificate verify failed") as caught:
        openai_smoke.run(options(server.base_url))
    assert caught.value.details["attempts"] == 1  # not retried
    assert openai_smoke.run(options(server.base_url, ca_path=certfile))["answer"] == DEFAULT_ANSWER
    assert openai_smoke.run(options(server.base_url, validate_certs=False, stream=True))["answer"] == DEFAULT_ANSWER


# --- command line (for a Job in the cluster) -----------------------------------------------

def test_command_line(openai_server, capsys, monkeypatch):
    server = openai_server(api_key="k")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    assert openai_smoke.main(["--base-url", server.base_url, "--model", MODEL, "--stream", "--timeout", "5"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["failed"], result["answer"], result["stream"]) == (False, DEFAULT_ANSWER, True)
    assert openai_smoke.main(["--base-url", server.base_url, "--model", "nope", "--timeout", "5"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and result["models"] == [MODEL] and "nope" in result["msg"]
