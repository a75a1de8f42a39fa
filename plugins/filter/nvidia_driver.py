# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that choose the NVIDIA driver packages for a GPU jump box."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.airgap.aks_inference.plugins.module_utils import nvidia_driver


def nvidia_driver_plan(facts, branch=None, runtime=None):
    """Plan for a host, from its ``ansible_facts``; never fails.

    ``{{ ansible_facts | airgap.aks_inference.nvidia_driver_plan(branch, runtime) }}``
    returns ``supported``, ``field`` (what is wrong: platform, branch or
    runtime), ``error`` and ``plan`` (packages, apt_components, branch, ...).
    """
    if not isinstance(facts, dict):
        raise AnsibleFilterError("nvidia_driver_plan expects ansible_facts (a dict), got %s" % type(facts).__name__)
    return nvidia_driver.platform_report(
        facts.get("distribution"),
        facts.get("distribution_version") or facts.get("distribution_major_version"),
        runtime=runtime,
        branch=branch,
        kernel_release=facts.get("kernel"),
    )


def nvidia_driver_packages(distribution, version, branch=None, kernel_release=None):
    """``{{ 'Ubuntu' | airgap.aks_inference.nvidia_driver_packages('24.04', '570') }}``."""
    try:
        return nvidia_driver.driver_packages(distribution, version, branch=branch, kernel_release=kernel_release)
    except nvidia_driver.UnsupportedPlatform as exc:
        raise AnsibleFilterError(str(exc))


def kernel_headers_package(kernel_release):
    """``{{ ansible_facts.kernel | airgap.aks_inference.kernel_headers_package }}``; '' when unknown."""
    return nvidia_driver.kernel_headers_package(kernel_release) or ""


class FilterModule(object):
    def filters(self):
        return {
            "nvidia_driver_plan": nvidia_driver_plan,
            "nvidia_driver_packages": nvidia_driver_packages,
            "kernel_headers_package": kernel_headers_package,
        }
