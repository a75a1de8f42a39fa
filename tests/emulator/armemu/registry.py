"""Declarative resource types.

A provider module defines one subclass of :class:`ResourceType` per ARM resource type and
decorates it with :func:`register`. The engine (``app.py``) does everything generic: routing,
auth, api-version checks, ids and casing, location and tag checks, etags, provisioning states,
async operations, fault injection, parent/child bookkeeping, inline children, listing. A type
only states its facts and the rules that are specific to it.

Hooks (all optional; ``ctx`` is a :class:`armemu.context.Context`):

``defaults(ctx, body, existing)``
    fill server-side and read-only fields into the (already validated) stored body and return it.
``validate(ctx, body, existing)``
    raise :class:`armemu.errors.ArmError` for a bad PUT body. May normalize the body in place.
``validate_delete(ctx, record)``
    raise to refuse a DELETE (e.g. "in use").
``on_put(ctx, record, old_body)`` / ``on_delete(ctx, record)``
    cross-resource effects, run when the resource is stored / removed.
``on_complete(ctx, record, op)``
    run when the resource's async PUT operation completes.
``render(ctx, record, body)``
    the body a GET returns (computed fields such as back-references); ``body`` is a copy.

POST actions: decorate a method with :func:`action`; it is called as
``method(ctx, record, body)`` and returns the response body (a dict) or None. With
``asynchronous=True`` the engine answers 202 with ``Location``/``Azure-AsyncOperation`` and
the returned body is served by the operation-result URL once the operation completes.
"""
import re

from .errors import ArmError

_REGISTRY = {}

# ARM's generic rule for resource names (characters ARM itself refuses in a name segment).
GENERIC_NAME = re.compile(r"^[^<>%&:\\?/#*\x00-\x1f]{1,260}$")


class Action:
    def __init__(self, func, name, write=True, asynchronous=False, duration=None, api_versions=None):
        self.func = func
        self.name = name
        self.write = write
        self.asynchronous = asynchronous
        self.duration = duration
        self.api_versions = api_versions


def action(name=None, write=True, asynchronous=False, duration=None, api_versions=None):
    """Mark a ResourceType method as the POST action ``.../{resource}/{name}``."""
    def deco(func):
        func._armemu_action = Action(func, name or func.__name__, write, asynchronous, duration,
                                     api_versions)
        return func
    return deco


class ResourceType:
    #: full type name, canonical casing: "Microsoft.Network/virtualNetworks/subnets"
    type = None
    #: api-versions this type accepts
    api_versions = ()
    #: full type name of the parent (derived from ``type`` for child types when left None)
    parent = None
    #: where it may live: "resourceGroup" (default), "subscription", "resource" (extension types)
    scopes = ("resourceGroup",)
    #: PUT / DELETE answered with an async operation
    async_put = True
    async_delete = True
    #: realistic seconds for PUT (and DELETE unless delete_duration) at time_scale 1
    duration = 10.0
    delete_duration = None
    #: the body has a location (child resources usually don't) / allowed locations (None = regions)
    has_location = True
    allowed_locations = None
    has_tags = True
    #: PATCH semantics: "tags" (only tags are updated), "merge" (JSON merge patch), None (405)
    patch = "tags"
    #: PATCH answered with an async operation
    async_patch = False
    #: PUT answers 202 Accepted without a body (e.g. private DNS) instead of 201/200 + body
    put_accepted = False
    creating_state = "Creating"
    updating_state = "Updating"
    deleting_state = "Deleting"
    #: "weak" -> W/"guid" (network), "guid" -> plain guid (private DNS), None -> no etag
    etag = "weak"
    #: Retry-After seconds suggested while an operation runs (capped by what remains)
    retry_after = 10
    #: headers sent with async PUT / DELETE answers
    put_headers = ("Azure-AsyncOperation",)
    delete_headers = ("Azure-AsyncOperation", "Location")
    #: DELETE of a missing resource: 204 (provider resources) or raise not-found (resource groups)
    delete_missing = 204
    #: name rule; name_message may use {name}
    name_pattern = GENERIC_NAME
    name_message = "The resource name '{name}' is invalid."
    name_code = "InvalidResourceName"
    #: properties the client may send back from a GET but that the server owns (stripped on PUT)
    read_only_properties = ("provisioningState",)
    #: property name -> child type name, for children that may also be given inline in the
    #: parent's PUT body (a VNet's "subnets"); a PUT replaces the set (omitted ones are deleted)
    inline_children = {}

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        acts = {}
        for base in reversed(cls.__mro__):
            for attr in vars(base).values():
                a = getattr(attr, "_armemu_action", None)
                if a is not None:
                    acts[a.name.lower()] = a
        cls.actions = acts

    # -- derived facts ----------------------------------------------------------------
    @property
    def namespace(self):
        return self.type.split("/")[0]

    @property
    def type_segments(self):
        return self.type.split("/")[1:]

    @property
    def parent_type(self):
        if self.parent:
            return self.parent
        segs = self.type.split("/")
        return "/".join(segs[:-1]) if len(segs) > 2 else None

    def supports(self, api_version):
        return api_version in self.api_versions

    # -- hooks ------------------------------------------------------------------------
    def defaults(self, ctx, body, existing):
        return body

    def validate(self, ctx, body, existing):
        pass

    def validate_delete(self, ctx, record):
        pass

    def on_put(self, ctx, record, old_body):
        pass

    def on_delete(self, ctx, record):
        pass

    def on_complete(self, ctx, record, op):
        pass

    def render(self, ctx, record, body):
        return body

    def not_found(self, ctx):
        """The error for a GET/PATCH of a missing resource (ARM's ResourceNotFound)."""
        return ArmError(
            404, "ResourceNotFound",
            f"The Resource '{self.namespace}/{ctx.type_path_with_names}' under resource group "
            f"'{ctx.rg_name}' was not found. For more details please go to "
            "https://aka.ms/ARMResourceNotFoundFix")

    def operation_paths(self, ctx, op_id):
        """(Azure-AsyncOperation path, Location path) for an operation on this type."""
        base = f"/subscriptions/{ctx.sub}/providers/{self.namespace}/locations/{ctx.operation_location}"
        return f"{base}/operations/{op_id}", f"{base}/operationResults/{op_id}"

    def operation_status_body(self, op):
        """The body of the Azure-AsyncOperation URL."""
        body = {"status": op.status}
        if op.error is not None:
            body["error"] = op.error
        return body


def register(cls):
    """Class decorator: register a ResourceType subclass (an instance of it) by type name."""
    inst = cls()
    if not inst.type or not inst.api_versions:
        raise ValueError(f"{cls.__name__}: type and api_versions are required")
    _REGISTRY[inst.type.lower()] = inst
    return cls


def get_type(name):
    return _REGISTRY.get((name or "").lower())


def all_types():
    return list(_REGISTRY.values())


def namespaces():
    out = {}
    for t in _REGISTRY.values():
        out.setdefault(t.namespace.lower(), t.namespace)
    return out
