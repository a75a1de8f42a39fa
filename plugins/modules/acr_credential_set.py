#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acr_credential_set
short_description: Create, update or delete a credential set of an Azure Container Registry
version_added: 0.1.0
description:
  - Ensures a credential set exists that lets artifact cache rules pull from an upstream registry with a
    username and password kept in Azure Key Vault. The registry reads them with the credential set's
    system-assigned identity.
  - The module takes the Key Vault secret URIs, never the secrets. The identity needs the
    C(Key Vault Secrets User) role on the vault (or the secrets); the module returns its RV(principal_id)
    for M(airgap.aks_inference.role_assignment).
  - "Checked before any request: the name, the login server (an upstream the cache serves that takes
    credentials) and that both URIs are Key Vault secret URIs (C(https://<vault>.vault.azure.net/secrets/<name>),
    or a sovereign cloud's vault suffix)."
options:
  resource_group:
    description: Resource group of the registry.
    type: str
    required: true
  registry:
    description: Name of the registry.
    type: str
    required: true
  name:
    description: Name of the credential set, 5-50 letters, digits and '-'.
    type: str
    required: true
  login_server:
    description: Upstream login server, for example V(docker.io) or V(nvcr.io). Required to create it; cannot change.
    type: str
  username_secret_uri:
    description: Key Vault secret URI holding the username. Required to create the credential set.
    type: str
  password_secret_uri:
    description: Key Vault secret URI holding the password or token. Required to create the credential set.
    type: str
  state:
    description: Whether the credential set should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.wait
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: Docker Hub credentials kept in Key Vault
  airgap.aks_inference.acr_credential_set:
    resource_group: rg-llm-isolated
    registry: acrllmisolated
    name: dockerhub
    login_server: docker.io
    username_secret_uri: https://kv-llm-isolated.vault.azure.net/secrets/dockerhub-username
    password_secret_uri: https://kv-llm-isolated.vault.azure.net/secrets/dockerhub-token
  register: dockerhub

- name: Let the credential set read its secrets
  airgap.aks_inference.role_assignment:
    scope: "{{ key_vault_id }}"
    role: Key Vault Secrets User
    principal_id: "{{ dockerhub.principal_id }}"
"""

RETURN = r"""
id:
  description: Resource id of the credential set.
  returned: always
  type: str
principal_id:
  description: Principal id of the credential set's system-assigned identity (grant it Key Vault Secrets User).
  returned: when present and known (not in check mode before creation)
  type: str
credential_health:
  description: Health of the credential as the registry reports it (C(Healthy) or C(Unhealthy) with an error code).
  returned: when present
  type: dict
state:
  description: The credential set as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.acr import (
    check_child_name,
    check_login_server,
    check_registry_name,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    ensure,
    provider_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable
from ansible_collections.airgap.aks_inference.plugins.module_utils.key_vault import parse_secret_uri

ACR_API_VERSION = "2023-07-01"
REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"
CREDENTIAL = "properties.authCredentials[]."


class CredentialSet(ArmResource):
    resource_type = "Microsoft.ContainerRegistry/registries/credentialSets"
    api_version = ACR_API_VERSION
    has_tags = False
    writable_top_level = ("properties", "identity")
    read_only_properties = ("provisioningState", "creationDate")
    required_on_create = ("login_server", "username_secret_uri", "password_secret_uri")
    fields = FieldTable(
        {
            "properties.loginServer": Field("ci", updatable=False),
            "properties.authCredentials": Field("keyed", key="name"),
            CREDENTIAL + "usernameSecretIdentifier": Field("ci"),
            CREDENTIAL + "passwordSecretIdentifier": Field("ci"),
            "identity.type": Field("ci"),
        }
    )

    def resource_id(self):
        p = self.params
        return provider_id(self.module.subscription_id, p["resource_group"], REGISTRY_TYPE,
                           p["registry"]) + "/credentialSets/" + p["name"]

    def validate(self):
        p = self.params
        check_registry_name("registry", p["registry"])
        check_child_name("name", p["name"], "credential set name")
        if p.get("login_server") is not None:
            check_login_server("login_server", p["login_server"], for_credentials=True)
        for option in ("username_secret_uri", "password_secret_uri"):
            if p.get(option) is not None:
                parse_secret_uri(option, p[option])

    def desired(self):
        p = self.params
        credential = None
        if p.get("username_secret_uri") is not None or p.get("password_secret_uri") is not None:
            credential = [{
                "name": "Credential1",
                "usernameSecretIdentifier": p.get("username_secret_uri"),
                "passwordSecretIdentifier": p.get("password_secret_uri"),
            }]
        login = p.get("login_server")
        return {
            "identity": {"type": "SystemAssigned"},
            "properties": {
                "loginServer": login.lower() if login else None,
                "authCredentials": credential,
            },
        }

    def normalize(self, body):
        out = dict(body)
        props = dict(body.get("properties") or {})
        props["authCredentials"] = [
            dict((k, v) for k, v in cred.items() if k != "credentialHealth")
            for cred in props.get("authCredentials") or []
        ]
        out["properties"] = props
        return out

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        identity = body.get("identity") or {}
        body["identity"] = {"type": identity.get("type") or "SystemAssigned"}
        props = body.setdefault("properties", {})
        props["authCredentials"] = [
            dict((k, v) for k, v in cred.items() if k != "credentialHealth")
            for cred in props.get("authCredentials") or []
        ]
        return body

    def result(self, body):
        out = super().result(body)
        if body:
            out["identity"] = body.get("identity") or {}
        return out


def ensure_credential_set(module):
    result = ensure(module, CredentialSet(module))
    state = result.get("state") or {}
    if state:
        result["principal_id"] = (state.get("identity") or {}).get("principalId")
        creds = (state.get("properties") or {}).get("authCredentials") or []
        result["credential_health"] = (creds[0].get("credentialHealth") if creds else None) or {}
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            registry=dict(type="str", required=True),
            name=dict(type="str", required=True),
            login_server=dict(type="str"),
            username_secret_uri=dict(type="str", no_log=False),
            password_secret_uri=dict(type="str", no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
    )
    module.run(ensure_credential_set)


if __name__ == "__main__":
    main()
