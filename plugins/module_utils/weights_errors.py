# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one family of errors the weights staging code raises; the module turns them into fail_json."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class WeightsError(Exception):
    """A failure with a message meant for the user, and extra result fields (never secrets)."""

    def __init__(self, msg, **details):
        super(WeightsError, self).__init__(msg)
        self.msg = msg
        self.details = details


class ManifestError(WeightsError):
    """A manifest or completion marker that is malformed or was edited by hand."""


class SourceError(WeightsError):
    """The source could not be read, resolved or downloaded."""


class ContentMismatch(WeightsError):
    """Bytes whose hash is not the one the source publishes (or that the copy read back)."""

    def __init__(self, path, field, expected, actual, what):
        super(ContentMismatch, self).__init__(
            "%s: %s is %s but %s %s; nothing was marked complete" % (path, field, actual, what, expected),
            bad_file={"path": path, "field": field, "expected": expected, "actual": actual})
        self.path = path


class MissingLibrary(WeightsError):
    """A Python library a source needs is not installed on the host running the module."""

    def __init__(self, library, traceback):
        super(MissingLibrary, self).__init__("%s is required for this source" % library)
        self.library = library
        self.traceback = traceback


class Cancelled(Exception):
    """Raised inside a worker when another worker failed; never reaches the user."""
