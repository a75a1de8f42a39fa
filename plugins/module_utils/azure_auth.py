# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credential and cloud resolution for every Azure module.

``resolve_settings(params, environ)`` is pure: it decides *which* credential
and *which* endpoints a run uses, and fails with the field to fix before any
request is sent. ``build_credential(settings)`` turns that decision into an
azure-identity credential object.

Sources, in the order ``auth_source: auto`` tries them:

1. explicit module options ``client_id`` / ``client_secret`` / ``tenant_id``;
2. the environment, with both spellings:
   azure-identity's ``AZURE_CLIENT_ID`` / ``AZURE_CLIENT_SECRET`` / ``AZURE_TENANT_ID``
   and AWX's Azure credential ``AZURE_CLIENT_ID`` / ``AZURE_SECRET`` / ``AZURE_TENANT``;
3. the Azure CLI login, when ``az`` is on the PATH.

Managed identity is never guessed (probing the instance metadata endpoint from
a laptop hangs); ask for it with ``auth_source: managed_identity``.
"""

from __future__ import annotations

import os
import shutil

try:  # pragma: no cover - exercised by the import sanity test
    from urllib.parse import urlparse
except ImportError:  # pragma: no cover
    from urlparse import urlparse  # type: ignore

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

CLOUDS = {
    "AzureCloud": {
        "arm_endpoint": "https://management.azure.com",
        "authority": "https://login.microsoftonline.com",
    },
    "AzureChinaCloud": {
        "arm_endpoint": "https://management.chinacloudapi.cn",
        "authority": "https://login.chinacloudapi.cn",
    },
    "AzureUSGovernment": {
        "arm_endpoint": "https://management.usgovcloudapi.net",
        "authority": "https://login.microsoftonline.us",
    },
}
# AWX and the Azure CLI spell the public cloud in more than one way.
CLOUD_ALIASES = {
    "azurecloud": "AzureCloud",
    "azurepubliccloud": "AzureCloud",
    "public": "AzureCloud",
    "azurechinacloud": "AzureChinaCloud",
    "china": "AzureChinaCloud",
    "azureusgovernment": "AzureUSGovernment",
    "azureusgovernmentcloud": "AzureUSGovernment",
    "usgovernment": "AzureUSGovernment",
}
AUTH_SOURCES = ("auto", "credentials", "env", "managed_identity", "cli")

# (module option, environment variables in order of preference)
ENV_NAMES = {
    "subscription_id": ("AZURE_SUBSCRIPTION_ID",),
    "client_id": ("AZURE_CLIENT_ID",),
    "client_secret": ("AZURE_CLIENT_SECRET", "AZURE_SECRET"),
    "tenant_id": ("AZURE_TENANT_ID", "AZURE_TENANT"),
    "cloud": ("AZURE_CLOUD_ENVIRONMENT",),
    "authority": ("AZURE_AUTHORITY_HOST",),
}

# The auth option spec shared by every Azure module; documented once in
# plugins/doc_fragments/azure.py (keep the two in step).
AUTH_ARGUMENT_SPEC = dict(
    auth_source=dict(type="str", choices=list(AUTH_SOURCES), default="auto"),
    subscription_id=dict(type="str"),
    client_id=dict(type="str"),
    client_secret=dict(type="str", no_log=True, aliases=["secret"]),
    tenant_id=dict(type="str", aliases=["tenant"]),
    managed_identity_client_id=dict(type="str"),
    cloud=dict(type="str"),
    arm_endpoint=dict(type="str"),
    authority=dict(type="str"),
    credential_scope=dict(type="str"),
    ca_bundle=dict(type="path"),
    api_retries=dict(type="int", default=8),
    api_retry_timeout=dict(type="int", default=300),
    request_timeout=dict(type="int", default=120),
)


def _first_env(environ, names):
    for name in names:
        value = environ.get(name)
        if value:
            return value, name
    return None, None


def _https_url(value, field):
    parsed = urlparse(value or "")
    if parsed.scheme != "https" or not parsed.netloc:
        raise InputError(field, "must be an https:// URL, got %r" % (value,))
    return value.rstrip("/")


def resolve_cloud(params, environ):
    """Return ``(cloud_name, arm_endpoint, authority)``."""
    cloud = params.get("cloud")
    if not cloud:
        cloud = environ.get("AZURE_CLOUD_ENVIRONMENT")
    arm_endpoint = params.get("arm_endpoint")
    authority = params.get("authority") or environ.get("AZURE_AUTHORITY_HOST")
    if arm_endpoint:
        arm_endpoint = _https_url(arm_endpoint, "arm_endpoint")
        name = "Custom"
        if authority:
            authority = _https_url(authority, "authority")
        elif cloud:
            authority = CLOUDS[_cloud_name(cloud)]["authority"]
        else:
            raise InputError("authority", "is required when arm_endpoint is set (the token authority of that cloud)")
        return name, arm_endpoint, authority
    name = _cloud_name(cloud or "AzureCloud")
    endpoints = CLOUDS[name]
    if authority:
        authority = _https_url(authority, "authority")
    return name, endpoints["arm_endpoint"], authority or endpoints["authority"]


def _cloud_name(value):
    name = CLOUD_ALIASES.get(str(value).replace("_", "").replace(" ", "").lower())
    if not name:
        raise InputError(
            "cloud",
            "unknown cloud %r; use one of %s, or set arm_endpoint and authority" % (value, ", ".join(CLOUDS)),
        )
    return name


def resolve_settings(params, environ=None):
    """Decide credential, subscription and endpoints. Pure; raises InputError."""
    environ = os.environ if environ is None else environ
    source = params.get("auth_source") or "auto"
    if source not in AUTH_SOURCES:
        raise InputError("auth_source", "must be one of %s, got %r" % (", ".join(AUTH_SOURCES), source))

    cloud, arm_endpoint, authority = resolve_cloud(params, environ)
    settings = {
        "cloud": cloud,
        "arm_endpoint": arm_endpoint,
        "authority": authority,
        "known_authority": any(authority == c["authority"] for c in CLOUDS.values()),
        "credential_scope": params.get("credential_scope") or arm_endpoint + "/.default",
        "ca_bundle": params.get("ca_bundle"),
        "api_retries": params.get("api_retries", 8),
        "api_retry_timeout": params.get("api_retry_timeout", 300),
        "request_timeout": params.get("request_timeout", 120),
    }
    if settings["ca_bundle"] and not os.path.isfile(settings["ca_bundle"]):
        raise InputError("ca_bundle", "no such file: %s" % settings["ca_bundle"])

    subscription, _name = (params.get("subscription_id"), "option")
    if not subscription:
        subscription, _name = _first_env(environ, ENV_NAMES["subscription_id"])
    if not subscription:
        raise InputError(
            "subscription_id", "is required: set the option or AZURE_SUBSCRIPTION_ID (an AWX Azure credential sets it)"
        )
    settings["subscription_id"] = subscription

    explicit = {k: params.get(k) for k in ("client_id", "client_secret", "tenant_id")}
    from_env = {}
    for key in ("client_id", "client_secret", "tenant_id"):
        value, name = _first_env(environ, ENV_NAMES[key])
        from_env[key] = value
        from_env[key + "_env"] = name

    if source == "credentials" or (source == "auto" and any(explicit.values())):
        _require_all(explicit, "module options")
        settings.update(kind="service_principal", origin="options", **explicit)
    elif source == "env" or (source == "auto" and from_env["client_id"] and from_env["client_secret"]):
        _require_all(from_env, "environment")
        settings.update(
            kind="service_principal",
            origin="environment",
            client_id=from_env["client_id"],
            client_secret=from_env["client_secret"],
            tenant_id=from_env["tenant_id"],
        )
    elif source == "managed_identity":
        settings.update(kind="managed_identity", origin="managed identity",
                        client_id=params.get("managed_identity_client_id"))
    elif source == "cli" or (source == "auto" and shutil.which("az")):
        settings.update(kind="cli", origin="Azure CLI")
    else:
        raise InputError(
            "auth_source",
            "no Azure credential found: set client_id, client_secret and tenant_id; or AZURE_CLIENT_ID, "
            "AZURE_CLIENT_SECRET (or AZURE_SECRET) and AZURE_TENANT_ID (or AZURE_TENANT); or "
            "auth_source=managed_identity; or log in with the Azure CLI",
        )
    return settings


def _require_all(values, where):
    names = {
        "client_id": "client_id (AZURE_CLIENT_ID)",
        "client_secret": "client_secret (AZURE_CLIENT_SECRET or AZURE_SECRET)",
        "tenant_id": "tenant_id (AZURE_TENANT_ID or AZURE_TENANT)",
    }
    missing = [k for k in ("client_id", "client_secret", "tenant_id") if not values.get(k)]
    if missing:
        raise InputError(
            missing[0],
            "a service principal needs client_id, client_secret and tenant_id; missing from the %s: %s"
            % (where, ", ".join(names[m] for m in missing)),
        )


def describe(settings):
    """A log-safe summary of the settings (no secret)."""
    return {
        "cloud": settings["cloud"],
        "arm_endpoint": settings["arm_endpoint"],
        "authority": settings["authority"],
        "subscription_id": settings["subscription_id"],
        "credential": settings["kind"],
        "credential_origin": settings["origin"],
        "client_id": settings.get("client_id"),
    }


def build_credential(settings):
    """Instantiate the azure-identity credential the settings describe."""
    from azure.identity import AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential

    transport_kwargs = {}
    if settings.get("ca_bundle"):
        transport_kwargs["connection_verify"] = settings["ca_bundle"]
    kind = settings["kind"]
    if kind == "service_principal":
        return ClientSecretCredential(
            settings["tenant_id"],
            settings["client_id"],
            settings["client_secret"],
            authority=settings["authority"],
            # Instance discovery asks the public cloud about the authority:
            # never for sovereign, Stack or local authorities.
            disable_instance_discovery=not settings["known_authority"],
            **transport_kwargs
        )
    if kind == "managed_identity":
        kwargs = dict(transport_kwargs)
        if settings.get("client_id"):
            kwargs["client_id"] = settings["client_id"]
        return ManagedIdentityCredential(**kwargs)
    if kind == "cli":
        return AzureCliCredential()
    raise ValueError("unknown credential kind %r" % kind)
