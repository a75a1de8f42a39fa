#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: isolation_audit
short_description: Audit a network-isolated AKS deployment for every egress path it must not have
version_added: 0.1.0
description:
  - Reads the live resources through Azure Resource Manager (read requests only) and reports every way
    out of the isolated network that the architecture forbids. The rule behind every check is that the
    jump box is the only thing with egress, and only through its own subnet's NAT gateway.
  - "Network: no NAT gateway, no default outbound access and no route to the internet on a node or
    API-server subnet (NET-001 to NET-003); no public IP on a network interface in the VNet's subnets
    (NET-004), in the node resource group (NET-005), or anywhere in the audited resource groups except
    on the jump box NAT gateway (NET-007); no NAT gateway on any subnet but the jump box's (NET-006)."
  - "Cluster: outbound type V(none) (AKS-001), nodes bootstrap from the private registry's artifact cache
    (AKS-002), private API server (AKS-003) integrated into the VNet (AKS-004), no public load balancer
    outbound IPs (AKS-005), no node public IPs (AKS-006), node pools in the audited network (AKS-007)."
  - "Registry: public network access disabled (ACR-001), an approved private endpoint (ACR-002), the
    cache rule C(aks-managed-mcr) exactly C(mcr.microsoft.com/*) to C(aks-managed-repository/*) (ACR-003).
    Storage account: public network access disabled (STG-001), an approved private endpoint (STG-002).
    Private DNS zones exist (DNS-001) and are linked to the VNet (DNS-002). Jump box: no public IP
    (JMP-001), its NAT gateway serves its subnet only (JMP-002), its egress goes through it (JMP-003)."
  - Each finding has a stable check id, a severity (V(critical), V(high), V(medium), V(low), V(info)),
    the resource id, what was found and how to fix it. A resource that is not configured (for example no
    storage account) gives an V(info) finding and its checks are reported as skipped; a configured
    resource that does not exist is a V(high) finding.
  - Writes the report as JSON, Markdown (a table) and JUnit XML (one testcase per check) to O(report_dir).
  - Fails when a finding is at or above O(fail_on), after writing the reports.
options:
  resource_group:
    description:
      - Resource group of the network, and of every resource given by name.
      - Its public IPs, network interfaces and NAT gateways are audited, as are those of the cluster's
        resource group.
    type: str
    required: true
  extra_resource_groups:
    description:
      - More resource groups whose public IPs and network interfaces are audited.
    type: list
    elements: str
    default: []
  virtual_network:
    description:
      - The isolated virtual network, a name in O(resource_group) or a resource id.
      - Every subnet of it is checked for NAT gateways and public IPs on its network interfaces.
    type: str
    required: true
  node_subnets:
    description:
      - Node subnets, names in O(virtual_network) or resource ids.
      - The subnets of the cluster's node pools are added to these.
    type: list
    elements: str
    default: []
  apiserver_subnet:
    description:
      - The API-server subnet, a name in O(virtual_network) or a resource id.
      - The cluster's C(apiServerAccessProfile.subnetId) is added to it.
    type: str
  jumpbox_subnet:
    description:
      - The jump box subnet, a name in O(virtual_network) or a resource id; the only subnet that may have
        a NAT gateway. Its checks are skipped when unset.
    type: str
  jumpbox_vm:
    description:
      - The jump box virtual machine, a name in O(resource_group) or a resource id. Its network
        interfaces must have no public IP, whichever subnet they are in.
    type: str
  cluster:
    description:
      - The managed cluster, a name in O(resource_group) or a resource id. Its checks are skipped when unset.
    type: str
  registry:
    description:
      - The container registry the cluster bootstraps from, a name in O(resource_group) or a resource id.
        Its checks are skipped when unset.
    type: str
  storage_account:
    description:
      - The storage account of the model share, a name in O(resource_group) or a resource id. Its checks are
        skipped when unset.
    type: str
  private_dns_zones:
    description:
      - Private DNS zones that must exist and be linked to O(virtual_network), names in
        O(private_dns_zone_resource_group) or resource ids.
    type: list
    elements: str
    default: [privatelink.azurecr.io, privatelink.file.core.windows.net]
  private_dns_zone_resource_group:
    description:
      - Resource group of the private DNS zones given by name. Defaults to O(resource_group).
    type: str
  fail_on:
    description:
      - Fail the task when a finding has this severity or a worse one. V(none) never fails.
      - The JUnit report marks a check failed for findings at or above it (at or above V(low) with V(none)).
    type: str
    choices: [critical, high, medium, low, info, none]
    default: high
  report_dir:
    description:
      - Directory on the host running the module to write the reports to (created if missing).
      - No report is written when unset.
      - The reports are written in check mode too; they are the audit's output, not managed state.
    type: path
  report_formats:
    description:
      - Formats of the reports written to O(report_dir).
    type: list
    elements: str
    choices: [json, markdown, junit]
    default: [json, markdown, junit]
  report_name:
    description:
      - File name of the reports without extension (C(.json), C(.md), C(.xml) are added).
    type: str
    default: isolation-audit
extends_documentation_fragment:
  - airgap.aks_inference.azure
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only.
  action_group:
    support: full
    description: Use C(group/airgap.aks_inference.azure) in C(module_defaults) to set the Azure connection once.
    membership:
      - airgap.aks_inference.azure
notes:
  - Never reports C(changed).
  - Needs read access (Reader) on the audited resource groups, the node resource group, the registry, the
    storage account and the private DNS zones.
seealso:
  - name: Network isolated AKS clusters
    description: The conditions a network-isolated cluster meets.
    link: https://learn.microsoft.com/azure/aks/concepts-network-isolated
  - name: Default outbound access in Azure
    description: Why subnets set C(defaultOutboundAccess) false.
    link: https://learn.microsoft.com/azure/virtual-network/ip-services/default-outbound-access
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: Audit the isolated deployment, fail on high findings, write the three reports
  airgap.aks_inference.isolation_audit:
    resource_group: rg-llm-isolated
    virtual_network: vnet-llm
    node_subnets: [snet-nodes]
    apiserver_subnet: snet-apiserver
    jumpbox_subnet: snet-jumpbox
    jumpbox_vm: vm-jumpbox
    cluster: aks-llm
    registry: acrllmisolated
    storage_account: stllmmodels
    fail_on: high
    report_dir: "{{ playbook_dir }}/../reports"
  register: audit

- name: Audit without failing and show the counts
  airgap.aks_inference.isolation_audit:
    resource_group: rg-llm-isolated
    virtual_network: vnet-llm
    cluster: aks-llm
    fail_on: none
  register: audit

- name: Show them
  ansible.builtin.debug:
    msg: "{{ audit.counts }} passed={{ audit.passed }}"
"""

RETURN = r"""
passed:
  description: Whether nothing above V(info) was found.
  returned: always
  type: bool
counts:
  description: Number of findings by severity.
  returned: always
  type: dict
  sample: {critical: 0, high: 0, medium: 0, low: 0, info: 1}
findings:
  description: Every finding, worst first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable check id, for example C(NET-001).
      type: str
    severity:
      description: V(critical), V(high), V(medium), V(low) or V(info).
      type: str
    resource_id:
      description: The resource the finding is about (empty for a resource that was not configured).
      type: str
    title:
      description: What the check requires.
      type: str
    detail:
      description: What was found.
      type: str
    remediation:
      description: How to fix it.
      type: str
blocking:
  description: The findings at or above O(fail_on).
  returned: always
  type: list
  elements: dict
checks:
  description: Every check with its status (V(failed), V(warning), V(passed), V(skipped)) and number of findings.
  returned: always
  type: list
  elements: dict
fail_on:
  description: The severity the task fails on.
  returned: always
  type: str
scope:
  description: The resource ids audited (subnets of the cluster's node pools included).
  returned: always
  type: dict
reports:
  description: Path of each report written, by format.
  returned: always
  type: dict
  sample: {json: /srv/reports/isolation-audit.json, markdown: /srv/reports/isolation-audit.md,
           junit: /srv/reports/isolation-audit.xml}
"""

import datetime

from ansible_collections.airgap.aks_inference.plugins.module_utils import isolation_audit as audit
from ansible_collections.airgap.aks_inference.plugins.module_utils import isolation_report as report
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import AzureModuleError, InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import AzureModule


class AuditFailed(AzureModuleError):
    """Findings at or above fail_on; carries the whole result."""


def scope_of(target, inventory):
    return {
        "subscription_id": target["subscription_id"],
        "resource_groups": [target["resource_group"]] + list(target["extra_resource_groups"]),
        "virtual_network": target["vnet_id"],
        "node_subnets": inventory["node_subnet_ids"],
        "apiserver_subnets": inventory["apiserver_subnet_ids"],
        "jumpbox_subnet": target["jumpbox_subnet_id"] or "",
        "jumpbox_vm": target["jumpbox_vm_id"] or "",
        "cluster": target["cluster_id"] or "",
        "node_resource_group": inventory.get("node_resource_group") or "",
        "registry": target["registry_id"] or "",
        "storage_account": target["storage_account_id"] or "",
        "private_dns_zones": target["private_dns_zone_ids"],
    }


def run(module):
    params = module.params
    name = params["report_name"]
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise InputError("report_name", "must be a plain file name without extension, got %r" % (name,))
    module.check_settings()
    target = audit.build_target(params, module.subscription_id)
    inventory = audit.collect(module.client(), target)
    summary = audit.summarize(audit.evaluate(inventory), params["fail_on"])
    result = dict(summary, changed=False, scope=scope_of(target, inventory), reports={})
    if params.get("report_dir"):
        generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        doc = report.document(summary, result["scope"], generated)
        result["reports"] = report.write_reports(doc, params["report_dir"], params["report_formats"],
                                                 params["report_name"])
    if summary["blocking"]:
        first = summary["blocking"][:5]
        raise AuditFailed(
            "isolation audit: %d finding(s) at or above %s: %s" % (
                len(summary["blocking"]), params["fail_on"],
                "; ".join("%s %s %s" % (f["id"], f["severity"], f["resource_id"] or f["detail"]) for f in first)),
            **result)
    return result


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            extra_resource_groups=dict(type="list", elements="str", default=[]),
            virtual_network=dict(type="str", required=True),
            node_subnets=dict(type="list", elements="str", default=[]),
            apiserver_subnet=dict(type="str"),
            jumpbox_subnet=dict(type="str"),
            jumpbox_vm=dict(type="str"),
            cluster=dict(type="str"),
            registry=dict(type="str"),
            storage_account=dict(type="str"),
            private_dns_zones=dict(type="list", elements="str",
                                   default=list(audit.DEFAULT_ZONES)),
            private_dns_zone_resource_group=dict(type="str"),
            fail_on=dict(type="str", choices=list(audit.FAIL_ON_CHOICES), default="high"),
            report_dir=dict(type="path"),
            report_formats=dict(type="list", elements="str", choices=list(report.FORMATS),
                                default=list(report.FORMATS)),
            report_name=dict(type="str", default="isolation-audit"),
        ),
        wait=False,
    )
    module.run(run)


if __name__ == "__main__":
    main()
