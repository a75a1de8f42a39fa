# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key Vault names, secret URIs and the value fingerprint of secrets written through ARM.

ARM never returns a secret's value, so whether the value in the vault equals
the one in the task cannot be read back. What is stored instead, in a tag of
the secret (``FINGERPRINT_TAG``), is a salted, deliberately slow one-way
fingerprint of the value: ``pbkdf2-sha256$<iterations>$<salt>$<hash>``
(PBKDF2-HMAC-SHA256, a random 16-byte salt per write). Anyone who may read the
secret's tags (Reader on the vault) can test a guess of the value against it,
as they could against any password hash: it is as strong as the value is hard
to guess. Long random tokens (NGC API keys, registry access tokens) are out of
reach; a short dictionary password is not, which is why
``update_secret: on_create`` (no fingerprint) exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

VAULT_NAME_RE = re.compile(r"^(?=.{3,24}$)[a-zA-Z](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]$")
SECRET_NAME_RE = re.compile(r"^[a-zA-Z0-9-]{1,127}$")
# DNS suffixes of Key Vault in the public cloud and the sovereign clouds.
VAULT_SUFFIXES = ("vault.azure.net", "vault.azure.cn", "vault.usgovcloudapi.net", "vault.microsoftazure.de")
SECRET_URI_RE = re.compile(
    r"^https://(?P<vault>[a-zA-Z0-9-]{3,24})\.(?P<suffix>%s)(?::443)?/secrets/(?P<name>[a-zA-Z0-9-]{1,127})"
    r"(?:/(?P<version>[a-fA-F0-9]{32}))?/?$" % "|".join(re.escape(s) for s in VAULT_SUFFIXES))

VAULT_SUFFIX_BY_CLOUD = {"AzureChinaCloud": "vault.azure.cn", "AzureUSGovernment": "vault.usgovcloudapi.net"}

FINGERPRINT_TAG = "value-fingerprint"
FINGERPRINT_ITERATIONS = 200000


def check_vault_name(field, value):
    if value is not None and not VAULT_NAME_RE.match(value):
        raise InputError(field, "%r is not a Key Vault name (3-24 letters, digits and single hyphens, starting with a "
                                "letter and not ending with a hyphen)" % (value,))


def check_secret_name(field, value):
    if value is not None and not SECRET_NAME_RE.match(value):
        raise InputError(field, "%r is not a Key Vault secret name (1-127 letters, digits and '-')" % (value,))


def parse_secret_uri(field, value):
    """``https://{vault}.vault.azure.net/secrets/{name}[/{version}]`` -> dict(vault, suffix, name, version)."""
    match = SECRET_URI_RE.match(str(value or ""))
    if not match or not VAULT_NAME_RE.match(match.group("vault")):
        raise InputError(field, "%r is not a Key Vault secret URI (https://<vault>.vault.azure.net/secrets/<name>, "
                                "or the vault.azure.cn / vault.usgovcloudapi.net suffix of a sovereign cloud)"
                         % (value,))
    return {"vault": match.group("vault").lower(), "suffix": match.group("suffix"), "name": match.group("name"),
            "version": match.group("version")}


def vault_suffix(cloud):
    """Key Vault DNS suffix of a cloud (the public cloud's for any other, e.g. a custom ARM endpoint)."""
    return VAULT_SUFFIX_BY_CLOUD.get(cloud, VAULT_SUFFIXES[0])


def _b64(raw):
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text):
    return base64.b64decode(text + "=" * (-len(text) % 4))


def fingerprint(value, salt=None, iterations=FINGERPRINT_ITERATIONS):
    """The tag value recording ``value``; a fresh random salt unless one is given."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", str(value).encode("utf-8"), salt, iterations)
    return "pbkdf2-sha256$%d$%s$%s" % (iterations, _b64(salt), _b64(digest))


def fingerprint_matches(value, stored):
    """Whether ``stored`` (a FINGERPRINT_TAG value) was made from ``value``; False when unreadable."""
    try:
        scheme, iterations, salt, digest = str(stored or "").split("$")
        if scheme != "pbkdf2-sha256":
            return False
        iterations = int(iterations)
        if not 1000 <= iterations <= 10000000:
            return False
        expected = _unb64(digest)
        actual = hashlib.pbkdf2_hmac("sha256", str(value).encode("utf-8"), _unb64(salt), iterations)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)
