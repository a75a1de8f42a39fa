# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: nvidia_smi_gpus
short_description: The GPUs an nvidia-smi query printed
version_added: 0.1.0
description:
  - Parses the output of C(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader), for
    example the log of the GPU check Job, into one entry per GPU.
  - Fails when the output is not that (for example C(NVIDIA-SMI has failed ...)) or lists no GPU.
  - Lines before a line equal to O(after) are skipped, so the query's output can follow other output.
options:
  _input:
    description: The output.
    type: str
    required: true
  after:
    description: A marker line; only what follows its last occurrence is parsed. Empty parses everything.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Report the GPU the pool offers
  ansible.builtin.debug:
    msg: "{{ gpu_log.log | airgap.aks_inference.nvidia_smi_gpus }}"
"""

RETURN = r"""
_value:
  description: One entry per GPU with C(index), C(name), C(memory_total_mib) and C(driver_version).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.airgap.aks_inference.plugins.module_utils.gpu_check import GpuCheckError, parse_nvidia_smi


def nvidia_smi_gpus(output, after=""):
    text = output if isinstance(output, str) else "\n".join(output or [])
    if after:
        lines = text.splitlines()
        marks = [index for index, line in enumerate(lines) if line.strip() == after]
        if not marks:
            raise AnsibleFilterError("nvidia_smi_gpus: the marker %r is not in the output" % after)
        text = "\n".join(lines[marks[-1] + 1:])
    try:
        return parse_nvidia_smi(text)
    except GpuCheckError as err:
        raise AnsibleFilterError("nvidia_smi_gpus: %s" % err)


class FilterModule:
    def filters(self):
        return {"nvidia_smi_gpus": nvidia_smi_gpus}
