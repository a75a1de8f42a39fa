# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired-vs-actual comparison driven by a per-resource field table.

Only what the user set is compared: ``desired`` holds the fields the user gave
(``None`` never appears in it), and the walk goes over ``desired``, so fields
the server filled in or reports read-only are never looked at. How each field
compares, and whether Azure lets it change after creation, is declared once:

    FIELDS = {
        "location": Field("location", kind="ci", updatable=False),
        "properties.addressSpace.addressPrefixes": Field(kind="cidr_set"),
        "properties.securityRules": Field(kind="keyed", key="name"),
    }

A path is the dotted path of the key; elements of a ``keyed`` or ``list``
field are addressed as ``path[]``. Unlisted dict fields compare key by key,
unlisted scalars exactly, unlisted lists in order.
"""

from __future__ import annotations

import copy
import ipaddress

KINDS = ("exact", "ci", "id", "set", "ci_set", "list", "cidr", "cidr_set", "keyed", "dict", "subset")


class Field:
    """How one field compares.

    kind:
      exact     equal after int/bool/str coercion of numbers given as strings
      ci        case-insensitive string (locations, enum values Azure re-cases)
      id        resource id: case-insensitive, trailing slash ignored
      set       unordered list of scalars
      ci_set    unordered list of case-insensitive strings
      list      ordered list, elements compared recursively as subsets
      cidr      one IP network (``10.0.0.0/16`` == ``10.0.0.0/16``, normalised)
      cidr_set  unordered list of IP networks
      keyed     unordered list of dicts matched on ``key`` (case-insensitive);
                each element compared recursively; with ``purge`` elements
                the user did not list are a difference
      dict      a whole mapping compared exactly (tags)
      subset    a mapping compared key by key (the default for dicts)
    updatable: False when Azure refuses to change the field after creation.
    """

    def __init__(self, kind="exact", updatable=True, key="name", purge=True, label=None):
        if kind not in KINDS:
            raise ValueError("unknown field kind %r" % kind)
        self.kind = kind
        self.updatable = updatable
        self.key = key
        self.purge = purge
        self.label = label


class Comparison:
    """Result of comparing desired with actual."""

    def __init__(self, differences, immutable, before, after, exists):
        self.differences = differences  # paths that differ
        self.immutable = immutable  # paths that differ and cannot change in place
        self.before = before
        self.after = after
        self.exists = exists

    @property
    def changed(self):
        return (not self.exists) or bool(self.differences)

    @property
    def diff(self):
        return {"before": self.before, "after": self.after}


def _norm_scalar(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        low = value.strip()
        if low.lower() in ("true", "false"):
            return low.lower() == "true"
        try:
            return int(low)
        except ValueError:
            return value
    return value


def _cidr(value):
    try:
        return str(ipaddress.ip_network(str(value).strip(), strict=False))
    except ValueError:
        return str(value)


def _id(value):
    return str(value or "").rstrip("/").lower()


def _scalar_equal(kind, desired, actual):
    if kind == "ci":
        return str(desired).lower() == str(actual if actual is not None else "").lower()
    if kind == "id":
        return _id(desired) == _id(actual)
    if kind == "cidr":
        return actual is not None and _cidr(desired) == _cidr(actual)
    return _norm_scalar(desired) == _norm_scalar(actual)


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _key(item, key):
    return str((item or {}).get(key, "")).lower() if isinstance(item, dict) else str(item).lower()


class FieldTable:
    """A mapping of dotted paths to Field rules, with the walk over desired."""

    def __init__(self, fields=None):
        self.fields = dict(fields or {})
        # ARM tags are one mapping: compared whole (purge_tags merges before the compare).
        self.fields.setdefault("tags", Field("dict"))

    def rule(self, path):
        return self.fields.get(path)

    def compare(self, desired, actual):
        """Compare ``desired`` (user-set fields only) with ``actual`` (or None)."""
        differences = []
        if actual is None:
            return Comparison([], [], {}, copy.deepcopy(desired), exists=False)
        self._walk(desired, actual, "", differences)
        immutable = [p for p in differences if self._immutable(p)]
        before = self.project(actual, desired)
        after = self._after(before, desired, "")
        return Comparison(differences, immutable, before, after, exists=True)

    def project(self, actual, shape, path=""):
        """The part of ``actual`` that ``shape`` (desired) talks about, for diffs.

        Mappings are cut down to the keys desired has; elements of keyed lists
        that desired names are cut down the same way, the others shown whole.
        """
        rule = self.fields.get(path) if path else None
        kind = rule.kind if rule else None
        if kind == "keyed" and isinstance(actual, list):
            wanted = dict((_key(item, rule.key), item) for item in _as_list(shape))
            out = []
            for item in actual:
                match = wanted.get(_key(item, rule.key))
                out.append(self.project(item, match, path + "[]") if isinstance(match, dict) else copy.deepcopy(item))
            return out
        if kind in (None, "subset") and isinstance(shape, dict) and isinstance(actual, dict):
            out = {}
            for key, value in shape.items():
                if key in actual:
                    out[key] = self.project(actual[key], value, key if not path else path + "." + key)
            return out
        if kind is None and isinstance(shape, list) and isinstance(actual, list):
            return [self.project(a, d, path + "[]") if d is not None else copy.deepcopy(a)
                    for a, d in zip(actual, shape + [None] * (len(actual) - len(shape)))]
        return copy.deepcopy(actual)

    def _after(self, before, desired, path):
        """``before`` with desired applied: what the resource looks like after the change."""
        rule = self.fields.get(path) if path else None
        if rule is not None and rule.kind == "keyed" and not rule.purge and isinstance(before, list):
            named = set(_key(item, rule.key) for item in _as_list(desired))
            return copy.deepcopy(list(desired)) + [b for b in before if _key(b, rule.key) not in named]
        if (rule is None or rule.kind == "subset") and isinstance(desired, dict) and isinstance(before, dict):
            out = copy.deepcopy(before)
            for key, value in desired.items():
                out[key] = self._after(before.get(key), value, key if not path else path + "." + key)
            return out
        return copy.deepcopy(desired)

    def overlay(self, base, desired, path=""):
        """``base`` with ``desired`` written over it, for a PUT body.

        Mappings merge key by key, except fields whose rule treats them as one
        value (``dict`` such as tags, ``keyed`` and list kinds): those are replaced
        whole, so a tag or rule the user dropped is really dropped.
        """
        rule = self.fields.get(path) if path else None
        if (rule is None or rule.kind == "subset") and isinstance(desired, dict) and isinstance(base, dict):
            out = copy.deepcopy(base)
            for key, value in desired.items():
                child = key if not path else path + "." + key
                out[key] = self.overlay(base.get(key), value, child) if key in base else copy.deepcopy(value)
            return out
        return copy.deepcopy(desired)

    def _immutable(self, path):
        probe = path
        while probe:
            rule = self.fields.get(probe)
            if rule is not None and not rule.updatable:
                return True
            if "." not in probe:
                break
            probe = probe.rsplit(".", 1)[0]
        return False

    def _walk(self, desired, actual, path, differences):
        rule = self.fields.get(path) if path else None
        kind = rule.kind if rule else None
        if kind in (None, "subset") and isinstance(desired, dict):
            actual = actual if isinstance(actual, dict) else {}
            for key, value in desired.items():
                child = key if not path else path + "." + key
                self._walk(value, actual.get(key), child, differences)
            return
        if kind == "dict":
            if (desired or {}) != (actual or {}):
                differences.append(path)
            return
        if kind == "keyed":
            if not self._keyed_equal(rule, desired, actual, path):
                differences.append(path)
            return
        if kind in ("set", "ci_set", "cidr_set"):
            norm = {"set": _norm_scalar, "ci_set": lambda v: str(v).lower(), "cidr_set": _cidr}[kind]
            if sorted(map(str, map(norm, _as_list(desired)))) != sorted(map(str, map(norm, _as_list(actual)))):
                differences.append(path)
            return
        if isinstance(desired, (list, tuple)) or kind == "list":
            desired_l, actual_l = _as_list(desired), _as_list(actual)
            if len(desired_l) != len(actual_l):
                differences.append(path)
                return
            sub = []
            for d_item, a_item in zip(desired_l, actual_l):
                self._walk(d_item, a_item, path + "[]", sub)
            if sub:
                differences.append(path)
            return
        if not _scalar_equal(kind or "exact", desired, actual):
            differences.append(path)

    def _keyed_equal(self, rule, desired, actual, path):
        desired_l, actual_l = _as_list(desired), _as_list(actual)
        by_key = {_key(item, rule.key): item for item in actual_l}
        seen = set()
        for item in desired_l:
            k = _key(item, rule.key)
            seen.add(k)
            if k not in by_key:
                return False
            sub = []
            rest = dict((kk, vv) for kk, vv in item.items() if kk != rule.key) if isinstance(item, dict) else item
            self._walk(rest, by_key[k], path + "[]", sub)
            if sub:
                return False
        if rule.purge and set(by_key) - seen:
            return False
        return True


def project(actual, shape):
    """The part of ``actual`` that ``shape`` (desired) talks about, for diffs."""
    if not isinstance(shape, dict) or not isinstance(actual, dict):
        return copy.deepcopy(actual)
    out = {}
    for key, value in shape.items():
        if key in actual:
            out[key] = project(actual[key], value) if isinstance(value, dict) else copy.deepcopy(actual[key])
    return out


def merge(base, overlay):
    """Deep-merge ``overlay`` onto a copy of ``base``; lists are replaced."""
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return copy.deepcopy(overlay)
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def prune_none(value):
    """Drop None values (recursively): what remains is what the user set."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = prune_none(item)
            if item is not None and item != {}:
                out[key] = item
        return out
    if isinstance(value, list):
        return [prune_none(v) for v in value]
    return value
