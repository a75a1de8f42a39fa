# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke test of an OpenAI-compatible inference endpoint (vLLM, NVIDIA NIM).

The logic behind the ``inference_smoke_test`` module:

1. ``GET /v1/models`` must list the expected model;
2. ``POST /v1/chat/completions`` must return a non-empty answer, either as one JSON document or,
   with ``stream``, as server-sent events (``data: {chunk}`` ... ``data: [DONE]``), measuring
   the time to the first token.

While the endpoint warms up (connection refused or reset, no answer in time, HTTP 429/502/503/504,
or an error message saying the model is loading / not ready) each request is retried with
exponential back-off (``Retry-After`` honoured) until one overall deadline on the monotonic clock;
then the run fails saying what it last saw. Any other error answer fails at once with the
server's message.

Standard library only (``urllib``, ``ssl``, ``json``): besides being imported by the module,
this file runs on its own where Ansible is not installed, e.g. mounted from a ConfigMap into a
Kubernetes Job inside the isolated cluster::

    OPENAI_API_KEY=... python3 openai_smoke.py --base-url http://vllm:8000 --model meta/llama-3.1-8b-instruct

It prints one JSON object (the module's result, or ``failed``/``msg``) and exits 0 or 1.
Python 3.8+ (module_utils run on the managed node).
"""

from __future__ import absolute_import, division, print_function

import http.client
import json
import re
import socket
import ssl
import sys
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPSHandler, ProxyHandler, Request, build_opener

DEFAULT_PROMPT = "Reply with one short sentence: are you ready to serve requests?"
DEFAULT_MAX_TOKENS = 32
DEFAULT_TIMEOUT = 600.0
DEFAULT_REQUEST_TIMEOUT = 60.0
ANSWER_MAX_CHARS = 1000
MAX_BODY_BYTES = 4 * 1024 * 1024
USER_AGENT = "airgap.aks_inference-smoke-test"

# Answers that mean "not ready yet": retried until the deadline.
RETRY_STATUSES = frozenset((429, 502, 503, 504))
LOADING_RE = re.compile(
    r"still loading|is loading|being loaded|not (?:yet )?ready|warming up|starting up", re.IGNORECASE
)


class SmokeTestError(Exception):
    """The one error of this module: ``str()`` is the message, ``details`` go into the result."""

    def __init__(self, msg, **details):
        super(SmokeTestError, self).__init__(msg)
        self.details = details


class Transient(Exception):
    """An answer meaning "not ready yet"; ``seen`` says what it was."""

    def __init__(self, seen, retry_after=None):
        super(Transient, self).__init__(seen)
        self.seen = seen
        self.retry_after = retry_after


class Options:
    """Validated input of one smoke test; ``from_params`` takes the module's parameters."""

    def __init__(self, base_url, model, prompt=None, messages=None, max_tokens=DEFAULT_MAX_TOKENS,
                 stream=False, timeout=DEFAULT_TIMEOUT, request_timeout=DEFAULT_REQUEST_TIMEOUT,
                 validate_certs=True, ca_path=None, api_key=None, headers=None, use_proxy=True,
                 retry_delay=0.5, max_retry_delay=5.0):
        self.base_url = base_url
        self.model = model
        self.prompt = prompt
        self.messages = messages
        self.max_tokens = max_tokens
        self.stream = stream
        self.timeout = timeout
        self.request_timeout = request_timeout
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.api_key = api_key
        self.headers = headers or {}
        self.use_proxy = use_proxy
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay

    @classmethod
    def from_params(cls, params):
        names = ("base_url", "model", "prompt", "messages", "max_tokens", "stream", "timeout",
                 "request_timeout", "validate_certs", "ca_path", "api_key", "headers", "use_proxy")
        return cls(**dict((name, params[name]) for name in names if params.get(name) is not None))


def validate(opts):
    """Fail before any request, naming the field, on input that cannot work."""
    root_url(opts.base_url)
    if not opts.model or not str(opts.model).strip():
        raise SmokeTestError("model must be a non-empty model id, e.g. meta/llama-3.1-8b-instruct")
    if opts.prompt is not None and opts.messages is not None:
        raise SmokeTestError("prompt and messages are mutually exclusive")
    if opts.prompt is not None and not str(opts.prompt).strip():
        raise SmokeTestError("prompt must not be empty")
    if opts.messages is not None:
        if not opts.messages:
            raise SmokeTestError("messages must hold at least one message")
        for i, msg in enumerate(opts.messages):
            if not isinstance(msg, dict) or not msg.get("role") or msg.get("content") in (None, ""):
                raise SmokeTestError("messages[%d] needs a role and a content, got %r" % (i, msg))
    for name in ("max_tokens", "timeout", "request_timeout"):
        value = getattr(opts, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise SmokeTestError("%s must be a positive number, got %r" % (name, value))


def root_url(base_url):
    """``http(s)://host[:port][/prefix]`` without a trailing ``/`` or ``/v1``."""
    parts = urlsplit(str(base_url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SmokeTestError("base_url must be an http:// or https:// URL with a host, got %r" % (base_url,))
    if parts.query or parts.fragment:
        raise SmokeTestError("base_url must not carry a query or fragment, got %r" % (base_url,))
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[:-3]
    return "%s://%s%s" % (parts.scheme, parts.netloc, path)


def chat_messages(opts):
    if opts.messages is not None:
        return list(opts.messages)
    return [{"role": "user", "content": opts.prompt or DEFAULT_PROMPT}]


def chat_payload(opts):
    payload = {"model": opts.model, "messages": chat_messages(opts), "max_tokens": opts.max_tokens,
               "stream": bool(opts.stream)}
    if opts.stream:
        # vLLM and NIM then end the stream with a usage chunk; without it tokens are counted.
        payload["stream_options"] = {"include_usage": True}
    return payload


# --- reading answers -----------------------------------------------------------------------

def error_message(body):
    """The human message of an error body (OpenAI, vLLM, FastAPI shapes, or plain text)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    text = (body or "").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str) and err:
            return err
        if doc.get("message"):
            return str(doc["message"])
        detail = doc.get("detail")
        if isinstance(detail, str) and detail:
            return detail
        if isinstance(detail, list) and detail:
            return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    return text[:300]


def is_error_document(doc):
    return isinstance(doc, dict) and (doc.get("object") == "error" or "error" in doc)


def classify_http_error(what, status, body, headers=None):
    """``Transient`` while warming up, ``SmokeTestError`` otherwise (both carry the message)."""
    message = error_message(body) or "(empty body)"
    seen = "%s answered HTTP %d: %s" % (what, status, message)
    if status in RETRY_STATUSES or LOADING_RE.search(message):
        return Transient(seen, retry_after=retry_after(headers))
    return SmokeTestError(seen, status=status)


def classify_connection_error(what, exc, timeout):
    """A failure below HTTP: TLS errors are fatal, everything else means "not reachable yet"."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, ssl.SSLError):
        return SmokeTestError("%s failed TLS: %s (check ca_path / validate_certs)" % (what, reason))
    if isinstance(reason, ConnectionRefusedError):
        seen = "connection refused"
    elif isinstance(reason, (socket.timeout, TimeoutError)):
        seen = "no answer within %gs" % timeout
    elif isinstance(reason, socket.gaierror):
        seen = "cannot resolve the host (%s)" % reason
    elif isinstance(reason, http.client.RemoteDisconnected):
        seen = "connection closed without an answer"
    else:
        seen = str(reason) or type(reason).__name__
    return Transient("%s: %s" % (what, seen))


def retry_after(headers):
    try:
        value = float((headers or {}).get("Retry-After"))
    except (TypeError, ValueError):
        return None
    return max(0.0, value)


def parse_models(doc):
    """Model ids of a ``/v1/models`` answer (``{"object": "list", "data": [{"id": ...}]}``)."""
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, list):
        raise SmokeTestError("GET /v1/models answered without a data list: %s" % json.dumps(doc)[:300])
    return [str(item["id"]) for item in data if isinstance(item, dict) and item.get("id")]


def iter_sse(lines):
    """Yield the data of each server-sent event from an iterable of byte lines."""
    data = []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        field, _sep, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def token_rate(tokens, seconds):
    if not tokens or not seconds or seconds <= 0:
        return None
    return round(tokens / seconds, 2)


class Completion:
    """What a chat completion produced, streamed or not."""

    def __init__(self):
        self.content = []
        self.reasoning = []
        self.finish_reason = None
        self.usage = None
        self.chunks = 0
        self.first_token_at = None
        self.done = False

    @property
    def answer(self):
        return "".join(self.content)

    def add_chunk(self, chunk, now):
        if is_error_document(chunk):
            raise SmokeTestError("the stream of POST /v1/chat/completions carried an error: %s"
                                 % error_message(json.dumps(chunk)))
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") or ""
            thought = delta.get("reasoning_content") or delta.get("reasoning") or ""
            if text or thought:
                self.chunks += 1
                if self.first_token_at is None:
                    self.first_token_at = now
            self.content.append(text)
            self.reasoning.append(thought)
            self.finish_reason = choice.get("finish_reason") or self.finish_reason

    @classmethod
    def from_document(cls, doc):
        if is_error_document(doc):
            raise SmokeTestError("POST /v1/chat/completions answered an error: %s" % error_message(json.dumps(doc)))
        choices = doc.get("choices") if isinstance(doc, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise SmokeTestError("POST /v1/chat/completions answered without choices: %s" % json.dumps(doc)[:300])
        done = cls()
        message = choices[0].get("message") or {}
        done.content.append(message.get("content") or "")
        done.reasoning.append(message.get("reasoning_content") or message.get("reasoning") or "")
        done.finish_reason = choices[0].get("finish_reason")
        done.usage = doc.get("usage") if isinstance(doc.get("usage"), dict) else None
        done.done = True
        return done


# --- HTTP ----------------------------------------------------------------------------------

def build_url_opener(opts):
    handlers = []
    if not opts.use_proxy:
        handlers.append(ProxyHandler({}))
    if opts.validate_certs:
        context = ssl.create_default_context(cafile=opts.ca_path)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    handlers.append(HTTPSHandler(context=context))
    return build_opener(*handlers)


def read_limited(resp, what):
    body = resp.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise SmokeTestError("%s answered more than %d bytes" % (what, MAX_BODY_BYTES))
    return body


def decode_json(body, what):
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:
        raise SmokeTestError("%s answered something that is not JSON: %r" % (what, body[:300])) from None


class Client:
    """One OpenAI-compatible endpoint: ``open`` sends a request, errors come back classified."""

    def __init__(self, opts, opener=None):
        self.base_url = root_url(opts.base_url)
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        self.headers.update(dict((str(k), str(v)) for k, v in (opts.headers or {}).items()))
        if opts.api_key:
            self.headers["Authorization"] = "Bearer %s" % opts.api_key
        self._opener = opener or build_url_opener(opts)

    def open(self, method, path, body, timeout, accept=None):
        """The open 2xx response; raises ``Transient`` or ``SmokeTestError``."""
        what = "%s %s" % (method, path)
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if accept:
            headers["Accept"] = accept
        request = Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            return self._opener.open(request, timeout=timeout)
        except HTTPError as err:
            try:
                answer = err.read(64 * 1024)
            except (OSError, http.client.HTTPException):
                answer = b""
            finally:
                err.close()
            raise classify_http_error(what, err.code, answer or (err.reason or ""), err.headers) from None
        except (URLError, OSError, http.client.HTTPException) as err:
            raise classify_connection_error(what, err, timeout) from None

    def call_json(self, method, path, body, timeout):
        """Send a request and read its JSON answer; a drop before the answer is complete is transient."""
        what = "%s %s" % (method, path)
        resp = self.open(method, path, body, timeout)
        try:
            with resp:
                payload = read_limited(resp, what)
        except (OSError, http.client.HTTPException) as err:
            raise classify_connection_error(what, err, timeout)
        return decode_json(payload, what)


# --- the run -------------------------------------------------------------------------------

class Deadline:
    """One time budget on the monotonic clock, spent across every request and retry."""

    def __init__(self, seconds, clock=time.monotonic):
        self._clock = clock
        self.seconds = seconds
        self.start = clock()

    def elapsed(self):
        return self._clock() - self.start

    def remaining(self):
        return max(0.0, self.seconds - self.elapsed())


class Retrier:
    """Calls ``call(request_timeout)`` until it stops raising ``Transient`` or the deadline passes."""

    def __init__(self, base_url, opts, deadline, sleep=time.sleep):
        self.base_url = base_url
        self.opts = opts
        self.deadline = deadline
        self.sleep = sleep
        self.attempts = 0
        self.last_seen = None

    def call(self, what, call):
        delay = self.opts.retry_delay
        while True:
            remaining = self.deadline.remaining()
            if remaining <= 0:
                raise self._timed_out(what)
            self.attempts += 1
            try:
                return call(min(self.opts.request_timeout, remaining))
            except Transient as err:
                self.last_seen = err.seen
                wait = err.retry_after if err.retry_after is not None else delay
                self.sleep(min(wait, self.deadline.remaining()))
                delay = min(delay * 2, self.opts.max_retry_delay)

    def _timed_out(self, what):
        if self.last_seen is None:
            seen = "the deadline passed before %s was sent" % what
        else:
            seen = "last seen: %s" % self.last_seen
        return SmokeTestError(
            "%s was not ready within the %gs timeout (%d attempts); %s"
            % (self.base_url, self.opts.timeout, self.attempts, seen),
            last_seen=self.last_seen, attempts=self.attempts)


def list_models(client, timeout):
    return parse_models(client.call_json("GET", "/v1/models", None, timeout))


def complete(client, payload, timeout, clock):
    started = clock()
    done = Completion.from_document(client.call_json("POST", "/v1/chat/completions", payload, timeout))
    return done, clock() - started, None


def complete_streaming(client, payload, timeout, deadline, clock):
    what = "POST /v1/chat/completions"
    started = clock()
    resp = client.open("POST", "/v1/chat/completions", payload, timeout, accept="text/event-stream")
    done = Completion()
    with resp:
        content_type = resp.headers.get("Content-Type", "")
        if "text/event-stream" not in content_type:
            body = read_limited(resp, what)
            if content_type.startswith("application/json"):
                doc = decode_json(body, what)
                if is_error_document(doc):
                    raise SmokeTestError("%s answered an error: %s" % (what, error_message(body)))
            raise SmokeTestError("%s with stream=true answered %r instead of text/event-stream"
                                 % (what, content_type or "no content type"))
        try:
            for data in iter_sse(resp):
                if data.strip() == "[DONE]":
                    done.done = True
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise SmokeTestError("%s streamed a chunk that is not JSON: %r" % (what, data[:300])) from None
                done.add_chunk(chunk, clock())
                if deadline.remaining() <= 0:
                    raise SmokeTestError("the %gs timeout passed while %s was still streaming (%d chunks so far)"
                                         % (deadline.seconds, what, done.chunks))
        except (OSError, http.client.HTTPException) as err:
            raise SmokeTestError("the stream of %s broke after %d chunks: %s"
                                 % (what, done.chunks, str(err) or type(err).__name__))
    if not done.done:
        raise SmokeTestError("the stream of %s ended without 'data: [DONE]' (%d chunks)" % (what, done.chunks))
    ttft = None if done.first_token_at is None else done.first_token_at - started
    return done, clock() - started, ttft


def summarize(opts, client, models, ready_after, retrier, done, latency, ttft):
    answer = done.answer
    if not answer.strip():
        reasoning = "".join(done.reasoning)
        if reasoning.strip():
            raise SmokeTestError(
                "POST /v1/chat/completions produced only reasoning (%d characters) and no answer "
                "(finish_reason %s); raise max_tokens" % (len(reasoning), done.finish_reason),
                finish_reason=done.finish_reason)
        raise SmokeTestError("POST /v1/chat/completions returned an empty answer (finish_reason %s)"
                             % (done.finish_reason,), finish_reason=done.finish_reason)
    usage = done.usage or {}
    if isinstance(usage.get("completion_tokens"), int):
        tokens, source = usage["completion_tokens"], "usage"
    elif opts.stream:
        tokens, source = done.chunks, "chunks"
    else:
        tokens, source = None, None
    # Generation time: the whole request, or after the first token when streaming, so the
    # time to first token (reported on its own) is not counted twice.
    generating = latency - ttft if ttft is not None and latency - ttft > 0 else latency
    return {
        "base_url": client.base_url,
        "model": opts.model,
        "models": models,
        "stream": bool(opts.stream),
        "answer": answer[:ANSWER_MAX_CHARS],
        "answer_truncated": len(answer) > ANSWER_MAX_CHARS,
        "finish_reason": done.finish_reason,
        "latency": round(latency, 3),
        "time_to_first_token": None if ttft is None else round(ttft, 3),
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": tokens,
        "tokens_per_second": token_rate(tokens, generating),
        "token_count_source": source,
        "attempts": retrier.attempts,
        "ready_after": round(ready_after, 3),
    }


def run(opts, clock=time.monotonic, sleep=time.sleep, opener=None):
    """The smoke test; returns the result dict or raises ``SmokeTestError``."""
    validate(opts)
    client = Client(opts, opener)
    deadline = Deadline(float(opts.timeout), clock)
    retrier = Retrier(client.base_url, opts, deadline, sleep)
    try:
        return _run(opts, client, deadline, retrier, clock)
    except SmokeTestError as err:
        err.details.setdefault("attempts", retrier.attempts)
        raise


def _run(opts, client, deadline, retrier, clock):
    models = retrier.call("GET /v1/models", lambda timeout: list_models(client, timeout))
    ready_after = deadline.elapsed()
    if opts.model not in models:
        raise SmokeTestError("model %r is not served at %s; it lists: %s"
                             % (opts.model, client.base_url, ", ".join(models) or "no models"),
                             models=models)
    payload = chat_payload(opts)
    if opts.stream:
        done, latency, ttft = retrier.call(
            "POST /v1/chat/completions",
            lambda timeout: complete_streaming(client, payload, timeout, deadline, clock))
    else:
        done, latency, ttft = retrier.call(
            "POST /v1/chat/completions", lambda timeout: complete(client, payload, timeout, clock))
    return summarize(opts, client, models, ready_after, retrier, done, latency, ttft)


def main(argv=None):
    """Command line for a Kubernetes Job without Ansible; the API key comes from OPENAI_API_KEY."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description="Smoke test of an OpenAI-compatible endpoint (vLLM, NIM).")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT)
    parser.add_argument("--ca-path")
    parser.add_argument("--insecure", action="store_true", help="do not validate TLS certificates")
    args = parser.parse_args(argv)
    opts = Options(base_url=args.base_url, model=args.model, prompt=args.prompt, max_tokens=args.max_tokens,
                   stream=args.stream, timeout=args.timeout, request_timeout=args.request_timeout,
                   validate_certs=not args.insecure, ca_path=args.ca_path,
                   api_key=os.environ.get("OPENAI_API_KEY") or None)
    try:
        result = dict(run(opts), failed=False)
    except SmokeTestError as err:
        result = dict(err.details, failed=True, msg=str(err))
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
