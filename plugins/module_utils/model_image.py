# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Weight images: the model's staged, verified files baked into container images on the jump box.

Two kinds of image are made from one staged share (a directory written by model_weights, with its
manifest and completion marker):

* ``fat``: the serving image from the private registry plus the weights in one more layer, the
  offline environment (``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1``) and the model path as the
  default argument;
* ``weights``: the weights alone (``FROM scratch`` by default), for a cluster that mounts it as an
  image volume or copies it with an init container.

The files enter the image through a build context limited, by a generated ignore file, to exactly
what the manifest lists (plus the manifest and the marker): a file left on the share beside the model
never reaches an image. No ``ARG`` and no build argument exists, so no token can reach a build.

``run(params, check_mode, runner)`` is everything the model_image module does:

1. the share is checked: its manifest (edited by hand: refused), its completion marker (missing or
   for another manifest: refused) and, unless ``verify=before_build`` defers it to the first build,
   every file hashed again (through the weights module_utils);
2. each image's labels are derived (manifest digest, source, revision, and a recipe hash over the
   rendered Containerfile, the ignore file and the build settings) and compared with the labels of
   the tag in the registry (``skopeo inspect``): the same digest and recipe means nothing to do;
3. otherwise the image is built (a local image with those labels is reused), pushed unless the
   registry already has the same configuration digest, read back from the registry, and the local
   copy removed unless ``keep_local``.

Everything that decides is pure and unit-tested; ``Engine`` holds every command line.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import posixpath
import re
import shutil
import tempfile
import time

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_manifest as wm
from ansible_collections.airgap.aks_inference.plugins.module_utils.k8s_policy import (
    credential_name,
    credential_value,
    find_credentials,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights import verify_share
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import WeightsError

KINDS = ("fat", "weights")
RUNTIMES = ("podman", "docker")
FORMATS = ("oci", "docker")
COMPRESSIONS = ("gzip", "zstd")
VERIFY_MODES = ("always", "before_build")
SCRATCH = "scratch"
OFFLINE_ENV = (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"))

OCI = "org.opencontainers.image."
OWN = "io.airgap.aks-inference."
LABEL_DIGEST = OWN + "weights.digest"
LABEL_RECIPE = OWN + "image.recipe"
LABEL_KIND = OWN + "image.kind"
LABEL_PATH = OWN + "weights.path"
LABEL_FILES = OWN + "weights.files"
LABEL_BYTES = OWN + "weights.bytes"
LABEL_SOURCE = OWN + "weights.source"
RECIPE_FORMAT = "airgap.aks_inference/model-image/v1"

CONTAINERFILE = "Containerfile"
# docker (BuildKit) reads the ignore file of a Dockerfile from <Dockerfile>.dockerignore next to it;
# podman is given the same file with --ignorefile.
IGNOREFILE = CONTAINERFILE + ".dockerignore"
# Staging machinery that never enters an image (the manifest and the marker do: the image is a
# complete share of its own).
NOT_IN_IMAGE = (wm.STATE_NAME, wm.LOCK_NAME, wm.PARTIAL_DIR)

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(r"^%s(?:/%s)*$" % (_COMPONENT, _COMPONENT))
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
# docker's rule: the first component names a registry when it is localhost or holds a '.' or a ':'
_HOST_RE = re.compile(r"^(?:localhost(?::[0-9]{1,5})?|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]{1,5})?|"
                      r"[A-Za-z0-9-]+:[0-9]{1,5}|\[[0-9A-Fa-f:]+\](?::[0-9]{1,5})?)$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MODEL_PATH_RE = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_GLOB_CHARS = "*?[]\\"
_NOT_FOUND_RE = re.compile(r"manifest unknown|name unknown|not found|no such (image|object)|image not known|"
                           r"repository name not known", re.I)


class ImageError(Exception):
    """A failure meant for the user; ``details`` are extra result fields (never secrets)."""

    def __init__(self, msg, **details):
        super(ImageError, self).__init__(msg)
        self.msg = msg
        self.details = details


# ----------------------------------------------------------------------------------------------
# image references
# ----------------------------------------------------------------------------------------------
class Reference:
    """``registry/path[:tag][@digest]``; ``registry`` is None when the text names none."""

    def __init__(self, registry, path, tag=None, digest=None):
        self.registry = registry
        self.path = path
        self.tag = tag
        self.digest = digest

    @property
    def name(self):
        return "%s/%s" % (self.registry, self.path) if self.registry else self.path

    def with_digest(self, digest):
        return "%s@%s" % (self.name, digest)

    def __str__(self):
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text


def parse_reference(text, field):
    """Parse an image reference; raise ImageError naming ``field`` when it is not one."""
    value = str(text or "").strip()
    if not value or any(c.isspace() for c in value):
        raise ImageError("%s: %r is not an image reference" % (field, text))
    rest, digest = value, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise ImageError("%s: %r: the digest must be sha256: and 64 lower-case hex digits" % (field, text))
    registry = None
    first, sep, remainder = rest.partition("/")
    if sep and _HOST_RE.match(first):
        registry, rest = first.lower(), remainder
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG_RE.match(tag):
            raise ImageError("%s: %r: the tag %r is not valid (letters, digits, '_', '.', '-'; at most 128)"
                             % (field, text, tag))
    if not _PATH_RE.match(rest):
        raise ImageError("%s: %r: the repository %r must be lower-case components separated by '/'"
                         % (field, text, rest))
    return Reference(registry, rest, tag, digest)


def qualify(text, field, registry=None, need_tag=False, allow_digest=True):
    """The reference of ``text`` in the private registry.

    A reference without a registry gets ``registry`` in front; a reference naming another registry
    than ``registry`` is refused (images come only from, and go only to, the private registry).
    """
    ref = parse_reference(text, field)
    if ref.registry is None:
        if not registry:
            raise ImageError("%s: %r names no registry; give the full name (myregistry.azurecr.io/repo:tag) or set "
                             "registry" % (field, text))
        ref.registry = registry.lower()
    elif registry and ref.registry != registry.lower():
        raise ImageError("%s: %r is not in the private registry %s" % (field, text, registry))
    if ref.digest and not allow_digest:
        raise ImageError("%s: %r: a target is named by its tag, not by a digest" % (field, text))
    if need_tag and not ref.tag:
        raise ImageError("%s: %r: name a tag" % (field, text))
    if not ref.tag and not ref.digest:
        raise ImageError("%s: %r: name a tag or a digest (no implicit latest)" % (field, text))
    return ref


def tag_text(value):
    """``value`` made into tag characters (what {revision} becomes in a tag)."""
    text = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(value)).strip(".-")
    return text[:100] or "none"


def expand(template, field, digest, revision):
    """Replace ``{digest}`` (12 hex digits of the manifest digest) and ``{revision}`` in a target."""
    def replace(match):
        key = match.group(1)
        if key == "digest":
            return digest.split(":", 1)[-1][:12]
        if key == "revision":
            if not revision:
                raise ImageError("%s: uses {revision} but the manifest records no revision" % field)
            return tag_text(revision)
        raise ImageError("%s: unknown placeholder {%s} (use {digest} or {revision})" % (field, key))
    return _PLACEHOLDER_RE.sub(replace, str(template or ""))


# ----------------------------------------------------------------------------------------------
# the environment of the runtime
# ----------------------------------------------------------------------------------------------
def secret_env_names(environ):
    """Names of environment variables that carry (or look like they carry) a credential.

    The module removes them from its own environment before running podman, docker or skopeo:
    none of them needs a token from the environment (the registry login is a file), and a variable
    that is not there cannot end up in a build.
    """
    names = []
    for name, value in environ.items():
        if credential_name(name, value) or credential_value(value):
            names.append(name)
    return sorted(names)


# ----------------------------------------------------------------------------------------------
# the build context
# ----------------------------------------------------------------------------------------------
def _escape_glob(text):
    return "".join("\\" + c if c in _GLOB_CHARS else c for c in text)


def ignore_file(manifest):
    """The ignore file that limits the build context to the files the manifest lists.

    ``**`` ignores everything, then every listed path is taken back with ``!path``. Raises for a
    path the ignore-file syntax cannot name exactly (a directory whose name holds a glob character,
    leading or trailing blanks), so that no listed file silently stays out of the image.
    """
    paths = [e["path"] for e in manifest["files"]] + [wm.MANIFEST_NAME, wm.MARKER_NAME]
    lines = ["# Rendered by airgap.aks_inference (model_image): only what the manifest lists enters the image.",
             "**"]
    for path in sorted(paths):
        parts = path.split("/")
        for part in parts:
            if part != part.strip() or any(ord(c) < 32 or ord(c) == 127 for c in part):
                raise ImageError("weights_dir: the manifest lists %r, whose name has leading or trailing blanks or "
                                 "control characters; an ignore file cannot name it exactly" % path)
        for part in parts[:-1]:
            if any(c in _GLOB_CHARS for c in part):
                raise ImageError("weights_dir: the manifest lists %r, below a directory whose name holds one of %s; "
                                 "the build's ignore file cannot take it back exactly" % (path, _GLOB_CHARS))
        lines.append("!" + _escape_glob(path))
    return "\n".join(lines) + "\n"


def quote(value, field):
    """A double-quoted word for LABEL and ENV: backslash, quote and ``$`` escaped."""
    text = str(value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ImageError("%s: %r holds control characters" % (field, text))
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")


def printable(value):
    """Control characters of a value read from the manifest made into blanks (for a label)."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in str(value))


def render_containerfile(spec, labels):
    """The Containerfile of one image; ``spec`` is an ImageSpec."""
    lines = ["# Rendered by airgap.aks_inference (model_image): %s image. No ARG: nothing secret enters a build."
             % spec.kind,
             "FROM %s" % spec.base_from,
             "COPY --chown=%d:%d . %s/" % (spec.uid, spec.gid, spec.model_path)]
    if spec.env:
        lines.append("ENV " + " \\\n    ".join("%s=%s" % (name, quote(value, "env.%s" % name))
                                               for name, value in spec.env))
    lines.append("LABEL " + " \\\n      ".join("%s=%s" % (quote(key, "labels"), quote(labels[key], "labels.%s" % key))
                                               for key in sorted(labels)))
    if spec.args is not None:
        lines.append("CMD " + json.dumps(list(spec.args)))
    return "\n".join(lines) + "\n"


def recipe_digest(containerfile, ignore, settings):
    """One sha256 over everything that decides the image besides the weights' digest."""
    body = {"format": RECIPE_FORMAT, "containerfile": containerfile, "ignore": ignore,
            "image_format": settings.image_format, "timestamp": settings.timestamp}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def source_url(source):
    """``org.opencontainers.image.source`` for a Hugging Face source; None for the others."""
    if isinstance(source, dict) and source.get("type") == "huggingface" and source.get("repo_id"):
        endpoint = str(source.get("endpoint") or "https://huggingface.co").rstrip("/")
        return "%s/%s" % (endpoint, source["repo_id"])
    return None


def base_labels(kind, settings, manifest):
    """The labels of one image, before the recipe (which is computed over them)."""
    source = manifest.get("source") or {}
    revision = manifest.get("revision")
    labels = dict(settings.labels)
    what = "%s weights for %s" % (settings.name, "the serving image" if kind == "fat" else "an image volume or copy")
    labels.update({
        OCI + "title": settings.name,
        OCI + "description": printable("Model %s (%s)" % (what, source.get("type", "unknown source"))),
        LABEL_KIND: kind,
        LABEL_DIGEST: manifest["digest"],
        LABEL_PATH: settings.model_path,
        LABEL_FILES: str(manifest.get("file_count", len(manifest["files"]))),
        LABEL_BYTES: str(manifest.get("total_bytes", 0)),
        LABEL_SOURCE: printable(json.dumps(source, sort_keys=True, separators=(",", ":"))),
    })
    if revision:
        labels[OCI + "revision"] = printable(revision)
        labels[OCI + "version"] = printable(revision)
    url = source_url(source)
    if url:
        labels[OCI + "source"] = printable(url)
    return labels


class ImageSpec:
    """One image to make: what it is built from and what it must carry."""

    def __init__(self, kind, ref, base, base_from, model_path, uid, gid, env, args, labels=None,
                 containerfile=None):
        self.kind = kind
        self.ref = ref                # Reference of the target (tag)
        self.base = base              # the base as given (qualified), or "scratch"
        self.base_from = base_from    # what FROM names (pinned to a digest when pin_base)
        self.model_path = model_path
        self.uid = uid
        self.gid = gid
        self.env = env                # [(name, value)] or []
        self.args = args              # CMD list, or None
        self.labels = labels or {}
        self.containerfile = containerfile


def image_spec(kind, settings, manifest, ref, base_from, ignore):
    """The spec of one image, its labels (recipe included) and its Containerfile."""
    if kind == "fat":
        env = list(OFFLINE_ENV) + sorted(settings.fat_env.items())
        args = settings.fat_args if settings.fat_args else [settings.model_path]
        base = settings.base_image
    else:
        env, args, base = [], None, settings.weights_base
    spec = ImageSpec(kind, ref, str(base), base_from, settings.model_path, settings.uid, settings.gid, env, args)
    labels = base_labels(kind, settings, manifest)
    if base != SCRATCH:
        labels[OCI + "base.name"] = str(base)
        if "@" in base_from:
            labels[OCI + "base.digest"] = base_from.split("@", 1)[1]
    labels[LABEL_RECIPE] = recipe_digest(render_containerfile(spec, labels), ignore, settings)
    spec.labels = labels
    spec.containerfile = render_containerfile(spec, labels)
    return spec


def compare(actual_labels, desired_labels):
    """``(match, reason)``: whether an image with ``actual_labels`` is the one ``desired_labels`` describe."""
    if actual_labels is None:
        return False, "not in the registry"
    actual_labels = actual_labels or {}
    if actual_labels.get(LABEL_DIGEST) != desired_labels[LABEL_DIGEST]:
        return False, "holds weights %s, the share holds %s" % (actual_labels.get(LABEL_DIGEST) or "(no label)",
                                                                desired_labels[LABEL_DIGEST])
    if actual_labels.get(LABEL_RECIPE) != desired_labels[LABEL_RECIPE]:
        return False, ("holds these weights built from another recipe (base image, model path, arguments, "
                       "environment, labels or build settings differ)")
    return True, "holds these weights, built from the same recipe"


# ----------------------------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------------------------
class Settings:
    """The checked options of one run. ``from_params`` raises ImageError naming the option."""

    def __init__(self, **values):
        self.__dict__.update(values)

    @classmethod
    def from_params(cls, params):  # noqa: C901 - one flat list of checks
        def get(name, default=None):
            value = params.get(name)
            return default if value is None else value

        weights_dir = str(get("weights_dir", ""))
        if not weights_dir.startswith("/"):
            raise ImageError("weights_dir: %r must be an absolute path" % params.get("weights_dir"))
        weights_dir = posixpath.normpath(weights_dir)
        images = list(get("images", list(KINDS)))
        if not images or any(kind not in KINDS for kind in images) or len(set(images)) != len(images):
            raise ImageError("images: %r must list fat, weights or both, once each" % (params.get("images"),))
        name = str(get("name", "") or posixpath.basename(weights_dir))
        if not _NAME_RE.match(name):
            raise ImageError("name: %r must be letters, digits, '.', '_' or '-' (at most 128)" % name)
        model_path = str(get("model_path", "") or "/models/" + name).rstrip("/")
        if not _MODEL_PATH_RE.match(model_path) or any(p in (".", "..") for p in model_path.split("/")):
            raise ImageError("model_path: %r must be an absolute path of letters, digits, '.', '_', '-' and '/' "
                             "(no '.' or '..' components, not '/')" % (params.get("model_path"),))
        runtime = get("runtime", "podman")
        if runtime not in RUNTIMES:
            raise ImageError("runtime: %r is not one of %s" % (runtime, ", ".join(RUNTIMES)))
        registry = str(get("registry", "")).strip().lower()
        if registry and (not _HOST_RE.match(registry) or "/" in registry):
            raise ImageError("registry: %r must be a registry host name such as myregistry.azurecr.io (no scheme, "
                             "no path)" % registry)
        for field in ("uid", "gid"):
            value = get(field, 1000)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2 ** 31 - 1:
                raise ImageError("%s: %r must be a whole number from 0 to 2147483647" % (field, value))
        fat_env = dict((str(k), "" if v is None else str(v)) for k, v in (get("fat_env", {}) or {}).items())
        for key in fat_env:
            if not _ENV_NAME_RE.match(key):
                raise ImageError("fat_env.%s: not a valid environment variable name" % key)
            if key in dict(OFFLINE_ENV):
                raise ImageError("fat_env.%s: the offline flags are always set (%s); leave them out" % (
                    key, " ".join("%s=%s" % pair for pair in OFFLINE_ENV)))
        fat_args = [str(a) for a in (get("fat_args", []) or [])]
        labels = dict((str(k), "" if v is None else str(v)) for k, v in (get("labels", {}) or {}).items())
        for key in labels:
            if not _LABEL_KEY_RE.match(key):
                raise ImageError("labels.%s: not a valid label key" % key)
            if key.startswith(OWN):
                raise ImageError("labels.%s: the %s* labels are the module's own" % (key, OWN))
        for field, value in (("fat_env", fat_env), ("fat_args", fat_args), ("labels", labels)):
            findings = find_credentials({field: value})
            if findings:
                raise ImageError("%s: %s; an image must never carry a credential" % (
                    findings[0]["field"], findings[0]["message"].split(";")[0]))
        image_format = get("format", "oci")
        if image_format not in FORMATS:
            raise ImageError("format: %r is not one of %s" % (image_format, ", ".join(FORMATS)))
        compression = get("compression_format", "gzip")
        if compression not in COMPRESSIONS:
            raise ImageError("compression_format: %r is not one of %s" % (compression, ", ".join(COMPRESSIONS)))
        verify = get("verify", "always")
        if verify not in VERIFY_MODES:
            raise ImageError("verify: %r is not one of %s" % (verify, ", ".join(VERIFY_MODES)))
        timestamp = get("timestamp", 0)
        if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < -1:
            raise ImageError("timestamp: %r must be seconds since the epoch (0 or more), or -1 for the current time"
                             % (timestamp,))
        workers = get("workers", 4)
        if not 1 <= int(workers) <= 64:
            raise ImageError("workers: must be between 1 and 64")

        base_image = weights_base = None
        if "fat" in images:
            if not get("base_image"):
                raise ImageError("base_image: required to build the fat image (the serving image in the private "
                                 "registry, e.g. myregistry.azurecr.io/vllm/vllm-openai:v0.8.5)")
            base_image = str(qualify(get("base_image"), "base_image", registry))
            if not get("fat_image"):
                raise ImageError("fat_image: required when images holds fat")
        if "weights" in images:
            weights_base = str(get("weights_base", SCRATCH) or SCRATCH)
            if weights_base != SCRATCH:
                weights_base = str(qualify(weights_base, "weights_base", registry))
            if not get("weights_image"):
                raise ImageError("weights_image: required when images holds weights")
        # targets are checked once the manifest gives {digest} and {revision}; check their shape now
        for field in ("fat_image", "weights_image"):
            if field[:-6] in images:
                qualify(expand(get(field), field, "sha256:" + "0" * 64, "r"), field, registry, need_tag=True,
                        allow_digest=False)
        return cls(weights_dir=weights_dir, images=images, name=name, model_path=model_path, runtime=runtime,
                   runtime_path=get("runtime_path") or None, skopeo=get("skopeo", "skopeo") or "skopeo",
                   registry=registry or None, base_image=base_image, weights_base=weights_base,
                   fat_image=get("fat_image"), weights_image=get("weights_image"), fat_env=fat_env,
                   fat_args=fat_args, labels=labels, uid=get("uid", 1000), gid=get("gid", 1000),
                   authfile=get("authfile") or None, tls_verify=bool(get("tls_verify", True)),
                   cert_dir=get("cert_dir") or None, image_format=image_format, compression=compression,
                   timestamp=timestamp, pin_base=bool(get("pin_base", True)), verify=verify,
                   keep_local=bool(get("keep_local", False)), force=bool(get("force", False)),
                   workers=int(workers))

    def targets(self, manifest):
        """``{kind: Reference}`` of the images to make, placeholders expanded."""
        out = {}
        for kind in self.images:
            field = "%s_image" % kind
            text = expand(getattr(self, field), field, manifest["digest"], manifest.get("revision"))
            out[kind] = qualify(text, field, self.registry, need_tag=True, allow_digest=False)
        if len(out) == 2 and str(out["fat"]) == str(out["weights"]):
            raise ImageError("weights_image: %s is also fat_image; give the two images different tags or repositories"
                             % out["fat"])
        return out


# ----------------------------------------------------------------------------------------------
# the share
# ----------------------------------------------------------------------------------------------
def read_share(weights_dir):
    """The validated manifest of a complete share; ImageError when it is missing, edited or unmarked."""
    if not os.path.isdir(weights_dir):
        raise ImageError("weights_dir: %s is not a directory" % weights_dir)
    try:
        manifest, marker = wm.load(weights_dir)
        if manifest is None:
            raise ImageError("weights_dir: %s has no manifest (%s): stage the model with model_weights first"
                             % (weights_dir, wm.MANIFEST_NAME))
        wm.validate(manifest, where="manifest %s" % os.path.join(weights_dir, wm.MANIFEST_NAME))
    except WeightsError as exc:
        raise ImageError("weights_dir: %s; nothing was built" % exc.msg)
    if not wm.marker_matches(marker, manifest):
        raise ImageError("weights_dir: %s is not a complete share: %s %s (a staging run did not finish, or runs "
                         "now); nothing was built" % (weights_dir, wm.MARKER_NAME,
                                                      "is missing" if marker is None else "names another manifest"))
    return manifest


def verify_files(weights_dir, workers, verifier):
    """Hash every file the manifest lists again (read only); ImageError naming the files that differ."""
    params = {"dest": weights_dir, "require_mount": False, "workers": workers, "chunk_mib": 8}
    try:
        result = verifier(params, check_mode=True)
    except WeightsError as exc:
        bad = exc.details.get("bad_files") or []
        if bad:
            names = ", ".join("%s (%s)" % (b["path"], b["problem"]) for b in bad[:10])
            raise ImageError("weights_dir: %d of %d files of %s do not match the manifest: %s%s. The share was "
                             "changed after staging; nothing was built (stage it again with model_weights)" % (
                                 len(bad), exc.details.get("files", 0), weights_dir, names,
                                 " ..." if len(bad) > 10 else ""), bad_files=bad)
        raise ImageError("weights_dir: %s; nothing was built" % exc.msg)
    return {"files": result.get("files"), "bytes": result.get("bytes_verified"), "seconds": result.get("seconds"),
            "extra_files": result.get("extra_files") or []}


# ----------------------------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------------------------
def _tail(text, limit=1500):
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _first_json(text):
    data = json.loads(text)
    if isinstance(data, list):
        return data[0] if data else None
    return data


class Engine:
    """The command lines: podman or docker for builds, pushes and local images; skopeo for the registry.

    ``runner(argv, env_update)`` returns ``(rc, stdout, stderr)`` (AnsibleModule.run_command).
    """

    def __init__(self, runner, runtime, runtime_path, skopeo_path, tls_verify=True, cert_dir=None, authfile=None):
        self.runner = runner
        self.runtime = runtime
        self.bin = runtime_path or runtime
        self.skopeo = skopeo_path
        self.tls_verify = tls_verify
        self.cert_dir = cert_dir
        self.authfile = authfile

    def _run(self, argv, what, env=None):
        rc, out, err = self.runner(argv, env or {})
        if rc != 0:
            raise ImageError("%s failed (%s exited with %d): %s" % (what, os.path.basename(argv[0]), rc,
                                                                    _tail(err or out)), command=argv)
        return out

    def _registry_flags(self, tool):
        flags = []
        if tool != "docker":
            flags.append("--tls-verify=%s" % ("true" if self.tls_verify else "false"))
            if self.cert_dir:
                flags += ["--cert-dir", self.cert_dir]
            if self.authfile:
                flags += ["--authfile", self.authfile]
        return flags

    def _docker_env(self):
        env = {"DOCKER_BUILDKIT": "1"}
        if self.authfile:
            env["DOCKER_CONFIG"] = os.path.dirname(self.authfile)
        return env

    def remote(self, ref):
        """``skopeo inspect`` of ``ref``: ``{"digest", "labels", "layers"}``, or None when the registry lacks it."""
        argv = [self.skopeo, "inspect", "--no-tags", "--retry-times", "2"] + self._registry_flags("skopeo")
        rc, out, err = self.runner(argv + ["docker://%s" % ref], {})
        if rc != 0:
            if _NOT_FOUND_RE.search(err or ""):
                return None
            raise ImageError("reading %s from the registry failed (skopeo exited with %d): %s" % (ref, rc, _tail(err)))
        info = json.loads(out)
        return {"digest": info.get("Digest"), "labels": info.get("Labels") or {}, "layers": info.get("Layers") or []}

    def config_digest(self, ref):
        """Digest of the configuration of ``ref`` in the registry (None for an index of images)."""
        argv = [self.skopeo, "inspect", "--raw", "--retry-times", "2"] + self._registry_flags("skopeo")
        raw = self._run(argv + ["docker://%s" % ref], "reading the manifest of %s" % ref)
        return (json.loads(raw).get("config") or {}).get("digest")

    def local(self, ref):
        """The local image ``ref``: ``{"id", "labels"}``, or None."""
        rc, out, err = self.runner([self.bin, "image", "inspect", str(ref)],
                                   self._docker_env() if self.runtime == "docker" else {})
        if rc != 0:
            if _NOT_FOUND_RE.search(err or "") or (self.runtime == "podman" and rc == 125):
                return None
            raise ImageError("inspecting the local image %s failed (%s exited with %d): %s"
                             % (ref, self.runtime, rc, _tail(err)))
        data = _first_json(out) or {}
        labels = (data.get("Config") or {}).get("Labels") or data.get("Labels") or {}
        image_id = data.get("Id") or ""
        return {"id": image_id if image_id.startswith("sha256:") else "sha256:" + image_id, "labels": labels}

    def build_argv(self, context, workdir, ref, image_format, timestamp):
        containerfile = os.path.join(workdir, CONTAINERFILE)
        if self.runtime == "docker":
            return [self.bin, "build", "--file", containerfile, "--tag", str(ref), context]
        argv = [self.bin, "build", "--file", containerfile, "--ignorefile", os.path.join(workdir, IGNOREFILE),
                "--tag", str(ref), "--format", image_format, "--layers=false", "--pull=missing",
                "--http-proxy=false", "--identity-label=false"]
        if timestamp is not None and timestamp >= 0:
            argv += ["--timestamp", str(timestamp)]
        return argv + self._registry_flags("podman") + [context]

    def build(self, context, workdir, ref, image_format, timestamp):
        argv = self.build_argv(context, workdir, ref, image_format, timestamp)
        self._run(argv, "building %s" % ref, self._docker_env() if self.runtime == "docker" else None)

    def push(self, ref, workdir, compression):
        """Push ``ref``; return the manifest digest the registry stored."""
        if self.runtime == "docker":
            out = self._run([self.bin, "push", str(ref)], "pushing %s" % ref, self._docker_env())
            match = re.search(r"digest: (sha256:[0-9a-f]{64})", out or "")
            return match.group(1) if match else None
        digestfile = os.path.join(workdir, "digest")
        self._run([self.bin, "push", "--digestfile", digestfile, "--compression-format", compression]
                  + self._registry_flags("podman") + [str(ref)], "pushing %s" % ref)
        with open(digestfile) as handle:
            return handle.read().strip() or None

    def remove(self, ref):
        """Remove the local tag; return an error text or None (a failure here is only a warning)."""
        rc, out, err = self.runner([self.bin, "image", "rm", str(ref)],
                                   self._docker_env() if self.runtime == "docker" else {})
        return None if rc == 0 else _tail(err or out, 300)


# ----------------------------------------------------------------------------------------------
# the run
# ----------------------------------------------------------------------------------------------
def _summary(spec, action, reason, digest=None, pushed=False):
    return {"kind": spec.kind, "image": str(spec.ref), "action": action, "pushed": pushed, "reason": reason,
            "digest": digest, "reference": spec.ref.with_digest(digest) if digest else None, "base": spec.base,
            "base_from": spec.base_from, "labels": spec.labels, "containerfile": spec.containerfile}


def pin(engine, settings, base, field):
    """What FROM names for ``base``: the base pinned to its digest in the registry (pin_base), or as given."""
    if base == SCRATCH:
        return SCRATCH
    ref = parse_reference(base, field)
    if ref.digest or not settings.pin_base:
        return base
    found = engine.remote(base)
    if found is None:
        raise ImageError("%s: %s is not in the registry (import it first, e.g. with acr_import)" % (field, base))
    return ref.with_digest(found["digest"])


def run(params, check_mode=False, runner=None, verifier=None, workdir_parent=None):
    """Everything the model_image module does; returns the result dict, raises ImageError.

    ``runner(argv, env_update) -> (rc, stdout, stderr)`` runs the commands; ``verifier(params,
    check_mode)`` hashes the share again (weights.verify_share unless given).
    """
    started = time.monotonic()
    verifier = verifier or verify_share
    settings = Settings.from_params(params)
    manifest = read_share(settings.weights_dir)
    ignore = ignore_file(manifest)
    targets = settings.targets(manifest)
    verified = None
    if settings.verify == "always":
        verified = verify_files(settings.weights_dir, settings.workers, verifier)

    engine = Engine(runner, settings.runtime, settings.runtime_path, settings.skopeo, settings.tls_verify,
                    settings.cert_dir, settings.authfile)
    warnings = []
    if settings.runtime == "docker" and (not settings.tls_verify or settings.cert_dir):
        warnings.append("docker takes TLS settings from its daemon (insecure-registries, /etc/docker/certs.d): "
                        "tls_verify and cert_dir apply to skopeo only")
    specs = []
    for kind in settings.images:
        base = settings.base_image if kind == "fat" else settings.weights_base
        base_from = pin(engine, settings, base, "base_image" if kind == "fat" else "weights_base")
        specs.append(image_spec(kind, settings, manifest, targets[kind], base_from, ignore))

    plans = []
    for spec in specs:
        remote = engine.remote(spec.ref)
        match, reason = compare(remote["labels"] if remote else None, spec.labels)
        if match and settings.force:
            match, reason = False, "force is set (the registry %s)" % reason
        plans.append((spec, remote, match, reason))

    todo = [p for p in plans if not p[2]]
    if todo and verified is None:
        verified = verify_files(settings.weights_dir, settings.workers, verifier)

    images, changed = [], False
    diff = {"before": {}, "after": {}}
    for spec, remote, match, reason in plans:
        own = dict((k, v) for k, v in spec.labels.items() if k.startswith(OWN))
        diff["before"][spec.kind] = dict((k, v) for k, v in ((remote or {}).get("labels") or {}).items()
                                         if k.startswith(OWN)) if remote else None
        diff["after"][spec.kind] = own
        if match:
            images.append(_summary(spec, "unchanged", reason, remote["digest"]))
    if todo and check_mode:
        for spec, remote, match, reason in todo:
            images.append(_summary(spec, "build", reason))  # what would happen
        changed = True
    elif todo:
        workdir = tempfile.mkdtemp(prefix="model-image-", dir=workdir_parent)
        try:
            for spec, remote, match, reason in todo:
                images.append(make_image(engine, settings, spec, remote, reason, ignore, workdir, warnings))
                changed = True
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        # the share must still be the one that was verified: a staging run that started meanwhile
        # removed the marker first
        try:
            after = read_share(settings.weights_dir)
        except ImageError as exc:
            raise ImageError("weights_dir: the share changed while the images were built (%s); the pushed images "
                             "may not match it, run again" % exc.msg, images=images)
        if after["digest"] != manifest["digest"]:
            raise ImageError("weights_dir: the share was staged again while the images were built (manifest %s, now "
                             "%s); run again" % (manifest["digest"], after["digest"]), images=images)
    order = dict((kind, i) for i, kind in enumerate(settings.images))
    images.sort(key=lambda img: order[img["kind"]])
    return {
        "changed": changed,
        "weights_dir": settings.weights_dir,
        "weights_digest": manifest["digest"],
        "revision": manifest.get("revision"),
        "model_path": settings.model_path,
        "files": manifest.get("file_count"),
        "bytes": manifest.get("total_bytes"),
        "verified": verified,
        "images": images,
        "refs": dict((img["kind"], img["reference"] or img["image"]) for img in images),
        "ignore_file": ignore,
        "warnings": warnings,
        "diff": diff,
        "seconds": round(time.monotonic() - started, 3),
    }


def make_image(engine, settings, spec, remote, reason, ignore, workdir, warnings):
    """Build (or reuse a local build of) one image, push it, read it back; its summary."""
    local = None if settings.force else engine.local(spec.ref)
    if local is not None and compare(local["labels"], spec.labels)[0]:
        action = "reused"
    else:
        with open(os.path.join(workdir, CONTAINERFILE), "w") as handle:
            handle.write(spec.containerfile)
        with open(os.path.join(workdir, IGNOREFILE), "w") as handle:
            handle.write(ignore)
        engine.build(settings.weights_dir, workdir, spec.ref, settings.image_format, settings.timestamp)
        local = engine.local(spec.ref)
        if local is None:
            raise ImageError("building %s reported success but no local image has that tag" % spec.ref)
        action = "built"
    # a rebuild (force) of a reproducible image is byte for byte what the registry holds
    pushed = remote is None or engine.config_digest(spec.ref) != local["id"]
    if pushed:
        engine.push(spec.ref, workdir, settings.compression)
    back = engine.remote(spec.ref)
    if back is None or not compare(back["labels"], spec.labels)[0]:
        raise ImageError("%s was pushed but the registry does not report it with the expected labels" % spec.ref)
    if not settings.keep_local:
        problem = engine.remove(spec.ref)
        if problem:
            warnings.append("the local image %s was not removed: %s" % (spec.ref, problem))
    return _summary(spec, action, reason, back["digest"], pushed=pushed)
