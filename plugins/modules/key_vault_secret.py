#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: key_vault_secret
short_description: Write a secret into Azure Key Vault through Azure Resource Manager
version_added: 0.1.0
description:
  - Ensures a Key Vault secret exists, written through Azure Resource Manager
    (C(Microsoft.KeyVault/vaults/secrets)), so a vault with public network access disabled needs no
    network path from the control node and the identity needs a management-plane role (such as
    Contributor) rather than a data-plane one.
  - The value is never logged, never returned and never shown in a diff.
  - "Idempotence: Azure Resource Manager never returns a secret's value, so the module cannot compare
    values. With O(update_secret=when_changed) (the default) it stores a salted, deliberately slow one-way
    fingerprint of the value (PBKDF2-HMAC-SHA256, random salt) in the secret's tag C(value-fingerprint)
    and writes a new version only when the value no longer matches it (or the tag is missing, for
    example because the secret was written by something else). Whoever can read the secret's tags can
    test guesses of the value against the fingerprint, as against a password hash: use it for long random
    tokens (API keys, access tokens), and O(update_secret=on_create) (no fingerprint) for values that are
    easy to guess."
  - O(update_secret=on_create) writes the value only when the secret does not exist;
    O(update_secret=always) writes a new version on every run (never idempotent).
  - Changes of O(content_type), O(enabled) or O(tags) alone are applied with an update that keeps the
    current version.
  - Azure Resource Manager has no operation that deletes a secret, so there is no O(state=absent); a
    secret goes with its vault.
options:
  resource_group:
    description: Resource group of the vault.
    type: str
    required: true
  vault:
    description: Name of the vault.
    type: str
    required: true
  name:
    description: Name of the secret, 1-127 letters, digits and '-'.
    type: str
    required: true
  value:
    description: The secret value. Never logged or returned.
    type: str
    required: true
  content_type:
    description: Content type shown with the secret, for example V(text/plain).
    type: str
  enabled:
    description: Whether the secret can be read.
    type: bool
  update_secret:
    description: When the value is written; see the description.
    type: str
    choices: [when_changed, on_create, always]
    default: when_changed
  state:
    description: The secret exists. Deleting needs the Key Vault data plane; see the description.
    type: str
    choices: [present]
    default: present
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.tags
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: Docker Hub access token for the registry's credential set
  airgap.aks_inference.key_vault_secret:
    resource_group: rg-llm-isolated
    vault: kv-llm-isolated
    name: dockerhub-token
    value: "{{ vault_dockerhub_token }}"
    content_type: text/plain
  register: token

- name: The URI a credential set refers to
  ansible.builtin.debug:
    msg: "{{ token.secret_uri }}"
"""

RETURN = r"""
id:
  description: Resource id of the secret.
  returned: always
  type: str
secret_uri:
  description: URI of the current version, for example C(https://kv-llm-isolated.vault.azure.net/secrets/dockerhub-token).
  returned: always
  type: str
secret_uri_with_version:
  description: URI of the version written or found (unknown in check mode before the write).
  returned: always
  type: str
value_changed:
  description: Whether a new value was (or in check mode would be) written.
  returned: always
  type: bool
state:
  description: The secret as Azure reports it, without its value.
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties; the value shows as C(<hidden>) only.
  returned: always
  type: dict
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import AzureModule, provider_id
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import FieldTable, prune_none
from ansible_collections.airgap.aks_inference.plugins.module_utils.key_vault import (
    FINGERPRINT_TAG,
    check_secret_name,
    check_vault_name,
    fingerprint,
    fingerprint_matches,
    vault_suffix,
)

KEY_VAULT_API_VERSION = "2023-07-01"
VAULT_TYPE = "Microsoft.KeyVault/vaults"
HIDDEN = "<hidden>"
HIDDEN_NEW = "<hidden: new value>"
FIELDS = FieldTable()


def user_tags(tags):
    return dict((k, v) for k, v in (tags or {}).items() if k != FINGERPRINT_TAG)


def metadata(body):
    """The comparable part of a secret: tags (without the fingerprint), content type, enabled."""
    props = (body or {}).get("properties") or {}
    return {
        "tags": user_tags((body or {}).get("tags")),
        "properties": {
            "contentType": props.get("contentType"),
            "attributes": {"enabled": (props.get("attributes") or {}).get("enabled")},
        },
    }


def desired_metadata(params, current):
    wanted = prune_none({
        "properties": {
            "contentType": params.get("content_type"),
            "attributes": {"enabled": params.get("enabled")},
        }
    })
    tags = params.get("tags")
    if tags is not None:
        tags = dict((str(k), str(v)) for k, v in tags.items())
        if not params.get("purge_tags", True) and current:
            merged = user_tags(current.get("tags"))
            merged.update(tags)
            tags = merged
        wanted["tags"] = tags
    return wanted


def value_needs_writing(params, current):
    if current is None:
        return True
    mode = params["update_secret"]
    if mode == "always":
        return True
    if mode == "on_create":
        return False
    return not fingerprint_matches(params["value"], (current.get("tags") or {}).get(FINGERPRINT_TAG))


def ensure_secret(module):
    p = module.params
    check_vault_name("vault", p["vault"])
    check_secret_name("name", p["name"])
    module.check_settings()
    vault_id = provider_id(module.subscription_id, p["resource_group"], VAULT_TYPE, p["vault"])
    rid = vault_id + "/secrets/" + p["name"]
    client = module.client()
    current = client.get(rid, KEY_VAULT_API_VERSION)

    write_value = value_needs_writing(p, current)
    wanted = desired_metadata(p, current)
    comparison = FIELDS.compare(wanted, metadata(current) if current is not None else None)
    changed = write_value or comparison.changed

    before = comparison.before if current is not None else {}
    after = dict(comparison.after)
    if current is not None:
        before = dict(before, value=HIDDEN)
    after["value"] = HIDDEN_NEW if write_value else HIDDEN

    tags = wanted.get("tags", user_tags((current or {}).get("tags")))
    final = current
    if changed and not module.check_mode:
        props = dict(wanted.get("properties") or {})
        if write_value:
            body_tags = dict(tags)
            if p["update_secret"] != "on_create":
                body_tags[FINGERPRINT_TAG] = fingerprint(p["value"])
            props["value"] = p["value"]
            response = client.put(rid, KEY_VAULT_API_VERSION, {"tags": body_tags, "properties": props})
        else:
            body_tags = dict(tags)
            stored = ((current or {}).get("tags") or {}).get(FINGERPRINT_TAG)
            if stored:
                body_tags[FINGERPRINT_TAG] = stored
            response = client.patch(rid, KEY_VAULT_API_VERSION, {"tags": body_tags, "properties": props})
        final = response.body or client.get(rid, KEY_VAULT_API_VERSION)

    props = (final or {}).get("properties") or {}
    secret_uri = props.get("secretUri")
    if not secret_uri:
        vault = client.get(vault_id, KEY_VAULT_API_VERSION) or {}
        vault_uri = (vault.get("properties") or {}).get("vaultUri") or "https://%s.%s/" % (
            p["vault"].lower(), vault_suffix(module.settings["cloud"]))
        secret_uri = vault_uri.rstrip("/") + "/secrets/" + p["name"]
    state = {}
    if final:
        state = dict((k, v) for k, v in final.items() if k != "properties")
        state["properties"] = dict((k, v) for k, v in props.items() if k != "value")
    return {
        "changed": changed,
        "id": rid,
        "secret_uri": secret_uri,
        "secret_uri_with_version": None if (write_value and module.check_mode) else props.get("secretUriWithVersion"),
        "value_changed": write_value,
        "state": state,
        "diff": {"before": before, "after": after},
    }


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            vault=dict(type="str", required=True),
            name=dict(type="str", required=True),
            value=dict(type="str", required=True, no_log=True),
            content_type=dict(type="str"),
            enabled=dict(type="bool"),
            update_secret=dict(type="str", choices=["when_changed", "on_create", "always"], default="when_changed"),
            state=dict(type="str", choices=["present"], default="present"),
        ),
        wait=False,
        tags=True,
    )
    module.run(ensure_secret)


if __name__ == "__main__":
    main()
