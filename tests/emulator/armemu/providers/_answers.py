"""Answers a resource type gives for a resource the store does not hold.

The engine asks a type's ``not_found(ctx)`` for the error to raise when a GET (or a POST
action) names a missing record, and answers ``ArmError.status`` with ``ArmError.body()``.
Some ARM resources are never created by a PUT but still answer a GET: a preview feature
nobody registered (200, ``NotRegistered``), a run-command result that is not ready yet
(202 with a ``Location``). :class:`Answer` carries such a non-error answer through that path.
"""
from ..errors import ArmError


class Answer(ArmError):
    """A 2xx answer delivered through ``not_found``: status, body (or None), headers."""

    def __init__(self, status, body=None, headers=None):
        super().__init__(status, "NotAnError", "not an error", headers=headers)
        self.payload = body

    def body(self):
        return self.payload
