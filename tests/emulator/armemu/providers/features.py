"""Microsoft.Features: preview feature flags of a subscription (the API of ``az feature``).

Facts (azure-rest-api-specs, specification/resources/resource-manager/Microsoft.Features,
api-version 2021-07-01; azure-cli ``az feature register`` calls ``Features_Register``):

* ``GET  /subscriptions/{sub}/providers/Microsoft.Features/providers/{ns}/features/{name}``
  answers every known feature, registered or not: ``{"id", "name": "{ns}/{name}",
  "type": "Microsoft.Features/providers/features", "properties": {"state": ...}}``; an unknown
  one is 404 ``FeatureNotFound``.
* ``POST .../features/{name}/register`` (and ``/unregister``) answers 200 with the feature;
  the state goes ``NotRegistered`` -> ``Registering`` -> ``Registered`` over a few minutes
  (``Unregistering`` -> ``Unregistered`` the other way).
* The docs then ask for ``az provider register -n {ns}``
  (``POST /subscriptions/{sub}/providers/{ns}/register``), which the engine answers.

Feature records are made on first sight (GET or POST) from the catalog below; the time a
registration takes is this type's ``duration`` x the time scale.
"""
import inspect

from ..errors import ArmError
from ..registry import ResourceType, action, register
from ..store import Record
from ._answers import Answer

FEATURE = "Microsoft.Features/providers/features"
API_VERSIONS = ("2015-12-01", "2021-07-01")

# Preview features the emulator knows, per resource provider namespace (canonical casing).
CATALOG = {
    "Microsoft.ContainerService": (
        "ManagedGPUExperiencePreview", "NetworkIsolatedClusterPreview", "EnableAPIServerVnetIntegrationPreview",
        "AKS-GPUDriverNoneSupportPreview", "ManagedNamespacePreview", "AKSHTTPCustomFeatures",
    ),
    "Microsoft.ContainerRegistry": ("ArtifactCachePreview",),
    "Microsoft.Network": ("AllowBringYourOwnPublicIpAddress",),
}
READY_AT = "_armemuReadyAt"  # emulator clock when a transition ends; never rendered
TRANSIENT = {"Registered": "Registering", "Unregistered": "Unregistering"}
FINAL = {v: k for k, v in TRANSIENT.items()}


def _canonical(namespace, name):
    for ns, features in CATALOG.items():
        if ns.lower() == str(namespace).lower():
            for feature in features:
                if feature.lower() == str(name).lower():
                    return ns, feature
    return None


def is_registered(ctx, namespace, name):
    """Whether the subscription has the feature in state Registered (for other providers' rules)."""
    key = f"/subscriptions/{ctx.sub.lower()}/providers/microsoft.features/providers/{namespace.lower()}" \
          f"/features/{name.lower()}"
    rec = ctx.store.get(key)
    if rec is None:
        return False
    FeatureType.settle(ctx, rec)
    return rec.properties.get("state") == "Registered"


def _for_post_action():
    """Whether the engine is asking ``not_found`` on behalf of a POST action.

    The engine has one hook for a missing record, used for GET and for POST actions alike;
    a GET of a never-registered feature answers ``NotRegistered`` while a POST ``register``
    registers it, so the hook needs to know which one it serves.
    """
    frame = inspect.currentframe()
    try:
        for _depth in range(6):
            frame = frame.f_back if frame is not None else None
            if frame is not None and frame.f_code.co_name == "_post_action":
                return True
        return False
    finally:
        del frame


@register
class FeatureType(ResourceType):
    type = FEATURE
    api_versions = API_VERSIONS
    parent_type = None            # "Microsoft.Features/providers" is not a resource of its own
    scopes = ("subscription",)
    async_put = False
    async_delete = False
    has_location = False
    has_tags = False
    patch = None
    etag = None
    duration = 180.0              # "It takes a few minutes for the status to show Registered."

    def validate(self, ctx, body, existing):
        raise ArmError(405, "MethodNotAllowed", "The requested resource does not support http method 'PUT'. "
                                                "Use POST .../register to register a feature.")

    def validate_delete(self, ctx, record):
        raise ArmError(405, "MethodNotAllowed", "The requested resource does not support http method "
                                                "'DELETE'. Use POST .../unregister.")

    def not_found(self, ctx):
        names = ctx.type_path_with_names.split("/")  # providers/{ns}/features/{name}
        namespace, name = names[1], names[3]
        canonical = _canonical(namespace, name)
        if canonical is None:
            return ArmError(404, "FeatureNotFound", f"The feature '{name}' could not be found in namespace "
                                                    f"'{namespace}'.")
        record = self._create(ctx, *canonical)
        if _for_post_action():
            return Answer(200, self._render(ctx, self.register_feature(ctx, record, {})))
        return Answer(200, self._render(ctx, record))

    def _create(self, ctx, namespace, name):
        rid = f"/subscriptions/{ctx.sub}/providers/Microsoft.Features/providers/{namespace}/features/{name}"
        parent_key = f"/subscriptions/{ctx.sub.lower()}/providers/microsoft.features/providers/{namespace.lower()}"
        body = {"id": rid, "name": name, "type": FEATURE, "properties": {"state": "NotRegistered"}}
        record = Record(rid.lower(), rid, self, name, body, parent_key, None, ctx.store.next_seq())
        ctx.store.put(record)
        return record

    @staticmethod
    def settle(ctx, record):
        """Finish a transition whose time has come."""
        props = record.properties
        ready = props.get(READY_AT)
        if ready is not None and ctx.now >= ready:
            props["state"] = FINAL.get(props["state"], props["state"])
            props.pop(READY_AT, None)

    def _transition(self, ctx, record, target):
        props = record.properties
        self.settle(ctx, record)
        if props["state"] in (target, TRANSIENT[target]):
            return record
        seconds = ctx.app.durations.get(self.type.lower(), self.duration)
        props["state"] = TRANSIENT[target]
        props[READY_AT] = ctx.now + seconds * ctx.app.time_scale
        self.settle(ctx, record)
        return record

    @action("register")
    def register_feature(self, ctx, record, body):
        return self._render(ctx, self._transition(ctx, record, "Registered"))

    @action("unregister")
    def unregister_feature(self, ctx, record, body):
        return self._render(ctx, self._transition(ctx, record, "Unregistered"))

    def _render(self, ctx, record):
        if isinstance(record, dict):
            return record
        return self.render(ctx, record, dict(record.body, properties=dict(record.properties)))

    def render(self, ctx, record, body):
        self.settle(ctx, record)
        namespace = record.id.split("/")[-3]
        props = {"state": record.properties.get("state", "NotRegistered")}
        return {"id": record.id, "name": f"{namespace}/{record.name}", "type": FEATURE, "properties": props}
