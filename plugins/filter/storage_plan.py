# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: storage_plan
short_description: Check a model storage plan and size its NFS share
version_added: 0.1.0
description:
  - Checks the input of the model_storage role before anything is sent to Azure and works out the size of the
    share. Returns C(problems), each starting with the name of the variable at fault (empty when the plan is
    sound), and C(quota_gib).
  - "Checks: the storage account name (3-24 lower-case letters and digits), an SSD SKU that can hold an NFS share
    (V(Premium_LRS), V(Premium_ZRS), V(PremiumV2_LRS), V(PremiumV2_ZRS)), the share name, the root squash value,
    a model size above 0 and a headroom of at least 1, a given share size not smaller than
    C(ceil(model size x headroom)) and within the documented bounds of the billing model (100-102,400 GiB
    provisioned v1, 32-262,144 GiB provisioned v2), and provisioned IOPS / throughput only on provisioned v2."
  - C(quota_gib) is the given share size, else C(ceil(model size x headroom)) but at least the minimum of the
    billing model.
options:
  _input:
    description: The plan; the role's variables without the C(model_storage_) prefix.
    type: dict
    required: true
  prefix:
    description: Prefix of the variable names in the problems.
    type: str
    default: model_storage_
"""

EXAMPLES = r"""
- name: Refuse a share too small for the model before any request
  ansible.builtin.assert:
    that: plan.problems | length == 0
    fail_msg: "{{ plan.problems | first | default('') }}"
  vars:
    plan: >-
      {{ {'account_name': 'stllmmodels01', 'sku': 'Premium_LRS', 'share_name': 'models',
          'model_size_gib': 140, 'quota_headroom': 1.5, 'share_quota_gib': 100}
         | airgap.aks_inference.storage_plan }}
"""

RETURN = r"""
_value:
  description: The problems and the share size.
  type: dict
  contains:
    problems:
      description: Problems, each naming its variable; empty when the plan is sound.
      type: list
      elements: str
    quota_gib:
      description: Size of the share in GiB (0 when the plan has problems that prevent working it out).
      type: int
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.storage import plan_problems, planned_quota


def storage_plan(plan, prefix="model_storage_"):
    plan = dict(plan or {})
    problems = plan_problems(plan, prefix)
    try:
        quota = planned_quota(plan)
    except (TypeError, ValueError):
        quota = 0
    return {"problems": problems, "quota_gib": quota}


class FilterModule:
    def filters(self):
        return {"storage_plan": storage_plan}
