"""In-memory state: resources by lower-cased id, and async operations."""
import copy


class Record:
    """One stored resource. ``body`` is the stored representation without inline children."""

    __slots__ = ("key", "id", "rtype", "name", "body", "parent_key", "rg_key", "seq", "op_id",
                 "deleting")

    def __init__(self, key, rid, rtype, name, body, parent_key, rg_key, seq):
        self.key = key
        self.id = rid
        self.rtype = rtype
        self.name = name
        self.body = body
        self.parent_key = parent_key
        self.rg_key = rg_key
        self.seq = seq
        self.op_id = None
        self.deleting = False

    @property
    def type_name(self):
        return self.rtype.type

    @property
    def properties(self):
        return self.body.setdefault("properties", {})

    @property
    def location(self):
        return self.body.get("location")


class Operation:
    """An async operation (PUT, DELETE, PATCH or POST action)."""

    __slots__ = ("id", "kind", "rtype", "sub", "targets", "start", "deadline", "status", "error",
                 "api_version", "result", "result_key", "callbacks", "fault_id", "end", "status_path",
                 "result_path", "end_clock")

    def __init__(self, op_id, kind, rtype, sub, targets, start, deadline, api_version):
        self.id = op_id
        self.kind = kind
        self.rtype = rtype
        self.sub = sub
        self.targets = list(targets)
        self.start = start
        self.deadline = deadline
        self.status = "InProgress"
        self.error = None
        self.api_version = api_version
        self.result = None        # body served by the result URL when done (actions)
        self.result_key = None    # resource served by the result URL when done (PUT)
        self.callbacks = []
        self.fault_id = None
        self.end = None
        self.status_path = None   # path of the Azure-AsyncOperation URL (None: not offered)
        self.result_path = None   # path of the Location URL (None: not offered)
        self.end_clock = None

    @property
    def done(self):
        return self.status != "InProgress"


class Store:
    def __init__(self):
        self.records = {}
        self.ops = {}
        self._seq = 0

    def clear(self):
        self.records.clear()
        self.ops.clear()

    def next_seq(self):
        self._seq += 1
        return self._seq

    def get(self, key):
        return self.records.get(key.lower()) if key else None

    def put(self, record):
        self.records[record.key] = record

    def remove(self, key):
        return self.records.pop(key, None)

    def children(self, parent_key, type_name=None):
        t = type_name.lower() if type_name else None
        out = [r for r in self.records.values()
               if r.parent_key == parent_key and (t is None or r.rtype.type.lower() == t)]
        out.sort(key=lambda r: r.seq)
        return out

    def subtree(self, key):
        """Keys of the resource and everything below it (children, extension resources)."""
        prefix = key + "/"
        return [k for k in self.records if k == key or k.startswith(prefix)]

    def of_type(self, type_name, under=None):
        t = type_name.lower()
        prefix = (under + "/") if under else ""
        out = [r for r in self.records.values()
               if r.rtype.type.lower() == t and r.key.startswith(prefix)]
        out.sort(key=lambda r: r.seq)
        return out

    def referrers(self, key):
        """Records outside ``key``'s subtree whose body references ``key`` or anything under it.

        Returns a list of (referring record, referenced id as written in its body)."""
        prefix = key + "/"
        out = []
        for r in self.records.values():
            if r.key == key or r.key.startswith(prefix):
                continue
            for ref in _ids_in(r.body):
                low = ref.lower()
                if low == key or low.startswith(prefix):
                    out.append((r, ref))
        return out

    def snapshot(self):
        return {k: copy.deepcopy(r.body) for k, r in self.records.items()}


def _ids_in(obj):
    """Every string that looks like a resource id ("/subscriptions/...") anywhere in a body,
    except the body's own top-level ``id`` (covers ``{"id": ...}`` references as well as plain
    id-valued properties such as ``vnetSubnetID`` or ``scope``)."""
    stack = [(obj, True)]
    while stack:
        cur, top = stack.pop()
        if isinstance(cur, dict):
            for k, v in cur.items():
                if isinstance(v, str):
                    if not (top and k == "id") and v[:15].lower() == "/subscriptions/":
                        yield v
                elif isinstance(v, (dict, list)):
                    stack.append((v, False))
        elif isinstance(cur, list):
            for v in cur:
                if isinstance(v, str):
                    if v[:15].lower() == "/subscriptions/":
                        yield v
                elif isinstance(v, (dict, list)):
                    stack.append((v, False))
