# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log a container runtime into Azure Container Registry with a managed identity.

The flow ``az acr login --identity`` performs, without the Azure CLI:

1. ask the instance metadata service (IMDS) of the VM for an Entra ID access
   token of its managed identity (``Metadata: true``, optional ``client_id`` of a
   user-assigned identity);
2. exchange it at ``https://{login_server}/oauth2/exchange`` for an ACR refresh
   token;
3. store ``base64("00000000-0000-0000-0000-000000000000:" + refresh_token)`` as
   ``auths.{login_server}.auth`` in the runtime's credential file (Docker
   ``config.json`` or podman ``auth.json``), mode 0600, keeping every other entry.

Nothing here runs at import time and nothing logs a token. The HTTP transport is
a parameter (``fetch``) so the logic is unit-tested without a network; the real
one (``UrlFetcher``) uses ansible's ``open_url`` with a configurable CA bundle.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import json
import os
import tempfile
import time

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ACR_USERNAME = "00000000-0000-0000-0000-000000000000"
DEFAULT_IMDS_URL = (
    "http://169.254.169.254/metadata/identity/oauth2/token"
    "?api-version=2018-02-01&resource=https://management.azure.com/"
)
DEFAULT_CONFIG_PATHS = {
    "docker": "~/.docker/config.json",
    # podman reads $XDG_RUNTIME_DIR/containers/auth.json (tmpfs), then this file
    "podman": "~/.config/containers/auth.json",
}
# keys of an auths entry that would compete with "auth" for the same registry
_CREDENTIAL_KEYS = ("auth", "username", "password", "identitytoken", "registrytoken")
RETRY_STATUSES = (404, 410, 429, 500, 502, 503, 504)  # IMDS documents 404/410 while it starts


class AcrLoginError(Exception):
    """A failure with a message fit for the user (never containing a token)."""


# --------------------------------------------------------------------------- tokens


def _b64url_decode(segment):
    segment = segment + "=" * (-len(segment) % 4)
    return base64.urlsafe_b64decode(segment.encode("ascii"))


def jwt_claims(token):
    """Claims of a JWT, without verifying it (the registry and Entra ID do). {} if not a JWT."""
    if not isinstance(token, str) or token.count(".") != 2:
        return {}
    try:
        claims = json.loads(_b64url_decode(token.split(".")[1]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_expiry(token):
    """``exp`` of a JWT as an int (seconds since the epoch), or None."""
    exp = jwt_claims(token).get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return int(exp)


def encode_auth(refresh_token, username=ACR_USERNAME):
    return base64.b64encode(("%s:%s" % (username, refresh_token)).encode("utf-8")).decode("ascii")


def decode_auth(auth):
    """``(username, secret)`` from an ``auth`` value, or None when it is not one."""
    if not isinstance(auth, str) or not auth:
        return None
    try:
        text = base64.b64decode(auth.encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        return None
    if ":" not in text:
        return None
    user, secret = text.split(":", 1)
    return user, secret


# --------------------------------------------------------------------------- the credential file


def default_config_path(runtime):
    try:
        return os.path.expanduser(DEFAULT_CONFIG_PATHS[runtime])
    except KeyError:
        raise AcrLoginError("runtime must be one of %s, got %r" % (", ".join(sorted(DEFAULT_CONFIG_PATHS)), runtime))


def load_config(path):
    """The credential file as a dict; {} when it does not exist or is empty."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == 2:
            return {}
        raise AcrLoginError("cannot read %s: %s" % (path, exc.strerror or exc))
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AcrLoginError("%s is not valid JSON (%s); fix or remove it" % (path, exc))
    if not isinstance(data, dict):
        raise AcrLoginError("%s does not hold a JSON object" % path)
    return data


def current_refresh_token(config, login_server):
    """The ACR refresh token stored for ``login_server``, or None."""
    entry = (config.get("auths") or {}).get(login_server)
    if not isinstance(entry, dict):
        return None
    decoded = decode_auth(entry.get("auth"))
    if not decoded or decoded[0] != ACR_USERNAME:
        return None
    return decoded[1]


def login_status(config, login_server, now, margin):
    """``(needs_login, reason, expires_at)`` for the entry of ``login_server``."""
    token = current_refresh_token(config, login_server)
    if token is None:
        if isinstance((config.get("auths") or {}).get(login_server), dict):
            return True, "the entry for %s is not an ACR token login" % login_server, None
        return True, "no entry for %s" % login_server, None
    expires_at = token_expiry(token)
    if expires_at is None:
        return True, "the stored token for %s is not a JWT with an expiry" % login_server, None
    if expires_at - now <= margin:
        return True, "the stored token for %s expires within %d seconds" % (login_server, margin), expires_at
    return False, "the stored token for %s is valid for %d more seconds" % (login_server, expires_at - now), expires_at


def with_entry(config, login_server, refresh_token):
    """A copy of ``config`` whose ``auths.{login_server}`` holds the ACR token login.

    Every other top-level key and registry entry is kept, and so are non-credential
    keys of the entry itself (e.g. ``email``).
    """
    new = copy.deepcopy(config)
    auths = new.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    new["auths"] = auths
    entry = auths.get(login_server)
    entry = dict(entry) if isinstance(entry, dict) else {}
    for key in _CREDENTIAL_KEYS:
        entry.pop(key, None)
    entry["auth"] = encode_auth(refresh_token)
    auths[login_server] = entry
    return new


def without_entry(config, login_server):
    new = copy.deepcopy(config)
    auths = new.get("auths")
    if isinstance(auths, dict):
        auths.pop(login_server, None)
    return new


def credential_helper_warning(config, login_server):
    """Docker ignores ``auths`` for a registry served by a credential helper."""
    helper = (config.get("credHelpers") or {}).get(login_server) or config.get("credsStore")
    if helper:
        return (
            "%s uses the credential helper %r; docker will not read the auths entry written for %s"
            % ("credHelpers" if (config.get("credHelpers") or {}).get(login_server) else "credsStore", helper, login_server)
        )
    return None


def write_config(path, config):
    """Write ``config`` atomically with mode 0600 (parent directory 0700 when created)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(prefix=".acr-login-", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(config, handle, indent="\t", sort_keys=False)
            handle.write("\n")
        if os.path.exists(path):
            stat = os.stat(path)
            try:
                os.chown(tmp, stat.st_uid, stat.st_gid)  # keep the owner of an existing file
            except OSError:
                pass
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def file_mode(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


# --------------------------------------------------------------------------- HTTP


class UrlFetcher(object):
    """``fetch(method, url, headers, data, use_proxy) -> (status, headers, body)`` over open_url."""

    def __init__(self, open_url, ca_path=None, validate_certs=True, timeout=10):
        self._open_url = open_url
        self.ca_path = ca_path
        self.validate_certs = validate_certs
        self.timeout = timeout

    def __call__(self, method, url, headers=None, data=None, use_proxy=True):
        kwargs = dict(
            method=method,
            headers=headers or {},
            data=data,
            validate_certs=self.validate_certs,
            timeout=self.timeout,
            use_proxy=use_proxy,
            follow_redirects="none",
        )
        if self.ca_path:
            kwargs["ca_path"] = self.ca_path
        try:
            response = self._open_url(url, **kwargs)
            return response.getcode(), dict(response.headers.items()), response.read()
        except Exception as exc:  # HTTPError carries a status; anything else is a transport failure
            code = getattr(exc, "code", None)
            if isinstance(code, int):
                body = b""
                try:
                    body = exc.read()
                except Exception:
                    pass
                return code, dict(getattr(exc, "headers", {}) or {}), body
            raise AcrLoginError("cannot reach %s: %s" % (_redact_url(url), exc))


def _redact_url(url):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _retry_after(headers, default):
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, min(float(value), 60.0))
            except ValueError:
                return default
    return default


def request_with_retry(fetch, method, url, headers=None, data=None, use_proxy=True, attempts=4, sleep=time.sleep):
    """Retry throttling and transient failures with exponential back-off (Retry-After honoured)."""
    delay = 1.0
    for attempt in range(1, attempts + 1):
        status, resp_headers, body = fetch(method, url, headers=headers, data=data, use_proxy=use_proxy)
        if status not in RETRY_STATUSES or attempt == attempts:
            return status, resp_headers, body
        sleep(_retry_after(resp_headers, delay))
        delay *= 2
    return status, resp_headers, body  # pragma: no cover - loop always returns


def _error_text(body):
    """A short error description from a JSON error body (never echoes tokens)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return "(no JSON error body)"
    if isinstance(data, dict):
        if isinstance(data.get("errors"), list) and data["errors"]:
            first = data["errors"][0]
            if isinstance(first, dict):
                return "%s: %s" % (first.get("code", "error"), first.get("message", ""))
        if "error" in data:
            desc = data.get("error_description") or data.get("message") or ""
            err = data["error"]
            if isinstance(err, dict):
                return "%s: %s" % (err.get("code", "error"), err.get("message", ""))
            return ("%s: %s" % (err, desc)).strip(": ")
    return "(unrecognised error body)"


def imds_token_url(imds_url, client_id=None):
    """The IMDS URL with ``client_id`` added (or replaced) when one is given."""
    if not client_id:
        return imds_url
    parts = urlsplit(imds_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "client_id"]
    query.append(("client_id", client_id))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe=":/"), parts.fragment))


def get_imds_token(fetch, imds_url, client_id=None, sleep=time.sleep):
    """Access token of the VM's managed identity (IMDS is never reached through a proxy)."""
    url = imds_token_url(imds_url, client_id)
    status, _headers, body = request_with_retry(
        fetch, "GET", url, headers={"Metadata": "true"}, use_proxy=False, sleep=sleep
    )
    if status != 200:
        hint = ""
        if status == 400 and not client_id:
            hint = " (a VM with several user-assigned identities needs client_id)"
        raise AcrLoginError(
            "the instance metadata service at %s answered HTTP %s: %s%s" % (_redact_url(url), status, _error_text(body), hint)
        )
    try:
        token = json.loads(body.decode("utf-8"))["access_token"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
        raise AcrLoginError("the instance metadata service at %s returned no access_token" % _redact_url(url))
    if not isinstance(token, str) or not token:
        raise AcrLoginError("the instance metadata service at %s returned an empty access_token" % _redact_url(url))
    return token


def exchange_url(registry_url):
    return registry_url.rstrip("/") + "/oauth2/exchange"


def exchange_for_refresh_token(fetch, registry_url, login_server, access_token, tenant, sleep=time.sleep):
    """ACR refresh token for an Entra ID access token (``POST /oauth2/exchange``)."""
    form = {"grant_type": "access_token", "service": login_server, "access_token": access_token}
    if tenant:
        form["tenant"] = tenant
    url = exchange_url(registry_url)
    status, _headers, body = request_with_retry(
        fetch,
        "POST",
        url,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        data=urlencode(form),
        sleep=sleep,
    )
    if status != 200:
        hint = ""
        if status in (401, 403):
            hint = " (does the identity hold AcrPull or AcrPush on the registry?)"
        raise AcrLoginError("the token exchange at %s answered HTTP %s: %s%s" % (url, status, _error_text(body), hint))
    try:
        token = json.loads(body.decode("utf-8"))["refresh_token"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
        raise AcrLoginError("the token exchange at %s returned no refresh_token" % url)
    if not isinstance(token, str) or not token:
        raise AcrLoginError("the token exchange at %s returned an empty refresh_token" % url)
    return token


# --------------------------------------------------------------------------- the run


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_LOGIN_SERVER_RE = re.compile(r"^%s(?:\.%s)*(?::[0-9]{1,5})?$" % (_LABEL, _LABEL))


def validate_login_server(login_server):
    """``myregistry.azurecr.io`` (a host name, optionally with a port), lower-cased."""
    value = (login_server or "").strip().lower()
    if not _LOGIN_SERVER_RE.match(value):
        raise AcrLoginError(
            "login_server must be a registry host name such as myregistry.azurecr.io "
            "(no scheme, no path), got %r" % login_server
        )
    return value


def _iso(ts):
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def ensure_login(params, fetch, now=None, check_mode=False, sleep=time.sleep):
    """Bring the credential file to ``params['state']``; returns the module result.

    ``params``: login_server, registry_url, state, config_path (expanded),
    imds_url, client_id, tenant_id, refresh_margin, force. The result never
    holds a token: changed, login_server, config_path, expires_at, reason,
    warnings, diff.
    """
    now = int(time.time() if now is None else now)
    login_server = validate_login_server(params["login_server"])
    path = params["config_path"]
    config = load_config(path)
    result = {"changed": False, "login_server": login_server, "config_path": path, "warnings": []}
    present = isinstance((config.get("auths") or {}).get(login_server), dict)

    if params.get("state", "present") == "absent":
        result["reason"] = "no entry for %s" % login_server
        result["expires_at"] = None
        result["diff"] = {"before": {"entry": present}, "after": {"entry": False}}
        if present:
            result.update(changed=True, reason="entry for %s removed" % login_server)
            if not check_mode:
                write_config(path, without_entry(config, login_server))
        return result

    needed, reason, expires_at = login_status(config, login_server, now, int(params.get("refresh_margin", 900)))
    if params.get("force"):
        needed, reason = True, "force"
    mode = file_mode(path)
    warning = credential_helper_warning(config, login_server)
    if warning:
        result["warnings"].append(warning)
    before = {"entry": present, "expires_at": _iso(expires_at), "mode": None if mode is None else "%04o" % mode}

    if not needed:
        result.update(reason=reason, expires_at=_iso(expires_at))
        result["diff"] = {"before": before, "after": dict(before, mode="0600")}
        if mode != 0o600:
            # the file holds a secret: tighten it even when the token is fine
            result.update(changed=True, reason="%s; file mode %s set to 0600" % (reason, before["mode"]))
            if not check_mode:
                os.chmod(path, 0o600)
        return result

    result.update(changed=True, reason=reason)
    if check_mode:
        result["expires_at"] = None
        result["diff"] = {"before": before, "after": {"entry": True, "expires_at": "(known after login)", "mode": "0600"}}
        return result

    access_token = get_imds_token(fetch, params["imds_url"], params.get("client_id"), sleep=sleep)
    tenant = params.get("tenant_id") or jwt_claims(access_token).get("tid")
    registry_url = params.get("registry_url") or "https://%s" % login_server
    refresh_token = exchange_for_refresh_token(fetch, registry_url, login_server, access_token, tenant, sleep=sleep)
    write_config(path, with_entry(config, login_server, refresh_token))
    new_expiry = token_expiry(refresh_token)
    result["expires_at"] = _iso(new_expiry)
    result["diff"] = {"before": before, "after": {"entry": True, "expires_at": _iso(new_expiry), "mode": "0600"}}
    return result
