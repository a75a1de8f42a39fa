# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The options documented here are declared once in
# plugins/module_utils/azure_auth.py (AUTH_ARGUMENT_SPEC) and
# plugins/module_utils/azure_module.py (WAIT_ARGUMENT_SPEC, TAGS_ARGUMENT_SPEC).

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - Where the credential comes from.
      - V(auto) uses O(client_id)/O(client_secret)/O(tenant_id) when any of them is set; else the
        environment when it holds a service principal; else the Azure CLI login when C(az) is installed.
      - V(credentials) uses the three options only; V(env) the environment only.
      - V(managed_identity) uses the identity of the machine Ansible runs on (for example the GPU jump
        box or an AWX execution node in Azure); set O(managed_identity_client_id) for a user-assigned one.
      - V(cli) uses C(az login).
    type: str
    choices: [auto, credentials, env, managed_identity, cli]
    default: auto
  subscription_id:
    description:
      - The subscription to work in.
      - Defaults to the E(AZURE_SUBSCRIPTION_ID) environment variable (set by the AWX/Automation Platform
        Azure credential).
    type: str
  client_id:
    description:
      - Application (client) id of a service principal.
      - Defaults to E(AZURE_CLIENT_ID).
    type: str
  client_secret:
    description:
      - Secret of the service principal. Never logged, never returned.
      - Defaults to E(AZURE_CLIENT_SECRET), or E(AZURE_SECRET) as AWX's Azure credential names it.
    type: str
    aliases: [secret]
  tenant_id:
    description:
      - Entra ID tenant of the service principal.
      - Defaults to E(AZURE_TENANT_ID), or E(AZURE_TENANT) as AWX's Azure credential names it.
    type: str
    aliases: [tenant]
  managed_identity_client_id:
    description:
      - Client id of the user-assigned managed identity to use with O(auth_source=managed_identity).
    type: str
  cloud:
    description:
      - V(AzureCloud), V(AzureChinaCloud) or V(AzureUSGovernment).
      - Defaults to E(AZURE_CLOUD_ENVIRONMENT), else V(AzureCloud).
      - For any other cloud (Azure Stack Hub, a local ARM emulator) set O(arm_endpoint) and O(authority).
    type: str
  arm_endpoint:
    description:
      - Azure Resource Manager endpoint, for example V(https://management.azure.com). Overrides O(cloud).
    type: str
  authority:
    description:
      - Token authority host, for example V(https://login.microsoftonline.com).
      - Required with O(arm_endpoint) unless O(cloud) names the cloud it belongs to.
      - Defaults to E(AZURE_AUTHORITY_HOST), else the authority of O(cloud).
    type: str
  credential_scope:
    description:
      - OAuth2 scope requested for ARM. Defaults to O(arm_endpoint) followed by V(/.default).
    type: str
  ca_bundle:
    description:
      - PEM file of the certificate authorities to trust for ARM and the authority (private clouds,
        TLS-inspecting proxies, the local emulator). The system trust store is used when unset.
    type: path
  api_retries:
    description:
      - How many times a request is tried in all when Azure answers 429 (throttled) or a transient
        5xx, or the connection fails. C(Retry-After) is honoured; otherwise the delay is exponential
        with jitter.
    type: int
    default: 8
  api_retry_timeout:
    description:
      - Upper bound in seconds on the time spent retrying one request, sleeps included.
    type: int
    default: 300
  request_timeout:
    description:
      - Seconds to wait for one HTTP answer.
    type: int
    default: 120
requirements:
  - python >= 3.9
  - azure-core >= 1.30.0
  - azure-identity >= 1.15.0
notes:
  - Set the connection once for every Azure module of this collection with
    C(module_defaults) and the action group C(group/airgap.aks_inference.azure).
  - Only properties set in the task are compared with the live resource; values Azure fills in
    and read-only values are ignored. A second run with the same input sends no write.
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait for the long-running operation to finish.
      - With V(false) the module returns once Azure has accepted the change, so independent slow
        resources can be created side by side; a later task with the same input and V(true) waits
        for the resource to finish provisioning.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds one run of the module may spend waiting, all waits together.
      - When it runs out the task fails; Azure carries on with the operation.
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds between two polls of an operation when Azure does not say (C(Retry-After)), and
        between two reads of a resource started by an earlier task with O(wait=false).
      - If not set, the environment variable E(AIRGAP_AZURE_POLL_INTERVAL) is used, then 5 seconds;
        for example against an emulator whose clock runs faster than Azure's.
    type: float
    default: 5.0
"""

    TAGS = r"""
options:
  tags:
    description:
      - Tags of the resource. Left as they are when unset.
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags). Only applies when O(tags) is set.
    type: bool
    default: true
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Reports what would change and sends no write request.
  diff_mode:
    support: full
    description: Shows before and after of the properties the task manages.
  action_group:
    support: full
    description: Use C(group/airgap.aks_inference.azure) in C(module_defaults) to set the Azure connection once.
    membership:
      - airgap.aks_inference.azure
"""
