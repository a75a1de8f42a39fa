# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address-plan checks, done before any request and naming the field at fault."""

from __future__ import annotations

import ipaddress

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError


def parse_network(value, field):
    """An IPv4/IPv6 network in CIDR form with no host bits set."""
    text = str(value or "").strip()
    if "/" not in text:
        raise InputError(field, "%r is not a CIDR prefix (expected e.g. 10.40.0.0/16)" % (value,))
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InputError(field, "%r is not a valid CIDR prefix: %s" % (value, exc))
        raise InputError(field, "%r has host bits set; did you mean %s?" % (value, loose))


def check_within(network, spaces, field):
    if not any(network.version == s.version and network.subnet_of(s) for s in spaces):
        raise InputError(
            field, "%s is outside the virtual network address space %s" % (network, ", ".join(map(str, spaces)))
        )


def check_no_overlap(named_networks):
    """``named_networks``: list of (field, network). Raises on the first overlap."""
    for index, (field, net) in enumerate(named_networks):
        for other_field, other in named_networks[:index]:
            if net.version == other.version and net.overlaps(other):
                raise InputError(field, "%s overlaps %s (%s)" % (net, other, other_field))


def check_min_size(network, max_prefixlen, field, why):
    if network.prefixlen > max_prefixlen:
        raise InputError(field, "%s is too small: %s needs at least a /%d" % (network, why, max_prefixlen))


def validate_plan(address_space, subnets, minimum=None):
    """Validate a VNet address plan.

    ``address_space``: list of (field, cidr); ``subnets``: list of (field, cidr);
    ``minimum``: {field: (max_prefixlen, why)}. Returns the list of problems as
    strings (empty when the plan is sound); the first is the one to report.
    """
    problems = []
    try:
        spaces = [parse_network(cidr, field) for field, cidr in address_space]
        if not spaces:
            raise InputError("address_prefixes", "at least one address prefix is required")
        check_no_overlap(list(zip([item[0] for item in address_space], spaces)))
        parsed = []
        for field, cidr in subnets:
            net = parse_network(cidr, field)
            check_within(net, spaces, field)
            if minimum and field in minimum:
                check_min_size(net, minimum[field][0], field, minimum[field][1])
            parsed.append((field, net))
        check_no_overlap(parsed)
    except InputError as err:
        problems.append(str(err))
    return problems
