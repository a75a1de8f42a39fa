# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Azure module wrapper and the one engine every ARM resource module runs.

``AzureModule`` *holds* an ``AnsibleModule`` (composition, nothing runs in the
constructor but argument parsing) and adds the shared auth and wait options,
a lazily built ``ArmClient`` and one deadline per run.

``ArmResource`` describes one resource type: its id, api-version, field table,
``validate(params)``, ``desired(params)`` and ``normalize(body)``. ``ensure()``
is the get -> compare -> change -> wait -> diff engine, the same in check mode
and for real, so a resource module is a spec, a field table and a dozen-line
``main()``.
"""

from __future__ import annotations

import copy
import os
import re
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_auth import (
    AUTH_ARGUMENT_SPEC,
    build_credential,
    resolve_settings,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import (
    AZURE_CORE_IMPORT_ERROR,
    HAS_AZURE_CORE,
    ArmClient,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import (
    AzureModuleError,
    InputError,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import FieldTable, prune_none

#: Polling, when Azure gives no Retry-After: the option's default, or this environment variable (an
#: emulator whose clock runs faster than Azure's sets it to the scaled interval).
POLL_INTERVAL_ENV = "AIRGAP_AZURE_POLL_INTERVAL"
POLL_INTERVAL_SPEC = dict(type="float", default=5.0, fallback=(env_fallback, [POLL_INTERVAL_ENV]))
WAIT_ARGUMENT_SPEC = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1800),
    poll_interval=dict(POLL_INTERVAL_SPEC),
)
TAGS_ARGUMENT_SPEC = dict(
    tags=dict(type="dict"),
    purge_tags=dict(type="bool", default=True),
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$|^[A-Za-z0-9]$")


class AzureModule:
    """An AnsibleModule with the collection's Azure plumbing beside it."""

    def __init__(self, argument_spec, supports_check_mode=True, wait=True, tags=False, **kwargs):
        spec = dict(AUTH_ARGUMENT_SPEC)
        if wait:
            spec.update(WAIT_ARGUMENT_SPEC)
        if tags:
            spec.update(TAGS_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self._settings = None
        self._client = None
        self._deadline = None

    # -- plumbing --------------------------------------------------------------
    @property
    def settings(self):
        """Resolved auth and endpoints; raises InputError before any request."""
        if self._settings is None:
            self._settings = resolve_settings(self.params, os.environ)
        return self._settings

    def check_settings(self):
        """Resolve auth and endpoints now, so bad input fails before any request."""
        return self.settings

    @property
    def subscription_id(self):
        return self.settings["subscription_id"]

    def client(self):
        if self._client is None:
            if not HAS_AZURE_CORE:
                self.module.fail_json(msg=missing_required_lib("azure-core and azure-identity"),
                                      exception=str(AZURE_CORE_IMPORT_ERROR))
            try:
                credential = build_credential(self.settings)
            except ImportError as exc:
                self.module.fail_json(msg=missing_required_lib("azure-identity"), exception=str(exc))
            self._client = ArmClient(self.settings, credential)
        return self._client

    def deadline(self):
        if self._deadline is None:
            self._deadline = azure_wait.Deadline(self.params.get("wait_timeout") or 1800)
        return self._deadline

    # -- results -----------------------------------------------------------------
    def exit_json(self, **result):
        if self._client is not None and self._client.retry_policy.retries:
            result.setdefault("retries", len(self._client.retry_policy.retries))
        self.module.exit_json(**result)

    def fail_json(self, **result):
        self.module.fail_json(**result)

    def fail_from(self, err):
        self.module.fail_json(**err.to_result())

    def run(self, func):
        """Call ``func(self)`` and map the collection's errors to fail_json."""
        try:
            result = func(self)
        except AzureModuleError as err:
            self.fail_from(err)
        except Exception as err:  # pylint: disable=broad-except
            self.module.fail_json(msg="unexpected error: %s" % err, exception=traceback.format_exc())
        else:
            self.exit_json(**result)


def resource_group_id(subscription_id, resource_group):
    return "/subscriptions/%s/resourceGroups/%s" % (subscription_id, resource_group)


def provider_id(subscription_id, resource_group, resource_type, *names):
    """``provider_id(sub, rg, "Microsoft.Network/virtualNetworks/subnets", "vnet", "snet")``."""
    namespace, types = resource_type.split("/", 1)
    types = types.split("/")
    if len(types) != len(names):
        raise ValueError("%s needs %d names" % (resource_type, len(types)))
    path = "/".join("%s/%s" % (t, n) for t, n in zip(types, names))
    return "%s/providers/%s/%s" % (resource_group_id(subscription_id, resource_group), namespace, path)


def reference_id(module, value, resource_type, resource_group=None):
    """A resource id from either an id or a bare name in ``resource_group``."""
    if value is None:
        return None
    if str(value).startswith("/subscriptions/"):
        return value
    return provider_id(module.subscription_id, resource_group or module.params["resource_group"], resource_type, value)


def check_name(field, value, pattern=NAME_RE, what="an Azure resource name"):
    if value is None:
        return
    if not pattern.match(value):
        raise InputError(field, "%r is not %s" % (value, what))


class ArmResource:
    """One ARM resource type. Subclasses set the class attributes and hooks."""

    resource_type = None  # e.g. "Microsoft.Network/virtualNetworks"
    api_version = None
    fields = FieldTable()
    # Keys of a GET body that may be sent back in a PUT (read-modify-write).
    writable_top_level = ("location", "tags", "properties", "sku", "identity", "kind", "zones", "extendedLocation")
    # Properties ARM reports but refuses (or ignores) in a PUT body.
    read_only_properties = ("provisioningState", "resourceGuid", "etag")
    has_tags = True
    # Option names that must be set when the resource does not exist yet.
    required_on_create = ()

    def __init__(self, module):
        self.module = module
        self.params = module.params

    # hooks ---------------------------------------------------------------------
    def resource_id(self):
        raise NotImplementedError

    def validate(self):
        """Raise InputError for bad input; runs before any request."""

    def desired(self):
        """The fields the user set, in ARM's (normalized) shape."""
        raise NotImplementedError

    def normalize(self, body):
        """The comparable shape of a GET body (server fields may stay: they are ignored)."""
        return body

    def to_body(self, desired, current):
        """The PUT body: the current resource (writable part) with desired on top.

        ARM's PUT replaces the whole resource, so anything the module does not
        manage is sent back as it is rather than dropped.
        """
        base = {}
        if current:
            for key in self.writable_top_level:
                if key in current:
                    base[key] = copy.deepcopy(current[key])
            props = base.get("properties") or {}
            for key in self.read_only_properties:
                props.pop(key, None)
        return self.fields.overlay(base, desired)

    def result(self, body):
        """What the module returns about the resource."""
        if not body:
            return {}
        return {
            "id": body.get("id"),
            "name": body.get("name"),
            "type": body.get("type"),
            "location": body.get("location"),
            "tags": body.get("tags") or {},
            "provisioning_state": azure_wait.provisioning_state(body),
            "properties": body.get("properties") or {},
        }

    def describe(self):
        return "%s %s" % (self.resource_type, self.resource_id())

    def before_delete(self, client, current):
        """Refuse a delete that would do harm (raise InputError); runs in check mode too."""

    def before_create(self, client):
        """Checks that need ARM but must pass before a create (raise InputError)."""
        for option in self.required_on_create:
            if self.params.get(option) in (None, "", []):
                raise InputError(option, "is required to create %s" % self.describe())

    # tags ----------------------------------------------------------------------
    def desired_tags(self, current):
        tags = self.params.get("tags")
        if tags is None:
            return None
        tags = dict((str(k), str(v)) for k, v in tags.items())
        if not self.params.get("purge_tags", True) and current:
            merged = dict(current.get("tags") or {})
            merged.update(tags)
            return merged
        return tags


def ensure(module, resource):
    """Make the resource match ``module.params['state']``; return the result dict."""
    params = module.params
    state = params.get("state", "present")
    resource.validate()
    module.check_settings()
    rid = resource.resource_id()
    api = resource.api_version
    client = module.client()
    wait = params.get("wait", True)
    poll = params.get("poll_interval") or azure_wait.DEFAULT_POLL
    what = resource.describe()

    current = client.get(rid, api)

    if state == "absent":
        if current is None:
            return {"changed": False, "id": rid, "state": {}}
        resource.before_delete(client, current)
        before = resource.normalize(current)
        if not module.check_mode:
            response = client.delete(rid, api)
            if wait and response is not None:
                azure_wait.wait_for_operation(client, response, module.deadline(), "delete " + what,
                                              poll=poll)
                azure_wait.wait_for_absent(client, rid, api, module.deadline(), "delete " + what, poll=poll)
        return {"changed": True, "id": rid, "state": {}, "diff": {"before": before, "after": {}}}

    if current is not None and wait and azure_wait.provisioning_state(current).lower() not in azure_wait.TERMINAL_STATES:
        current = azure_wait.wait_for_provisioning(client, rid, api, module.deadline(), what, poll=poll)

    if current is None:
        resource.before_create(client)
    desired = prune_none(resource.desired())
    if resource.has_tags:
        tags = resource.desired_tags(current)
        if tags is not None:
            desired["tags"] = tags
    comparison = resource.fields.compare(desired, resource.normalize(current) if current is not None else None)
    if comparison.immutable:
        raise InputError(
            comparison.immutable[0],
            "cannot be changed on the existing %s (Azure does not allow it in place): %s; "
            "delete and recreate the resource to change it"
            % (what, ", ".join(comparison.immutable)),
        )
    failed = current is not None and azure_wait.provisioning_state(current).lower() == "failed"
    changed = comparison.changed or failed

    final = current
    if changed and not module.check_mode:
        response = client.put(rid, api, resource.to_body(desired, current))
        final = response.body or final
        if wait:
            azure_wait.wait_for_operation(client, response, module.deadline(), "create or update " + what, poll=poll)
            final = client.get(rid, api)
    elif changed:
        final = resource.fields.overlay(current or {}, desired)
        final.setdefault("id", rid)

    result = {"changed": changed, "id": rid, "state": resource.result(final)}
    result["diff"] = comparison.diff
    if comparison.differences:
        result["differences"] = comparison.differences
    return result


def run_resource(module, resource_class):
    """``main()`` of a plain resource module."""
    module.run(lambda m: ensure(m, resource_class(m)))
