# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The input of the ``jumpbox_vm`` role, resolved and checked before any request.

``resolve(variables)`` takes the role's variables (by their names) and the
``isolated_network`` fact when there is one, and returns where things go (resource
group, location, the jump-box subnet and the cluster subnets the NAT gateway must
never reach) and a list of problems, each starting with the variable at fault.

``subnet_problems(result, inputs, check_mode)`` is the second, Azure-side
check: given what the ``subnet`` module read (in check mode, so nothing is written),
it refuses a subnet that Azure shows to be a cluster subnet.
"""

from __future__ import annotations

import re

from ansible_collections.airgap.aks_inference.plugins.module_utils import vm_input

SUBNET_ID_RE = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)/providers/"
    r"Microsoft\.Network/virtualNetworks/(?P<virtual_network>[^/]+)/subnets/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)
AKS_DELEGATION = "microsoft.containerservice/managedclusters"
DEFAULTS = {
    "resource_group": "rg-llm-isolated",
    "location": "westeurope",
    "virtual_network": "vnet-llm",
    "jumpbox": "snet-jumpbox",
    "nodes": "snet-nodes",
    "apiserver": "snet-apiserver",
}


def subnet_ref(value, resource_group, virtual_network):
    """A subnet as ``{subscription, resource_group, virtual_network, name, id}`` from an id or a name."""
    text = str(value or "").strip()
    if text.lower().startswith("/subscriptions/"):
        match = SUBNET_ID_RE.match(text)
        if not match:
            return None
        ref = match.groupdict()
        ref["id"] = text.rstrip("/")
        return ref
    return {"subscription": None, "resource_group": resource_group, "virtual_network": virtual_network,
            "name": text, "id": None}


def same_subnet(one, other):
    if not one or not other:
        return False
    if one.get("subscription") and other.get("subscription") and \
            one["subscription"].lower() != other["subscription"].lower():
        return False
    keys = ("resource_group", "virtual_network", "name")
    return all(str(one.get(k) or "").lower() == str(other.get(k) or "").lower() for k in keys)


def describe(ref):
    if ref.get("id"):
        return ref["id"]
    return "%s (virtual network %s, resource group %s)" % (ref["name"], ref["virtual_network"], ref["resource_group"])


def _as_int(value):
    """Numbers given on the command line (-e name=value) arrive as strings."""
    try:
        return int(value) if not isinstance(value, bool) and str(value).strip().lstrip("-").isdigit() else value
    except (TypeError, ValueError):
        return value


def _first(*values):
    for value in values:
        if value not in (None, "", [], {}):
            return value
    return None


def resolve(variables):
    """Resolve and check the role's input; see the module docstring."""
    v = dict(variables or {})
    fact = v.get("isolated_network") or {}
    fallback = v.get("fallback") or {}
    problems = []
    present = v.get("jumpbox_vm_state", "present") == "present"

    resource_group = _first(v.get("jumpbox_vm_resource_group"), fact.get("resource_group"),
                            fallback.get("resource_group"), DEFAULTS["resource_group"])
    location = _first(v.get("jumpbox_vm_location"), fact.get("location"), fallback.get("location"),
                      DEFAULTS["location"])
    vnet = _first(v.get("jumpbox_vm_virtual_network"), fallback.get("virtual_network"), DEFAULTS["virtual_network"])
    fact_subnets = fact.get("subnet_ids") or {}

    # The jump-box subnet: the variable, else the fact, else the isolated_network names.
    given = v.get("jumpbox_vm_subnet")
    subnet = subnet_ref(_first(given, fact_subnets.get("jumpbox"), fallback.get("jumpbox"), DEFAULTS["jumpbox"]),
                        resource_group, vnet)
    if subnet is None:
        problems.append("jumpbox_vm_subnet: %r is not a subnet resource id "
                        "(/subscriptions/.../virtualNetworks/<vnet>/subnets/<name>) nor a subnet name" % given)
    elif given and fact_subnets.get("jumpbox"):
        expected = subnet_ref(fact_subnets["jumpbox"], resource_group, vnet)
        if not same_subnet(subnet, expected):
            problems.append("jumpbox_vm_subnet: %s is not the jump-box subnet of the isolated network "
                            "(isolated_network.subnet_ids.jumpbox is %s); the NAT gateway goes on the jump-box "
                            "subnet only" % (given, fact_subnets["jumpbox"]))

    # The subnets the NAT gateway must never reach, each with where it came from.
    cluster = []
    if fact_subnets.get("nodes"):
        cluster.append(("node subnet", "isolated_network.subnet_ids.nodes", fact_subnets["nodes"]))
    if fact_subnets.get("apiserver"):
        cluster.append(("API server subnet", "isolated_network.subnet_ids.apiserver", fact_subnets["apiserver"]))
    for index, value in enumerate(v.get("jumpbox_vm_cluster_subnets") or []):
        cluster.append(("cluster subnet", "jumpbox_vm_cluster_subnets[%d]" % index, value))
    if not cluster:
        cluster.append(("node subnet", "isolated_network_nodes_subnet.name",
                        _first(fallback.get("nodes"), DEFAULTS["nodes"])))
        cluster.append(("API server subnet", "isolated_network_apiserver_subnet.name",
                        _first(fallback.get("apiserver"), DEFAULTS["apiserver"])))
    cluster_refs = []
    for what, source, value in cluster:
        ref = subnet_ref(value, resource_group, vnet)
        if ref is None:
            problems.append("%s: %r is not a subnet resource id nor a subnet name" % (source, value))
            continue
        ref.update(kind=what, source=source)
        cluster_refs.append(ref)
        if subnet is not None and same_subnet(subnet, ref):
            problems.append("jumpbox_vm_subnet: %s is the %s of the cluster (%s): a NAT gateway there would give the "
                            "cluster a way out; only the jump-box subnet gets one" % (subnet["name"], what, source))

    if present:
        checks = [
            ("jumpbox_vm_ssh_public_key", vm_input.ssh_public_key_problem(v.get("jumpbox_vm_ssh_public_key"))),
            ("jumpbox_vm_size", vm_input.gpu_size_problem(v.get("jumpbox_vm_size"))),
            ("jumpbox_vm_admin_username", vm_input.admin_username_problem(v.get("jumpbox_vm_admin_username"))),
            ("jumpbox_vm_os_disk_size_gb", vm_input.disk_problem(_as_int(v.get("jumpbox_vm_os_disk_size_gb")),
                                                                 storage_type=v.get("jumpbox_vm_os_disk_type"),
                                                                 os_disk=True)),
        ]
        data_size = _as_int(v.get("jumpbox_vm_data_disk_size_gb"))
        if data_size:
            checks.append(("jumpbox_vm_data_disk_size_gb", vm_input.disk_problem(
                data_size, caching=v.get("jumpbox_vm_data_disk_caching"),
                storage_type=v.get("jumpbox_vm_data_disk_type"))))
        problems.extend("%s: %s" % (name, problem) for name, problem in checks if problem)
        image = v.get("jumpbox_vm_image") or {}
        missing = [k for k in ("publisher", "offer", "sku") if not image.get(k)]
        if missing:
            problems.append("jumpbox_vm_image: needs %s (for example {publisher: Canonical, offer: ubuntu-24_04-lts, "
                            "sku: server, version: latest})" % ", ".join(missing))
        idle = _as_int(v.get("jumpbox_vm_nat_idle_timeout"))
        if idle is not None and (not isinstance(idle, int) or not 4 <= idle <= 120):
            problems.append("jumpbox_vm_nat_idle_timeout: must be 4 to 120 minutes, got %s" % idle)

    if not present:  # removing: only the resource group matters
        problems = []
    return {
        "problems": problems,
        "resource_group": resource_group,
        "location": location,
        "subnet": subnet or {},
        "cluster_subnets": cluster_refs,
    }


def subnet_problems(result, inputs, check_mode=False):
    """Refuse, from what Azure shows, a jump-box subnet that belongs to the cluster.

    ``result`` is the registered result of the ``subnet`` module run in check mode
    on the jump-box subnet; ``inputs`` what ``resolve`` returned. A subnet delegated to
    ``Microsoft.ContainerService/managedClusters`` is an API server subnet whatever the
    variables say; a subnet without default outbound access that is one of the cluster
    subnets is a node or API server subnet. A subnet that does not exist yet is only
    acceptable in check mode (the network is not there either).
    """
    result = result or {}
    inputs = inputs or {}
    cluster_subnets = inputs.get("cluster_subnets") or []
    state = result.get("state") or {}
    if result.get("failed") or not state.get("id"):
        message = result.get("msg") or "no answer"
        if result.get("field") == "address_prefix":
            if check_mode:
                return []
            return ["jumpbox_vm_subnet: subnet %s does not exist; create the network first (playbooks/network.yml)"
                    % describe(inputs.get("subnet") or {"name": "?", "virtual_network": "?", "resource_group": "?"})]
        return ["jumpbox_vm_subnet: cannot read the subnet before attaching the NAT gateway: %s" % message]
    props = state.get("properties") or {}
    services = [str((d.get("properties") or {}).get("serviceName") or d.get("serviceName") or "")
                for d in props.get("delegations") or []]
    if any(s.lower() == AKS_DELEGATION for s in services):
        return ["jumpbox_vm_subnet: %s is delegated to Microsoft.ContainerService/managedClusters: it is the API "
                "server subnet of a cluster, and a NAT gateway there would give the cluster a way out" % state["id"]]
    actual = subnet_ref(state["id"], None, None)
    if props.get("defaultOutboundAccess") is False:
        for ref in cluster_subnets:
            if same_subnet(actual, ref):
                what = ref.get("kind", "cluster subnet")
                source = ref.get("source", "jumpbox_vm_cluster_subnets")
                return ["jumpbox_vm_subnet: %s is the %s of the cluster (%s, no default outbound access): only the "
                        "jump-box subnet gets the NAT gateway" % (state["id"], what, source)]
    return []
