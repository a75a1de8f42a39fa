"""A Microsoft Entra ID (AAD v2.0) look-alike: OpenID discovery and client-credentials tokens.

Enough for MSAL / azure-identity's ClientSecretCredential with
``authority="https://127.0.0.1:PORT"`` and ``disable_instance_discovery=True``.
Tokens are opaque random strings kept server-side with their audience and expiry.
"""
import datetime
import secrets
import threading
import time
import uuid

ARM_AUDIENCES = (
    "https://management.azure.com",
    "https://management.core.windows.net",
)


def _aad_error(status, error, code, description):
    now = datetime.datetime.now(datetime.timezone.utc)
    trace = str(uuid.uuid4())
    corr = str(uuid.uuid4())
    text = (f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {corr} "
            f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}")
    return status, {
        "error": error,
        "error_description": text,
        "error_codes": [code],
        "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


class Token:
    __slots__ = ("value", "tenant_id", "client_id", "audience", "expires_at")

    def __init__(self, value, tenant_id, client_id, audience, expires_at):
        self.value = value
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.audience = audience
        self.expires_at = expires_at


class Authority:
    """Issues and checks tokens for one tenant and one (or more) confidential clients."""

    def __init__(self, tenant_id, clients, token_lifetime=3599):
        self.tenant_id = tenant_id
        self.clients = dict(clients)  # client_id -> secret
        self.token_lifetime = int(token_lifetime)
        self._tokens = {}
        self._lock = threading.Lock()

    # -- discovery -------------------------------------------------------------------
    def known_tenant(self, tenant):
        return tenant.lower() == self.tenant_id.lower()

    def openid_configuration(self, base_url, tenant):
        t = self.tenant_id
        root = f"{base_url}/{t}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{root}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base_url}/oidc/userinfo",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                 "tid", "ver", "oid"],
            "kerberos_endpoint": f"{root}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "127.0.0.1",
            "cloud_graph_host_name": "127.0.0.1",
            "msgraph_host": "127.0.0.1",
            "rbac_url": base_url,
        }

    def instance_discovery(self, base_url, tenant="common"):
        host = base_url.split("://", 1)[1]
        return {
            "tenant_discovery_endpoint": f"{base_url}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }

    def unknown_tenant(self, tenant):
        return _aad_error(
            400, "invalid_tenant", 90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
            "are signing into the correct cloud. Check with your subscription administrator, this "
            "may happen if there are no active subscriptions for the tenant.")

    # -- token endpoint ---------------------------------------------------------------
    def token(self, tenant, form, v1=False):
        """Handle POST /{tenant}/oauth2/v2.0/token; returns (status, body, token_or_None)."""
        if not self.known_tenant(tenant):
            s, b = self.unknown_tenant(tenant)
            return s, b, None
        grant = form.get("grant_type")
        if not grant:
            s, b = _aad_error(400, "invalid_request", 900144,
                              "The request body must contain the following parameter: 'grant_type'.")
            return s, b, None
        if grant != "client_credentials":
            s, b = _aad_error(400, "unsupported_grant_type", 70003,
                              f"The app requested an unsupported grant type '{grant}'.")
            return s, b, None
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        if not client_id:
            s, b = _aad_error(400, "invalid_request", 900144,
                              "The request body must contain the following parameter: 'client_id'.")
            return s, b, None
        if client_id not in self.clients:
            s, b = _aad_error(
                401, "invalid_client", 700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant_id}'. This can happen if the application has not been installed by "
                "the administrator of the tenant or consented to by any user in the tenant. You "
                "may have sent your authentication request to the wrong tenant.")
            return s, b, None
        if secret is None and "client_assertion" not in form:
            s, b = _aad_error(
                401, "invalid_client", 7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.")
            return s, b, None
        if secret != self.clients[client_id]:
            s, b = _aad_error(
                401, "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the "
                f"client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.")
            return s, b, None
        if v1:
            resource = form.get("resource", "")
            audience = resource.rstrip("/")
            if not audience:
                s, b = _aad_error(400, "invalid_request", 900144,
                                  "The request body must contain the following parameter: 'resource'.")
                return s, b, None
        else:
            scopes = form.get("scope", "").split()
            resource_scopes = [s for s in scopes if s not in ("openid", "profile", "offline_access")]
            if len(resource_scopes) != 1 or not resource_scopes[0].endswith("/.default"):
                shown = " ".join(scopes) or "(none)"
                s, b = _aad_error(
                    400, "invalid_scope", 1002012,
                    f"The provided value for scope {shown} is not valid. Client credential flows "
                    "must have a scope value with /.default suffixed to the resource identifier "
                    "(application ID URI).")
                return s, b, None
            audience = resource_scopes[0][: -len("/.default")].rstrip("/")
        value = secrets.token_urlsafe(48)
        tok = Token(value, self.tenant_id, client_id, audience, time.time() + self.token_lifetime)
        with self._lock:
            now = time.time()
            for k in [k for k, t in self._tokens.items() if t.expires_at < now - 3600]:
                del self._tokens[k]
            self._tokens[value] = tok
        body = {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": value,
        }
        if v1:
            body.update({"expires_on": str(int(tok.expires_at)), "not_before": str(int(time.time())),
                         "resource": form.get("resource")})
        return 200, body, tok

    # -- checking ---------------------------------------------------------------------
    def lookup(self, value):
        with self._lock:
            return self._tokens.get(value)

    def revoke_all(self):
        with self._lock:
            self._tokens.clear()

    def expire(self, value=None):
        """Expire one token (by value) or, with None, every issued token."""
        with self._lock:
            for t in self._tokens.values():
                if value is None or t.value == value:
                    t.expires_at = min(t.expires_at, time.time() - 1)
