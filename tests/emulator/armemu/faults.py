"""Fault injection rules.

A rule is a dict (Python ``add_fault(**rule)`` or JSON ``POST /_emulator/faults``):

match keys
    ``method``         HTTP method, or a list of methods; None/absent = any
    ``path``           regular expression searched (case-insensitively) in the request path
                       (no query string); absent = any path
    ``resource_type``  e.g. ``Microsoft.Network/virtualNetworks/subnets`` (case-insensitive)
    ``kind``           which requests it can hit: ``arm`` (default), ``operation`` (polls of
                       async operations), ``token``, or ``any``
    ``times``          how many matching requests it applies to (default 1; 0 or None = unlimited)

effect keys (one of)
    ``status``         answer with this HTTP status and an ARM error body instead of handling
                       the request; with ``retry_after`` (seconds -> ``Retry-After`` header),
                       ``code`` and ``message``
    ``operation``      ``"Failed"``: handle the request, but its async operation ends Failed
                       with ``code``/``message``; the resource's provisioningState becomes Failed
    ``duration``       seconds (before time_scale) the request's async operation takes
"""
import re
import threading

from .errors import ArmError

MATCH_KEYS = {"method", "path", "resource_type", "kind", "times"}
EFFECT_KEYS = {"status", "retry_after", "code", "message", "operation", "duration"}
KINDS = {"arm", "operation", "token", "any"}

DEFAULT_CODES = {
    429: ("TooManyRequests", "The request is being throttled as the limit has been reached for "
                             "operation type - Write_ObservationWindow_00:01:00. (injected fault)"),
    500: ("InternalServerError", "Encountered internal server error. (injected fault)"),
    502: ("BadGateway", "The gateway did not receive a response within the specified time. (injected fault)"),
    503: ("ServiceUnavailable", "The service is currently unavailable. (injected fault)"),
    504: ("GatewayTimeout", "The gateway did not receive a response within the specified time. (injected fault)"),
}


class FaultRule:
    def __init__(self, rule_id, rule):
        unknown = set(rule) - MATCH_KEYS - EFFECT_KEYS
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        effects = [k for k in ("status", "operation", "duration") if rule.get(k) is not None]
        if not effects:
            raise ValueError("a fault rule needs one of: status, operation, duration")
        if "status" in effects and len(effects) > 1:
            raise ValueError("'status' cannot be combined with 'operation' or 'duration'")
        self.id = rule_id
        self.rule = dict(rule)
        method = rule.get("method")
        if isinstance(method, str):
            method = [method]
        self.methods = {m.upper() for m in method} if method else None
        self.path_re = re.compile(rule["path"], re.IGNORECASE) if rule.get("path") else None
        self.resource_type = (rule.get("resource_type") or "").lower() or None
        self.kind = (rule.get("kind") or "arm").lower()
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}")
        times = rule.get("times", 1)
        self.remaining = None if not times else int(times)
        self.hits = 0
        self.status = int(rule["status"]) if rule.get("status") is not None else None
        self.retry_after = rule.get("retry_after")
        self.code = rule.get("code")
        self.message = rule.get("message")
        op = rule.get("operation")
        if op is not None and str(op).lower() != "failed":
            raise ValueError("operation must be 'Failed'")
        self.operation_failed = op is not None
        self.duration = float(rule["duration"]) if rule.get("duration") is not None else None

    def matches(self, method, path, kind, resource_type):
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.kind != "any" and self.kind != kind:
            return False
        if self.methods is not None and method.upper() not in self.methods:
            return False
        if self.path_re is not None and not self.path_re.search(path):
            return False
        if self.resource_type is not None and (resource_type or "").lower() != self.resource_type:
            return False
        return True

    def error(self):
        code, message = DEFAULT_CODES.get(self.status, ("InjectedFault", "Injected fault."))
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(int(self.retry_after)) if float(self.retry_after).is_integer() \
                else str(self.retry_after)
        return ArmError(self.status, self.code or code, self.message or message, headers=headers)

    def operation_error(self):
        return {
            "code": self.code or "InternalServerError",
            "message": self.message or "An error occurred while processing the operation. (injected fault)",
        }

    def describe(self):
        d = dict(self.rule)
        d.update({"id": self.id, "remaining": self.remaining, "hits": self.hits})
        return d


class FaultSet:
    def __init__(self):
        self._rules = []
        self._next = 1
        self._lock = threading.Lock()

    def add(self, rule):
        with self._lock:
            r = FaultRule(self._next, rule)
            self._next += 1
            self._rules.append(r)
            return r.id

    def clear(self):
        with self._lock:
            self._rules.clear()

    def list(self):
        with self._lock:
            return [r.describe() for r in self._rules]

    def take(self, method, path, kind, resource_type):
        """Return the first rule matching this request (consuming one of its uses), or None."""
        with self._lock:
            for r in self._rules:
                if r.matches(method, path, kind, resource_type):
                    if r.remaining is not None:
                        r.remaining -= 1
                    r.hits += 1
                    return r
        return None
