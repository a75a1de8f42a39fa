# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the container_registry role's input, done before any request.

``plan_problems(plan, prefix)`` returns ``["<variable>: <problem>", ...]`` (empty when the input is
sound). ``plan`` holds the role variables without their prefix; secrets are never part of it, only
their names.
"""

from __future__ import annotations

from ansible_collections.airgap.aks_inference.plugins.module_utils.acr import (
    AKS_CACHE_RULE,
    cache_rule_problems,
    check_child_name,
    check_login_server,
    check_registry_name,
    check_target_tag,
    parse_image_reference,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.key_vault import (
    check_secret_name,
    check_vault_name,
    parse_secret_uri,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.rbac import check_guid


class _Problems:
    def __init__(self, prefix):
        self.prefix = prefix
        self.items = []

    def add(self, field, problem):
        self.items.append("%s%s: %s" % (self.prefix, field, problem))

    def check(self, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as err:
            self.add(err.field, err.problem)
            return None


def _secret_reference(problems, field, value, secret_names):
    """A credential's secret: a name of a secret the role writes, or a Key Vault secret URI."""
    if not value:
        problems.add(field, "is required (a secret name from key_vault_secrets, or a Key Vault secret URI)")
        return False
    if str(value).startswith("https://"):
        problems.check(parse_secret_uri, field, value)
        return False
    if value not in secret_names:
        problems.add(field, "%r is neither a Key Vault secret URI nor a secret of key_vault_secrets (%s)"
                     % (value, ", ".join(sorted(secret_names)) or "none given"))
    return True


def plan_problems(plan, prefix="container_registry_"):
    """Problems of the role input ``plan`` (a dict; see the role's argument specs)."""
    problems = _Problems(prefix)
    problems.check(check_registry_name, "name", plan.get("name"))
    sku = plan.get("sku")
    if plan.get("private_endpoint") and sku != "Premium":
        problems.add("sku", "%s: a private endpoint needs a Premium registry (container_registry_private_endpoint "
                            "is true)" % sku)
    elif plan.get("public_network_access") == "Disabled" and sku != "Premium":
        problems.add("sku", "%s: disabling public network access needs a Premium registry" % sku)
    for option in ("zone_redundancy", "data_endpoint_enabled"):
        if plan.get(option) and sku != "Premium":
            problems.add(option, "needs a Premium registry (the SKU is %s)" % sku)

    secret_names = set(plan.get("secret_names") or [])
    for name in sorted(secret_names):
        problems.check(check_secret_name, "key_vault_secrets[%r]" % name, name)

    credential_sets = plan.get("credential_sets") or []
    uses_vault = bool(secret_names)
    names = []
    for index, cred in enumerate(credential_sets):
        field = "credential_sets[%d]." % index
        problems.check(check_child_name, field + "name", cred.get("name"), "credential set name")
        if cred.get("name") in names:
            problems.add(field + "name", "duplicate credential set %r" % cred.get("name"))
        names.append(cred.get("name"))
        problems.check(check_login_server, field + "login_server", cred.get("login_server"), True)
        for key in ("username_secret", "password_secret"):
            uses_vault |= _secret_reference(problems, field + key, cred.get(key), secret_names)

    rules = [dict(rule) for rule in plan.get("cache_rules") or []]
    for field, problem in cache_rule_problems(rules, credential_sets=[n for n in names if n],
                                              existing=[AKS_CACHE_RULE], prefix="cache_rules"):
        problems.add(field, problem)

    for index, item in enumerate(plan.get("imports") or []):
        field = "imports[%d]." % index
        problems.check(parse_image_reference, field + "source", item.get("source"))
        for tindex, target in enumerate(item.get("target_tags") or []):
            problems.check(check_target_tag, "%starget_tags[%d]" % (field, tindex), target)
        cred = item.get("credential_set")
        if cred and cred not in names:
            problems.add(field + "credential_set", "%r is not one of credential_sets (%s)"
                         % (cred, ", ".join(n for n in names if n) or "none given"))
        elif cred:
            used = credential_sets[names.index(cred)]
            if any(str(used.get(key) or "").startswith("https://") for key in ("username_secret", "password_secret")):
                problems.add(field + "credential_set", "credential set %r keeps its secrets in a Key Vault the role "
                                                       "does not write; give username and password_secret instead"
                             % cred)
        if item.get("password_secret"):
            if cred:
                problems.add(field + "password_secret", "give credential_set or username and password_secret, "
                                                        "not both")
            elif item["password_secret"] not in secret_names:
                problems.add(field + "password_secret", "%r is not a secret of key_vault_secrets"
                             % item["password_secret"])
        if item.get("username") and not (item.get("password_secret") or cred):
            problems.add(field + "password_secret", "is required with username")

    if uses_vault or plan.get("key_vault_name"):
        if not plan.get("key_vault_name"):
            problems.add("key_vault_name", "is required: key_vault_secrets or credential sets keep secrets in Key "
                                           "Vault")
        else:
            problems.check(check_vault_name, "key_vault_name", plan.get("key_vault_name"))

    for index, principal in enumerate(plan.get("acr_pull_principals") or []):
        value = principal.get("principal_id") if isinstance(principal, dict) else principal
        problems.check(check_guid, "acr_pull_principals[%d]" % index, value, "a principal id (GUID)")
    return problems.items
