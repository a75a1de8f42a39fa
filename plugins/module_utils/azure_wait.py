# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long-running operations: one deadline per module run, one way to wait.

ARM answers a slow PUT/DELETE/POST with ``201``/``202`` and an
``Azure-AsyncOperation`` (preferred) or ``Location`` header. ``wait_for_operation``
follows whichever is present until the operation ends, on a monotonic clock,
sleeping what ``Retry-After`` asks (bounded). A resource whose operation was
started by an earlier run (``wait: false``) is awaited by its provisioning
state instead: ``wait_for_provisioning``.
"""

from __future__ import annotations

import time

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, WaitTimeout

TERMINAL_STATES = ("succeeded", "failed", "canceled", "cancelled")
DEFAULT_POLL = 5.0
MAX_POLL = 30.0
MIN_POLL = 0.05


class Deadline:
    """A time budget shared by every wait of one module run."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = float(seconds)
        self.clock = clock
        self.start = clock()

    def remaining(self):
        return max(0.0, self.seconds - (self.clock() - self.start))

    def expired(self):
        return self.remaining() <= 0

    def elapsed(self):
        return self.clock() - self.start


def _interval(response, default):
    value = response.header("Retry-After") if response is not None else None
    try:
        seconds = float(value) if value not in (None, "") else default
    except ValueError:
        seconds = default
    return min(MAX_POLL, max(MIN_POLL, seconds))


def _sleep_within(deadline, seconds, sleep, what):
    if deadline.remaining() <= 0:
        raise WaitTimeout(
            "timed out after %ds waiting for %s; Azure carries on with it: run again (or with a larger "
            "wait_timeout) to wait for it" % (deadline.seconds, what),
            timeout=deadline.seconds,
        )
    sleep(min(seconds, deadline.remaining()))


def operation_url(response):
    """The URL to poll for a 201/202 answer, or None for a finished one."""
    if response is None or response.status not in (201, 202):
        return None, None
    url = response.header("Azure-AsyncOperation")
    if url:
        return url, "async"
    url = response.header("Location")
    if url:
        return url, "location"
    return None, None


def wait_for_operation(client, response, deadline, what, sleep=time.sleep, poll=DEFAULT_POLL):
    """Follow a long-running operation to its end.

    Returns the final body of a ``Location`` operation (if any) or None. Raises
    ArmError with the operation's own error when it ends Failed or Canceled.
    """
    url, style = operation_url(response)
    if url is None:
        return response.body if response is not None else None
    interval = _interval(response, poll)
    while True:
        _sleep_within(deadline, interval, sleep, what)
        current = client.poll(url)
        interval = _interval(current, poll)
        if style == "location":
            if current.status == 202:
                continue
            return current.body
        status = str((current.body or {}).get("status") or "").lower()
        if status not in TERMINAL_STATES:
            continue
        if status == "succeeded":
            return None
        error = (current.body or {}).get("error") or {}
        raise ArmError(
            current.status,
            error.get("code") or ("OperationCanceled" if status.startswith("cancel") else "OperationFailed"),
            error.get("message") or "the operation ended %s" % status,
            action=what,
            target=error.get("target"),
        )


def provisioning_state(body):
    return str(((body or {}).get("properties") or {}).get("provisioningState") or "Succeeded")


def wait_for_provisioning(client, resource_id, api_version, deadline, what, sleep=time.sleep, poll=DEFAULT_POLL):
    """GET a resource until its provisioningState is terminal; return the body.

    Returns None if the resource disappears meanwhile.
    """
    body = client.get(resource_id, api_version)
    while body is not None and provisioning_state(body).lower() not in TERMINAL_STATES:
        _sleep_within(deadline, poll, sleep, what)
        body = client.get(resource_id, api_version)
    return body


def wait_for_absent(client, resource_id, api_version, deadline, what, sleep=time.sleep, poll=DEFAULT_POLL):
    while client.get(resource_id, api_version) is not None:
        _sleep_within(deadline, poll, sleep, what)
