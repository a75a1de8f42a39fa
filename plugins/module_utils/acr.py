# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Container Registry rules checked before any request.

* Cache rules (artifact cache): names, the upstream registries the artifact
  cache serves, wildcard syntax, the rule AKS needs for network-isolated
  bootstrap (``aks-managed-mcr``: ``mcr.microsoft.com/*`` ->
  ``aks-managed-repository/*``), the overlap rule (wildcard rules must not
  overlap other wildcard rules; a static rule may sit under a wildcard one;
  two rules cannot serve the same repository) and the 1,000-rule limit.
* Image references for ``importImage`` (``registry/repository[:tag][@sha256:...]``).
* The import ledger: ARM offers no way to list a registry's tags (that is the
  private data plane), so imports are recorded in registry tags whose names
  start with ``LEDGER_PREFIX``; every module that manages registry tags keeps them.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

REGISTRY_NAME_RE = re.compile(r"^[a-zA-Z0-9]{5,50}$")
CHILD_NAME_RE = re.compile(r"^[a-zA-Z0-9-]{5,50}$")  # cache rules and credential sets
MAX_CACHE_RULES = 1000

AKS_CACHE_RULE = {
    "name": "aks-managed-mcr",
    "source": "mcr.microsoft.com/*",
    "target": "aks-managed-repository/*",
}

# Upstream registries the artifact cache serves (Microsoft's documented list) and
# whether they take credentials (a credential set).
UPSTREAMS = {
    "docker.io": True,
    "mcr.microsoft.com": False,
    "public.ecr.aws": False,
    "ghcr.io": True,
    "nvcr.io": True,
    "quay.io": True,
    "registry.k8s.io": True,
    "gcr.io": True,
}
# Host names users write for Docker Hub that the cache knows as docker.io.
UPSTREAM_ALIASES = {"registry-1.docker.io": "docker.io", "index.docker.io": "docker.io"}

# Distribution spec repository path components (lower case).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(r"^%s(?:/%s)*$" % (_COMPONENT, _COMPONENT))
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                     r"[A-Za-z0-9])?)*(?::[0-9]{1,5})?$")

LEDGER_PREFIX = "acr-import."


def check_registry_name(field, value):
    if value is not None and not REGISTRY_NAME_RE.match(value):
        raise InputError(field, "%r is not a registry name (5-50 letters and digits)" % (value,))


def check_child_name(field, value, what="name"):
    if value is not None and not CHILD_NAME_RE.match(value):
        raise InputError(field, "%r is not a valid %s (5-50 letters, digits and '-')" % (value, what))


def upstream_host(host):
    host = str(host or "").lower()
    return UPSTREAM_ALIASES.get(host, host)


def check_login_server(field, value, for_credentials=False):
    """An upstream login server the artifact cache serves (and takes credentials for)."""
    host = upstream_host(value)
    if not HOST_RE.match(host) or "." not in host:
        raise InputError(field, "%r is not a registry host name (for example docker.io)" % (value,))
    if host not in UPSTREAMS:
        raise InputError(field, "%r is not an upstream the artifact cache serves (%s)"
                         % (value, ", ".join(sorted(UPSTREAMS))))
    if for_credentials and not UPSTREAMS[host]:
        raise InputError(field, "%s supports unauthenticated pulls only: it takes no credential set" % host)
    return host


def parse_cache_source(field, value):
    """``registry/path`` or ``registry/path/*`` or ``registry/*`` -> (host, path, wildcard)."""
    text = str(value or "").strip()
    if "/" not in text:
        raise InputError(field, "%r is not a source repository (registry/repository, e.g. docker.io/library/nginx "
                                "or mcr.microsoft.com/*)" % (value,))
    host, path = text.split("/", 1)
    host = check_login_server(field, host)
    wildcard = path == "*" or path.endswith("/*")
    stem = path[:-2] if path.endswith("/*") else ("" if path == "*" else path)
    if "*" in stem:
        raise InputError(field, "%r: a wildcard is only allowed as the last path element ('/*')" % (value,))
    if stem and not REPOSITORY_RE.match(stem):
        raise InputError(field, "%r: %r is not a repository path (lower-case letters, digits, '.', '_', '-', '/')"
                         % (value, stem))
    if not stem and not wildcard:
        raise InputError(field, "%r has no repository path" % (value,))
    return host, stem, wildcard


def parse_cache_target(field, value):
    """``repository`` or ``prefix/*`` or ``*`` -> (stem, wildcard)."""
    text = str(value or "").strip()
    wildcard = text == "*" or text.endswith("/*")
    stem = text[:-2] if text.endswith("/*") else ("" if text == "*" else text)
    if "*" in stem or (not stem and not wildcard):
        raise InputError(field, "%r is not a target repository (a repository, or a prefix ending in '/*')" % (value,))
    if stem and not REPOSITORY_RE.match(stem):
        raise InputError(field, "%r is not a repository path (lower-case letters, digits, '.', '_', '-', '/')"
                         % (value,))
    return stem, wildcard


def check_cache_rule(prefix, name, source, target):
    """Checks of one rule; returns ``(source_host, source_wildcard, target_stem, target_wildcard)``."""
    check_child_name(prefix + "name", name, "cache rule name")
    host, _stem, source_wild = parse_cache_source(prefix + "source", source)
    target_stem, target_wild = parse_cache_target(prefix + "target", target)
    if source_wild != target_wild:
        raise InputError(prefix + "target", "%r and the source %r must both end in '/*' or neither" % (target, source))
    if name == AKS_CACHE_RULE["name"] and (source != AKS_CACHE_RULE["source"] or target != AKS_CACHE_RULE["target"]):
        raise InputError(prefix + "source" if source != AKS_CACHE_RULE["source"] else prefix + "target",
                         "the rule %s must map %s to %s exactly, as AKS requires for network-isolated node "
                         "bootstrap; got %s -> %s"
                         % (AKS_CACHE_RULE["name"], AKS_CACHE_RULE["source"], AKS_CACHE_RULE["target"], source, target))
    return host, source_wild, target_stem, target_wild


def targets_overlap(first, second):
    """Whether two cache rule targets conflict (the documented overlap rule).

    Two wildcard rules overlap when one prefix contains the other; two static
    rules conflict when they serve the same repository; a static rule under a
    wildcard rule is allowed.
    """
    a_stem, a_wild = parse_cache_target("target", first)
    b_stem, b_wild = parse_cache_target("target", second)
    if a_wild and b_wild:
        if not a_stem or not b_stem:
            return True
        return a_stem == b_stem or a_stem.startswith(b_stem + "/") or b_stem.startswith(a_stem + "/")
    if not a_wild and not b_wild:
        return a_stem == b_stem
    return False


def cache_rule_problems(rules, credential_sets=None, existing=None, prefix="cache_rules"):
    """Set-level problems of cache rules: a list of ``(field, problem)``.

    ``rules``: dicts with name, source, target, credential_set (optional).
    ``credential_sets``: names that exist or will exist (None: not checked).
    ``existing``: rules already in the registry (dicts with name, source, target) not in ``rules``.
    """
    problems = []
    seen = {}
    checked = []
    for index, rule in enumerate(rules):
        field = "%s[%d]." % (prefix, index)
        try:
            check_cache_rule(field, rule.get("name"), rule.get("source"), rule.get("target"))
        except InputError as err:
            problems.append((err.field, err.problem))
            continue
        name = rule["name"].lower()
        if name in seen:
            problems.append((field + "name", "duplicate cache rule name %r (also %s)" % (rule["name"], seen[name])))
            continue
        seen[name] = "%s[%d]" % (prefix, index)
        cred = rule.get("credential_set")
        if cred:
            host = upstream_host(rule["source"].split("/", 1)[0])
            if not UPSTREAMS.get(host, True):
                problems.append((field + "credential_set",
                                 "%s supports unauthenticated pulls only: a rule for it takes no credential set" % host))
            elif credential_sets is not None and cred.lower() not in set(c.lower() for c in credential_sets):
                problems.append((field + "credential_set", "%r is not a credential set defined here (%s)"
                                 % (cred, ", ".join(sorted(credential_sets)) or "none defined")))
        for other_field, other in checked:
            if targets_overlap(rule["target"], other["target"]):
                problems.append((field + "target", "%r overlaps the target %r of %s (%s); wildcard rules must not "
                                 "overlap and two rules cannot serve one repository"
                                 % (rule["target"], other["target"], other_field, other["name"])))
                break
        checked.append(("%s[%d]" % (prefix, index), rule))
    for rule in existing or []:
        if rule["name"].lower() in seen:
            continue
        for other_field, other in checked:
            if targets_overlap(rule["target"], other["target"]):
                problems.append((other_field + ".target", "%r overlaps the target %r of the registry's existing rule "
                                 "%s" % (other["target"], rule["target"], rule["name"])))
    total = len(seen) + len([r for r in existing or [] if r["name"].lower() not in seen])
    if total > MAX_CACHE_RULES:
        problems.append((prefix, "%d cache rules; a registry holds at most %d" % (total, MAX_CACHE_RULES)))
    return problems


def parse_image_reference(field, value, registry_required=True):
    """``registry/repository[:tag][@sha256:digest]`` -> dict(registry, repository, tag, digest)."""
    text = str(value or "").strip()
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not DIGEST_RE.match(digest):
            raise InputError(field, "%r: %r is not a sha256 digest (sha256: and 64 hex digits)" % (value, digest))
    registry = None
    first, _sep, rest = text.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, text = first.lower(), rest
    elif registry_required:
        raise InputError(field, "%r names no registry; write it in full, e.g. docker.io/vllm/vllm-openai:v0.6.3 or "
                                "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.3" % (value,))
    tag = None
    if ":" in text.rsplit("/", 1)[-1]:
        text, tag = text.rsplit(":", 1)
        if not TAG_RE.match(tag):
            raise InputError(field, "%r: %r is not a tag" % (value, tag))
    if not REPOSITORY_RE.match(text):
        raise InputError(field, "%r: %r is not a repository path (lower-case letters, digits, '.', '_', '-', '/')"
                         % (value, text))
    if registry is not None and not HOST_RE.match(registry):
        raise InputError(field, "%r: %r is not a registry host name" % (value, registry))
    return {"registry": registry, "repository": text, "tag": tag, "digest": digest}


def source_image(ref):
    """The ``sourceImage`` of importImage: repository with its tag and/or digest."""
    out = ref["repository"]
    if ref.get("tag"):
        out += ":" + ref["tag"]
    if ref.get("digest"):
        out += "@" + ref["digest"]
    return out


def default_target(ref):
    """Where ``az acr import`` puts an image without --image: same repository, same tag."""
    return "%s:%s" % (ref["repository"], ref.get("tag") or "latest")


def check_target_tag(field, value):
    text = str(value or "")
    repo, _sep, tag = text.partition(":")
    if not REPOSITORY_RE.match(repo) or not tag or not TAG_RE.match(tag):
        raise InputError(field, "%r is not repository:tag (lower-case repository path and a tag)" % (value,))
    return text


def ledger_key(target):
    """The registry tag that records what was imported into ``target`` (repository:tag)."""
    return LEDGER_PREFIX + hashlib.sha256(target.lower().encode("utf-8")).hexdigest()[:20]


def ledger_value(source):
    """What is recorded: the full source reference (hashed when longer than a tag value may be)."""
    if len(source) <= 256:
        return source
    return "sha256-of-source:" + hashlib.sha256(source.encode("utf-8")).hexdigest()


def is_ledger_tag(name):
    return str(name).startswith(LEDGER_PREFIX)
