# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Azure Resource Manager REST client on the Azure SDK's core pipeline.

Every resource module speaks ARM's REST wire format (id + api-version + JSON
body) through one client, instead of one management SDK per provider: the
request a module sends is the one the REST reference documents, one pipeline
carries auth, retries, CA bundle and user agent for all of them, and the
collection depends on ``azure-core`` and ``azure-identity`` only.
"""

from __future__ import annotations

import email.utils
import json
import random
import time

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import (
    ArmError,
    AuthenticationError,
    ConnectionFailure,
    parse_arm_error,
)

try:
    from azure.core import PipelineClient
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.policies import (
        BearerTokenCredentialPolicy,
        HeadersPolicy,
        HTTPPolicy,
        UserAgentPolicy,
    )
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    HAS_AZURE_CORE = True
    AZURE_CORE_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module wrapper
    HAS_AZURE_CORE = False
    AZURE_CORE_IMPORT_ERROR = exc
    HTTPPolicy = object

USER_AGENT = "airgap.aks_inference/0.1.0"
RETRY_STATUSES = frozenset([408, 429, 500, 502, 503, 504])
# A 409 that only means "wait": the network provider answers it while another operation holds the
# virtual network (for example a subnet update while AKS joins nodes to another subnet of it).
RETRY_CONFLICT_CODES = frozenset(["AnotherOperationInProgress"])


class RetrySchedule:
    """When to retry and how long to sleep: pure, so it is table-tested.

    * 429 and transient 5xx (408, 500, 502, 503, 504) are retried, as are
      connection errors and a 409 whose ARM error code says another
      operation holds the resource; any other status is returned at once.
    * ``Retry-After`` (seconds or an HTTP date) is honoured as given.
    * Otherwise the delay is exponential with jitter: a random value between
      half and all of ``base * 2**(attempt-1)``, capped at ``cap``.
    * ``max_attempts`` counts every try; ``total_timeout`` bounds the whole
      sequence, sleeps included: a delay that would cross it is not taken.
    """

    def __init__(self, max_attempts=8, total_timeout=300.0, base=1.0, cap=30.0, rand=random.random):
        self.max_attempts = max(1, int(max_attempts))
        self.total_timeout = float(total_timeout)
        self.base = float(base)
        self.cap = float(cap)
        self.rand = rand

    @staticmethod
    def retryable_status(status, error_code=None):
        return status in RETRY_STATUSES or (status == 409 and error_code in RETRY_CONFLICT_CODES)

    @staticmethod
    def parse_retry_after(value, now=None):
        if value is None or value == "":
            return None
        try:
            return max(0.0, float(value))
        except (TypeError, ValueError):
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        now = time.time() if now is None else now
        return max(0.0, when.timestamp() - now)

    def backoff(self, attempt):
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        return ceiling * (0.5 + 0.5 * self.rand())

    def next_delay(self, attempt, elapsed, retry_after=None):
        """Seconds to sleep before try ``attempt + 1``, or None to give up."""
        if attempt >= self.max_attempts:
            return None
        delay = retry_after if retry_after is not None else self.backoff(attempt)
        if elapsed + delay > self.total_timeout:
            return None
        return delay


class ArmRetryPolicy(HTTPPolicy):
    """azure-core pipeline policy applying a RetrySchedule to every request."""

    def __init__(self, schedule, sleep=time.sleep, clock=time.monotonic):
        super().__init__()
        self.schedule = schedule
        self.sleep = sleep
        self.clock = clock
        self.retries = []  # (status or error name, delay) of each retry taken, for results/tests

    def send(self, request):
        start = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.next.send(request)
            except ClientAuthenticationError:
                raise
            except (ServiceRequestError, ServiceResponseError) as err:
                # A read error after a write was sent is retried too: every
                # write this collection sends is an idempotent PUT/DELETE or an
                # ARM action that is safe to repeat.
                delay = self.schedule.next_delay(attempt, self.clock() - start)
                if delay is None:
                    raise
                self.retries.append((type(err).__name__, delay))
                self.sleep(delay)
                continue
            status = response.http_response.status_code
            if not self.schedule.retryable_status(status, error_code(response) if status == 409 else None):
                return response
            retry_after = self.schedule.parse_retry_after(response.http_response.headers.get("Retry-After"))
            delay = self.schedule.next_delay(attempt, self.clock() - start, retry_after)
            if delay is None:
                return response
            self.retries.append((status, delay))
            self.sleep(delay)


def error_code(response):
    """The ARM error code of a pipeline response, or None."""
    try:
        body = json.loads(response.http_response.text() or "{}")
    except (ValueError, TypeError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


class Response:
    """What the client hands back: status, headers, parsed JSON body."""

    def __init__(self, status, headers, body, text=""):
        self.status = status
        self.headers = headers
        self.body = body
        self.text = text

    def header(self, name):
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class ArmClient:
    """GET/PUT/PATCH/DELETE/POST on ARM resource ids, with ARM errors mapped."""

    def __init__(self, settings, credential=None, transport=None, sleep=time.sleep):
        if not HAS_AZURE_CORE:  # pragma: no cover
            raise ImportError(str(AZURE_CORE_IMPORT_ERROR))
        self.settings = settings
        self.endpoint = settings["arm_endpoint"].rstrip("/")
        self.subscription_id = settings["subscription_id"]
        schedule = RetrySchedule(
            max_attempts=settings.get("api_retries", 8), total_timeout=settings.get("api_retry_timeout", 300)
        )
        self.retry_policy = ArmRetryPolicy(schedule, sleep=sleep)
        if transport is None:
            transport = RequestsTransport(
                connection_verify=settings.get("ca_bundle") or True,
                connection_timeout=30,
                read_timeout=settings.get("request_timeout", 120),
            )
        policies = [
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy(base_user_agent=USER_AGENT),
            self.retry_policy,
        ]
        if credential is not None:
            policies.append(BearerTokenCredentialPolicy(credential, settings["credential_scope"]))
        self._client = PipelineClient(self.endpoint, pipeline=Pipeline(transport=transport, policies=policies))

    # -- low level ---------------------------------------------------------
    def url(self, path_or_url):
        if path_or_url.startswith("https://") or path_or_url.startswith("http://"):
            return path_or_url
        return self.endpoint + path_or_url

    def request(self, method, path, api_version=None, body=None, action=None, ok=(200, 201, 202, 204)):
        params = {"api-version": api_version} if api_version else None
        kwargs = {"params": params}
        if body is not None:
            kwargs["json"] = body
        request = HttpRequest(method, self.url(path), **kwargs)
        try:
            http = self._client.send_request(request)
        except ClientAuthenticationError as err:
            raise AuthenticationError(
                "Azure authentication failed (%s, %s): %s"
                % (self.settings.get("kind"), self.settings.get("authority"), _first_line(err.message))
            )
        except (ServiceRequestError, ServiceResponseError) as err:
            raise ConnectionFailure("cannot reach %s: %s" % (self.endpoint, _first_line(str(err))))
        text = http.text() if http.content else ""
        payload = None
        if text:
            try:
                payload = json.loads(text)
            except ValueError:
                payload = None
        response = Response(http.status_code, dict(http.headers), payload, text)
        if http.status_code not in ok:
            code, message, target, details = parse_arm_error(http.status_code, payload, text)
            raise ArmError(
                http.status_code,
                code,
                message,
                action=action or "%s %s" % (method, path.split("?")[0]),
                target=target,
                request_id=response.header("x-ms-request-id"),
                details=details,
            )
        return response

    # -- verbs -----------------------------------------------------------------
    def get(self, resource_id, api_version):
        """The resource body, or None when it does not exist."""
        try:
            return self.request("GET", resource_id, api_version, action="read %s" % resource_id).body
        except ArmError as err:
            if err.status == 404:
                return None
            raise

    def put(self, resource_id, api_version, body):
        return self.request("PUT", resource_id, api_version, body, action="create or update %s" % resource_id)

    def patch(self, resource_id, api_version, body):
        return self.request("PATCH", resource_id, api_version, body, action="update %s" % resource_id)

    def delete(self, resource_id, api_version):
        """The response, or None when there was nothing to delete."""
        try:
            response = self.request("DELETE", resource_id, api_version, action="delete %s" % resource_id)
        except ArmError as err:
            if err.status == 404:
                return None
            raise
        return None if response.status == 204 else response

    def post(self, path, api_version, body=None, action=None):
        return self.request("POST", path, api_version, body if body is not None else {}, action=action or "POST " + path)

    def list(self, path, api_version):
        """Every item of a collection, following nextLink."""
        items = []
        response = self.request("GET", path, api_version, action="list %s" % path)
        while True:
            body = response.body or {}
            items.extend(body.get("value") or [])
            next_link = body.get("nextLink")
            if not next_link:
                return items
            response = self.request("GET", next_link, action="list %s" % path)

    def poll(self, url):
        """GET an operation URL as given (it carries its own api-version)."""
        return self.request("GET", url, action="poll operation", ok=(200, 201, 202, 204))


def _first_line(text):
    text = str(text or "").strip()
    return text.splitlines()[0] if text else ""
