#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_token
short_description: Get an Entra ID token for the API server of an AKS cluster
version_added: 0.1.0
description:
  - Gets a bearer token for the AKS server application (C(6dae42f8-4368-4678-94ff-3960e28e3630)) with the same
    Azure credential as every other module of the collection (service principal, managed identity, Azure CLI,
    or the AWX Azure credential in the environment).
  - Hand RV(token) to M(kubernetes.core.k8s) as C(api_key). Clusters with local accounts disabled and Azure RBAC
    for Kubernetes accept it; no C(kubelogin) binary and no kubeconfig with credentials are needed.
  - The token is a secret; register the result of a task with C(no_log=true) (see the example). It is valid for
    about an hour (RV(expires_on)).
options:
  scope:
    description: The scope to ask for; the AKS server application unless another audience is needed.
    type: str
    default: 6dae42f8-4368-4678-94ff-3960e28e3630/.default
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - airgap.aks_inference.azure
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
attributes:
  check_mode:
    support: full
    description: Getting a token changes nothing; the module runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    description: Use C(group/airgap.aks_inference.azure) in C(module_defaults) to set the Azure connection once.
    membership:
      - airgap.aks_inference.azure
notes:
  - Never reports C(changed).
"""

EXAMPLES = r"""
- name: Token for the private API server
  airgap.aks_inference.aks_token:
  register: aks_token
  no_log: true

- name: Apply a manifest from the jump box with it
  kubernetes.core.k8s:
    host: https://aks-llm-4f2a.privatelink.westeurope.azmk8s.io:443
    ca_cert: /etc/airgap/aks-ca.crt
    api_key: "{{ aks_token.token }}"
    src: /srv/manifests/00-namespace-inference.yaml
  delegate_to: jumpbox
"""

RETURN = r"""
token:
  description: The bearer token. Secret.
  returned: success
  type: str
expires_on:
  description: When the token expires, in seconds since the epoch.
  returned: success
  type: int
  sample: 1767225600
scope:
  description: The scope the token was issued for.
  returned: success
  type: str
  sample: 6dae42f8-4368-4678-94ff-3960e28e3630/.default
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.aks_run import AKS_SCOPE
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_auth import build_credential
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import AuthenticationError, InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import AzureModule

ARGUMENT_SPEC = dict(
    scope=dict(type="str", default=AKS_SCOPE),
)


def get_token(module):
    scope = module.params["scope"]
    if not scope or not scope.endswith("/.default"):
        raise InputError("scope", "%r must end with /.default" % (scope,))
    settings = module.check_settings()
    try:
        credential = build_credential(settings)
    except ImportError as exc:
        raise AuthenticationError("azure-identity is required: %s" % exc)
    try:
        access = credential.get_token(scope)
    except Exception as exc:  # pylint: disable=broad-except
        text = str(exc).strip()
        raise AuthenticationError("could not get a token for %s (%s, %s): %s"
                                  % (scope, settings.get("kind"), settings.get("authority"),
                                     text.splitlines()[0] if text else type(exc).__name__))
    return {"changed": False, "token": access.token, "expires_on": int(access.expires_on), "scope": scope}


def main():
    module = AzureModule(ARGUMENT_SPEC, wait=False)
    module.run(get_token)


if __name__ == "__main__":
    main()
