# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aks_registry_problems
short_description: Why a container registry cannot bootstrap a network-isolated AKS cluster
version_added: 0.1.0
description:
  - Takes the result of M(airgap.aks_inference.container_registry_info) and returns the problems that
    would make the nodes of a network-isolated cluster fail to bootstrap from it, each starting with the
    variable at fault (empty when the registry is fit).
  - The registry must exist, be Premium, have public network access disabled, an approved private
    endpoint, and the cache rule C(aks-managed-mcr) mapping exactly C(mcr.microsoft.com/*) to
    C(aks-managed-repository/*).
options:
  _input:
    description: A M(airgap.aks_inference.container_registry_info) result.
    type: dict
    required: true
  variable:
    description: Name of the variable the registry id came from, to name in the problems.
    type: str
    default: aks_cluster_container_registry_id
"""

EXAMPLES = r"""
- name: Read the registry
  airgap.aks_inference.container_registry_info:
    id: "{{ container_registry.id }}"
  register: registry

- name: Refuse a registry the nodes could not bootstrap from
  ansible.builtin.assert:
    that: registry | airgap.aks_inference.aks_registry_problems | length == 0
    fail_msg: "{{ registry | airgap.aks_inference.aks_registry_problems | first | default('') }}"
"""

RETURN = r"""
_value:
  description: Problems, each naming the variable; empty when the registry is fit.
  type: list
  elements: str
"""


def aks_registry_problems(info, variable="aks_cluster_container_registry_id"):
    """Why the registry (a container_registry_info result) cannot bootstrap a network-isolated cluster."""
    info = dict(info or {})
    where = "%s: registry %s" % (variable, info.get("id") or "")
    if not info.get("exists"):
        return ["%s does not exist" % where]
    problems = []
    if str(info.get("sku") or "").lower() != "premium":
        problems.append("%s is %s; the artifact cache and private endpoints need Premium" % (where, info.get("sku")))
    if str(info.get("public_network_access") or "").lower() != "disabled":
        problems.append("%s has public network access %s; a network-isolated cluster's registry must be private "
                        "(Disabled)" % (where, info.get("public_network_access")))
    approved = [c for c in info.get("private_endpoint_connections") or []
                if str(c.get("status") or "").lower() == "approved"]
    if not approved:
        problems.append("%s has no approved private endpoint; the nodes could not reach it" % where)
    name, source, target = "aks-managed-mcr", "mcr.microsoft.com/*", "aks-managed-repository/*"
    rule = next((r for r in info.get("cache_rules") or [] if r.get("name") == name), None)
    if rule is None:
        problems.append("%s has no cache rule %s (%s -> %s), which node bootstrap pulls through"
                        % (where, name, source, target))
    elif rule.get("source_repository") != source or rule.get("target_repository") != target:
        problems.append("%s: cache rule %s maps %s -> %s; it must map exactly %s -> %s"
                        % (where, name, rule.get("source_repository"), rule.get("target_repository"), source, target))
    return problems


class FilterModule:
    def filters(self):
        return {"aks_registry_problems": aks_registry_problems}
