# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: credential_findings
short_description: Credentials hidden in variables meant for Kubernetes manifests
version_added: 0.1.0
description:
  - Looks through a mapping of variables (for example every C(inference_workload_*) variable) for anything that
    looks like a credential, before anything is rendered or applied.
  - Judges mapping keys by name (C(NGC_API_KEY), C(HF_TOKEN), C(HUGGING_FACE_HUB_TOKEN), C(OPENAI_API_KEY),
    names ending in C(_TOKEN), C(_SECRET), C(_PASSWORD), C(_API_KEY), ...), strings by value (C(nvapi-...),
    C(hf_...), C(sk-...), JSON Web Tokens, private keys, storage account keys, ...) and list items that are
    command-line options by their flag (C(--api-key), C(--hf-token)).
  - Returns one finding per credential, naming the variable and the key or index; never the value.
options:
  _input:
    description: Variables as a mapping of name to value.
    type: dict
    required: true
  prefix:
    description: Put in front of every top-level name in the findings.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: No credential in the workload's variables
  ansible.builtin.assert:
    that: findings | length == 0
    fail_msg: >-
      {{ findings | map(attribute='field') | first | default('') }}:
      {{ findings | map(attribute='message') | first | default('') }}
  vars:
    findings: >-
      {{ {'inference_workload_env': {'NGC_API_KEY': 'nvapi-...'}} | airgap.aks_inference.credential_findings }}
"""

RETURN = r"""
_value:
  description: Findings, each with C(field), C(rule) (V(no-credentials)) and C(message); empty when clean.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.airgap.aks_inference.plugins.module_utils.k8s_policy import find_credentials


def credential_findings(data, prefix=""):
    if not isinstance(data, dict):
        raise AnsibleFilterError("credential_findings expects a mapping of variable name to value")
    return find_credentials(data, prefix=prefix or "")


class FilterModule:
    def filters(self):
        return {"credential_findings": credential_findings}
