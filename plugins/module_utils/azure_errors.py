# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one family of errors the collection's Azure modules raise and catch.

A module catches ``AzureModuleError`` once, in ``main()``, and turns it into
``fail_json(**err.to_result())``: the user sees Azure's code and message (or the
field their input got wrong), never a traceback.
"""

from __future__ import annotations


class AzureModuleError(Exception):
    """Base class: a message for the user plus structured details."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_result(self):
        result = {"msg": self.message}
        result.update({k: v for k, v in self.details.items() if v is not None})
        return result


class InputError(AzureModuleError):
    """Bad input, detected before any request is sent. Always names the field."""

    def __init__(self, field, problem):
        super().__init__("%s: %s" % (field, problem), field=field)
        self.field = field
        self.problem = problem


class ArmError(AzureModuleError):
    """Azure Resource Manager refused a request (or an operation ended Failed)."""

    def __init__(self, status, code, message, action=None, target=None, request_id=None, details=None):
        self.status = status
        self.code = code or "Unknown"
        self.arm_message = message or ""
        self.action = action
        text = "%s: %s" % (self.code, self.arm_message) if message else self.code
        if action:
            text = "%s failed: %s" % (action, text)
        super().__init__(
            text,
            error={
                "status": status,
                "code": self.code,
                "message": self.arm_message,
                "target": target,
                "details": details or None,
                "request_id": request_id,
            },
        )


class WaitTimeout(AzureModuleError):
    """A long-running operation did not finish within the wait budget."""


class AuthenticationError(AzureModuleError):
    """The credential could not obtain a token."""


class ConnectionFailure(AzureModuleError):
    """ARM (or the authority) could not be reached at all."""


def parse_arm_error(status, payload, text=""):
    """Return ``(code, message, target, details)`` from an ARM error body.

    ARM answers ``{"error": {"code", "message", "target", "details"}}``; a few
    older providers answer ``{"code", "message"}`` at the top level; proxies may
    answer plain text. All three are understood.
    """
    error = None
    if isinstance(payload, dict):
        error = payload.get("error") if isinstance(payload.get("error"), dict) else payload
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        details = [
            {"code": d.get("code"), "message": d.get("message")}
            for d in error.get("details") or []
            if isinstance(d, dict)
        ]
        return error.get("code"), error.get("message"), error.get("target"), details
    snippet = (text or "").strip()[:500]
    return "HttpStatus%s" % status, snippet or "HTTP %s with no error body" % status, None, []
