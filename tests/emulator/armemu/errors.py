"""ARM error bodies.

Every error the emulator returns has the shape ARM uses::

    {"error": {"code": "...", "message": "...", "target"?: "...", "details"?: [...]}}
"""
import json


class ArmError(Exception):
    """An error answered to the client as an ARM error body."""

    def __init__(self, status, code, message, target=None, details=None, headers=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = int(status)
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.headers = dict(headers or {})

    def body(self):
        err = {"code": self.code, "message": self.message}
        if self.target is not None:
            err["target"] = self.target
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


def bad_request(code, message, **kw):
    return ArmError(400, code, message, **kw)


def not_found(code, message, **kw):
    return ArmError(404, code, message, **kw)


def conflict(code, message, **kw):
    return ArmError(409, code, message, **kw)


def invalid_request_format(path, value, type_name):
    """What the network RP answers when a value cannot be deserialized (e.g. a bad enum)."""
    detail = f"Error converting value {json.dumps(value)} to type '{type_name}'. Path '{path}'."
    return ArmError(
        400,
        "InvalidRequestFormat",
        f"Cannot parse the request. {detail}",
        details=[{"code": "InvalidJson", "message": detail}],
    )
