"""Microsoft.KeyVault: vaults and vaults/secrets (the management-plane view of secrets).

Facts (azure-rest-api-specs specification/keyvault, Key Vault documentation):

* Vault names are 3-24 letters, digits and hyphens, start with a letter, end with a letter or digit and
  have no consecutive hyphens; ``vaultUri`` is ``https://{name}.vault.azure.net/``. A vault needs
  ``tenantId`` and ``sku`` (family A, standard or premium). Creating a vault is long-running and reports
  ``RegisteringDns`` until done; deleting answers at once. Soft delete cannot be turned off,
  ``softDeleteRetentionInDays`` is 7-90 and fixed after creation, purge protection cannot be turned off
  once on. (Not emulated: the soft-deleted vault that keeps the name reserved after a delete.)
* Secrets through ARM (``Secrets_CreateOrUpdate`` / ``Secrets_Update`` / ``Secrets_Get`` / ``Secrets_List``):
  synchronous; the value is accepted but never returned; every PUT with a value makes a new version
  (``secretUriWithVersion``); there is no DELETE (that is the data plane). Tags are supported.
* Private endpoints connect to group ``vault`` (host ``{name}.vault.azure.net``, zone
  ``privatelink.vaultcore.azure.net``).

Tests may read what a secret was set to with :func:`secret_value` (the emulator sees the value; ARM
never returns it).
"""
import re
import time
import uuid

from ..errors import ArmError, bad_request
from ..registry import ResourceType, register
from ..util import canonical_enum, check_bool, check_int, check_list, check_object
from .privatelink import endpoint_connections, register_target

KV_API_VERSIONS = ("2019-09-01", "2021-10-01", "2022-07-01", "2023-02-01", "2023-07-01", "2024-11-01")
VAULT = "Microsoft.KeyVault/vaults"
SECRET = "Microsoft.KeyVault/vaults/secrets"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _vault_members(ctx, record, group_id):
    return [("default", f"{record.name.lower()}.vault.azure.net")]


register_target(VAULT, ("vault",), _vault_members)


@register
class Vault(ResourceType):
    type = VAULT
    api_versions = KV_API_VERSIONS
    duration = 10.0
    async_delete = False
    creating_state = "RegisteringDns"
    updating_state = "RegisteringDns"
    etag = None
    patch = "merge"
    name_pattern = re.compile(r"^(?=.{3,24}$)[a-zA-Z](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]$")
    name_code = "VaultNameNotValid"
    name_message = ("The vault name '{name}' is invalid. A vault's name must be between 3-24 alphanumeric "
                    "characters. The name must begin with a letter, end with a letter or digit, and not contain "
                    "consecutive hyphens.")
    read_only_properties = ("provisioningState", "vaultUri", "hsmPoolResourceId", "privateEndpointConnections")

    def validate(self, ctx, body, existing):
        p = body["properties"]
        if not isinstance(p.get("tenantId"), str) or not GUID.match(p["tenantId"]):
            raise bad_request("BadRequest", f"The tenantId '{p.get('tenantId')}' of vault {ctx.name} is not a GUID.")
        sku = p.get("sku")
        check_object(sku, "properties.sku")
        if not sku or str(sku.get("family", "")).upper() != "A" or \
                str(sku.get("name", "")).lower() not in ("standard", "premium"):
            raise bad_request("BadRequest", f"The sku {sku} of vault {ctx.name} is invalid: family A, name standard "
                                            "or premium.")
        p["sku"] = {"family": "A", "name": str(sku["name"]).lower()}
        for key in ("enableRbacAuthorization", "enableSoftDelete", "enablePurgeProtection", "enabledForDeployment",
                    "enabledForDiskEncryption", "enabledForTemplateDeployment"):
            check_bool(p.get(key), f"properties.{key}")
        check_list(p.get("accessPolicies"), "properties.accessPolicies")
        if p.get("publicNetworkAccess") is not None:
            p["publicNetworkAccess"] = canonical_enum(p["publicNetworkAccess"], ["Enabled", "Disabled"],
                                                      "properties.publicNetworkAccess", "PublicNetworkAccess")
        if p.get("enableSoftDelete") is False:
            raise bad_request("BadRequest", "Soft delete cannot be disabled on a vault (enableSoftDelete=false).")
        days = p.get("softDeleteRetentionInDays")
        check_int(days, "properties.softDeleteRetentionInDays")
        if days is not None and not 7 <= days <= 90:
            raise bad_request("BadRequest", f"softDeleteRetentionInDays {days} is not between 7 and 90.")
        if existing is not None:
            old = existing.properties
            if days is not None and days != old.get("softDeleteRetentionInDays"):
                raise bad_request("BadRequest", f"softDeleteRetentionInDays of vault {existing.name} is "
                                                f"{old.get('softDeleteRetentionInDays')} and cannot be changed.")
            if old.get("enablePurgeProtection") and p.get("enablePurgeProtection") is False:
                raise bad_request("BadRequest", f"Purge protection of vault {existing.name} is enabled and cannot "
                                                "be disabled.")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        p["vaultUri"] = f"https://{ctx.name.lower()}.vault.azure.net/"
        p.setdefault("accessPolicies", [])
        p.setdefault("enabledForDeployment", False)
        p.setdefault("enabledForDiskEncryption", False)
        p.setdefault("enabledForTemplateDeployment", False)
        p.setdefault("enableSoftDelete", True)
        p["softDeleteRetentionInDays"] = p.get("softDeleteRetentionInDays") or old.get("softDeleteRetentionInDays") or 90
        p.setdefault("enableRbacAuthorization", False)
        p.setdefault("publicNetworkAccess", "Enabled")
        if old.get("enablePurgeProtection") and p.get("enablePurgeProtection") is None:
            p["enablePurgeProtection"] = True
        return body

    def render(self, ctx, record, body):
        body["properties"]["privateEndpointConnections"] = endpoint_connections(ctx, record)
        return body


@register
class Secret(ResourceType):
    type = SECRET
    api_versions = KV_API_VERSIONS
    async_put = False
    async_delete = False
    has_location = False
    etag = None
    patch = "merge"
    name_pattern = re.compile(r"^[a-zA-Z0-9-]{1,127}$")
    name_code = "BadRequest"
    name_message = "The secret name '{name}' is invalid: 1-127 letters, digits and '-'."
    read_only_properties = ("secretUri", "secretUriWithVersion", "provisioningState")

    def validate(self, ctx, body, existing):
        body.pop("_value", None)
        p = body["properties"]
        value = p.get("value")
        if value is not None and not isinstance(value, str):
            raise bad_request("BadRequest", "properties.value must be a string.")
        if existing is None and value is None:
            raise bad_request("BadRequest", f"Secret {ctx.name} does not exist; properties.value is required to "
                                            "create it.")
        if p.get("contentType") is not None and not isinstance(p["contentType"], str):
            raise bad_request("BadRequest", "properties.contentType must be a string.")
        attributes = p.get("attributes")
        check_object(attributes, "properties.attributes")
        for key in ("nbf", "exp"):
            check_int((attributes or {}).get(key), f"properties.attributes.{key}")
        check_bool((attributes or {}).get("enabled"), "properties.attributes.enabled")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        value = p.pop("value", None)
        now = int(time.time())
        attributes = dict(old.get("attributes") or {})
        attributes.update(p.get("attributes") or {})
        attributes.setdefault("enabled", True)
        attributes.setdefault("created", now)
        uri = f"{ctx.parent.properties.get('vaultUri', '').rstrip('/')}/secrets/{ctx.name}"
        p["secretUri"] = uri
        if value is not None:
            attributes["updated"] = now
            p["secretUriWithVersion"] = f"{uri}/{uuid.uuid4().hex}"
            body["_value"] = value
        else:
            p["secretUriWithVersion"] = old.get("secretUriWithVersion")
            body["_value"] = existing.body.get("_value") if existing else None
        p["attributes"] = attributes
        return body

    def validate_delete(self, ctx, record):
        raise ArmError(405, "MethodNotAllowed", "The requested resource does not support http method 'DELETE': "
                                                "secrets are deleted through the Key Vault data plane.")

    def render(self, ctx, record, body):
        body.pop("_value", None)
        body["properties"].pop("value", None)
        if ctx.parent is not None and ctx.parent.location:
            body["location"] = ctx.parent.location
        return body


def secret_value(emulator_or_app, secret_id):
    """Test helper: the value a secret was last set to (None when it does not exist)."""
    app = getattr(emulator_or_app, "app", emulator_or_app)
    with app.lock:
        rec = app.store.get(secret_id.rstrip("/").lower())
        return rec.body.get("_value") if rec is not None else None
