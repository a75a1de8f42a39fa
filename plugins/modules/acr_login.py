#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: acr_login
short_description: Log a container runtime into Azure Container Registry with the VM's managed identity
version_added: 0.1.0
description:
  - Gets an Entra ID access token for the managed identity of the Azure VM the module runs on from the
    instance metadata service (IMDS), exchanges it at the registry's C(/oauth2/exchange) endpoint for an
    ACR refresh token and stores that token in the container runtime's credential file
    (Docker C(config.json) or podman C(auth.json)), the way C(az acr login --identity) does.
  - The entry is written as C(auths.<login_server>.auth), the base64 of
    C(00000000-0000-0000-0000-000000000000:<refresh token>). Every other key and registry entry of the
    file is kept. The file gets mode C(0600).
  - Idempotent. When the stored refresh token (a JWT) is still valid for more than O(refresh_margin)
    seconds, nothing is requested and nothing is written (RV(ignore:changed=false)).
  - No token is returned, logged or written anywhere but the credential file.
  - Runs on the target (the VM whose identity is used), not on the controller.
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: In check mode no request is sent; the module reports whether a login would happen.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff shows whether an entry exists, its expiry and the file mode; never a token.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  login_server:
    description:
      - Login server of the registry, for example C(myregistry.azurecr.io). It is the key of the
        entry in the credential file and the C(service) of the token exchange.
    type: str
    required: true
  registry_url:
    description:
      - Base URL of the registry's token endpoint. Defaults to C(https://<login_server>).
      - Set it to reach the registry through another name or address (a private endpoint's IP, a test
        stand-in); the entry is still written for O(login_server).
    type: str
  state:
    description:
      - V(present) logs in when the stored token is missing or about to expire; V(absent) removes the
        entry of O(login_server) (no request is sent).
    type: str
    choices: [present, absent]
    default: present
  runtime:
    description:
      - Container runtime whose credential file is written when O(config_path) is not set.
      - V(docker) uses C(~/.docker/config.json), V(podman) uses C(~/.config/containers/auth.json), of the
        user the module runs as.
    type: str
    choices: [docker, podman]
    default: docker
  config_path:
    description:
      - Credential file to write instead of the runtime's default.
    type: path
  imds_url:
    description:
      - Token URL of the instance metadata service, including C(api-version) and C(resource).
      - "IMDS is always contacted without a proxy and with the header C(Metadata: true)."
    type: str
    default: http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/
  client_id:
    description:
      - Client ID of the user-assigned managed identity to use. Required by IMDS when the VM has more
        than one identity; omit it for the system-assigned identity.
    type: str
  tenant_id:
    description:
      - Entra ID tenant sent to the token exchange. Defaults to the C(tid) claim of the access token.
    type: str
  ca_path:
    description:
      - PEM file of CA certificates used to verify the HTTPS endpoints (a private CA or a test CA).
    type: path
  validate_certs:
    description:
      - Verify TLS certificates. Turn off only for a throw-away test.
    type: bool
    default: true
  timeout:
    description:
      - Timeout of each HTTP request, in seconds.
    type: int
    default: 10
  refresh_margin:
    description:
      - A stored token that expires within this many seconds is replaced. ACR refresh tokens live about
        three hours.
    type: int
    default: 900
  force:
    description:
      - Log in even when the stored token is still valid.
    type: bool
    default: false
notes:
  - The identity needs the C(AcrPull) (or C(AcrPush)) role on the registry.
  - Docker ignores C(auths) entries of registries served by a credential helper (C(credsStore),
    C(credHelpers)); the module warns when the file configures one.
seealso:
  - name: Authenticate with ACR using a managed identity
    description: The token exchange this module performs.
    link: https://learn.microsoft.com/azure/container-registry/container-registry-authentication-managed-identity
  - name: Instance metadata service, managed identity tokens
    description: How a VM gets a token for its managed identity.
    link: https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token
"""

EXAMPLES = r"""
- name: Log docker into the private registry with the VM's system-assigned identity
  airgap.aks_inference.acr_login:
    login_server: myregistry.azurecr.io

- name: Log podman in with a user-assigned identity, for another user
  airgap.aks_inference.acr_login:
    login_server: myregistry.azurecr.io
    runtime: podman
    client_id: 00000000-1111-2222-3333-444444444444
  become: true
  become_user: stager

- name: Reach the registry through its private endpoint address and a private CA
  airgap.aks_inference.acr_login:
    login_server: myregistry.azurecr.io
    registry_url: https://10.20.3.4
    ca_path: /usr/local/share/ca-certificates/corp-root.crt

- name: Forget the login
  airgap.aks_inference.acr_login:
    login_server: myregistry.azurecr.io
    state: absent
"""

RETURN = r"""
login_server:
  description: The login server the entry is written for (lower-cased).
  returned: always
  type: str
  sample: myregistry.azurecr.io
config_path:
  description: The credential file the module manages.
  returned: always
  type: str
  sample: /root/.docker/config.json
expires_at:
  description: Expiry (UTC, ISO 8601) of the refresh token now stored; null when unknown or absent.
  returned: always
  type: str
  sample: "2025-06-01T14:03:00Z"
reason:
  description: Why the module did or did not log in.
  returned: always
  type: str
  sample: the stored token for myregistry.azurecr.io is valid for 9890 more seconds
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.airgap.aks_inference.plugins.module_utils.acr_token import (
    DEFAULT_IMDS_URL,
    AcrLoginError,
    UrlFetcher,
    default_config_path,
    ensure_login,
)


def argument_spec():
    return dict(
        login_server=dict(type="str", required=True),
        registry_url=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        runtime=dict(type="str", choices=["docker", "podman"], default="docker"),
        config_path=dict(type="path"),
        imds_url=dict(type="str", default=DEFAULT_IMDS_URL),
        client_id=dict(type="str"),
        tenant_id=dict(type="str"),
        ca_path=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="int", default=10),
        refresh_margin=dict(type="int", default=900),
        force=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = dict(module.params)
    params["config_path"] = params["config_path"] or default_config_path(params["runtime"])
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be a positive number of seconds, got %d" % params["timeout"])
    if params["refresh_margin"] < 0:
        module.fail_json(msg="refresh_margin must not be negative, got %d" % params["refresh_margin"])
    fetch = UrlFetcher(open_url, ca_path=params["ca_path"], validate_certs=params["validate_certs"], timeout=params["timeout"])
    try:
        result = ensure_login(params, fetch, check_mode=module.check_mode)
    except AcrLoginError as exc:
        module.fail_json(msg=str(exc), login_server=params["login_server"])
    for warning in result.pop("warnings"):
        module.warn(warning)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
