#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: feature_registration
short_description: Register (or unregister) a preview feature flag of the Azure subscription
version_added: 0.1.0
description:
  - What C(az feature register), C(az feature show) and C(az provider register) do, as one idempotent
    task - registers a Microsoft.Features flag such as
    C(Microsoft.ContainerService/ManagedGPUExperiencePreview), waits until its state is C(Registered)
    (it takes minutes), then registers the resource provider again so the flag takes effect.
  - With O(wait=false) the module returns once Azure has accepted the registration (state
    C(Registering)); the same task later with O(wait=true) waits for C(Registered) and re-registers the
    provider. Registration can thus overlap other slow work.
  - A feature that is already C(Registered) sends no write. The provider is re-registered when this run
    registered the feature or saw it finish registering.
  - Registering a preview feature changes the whole subscription.
options:
  namespace:
    description: Resource provider namespace of the feature, for example V(Microsoft.ContainerService).
    type: str
    required: true
  name:
    description: Name of the feature flag, for example V(ManagedGPUExperiencePreview).
    type: str
    required: true
  state:
    description: V(registered) or V(unregistered).
    type: str
    choices: [registered, unregistered]
    default: registered
  register_provider:
    description: Register the resource provider again once the feature is C(Registered), as the docs ask.
    type: bool
    default: true
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.wait
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: Start registering the managed GPU preview (takes minutes)
  airgap.aks_inference.feature_registration:
    namespace: Microsoft.ContainerService
    name: ManagedGPUExperiencePreview
    wait: false

- name: Later, before the GPU node pool, wait for it
  airgap.aks_inference.feature_registration:
    namespace: Microsoft.ContainerService
    name: ManagedGPUExperiencePreview
    wait_timeout: 1800
"""

RETURN = r"""
id:
  description: Resource id of the feature.
  returned: always
  type: str
feature_state:
  description: State of the feature after the run - C(NotRegistered), C(Registering), C(Registered), ...
  returned: always
  type: str
provider_registered:
  description: Whether the run registered the resource provider again.
  returned: always
  type: bool
diff:
  description: The feature state before and after.
  returned: always
  type: dict
"""

import re
import time

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError, WaitTimeout
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import AzureModule

FEATURES_API = "2021-07-01"
PROVIDERS_API = "2021-04-01"
NAMESPACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$")
FEATURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
TARGET = {"registered": ("Registered", "Registering", "register"),
          "unregistered": ("Unregistered", "Unregistering", "unregister")}


def feature_state(body):
    return str(((body or {}).get("properties") or {}).get("state") or "NotRegistered")


def wait_for_state(client, feature_id, target, deadline, what, poll, sleep=time.sleep):
    body = client.get(feature_id, FEATURES_API)
    while feature_state(body) != target:
        if deadline.remaining() <= 0:
            raise WaitTimeout("timed out after %ds waiting for %s (state %s); Azure carries on with it: run again "
                              "(or with a larger wait_timeout) to wait for it"
                              % (deadline.seconds, what, feature_state(body)), timeout=deadline.seconds)
        sleep(min(poll, deadline.remaining()))
        body = client.get(feature_id, FEATURES_API)
    return body


def run(module):
    p = module.params
    if not NAMESPACE_RE.match(p["namespace"]):
        raise InputError("namespace", "%r is not a resource provider namespace (like Microsoft.ContainerService)"
                         % p["namespace"])
    if not FEATURE_RE.match(p["name"]):
        raise InputError("name", "%r is not a feature name" % p["name"])
    module.check_settings()
    client = module.client()
    feature_id = "/subscriptions/%s/providers/Microsoft.Features/providers/%s/features/%s" % (
        module.subscription_id, p["namespace"], p["name"])
    what = "feature %s/%s" % (p["namespace"], p["name"])
    body = client.get(feature_id, FEATURES_API)
    if body is None:
        raise ArmError(404, "FeatureNotFound", "the subscription has no feature %s" % what, action="read " + what)
    before = feature_state(body)
    target, transient, verb = TARGET[p["state"]]
    done = (target, "NotRegistered") if p["state"] == "unregistered" else (target,)
    changed = before not in done + (transient,)
    state = before
    if changed and not module.check_mode:
        response = client.post(feature_id + "/" + verb, FEATURES_API, action="%s %s" % (verb, what))
        state = feature_state(response.body) if response.body else transient
    elif changed:
        state = transient
    waited = False
    if p["wait"] and not module.check_mode and state == transient:
        body = wait_for_state(client, feature_id, target, module.deadline(), "%s to become %s" % (what, target),
                              p.get("poll_interval") or 5.0)
        state = feature_state(body)
        waited = True
    provider_registered = False
    if p["register_provider"] and p["state"] == "registered" and state == target and (changed or waited) \
            and not module.check_mode:
        client.post("/subscriptions/%s/providers/%s/register" % (module.subscription_id, p["namespace"]),
                    PROVIDERS_API, action="register resource provider %s" % p["namespace"])
        provider_registered = True
    return {
        "changed": changed or provider_registered,
        "id": feature_id,
        "feature_state": state,
        "provider_registered": provider_registered,
        "diff": {"before": {"state": before}, "after": {"state": state if not changed else target}},
    }


def main():
    module = AzureModule(
        dict(
            namespace=dict(type="str", required=True),
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["registered", "unregistered"], default="registered"),
            register_provider=dict(type="bool", default=True),
        ),
    )
    module.run(run)


if __name__ == "__main__":
    main()
