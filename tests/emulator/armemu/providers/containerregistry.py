"""Microsoft.ContainerRegistry: registries (with the importImage action), registries/cacheRules,
registries/credentialSets.

Facts (azure-rest-api-specs specification/containerregistry, ACR documentation):

* Registry names are 5-50 letters and digits; the login server is ``{name}.azurecr.io`` (lower case).
  SKUs Basic, Standard, Premium. Only Premium registries can disable public network access
  (``DisablingPublicNetworkAccessNotSupported``), have private endpoints, dedicated data endpoints
  (``{name}.{region}.data.azurecr.io``) and zone redundancy (which cannot change after creation);
  anonymous pull needs Standard or Premium. PUT, PATCH and DELETE are long-running.
* ``importImage`` (POST, long-running, no result body) copies ``source.sourceImage`` from
  ``source.registryUri`` (optionally with ``source.credentials``) or from the registry
  ``source.resourceId`` to ``targetTags`` (default: the source repository and tag); with ``mode`` NoForce
  (the default) an existing target tag fails the import before anything is copied, with Force it is
  overwritten. Azure does not report the digest; the emulator keeps a catalogue (repository -> tag ->
  digest) per registry that tests read with :func:`catalogue`. A source pinned by digest keeps that digest;
  a source by tag gets a stand-in digest derived from its reference. ``nvcr.io/nim/...`` images need
  credentials, as NGC does.
* Cache rules: names 5-50 of ``[a-zA-Z0-9-]``; at most 1,000 per registry; the source's registry must be
  an upstream the artifact cache serves; wildcards only as a trailing ``/*``; a wildcard rule must not
  overlap another wildcard rule (by target), two rules cannot serve one repository, and a static target
  repository must not already exist in the registry; source and target cannot change, the credential
  set can (PATCH). A referenced credential set must exist in the same registry, be for the rule's
  upstream, and an upstream that serves unauthenticated pulls only takes none.
* Credential sets: names 5-50 of ``[a-zA-Z0-9-]``; a login server of an upstream that takes
  credentials; one credential (``Credential1``) with Key Vault secret URIs for username and password; a
  system-assigned identity (its principal id is returned). ``credentialHealth`` is ``Healthy`` when both
  secrets exist in a vault of the emulator and the identity holds a role that may read them (Key Vault
  Secrets User, Secrets Officer or Administrator at the vault or above, or on the secret), else
  ``Unhealthy`` with the reason. A credential set used by a cache rule cannot be deleted.

What ACR does not check, and the emulator does not either: that the rule ``aks-managed-mcr`` maps
``mcr.microsoft.com/*`` to ``aks-managed-repository/*``; AKS checks that when a cluster bootstraps from
the registry (see :func:`aks_cache_rule_problem` for providers of managed clusters).
"""
import copy
import datetime
import hashlib
import re

from ..errors import ArmError, bad_request, conflict
from ..registry import ResourceType, action, register
from ..util import canonical_enum, check_bool, check_list, check_object
from .privatelink import endpoint_connections, register_target

ACR_API_VERSIONS = ("2023-07-01", "2023-08-01-preview", "2023-11-01-preview", "2024-11-01-preview", "2025-04-01")
REGISTRY = "Microsoft.ContainerRegistry/registries"
CACHE_RULE = "Microsoft.ContainerRegistry/registries/cacheRules"
CREDENTIAL_SET = "Microsoft.ContainerRegistry/registries/credentialSets"
KEY_VAULT = "Microsoft.KeyVault/vaults"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
MAX_CACHE_RULES = 1000
# Upstreams of the artifact cache -> whether they take credentials.
UPSTREAMS = {"docker.io": True, "mcr.microsoft.com": False, "public.ecr.aws": False, "ghcr.io": True,
             "nvcr.io": True, "quay.io": True, "registry.k8s.io": True, "gcr.io": True}
# Roles whose data actions let an identity read secret values.
SECRET_READER_ROLES = {"4633458b-17de-408a-b874-0445c86b69e6", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
                       "00482a5a-887f-4fb3-b363-3b7fe8e74483"}
AKS_RULE = ("aks-managed-mcr", "mcr.microsoft.com/*", "aks-managed-repository/*")

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(r"^%s(?:/%s)*$" % (_COMPONENT, _COMPONENT))
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
SECRET_URI_RE = re.compile(r"^https://(?P<vault>[a-zA-Z0-9-]{3,24})\.vault\.azure\.net/secrets/"
                           r"(?P<name>[a-zA-Z0-9-]{1,127})(?:/[a-fA-F0-9]{32})?/?$")
CHILD_NAME = re.compile(r"^[a-zA-Z0-9-]{5,50}$")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _sku(record):
    return ((record.body.get("sku") or {}).get("name") or "") if record is not None else ""


# --------------------------------------------------------------------------------------
def _registry_members(ctx, record, group_id):
    name = record.name.lower()
    return [("registry", f"{name}.azurecr.io"),
            (f"registry_data_{record.location}", f"{name}.{record.location}.data.azurecr.io")]


def _registry_accepts_endpoint(ctx, record):
    if _sku(record) != "Premium":
        raise bad_request("PrivateEndpointNotSupportedForSku",
                          f"Private endpoints are supported for Premium registries only; registry {record.name} is "
                          f"{_sku(record)}. For more information, please visit https://aka.ms/acr/private-link.")


register_target(REGISTRY, ("registry",), _registry_members, _registry_accepts_endpoint)


@register
class Registry(ResourceType):
    type = REGISTRY
    api_versions = ACR_API_VERSIONS
    duration = 20.0
    creating_state = "Creating"
    etag = None
    patch = "merge"
    async_patch = True
    retry_after = 10
    name_pattern = re.compile(r"^[a-zA-Z0-9]{5,50}$")
    name_code = "RegistryNameInvalid"
    name_message = ("The registry name '{name}' is invalid: it must be 5-50 characters long and contain letters "
                    "and digits only.")
    read_only_properties = ("provisioningState", "loginServer", "creationDate", "status", "dataEndpointHostNames",
                            "privateEndpointConnections", "_catalog")

    def validate(self, ctx, body, existing):
        sku = body.get("sku")
        check_object(sku, "sku")
        if not sku or not sku.get("name"):
            raise bad_request("InvalidSku", "The sku of the registry is required (Basic, Standard or Premium).")
        name = {s.lower(): s for s in ("Basic", "Standard", "Premium")}.get(str(sku["name"]).lower())
        if name is None:
            raise bad_request("InvalidSku", f"The sku '{sku['name']}' is not valid; use Basic, Standard or Premium.")
        body["sku"] = {"name": name}
        p = body["properties"]
        for key in ("adminUserEnabled", "anonymousPullEnabled", "dataEndpointEnabled",
                    "networkRuleBypassAllowedForTasks"):
            check_bool(p.get(key), f"properties.{key}")
        for key, allowed in (("publicNetworkAccess", ["Enabled", "Disabled"]),
                             ("zoneRedundancy", ["Enabled", "Disabled"]),
                             ("networkRuleBypassOptions", ["AzureServices", "None"])):
            if p.get(key) is not None:
                p[key] = canonical_enum(p[key], allowed, f"properties.{key}", key)
        if p.get("publicNetworkAccess") == "Disabled" and name != "Premium":
            raise bad_request("DisablingPublicNetworkAccessNotSupported",
                              f"Disabling public network access is not supported for the SKU {name}. For more "
                              "information, please visit https://aka.ms/acr/private-link.")
        if p.get("dataEndpointEnabled") and name != "Premium":
            raise bad_request("DedicatedDataEndpointNotSupported",
                              f"Dedicated data endpoints are supported for Premium registries only; the SKU is {name}.")
        if p.get("anonymousPullEnabled") and name == "Basic":
            raise bad_request("AnonymousPullNotSupported",
                              "Anonymous pull is supported for Standard and Premium registries only; the SKU is Basic.")
        zone = p.get("zoneRedundancy") or "Disabled"
        if zone == "Enabled" and name != "Premium":
            raise bad_request("ZoneRedundancyNotSupported",
                              f"Zone redundancy is supported for Premium registries only; the SKU is {name}.")
        if existing is not None:
            before = existing.properties.get("zoneRedundancy") or "Disabled"
            if before != zone:
                raise bad_request("ZoneRedundancyCannotBeChanged",
                                  f"Zone redundancy of registry {existing.name} is {before} and cannot be changed "
                                  f"to {zone} after creation.")
            if _sku(existing) == "Premium" and name != "Premium" and endpoint_connections(ctx, existing):
                raise bad_request("SkuDowngradeNotAllowed",
                                  f"Registry {existing.name} has private endpoint connections; it cannot move from "
                                  f"Premium to {name}. Delete the private endpoints first.")
        identity = body.get("identity")
        check_object(identity, "identity")
        if identity is not None:
            kind = str(identity.get("type") or "None")
            if kind not in ("None", "SystemAssigned"):
                raise bad_request("InvalidIdentityType",
                                  f"Identity type '{kind}' is not emulated; use SystemAssigned or None.")
        body.pop("_catalog", None)

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        body["sku"]["tier"] = body["sku"]["name"]
        p["loginServer"] = f"{ctx.name.lower()}.azurecr.io"
        p["creationDate"] = old.get("creationDate") or _now()
        p.setdefault("adminUserEnabled", False)
        p.setdefault("anonymousPullEnabled", False)
        p.setdefault("dataEndpointEnabled", False)
        p.setdefault("publicNetworkAccess", "Enabled")
        p.setdefault("networkRuleBypassOptions", "AzureServices")
        p.setdefault("networkRuleBypassAllowedForTasks", False)
        p.setdefault("zoneRedundancy", "Disabled")
        p.setdefault("roleAssignmentMode", "LegacyRegistryPermissions")
        p.setdefault("encryption", {"status": "disabled"})
        p.setdefault("policies", {"quarantinePolicy": {"status": "disabled"},
                                  "trustPolicy": {"type": "Notary", "status": "disabled"},
                                  "retentionPolicy": {"days": 7, "status": "disabled"},
                                  "exportPolicy": {"status": "enabled"},
                                  "azureADAuthenticationAsArmPolicy": {"status": "enabled"}})
        if body["sku"]["name"] == "Premium":
            p.setdefault("networkRuleSet", {"defaultAction": "Allow", "ipRules": []})
        p["dataEndpointHostNames"] = (
            [f"{ctx.name.lower()}.{ctx.location}.data.azurecr.io"] if p.get("dataEndpointEnabled") else [])
        identity = body.get("identity")
        if identity and identity.get("type") == "SystemAssigned":
            prev = (existing.body.get("identity") or {}) if existing else {}
            body["identity"] = {"type": "SystemAssigned", "principalId": prev.get("principalId") or ctx.new_guid(),
                                "tenantId": ctx.app.tenant_id}
        body["_catalog"] = copy.deepcopy(existing.body.get("_catalog")) if existing else {}
        return body

    def render(self, ctx, record, body):
        body.pop("_catalog", None)
        body["properties"]["privateEndpointConnections"] = endpoint_connections(ctx, record)
        return body

    @action("importImage", asynchronous=True, duration=20)
    def import_image(self, ctx, record, body):
        source = body.get("source")
        if not isinstance(source, dict) or not isinstance(source.get("sourceImage"), str):
            raise bad_request("InvalidParameter", "source.sourceImage is required.")
        uri, rid = source.get("registryUri"), source.get("resourceId")
        if bool(uri) == bool(rid):
            raise bad_request("InvalidParameter", "Exactly one of source.registryUri and source.resourceId is required.")
        image = source["sourceImage"]
        repo, tag, digest = _parse_image(image)
        if rid:
            upstream = ctx.get(rid)
            if upstream is None or upstream.rtype.type != REGISTRY:
                raise bad_request("InvalidParameter", f"Source registry {rid} was not found.")
            known = (upstream.body.get("_catalog") or {}).get(repo) or {}
            digest = digest or known.get(tag or "latest")
            if digest is None or (digest not in known.values()):
                raise bad_request("ImageNotFound", f"Image {image} was not found in registry {upstream.name}.")
            origin = upstream.properties.get("loginServer")
        else:
            origin = str(uri).lower()
            creds = source.get("credentials")
            check_object(creds, "source.credentials")
            if creds is not None and not isinstance(creds.get("password"), str):
                raise bad_request("InvalidParameter", "source.credentials.password is required with credentials.")
            if origin == "nvcr.io" and repo.startswith("nim/") and not creds:
                raise bad_request("ImportSourceUnauthorized",
                                  f"The source registry {origin} refused the request for {image}: authentication "
                                  "required (401 Unauthorized). Pass source.credentials.")
        targets = body.get("targetTags")
        untagged = body.get("untaggedTargetRepositories")
        check_list(targets, "targetTags")
        check_list(untagged, "untaggedTargetRepositories")
        if not targets and not untagged:
            targets = [f"{repo}:{tag or 'latest'}"]
        parsed = []
        for target in targets or []:
            trepo, _sep, ttag = str(target).partition(":")
            if not REPOSITORY_RE.match(trepo) or not TAG_RE.match(ttag or "latest"):
                raise bad_request("InvalidParameter", f"Target tag '{target}' is not repository:tag.")
            parsed.append((trepo, ttag or "latest"))
        mode = canonical_enum(body.get("mode") or "NoForce", ["NoForce", "Force"], "mode", "ImportMode")
        if mode == "NoForce":
            catalog = record.body.get("_catalog") or {}
            for trepo, ttag in parsed:
                if ttag in (catalog.get(trepo) or {}):
                    raise conflict("TagAlreadyExists",
                                   f"Tag {trepo}:{ttag} already exists in target registry. Use mode Force to "
                                   "overwrite it.")
        digest = digest or "sha256:" + hashlib.sha256(f"{origin}/{repo}:{tag or 'latest'}".encode()).hexdigest()
        registry_key = record.key

        def done():
            current = ctx.store.get(registry_key)
            if current is None:
                return
            catalog = current.body.setdefault("_catalog", {})
            for trepo, ttag in parsed:
                catalog.setdefault(trepo, {})[ttag] = digest
            for trepo in untagged or []:
                catalog.setdefault(trepo, {}).setdefault("@" + digest, digest)

        ctx.on_complete(done)
        return None

    @action("listCredentials", write=False)
    def list_credentials(self, ctx, record, body):
        if not record.properties.get("adminUserEnabled"):
            raise bad_request("AdminUserDisabled", f"Admin user is disabled for registry {record.name}.")
        return {"username": record.name, "passwords": [{"name": "password", "value": "emulated-admin-password"},
                                                       {"name": "password2", "value": "emulated-admin-password2"}]}


def _parse_image(image):
    text, digest = image, None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not DIGEST_RE.match(digest):
            raise bad_request("InvalidParameter", f"'{digest}' is not a sha256 digest.")
    tag = None
    if ":" in text.rsplit("/", 1)[-1]:
        text, tag = text.rsplit(":", 1)
    if not REPOSITORY_RE.match(text) or (tag is not None and not TAG_RE.match(tag)):
        raise bad_request("InvalidParameter", f"Source image '{image}' is not repository[:tag][@digest].")
    return text, tag, digest


# --------------------------------------------------------------------------------------
def _target(value):
    value = str(value)
    wild = value == "*" or value.endswith("/*")
    return (value[:-2] if value.endswith("/*") else ("" if value == "*" else value)), wild


def _overlap(first, second):
    (a, aw), (b, bw) = _target(first), _target(second)
    if aw and bw:
        return not a or not b or a == b or a.startswith(b + "/") or b.startswith(a + "/")
    if not aw and not bw:
        return a == b
    return False


class RegistryChild(ResourceType):
    api_versions = ACR_API_VERSIONS
    has_location = False
    has_tags = False
    etag = None
    patch = "merge"
    async_patch = True
    duration = 5.0
    name_pattern = CHILD_NAME
    name_code = "InvalidResourceName"

    def not_found(self, ctx):
        return ArmError(404, "ResourceNotFound",
                        f"The Resource '{self.namespace}/{ctx.type_path_with_names}' under resource group "
                        f"'{ctx.rg_name}' was not found.")


@register
class CacheRule(RegistryChild):
    type = CACHE_RULE
    name_message = "The cache rule name '{name}' is invalid: 5-50 letters, digits and '-'."
    read_only_properties = ("provisioningState", "creationDate")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        source, target = p.get("sourceRepository"), p.get("targetRepository")
        if not isinstance(source, str) or not isinstance(target, str) or not source or not target:
            raise bad_request("InvalidParameter", "sourceRepository and targetRepository are required.")
        host, _sep, path = source.partition("/")
        host = host.lower()
        if host not in UPSTREAMS or not path:
            raise bad_request("UnsupportedUpstreamRegistry",
                              f"The source repository '{source}' is not in a supported upstream registry "
                              f"({', '.join(sorted(UPSTREAMS))}).")
        src_stem, src_wild = _target(path)
        tgt_stem, tgt_wild = _target(target)
        for stem, label, value in ((src_stem, "sourceRepository", source), (tgt_stem, "targetRepository", target)):
            if "*" in stem or (stem and not REPOSITORY_RE.match(stem)):
                raise bad_request("InvalidParameter", f"The {label} '{value}' is not a valid repository path; a "
                                                      "wildcard is only allowed as a trailing '/*'.")
        if src_wild != tgt_wild:
            raise bad_request("InvalidParameter", f"The source '{source}' and target '{target}' must both end in "
                                                  "'/*' or neither.")
        if existing is not None:
            old = existing.properties
            if old.get("sourceRepository") != source or old.get("targetRepository") != target:
                raise bad_request("CacheRuleRepositoriesCannotBeUpdated",
                                  f"The source and target repositories of cache rule {existing.name} cannot change; "
                                  "only the credential set can.")
        else:
            if len(ctx.siblings) + 1 > MAX_CACHE_RULES:
                raise bad_request("CacheRuleQuotaExceeded",
                                  f"The registry has {len(ctx.siblings)} cache rules; it can hold {MAX_CACHE_RULES}.")
            for sib in ctx.siblings:
                other = (sib.get("properties") or {}).get("targetRepository")
                if other and _overlap(target, other):
                    raise conflict("CacheRuleConflict",
                                   f"The target repository '{target}' of cache rule {ctx.name} conflicts with cache "
                                   f"rule {sib.get('name')} (target '{other}'): wildcard rules cannot overlap and two "
                                   "rules cannot serve the same repository.")
            if not tgt_wild and tgt_stem in (ctx.parent.body.get("_catalog") or {}):
                raise conflict("TargetRepositoryAlreadyExists",
                               f"The target repository '{target}' already exists in registry {ctx.parent.name}.")
        cred = p.get("credentialSetResourceId")
        if cred not in (None, ""):
            rec = ctx.get(cred)
            if rec is None or rec.rtype.type != CREDENTIAL_SET or rec.parent_key != ctx.parent.key:
                raise bad_request("CredentialSetNotFound",
                                  f"The credential set '{cred}' does not exist in registry {ctx.parent.name}.")
            if not UPSTREAMS[host]:
                raise bad_request("CredentialSetNotSupported",
                                  f"The upstream {host} serves unauthenticated pulls only; a cache rule for it takes "
                                  "no credential set.")
            login = str(rec.properties.get("loginServer") or "").lower()
            if login != host:
                raise bad_request("CredentialSetLoginServerMismatch",
                                  f"The credential set {rec.name} is for {login}, the cache rule's upstream is {host}.")
            p["credentialSetResourceId"] = rec.id
        else:
            p.pop("credentialSetResourceId", None)

    def defaults(self, ctx, body, existing):
        body["properties"]["creationDate"] = (existing.properties.get("creationDate") if existing else None) or _now()
        return body


@register
class CredentialSet(RegistryChild):
    type = CREDENTIAL_SET
    name_message = "The credential set name '{name}' is invalid: 5-50 letters, digits and '-'."
    read_only_properties = ("provisioningState", "creationDate")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        login = str(p.get("loginServer") or "").lower()
        if login not in UPSTREAMS or not UPSTREAMS[login]:
            raise bad_request("UnsupportedUpstreamRegistry",
                              f"The login server '{p.get('loginServer')}' is not an upstream that takes credentials "
                              f"({', '.join(sorted(k for k, v in UPSTREAMS.items() if v))}).")
        if existing is not None and str(existing.properties.get("loginServer")).lower() != login:
            raise bad_request("LoginServerCannotBeUpdated",
                              f"The login server of credential set {existing.name} cannot change.")
        p["loginServer"] = login
        creds = p.get("authCredentials")
        check_list(creds, "properties.authCredentials")
        if not creds or len(creds) != 1 or not isinstance(creds[0], dict) or creds[0].get("name") != "Credential1":
            raise bad_request("InvalidParameter", "authCredentials must hold exactly one credential named Credential1.")
        for key in ("usernameSecretIdentifier", "passwordSecretIdentifier"):
            value = creds[0].get(key)
            if not isinstance(value, str) or not SECRET_URI_RE.match(value):
                raise bad_request("InvalidKeyVaultSecretUri",
                                  f"authCredentials[0].{key} '{value}' is not a Key Vault secret URI "
                                  "(https://<vault>.vault.azure.net/secrets/<name>).")
        creds[0].pop("credentialHealth", None)
        identity = body.get("identity")
        if not isinstance(identity, dict) or identity.get("type") != "SystemAssigned":
            raise bad_request("IdentityRequired",
                              "A credential set needs a SystemAssigned identity to read its Key Vault secrets.")

    def defaults(self, ctx, body, existing):
        prev = (existing.body.get("identity") or {}) if existing else {}
        body["identity"] = {"type": "SystemAssigned", "principalId": prev.get("principalId") or ctx.new_guid(),
                            "tenantId": ctx.app.tenant_id}
        body["properties"]["creationDate"] = (existing.properties.get("creationDate") if existing else None) or _now()
        return body

    def render(self, ctx, record, body):
        principal = (body.get("identity") or {}).get("principalId")
        for cred in body["properties"].get("authCredentials") or []:
            cred["credentialHealth"] = _health(ctx, principal, cred)
        return body

    def validate_delete(self, ctx, record):
        for rule in ctx.children(record.parent_key, CACHE_RULE):
            if (rule.properties.get("credentialSetResourceId") or "").lower() == record.key:
                raise conflict("CredentialSetInUse",
                               f"Credential set {record.name} is used by cache rule {rule.name}; remove it from the "
                               "rule first.")


def _secret_record(ctx, uri):
    match = SECRET_URI_RE.match(uri or "")
    if not match:
        return None
    for vault in ctx.of_type(KEY_VAULT):
        if vault.name.lower() == match.group("vault").lower():
            return ctx.get(f"{vault.id}/secrets/{match.group('name')}")
    return None


def _can_read(ctx, principal, secret):
    for assignment in ctx.of_type(ROLE_ASSIGNMENT):
        props = assignment.properties
        if str(props.get("principalId", "")).lower() != str(principal).lower():
            continue
        if str(props.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower() not in SECRET_READER_ROLES:
            continue
        scope = str(props.get("scope", "")).lower().rstrip("/")
        if secret.key == scope or secret.key.startswith(scope + "/"):
            return True
    return False


def _health(ctx, principal, cred):
    for key in ("usernameSecretIdentifier", "passwordSecretIdentifier"):
        secret = _secret_record(ctx, cred.get(key))
        if secret is None:
            return {"status": "Unhealthy", "errorCode": "KeyVaultSecretNotFound",
                    "errorMessage": f"The secret {cred.get(key)} was not found."}
        if not _can_read(ctx, principal, secret):
            return {"status": "Unhealthy", "errorCode": "KeyVaultSecretAccessDenied",
                    "errorMessage": f"The identity {principal} may not read {cred.get(key)}; grant it Key Vault "
                                    "Secrets User."}
    return {"status": "Healthy"}


# --------------------------------------------------------------------------------------
def catalogue(emulator_or_app, registry_id):
    """Test helper: ``{repository: {tag: digest}}`` of a registry (a copy), or None when it does not exist."""
    app = getattr(emulator_or_app, "app", emulator_or_app)
    with app.lock:
        app._advance_ops()  # pylint: disable=protected-access
        rec = app.store.get(registry_id.rstrip("/").lower())
        return copy.deepcopy(rec.body.get("_catalog") or {}) if rec is not None else None


def aks_cache_rule_problem(ctx, registry):
    """For a managed-cluster provider: why ``registry`` cannot serve network-isolated bootstrap, or None."""
    name, source, target = AKS_RULE
    rule = ctx.get(f"{registry.id}/cacheRules/{name}")
    if rule is None:
        return f"registry {registry.name} has no cache rule {name} ({source} -> {target})"
    p = rule.properties
    if p.get("sourceRepository") != source or p.get("targetRepository") != target:
        return (f"cache rule {name} of registry {registry.name} maps {p.get('sourceRepository')} -> "
                f"{p.get('targetRepository')}, not {source} -> {target}")
    return None
