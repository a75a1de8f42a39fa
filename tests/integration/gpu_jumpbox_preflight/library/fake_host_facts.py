# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: return the given facts as host facts (plays another distribution)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fake_host_facts
short_description: Test helper that sets host facts to the values given
description: Used by tests/integration/test_gpu_jumpbox_preflight.py only.
options:
  facts:
    description: The facts to set.
    type: dict
    required: true
author: airgap.aks_inference maintainers
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"facts": {"type": "dict", "required": True}}, supports_check_mode=True)
    module.exit_json(changed=False, ansible_facts=module.params["facts"])


if __name__ == "__main__":
    main()
