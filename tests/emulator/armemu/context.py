"""What a resource type's hooks get to see and use."""
import uuid


class Context:
    """Request-scoped view of the emulator for ResourceType hooks.

    Attributes set by the engine:
      sub, api_version, rtype, key (lower-cased id), id (canonical id), name, rg_name,
      rg (resource group Record or None), parent (parent Record or None), existing (Record or
      None), location (the resource's location, or its parent's for child types),
      parent_body (the parent's body as it will be: for an inline child, the parent's new PUT
      body; otherwise the parent's current GET body), siblings (bodies of the other children of
      the same type under the same parent, as they will be), inline (validating an inline child),
      type_path_with_names ("virtualNetworks/v/subnets/s"), operation_location.
    """

    def __init__(self, app, sub, api_version, rtype=None, **kw):
        self.app = app
        self.store = app.store
        self.sub = sub
        self.api_version = api_version
        self.rtype = rtype
        self.key = None
        self.id = None
        self.name = None
        self.rg_name = None
        self.rg = None
        self.parent = None
        self.existing = None
        self.location = None
        self.parent_body = None
        self.siblings = []
        self.inline = False
        self.type_path_with_names = None
        self.operation_location = None
        for k, v in kw.items():
            setattr(self, k, v)

    # -- lookups ----------------------------------------------------------------------
    @property
    def base_url(self):
        return self.app.base_url

    @property
    def now(self):
        return self.app.now()

    def get(self, rid):
        """The Record with this id (case-insensitive), or None."""
        if not isinstance(rid, str):
            return None
        return self.store.get(rid.rstrip("/").lower())

    def body_of(self, record):
        """The GET body of a record (rendered, with inline children)."""
        return self.app.render(record, self.api_version)

    def children(self, record_or_key, type_name=None):
        key = record_or_key if isinstance(record_or_key, str) else record_or_key.key
        return self.store.children(key.lower(), type_name)

    def of_type(self, type_name, under=None):
        return self.store.of_type(type_name, under)

    def referrers(self, record_or_key):
        """(record, referenced id) pairs of resources outside the subtree that reference it."""
        key = record_or_key if isinstance(record_or_key, str) else record_or_key.key
        return self.store.referrers(key.lower())

    def child_id(self, segment, name):
        return f"{self.id}/{segment}/{name}"

    @staticmethod
    def new_guid():
        return str(uuid.uuid4())
