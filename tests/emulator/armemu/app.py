"""The emulator's brain: request dispatch, ARM semantics, async operations, control API.

The HTTP layer (``server.py``) turns a socket request into a :class:`Request`, calls
:meth:`App.handle` and writes the :class:`Response` back. Everything here runs under one
re-entrant lock, so resource types never have to think about threads.
"""
import base64
import copy
import datetime
import json
import math
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import parse_qs, unquote

# Importing the package registers the resource types.
from . import providers  # noqa: F401 pylint: disable=unused-import
from .auth import ARM_AUDIENCES, Authority
from .context import Context
from .errors import ArmError, bad_request, conflict, invalid_request_format, not_found
from .faults import FaultSet
from .registry import all_types, get_type, namespaces
from .regions import REGIONS, normalize
from .requestlog import RequestLog
from .store import Operation, Record, Store
from .util import weak_etag

RG_TYPE = "Microsoft.Resources/resourceGroups"
OP_STATUS_SEGS = {"operations", "operationstatuses", "asyncoperations", "privatednsoperationstatuses"}
OP_RESULT_SEGS = {"operationresults", "privatednsoperationresults"}
WRITE_METHODS = {"PUT", "PATCH", "DELETE", "POST"}
TOP_LEVEL_SERVER_FIELDS = ("id", "name", "type", "etag", "systemData")


class Request:
    def __init__(self, method, path, query="", headers=None, body=b"", client=None):
        self.method = method.upper()
        self.raw_path = path
        self.path = path
        self.query = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body or b""
        self.client = client

    def json(self):
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ArmError(400, "InvalidRequestContent",
                           f"The request content was invalid and could not be deserialized: '{e}'.") from None

    def json_object(self, required=True):
        data = self.json()
        if data is None and not required:
            return {}
        if not isinstance(data, dict):
            raise ArmError(400, "InvalidRequestContent",
                           "The request content was invalid and could not be deserialized: "
                           "the request body must be a JSON object.")
        return data


class Response:
    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body            # dict/list (JSON), bytes, or None
        self.headers = dict(headers or {})
        self.kind = "arm"
        self.resource_type = None
        self.api_version = None
        self.fault = None
        self.write = False
        self.log_body = None

    def payload(self):
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, indent=None, separators=(",", ":")).encode("utf-8")


class Target:
    """A parsed ARM path."""

    def __init__(self, kind, sub=None, **kw):
        self.kind = kind
        self.sub = sub
        self.rtype = None
        self.key = None
        self.names = []
        self.name = None
        self.rg_name = None
        self.rg_key = None
        self.parent_key = None
        self.scope_kind = None
        self.scope_key = None
        self.action = None
        self.op_id = None
        self.op_mode = None
        self.namespace = None
        self.__dict__.update(kw)

    @property
    def type_path_with_names(self):
        segs = self.rtype.type_segments
        return "/".join(f"{s}/{n}" for s, n in zip(segs, self.names))


def _route_not_found(path):
    return ArmError(404, "NotFound", f"No HTTP resource was found that matches the request URI '{path}'.")


def _unknown_type(ns, types, api_version):
    if ns.lower() not in namespaces():
        return ArmError(400, "InvalidResourceNamespace", f"The resource namespace '{ns}' is invalid.")
    return ArmError(400, "InvalidResourceType",
                    f"The resource type '{'/'.join(types)}' could not be found in the namespace "
                    f"'{ns}' for api version '{api_version}'.")


def parse_arm_path(path, api_version=None, method="GET"):
    segs = [unquote(s) for s in path.split("/") if s != ""]
    low = [s.lower() for s in segs]
    if not segs or low[0] != "subscriptions":
        raise _route_not_found(path)
    if len(segs) == 1:
        return Target("subscriptions")
    sub = segs[1]
    if len(segs) == 2:
        return Target("subscription", sub)
    rest, rlow = segs[2:], low[2:]
    sub_key = f"/subscriptions/{sub.lower()}"
    if rlow[0] == "operationresults" and len(rest) == 2:
        return Target("operation", sub, op_id=rest[1], op_mode="result")
    if rlow[0] == "resourcegroups":
        if len(rest) == 1:
            return Target("rg_list", sub)
        rg = rest[1]
        rg_key = f"{sub_key}/resourcegroups/{rg.lower()}"
        if len(rest) == 2:
            return Target("item", sub, rtype=get_type(RG_TYPE), key=rg_key, names=[rg], name=rg,
                          rg_name=rg, rg_key=None, parent_key=sub_key, scope_kind="subscription",
                          scope_key=sub_key)
        if rlow[2] == "resources" and len(rest) == 3:
            return Target("rg_resources", sub, rg_name=rg, rg_key=rg_key)
        if rlow[2] == "providers":
            return _parse_provider(sub, rest[3:], rg_key, "resourceGroup", rg, rg_key, api_version,
                                   method, path)
        raise _route_not_found(path)
    if rlow[0] == "providers":
        return _parse_provider(sub, rest[1:], sub_key, "subscription", None, None, api_version,
                               method, path)
    raise _route_not_found(path)


def _parse_provider(sub, pr, scope_key, scope_kind, rg_name, rg_key, api_version, method, path):
    if not pr:
        if scope_kind == "subscription":
            return Target("providers", sub)
        raise _route_not_found(path)
    ns, tail = pr[0], pr[1:]
    tlow = [s.lower() for s in tail]
    if not tail:
        if scope_kind == "subscription":
            return Target("provider", sub, namespace=ns)
        raise _route_not_found(path)
    if len(tail) in (2, 4) and (tlow[-2] in OP_STATUS_SEGS or tlow[-2] in OP_RESULT_SEGS) \
            and (len(tail) == 2 or tlow[0] == "locations"):
        mode = "status" if tlow[-2] in OP_STATUS_SEGS else "result"
        return Target("operation", sub, op_id=tail[-1], op_mode=mode)
    if tlow == ["register"] and scope_kind == "subscription":
        return Target("register", sub, namespace=ns)
    for i in range(2, len(tail), 2):  # an extension resource: .../{resource}/providers/{ns}/...
        if tlow[i] == "providers":
            scope = _parse_provider(sub, [ns] + tail[:i], scope_key, scope_kind, rg_name, rg_key,
                                    api_version, "GET", path)
            if scope.kind != "item":
                raise _route_not_found(path)
            return _parse_provider(sub, tail[i + 1:], scope.key, "resource", rg_name, rg_key,
                                   api_version, method, path)
    types, names = tail[0::2], tail[1::2]
    base_key = f"{scope_key}/providers/{ns.lower()}"
    if len(tail) % 2 == 1:
        if len(tail) >= 3:
            item_type = get_type(ns + "/" + "/".join(tail[:-1][0::2]))
            if item_type is not None and tlow[-1] in item_type.actions:
                item = _parse_provider(sub, [ns] + tail[:-1], scope_key, scope_kind, rg_name, rg_key,
                                       api_version, "GET", path)
                item.kind = "action"
                item.action = item_type.actions[tlow[-1]]
                return item
        rtype = get_type(ns + "/" + "/".join(types))
        if rtype is None:
            raise _unknown_type(ns, types, api_version)
        parent_key = f"{base_key}/{'/'.join(tlow[:-1])}" if len(tail) > 1 else scope_key
        return Target("collection", sub, rtype=rtype, names=names, parent_key=parent_key,
                      rg_name=rg_name, rg_key=rg_key, scope_kind=scope_kind, scope_key=scope_key)
    rtype = get_type(ns + "/" + "/".join(types))
    if rtype is None:
        raise _unknown_type(ns, types, api_version)
    if scope_kind not in rtype.scopes:
        raise ArmError(400, "InvalidResourceType",
                       f"The resource type '{rtype.type}' cannot be used at {scope_kind} scope.")
    key = f"{base_key}/{'/'.join(tlow)}"
    parent_key = f"{base_key}/{'/'.join(tlow[:-2])}" if len(tail) > 2 else scope_key
    return Target("item", sub, rtype=rtype, key=key, names=names, name=names[-1], rg_name=rg_name,
                  rg_key=rg_key, parent_key=parent_key, scope_kind=scope_kind, scope_key=scope_key)


def _utcnow_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class App:
    def __init__(self, tenant_id, client_id, client_secret, subscription_id, time_scale=1.0,
                 durations=None, token_lifetime=3599, log_stream=None):
        self.lock = threading.RLock()
        self.store = Store()
        self.faults = FaultSet()
        self.log = RequestLog()
        self.authority = Authority(tenant_id, {client_id: client_secret}, token_lifetime)
        self.tenant_id = tenant_id
        self.subscription_id = subscription_id
        self.subscriptions = {subscription_id.lower(): subscription_id}
        self._initial_time_scale = float(time_scale)
        self._initial_durations = {k.lower(): float(v) for k, v in (durations or {}).items()}
        self.time_scale = self._initial_time_scale
        self.durations = dict(self._initial_durations)
        self.clock_offset = 0.0
        self.base_url = None
        self.log_stream = log_stream

    # -- time and configuration --------------------------------------------------------
    def now(self):
        return time.monotonic() + self.clock_offset

    def advance(self, seconds):
        with self.lock:
            self.clock_offset += float(seconds)
            self._advance_ops()

    def set_time_scale(self, value):
        value = float(value)
        if value < 0:
            raise ValueError("time_scale must be >= 0")
        with self.lock:
            self.time_scale = value

    def set_duration(self, resource_type, seconds):
        rtype = get_type(resource_type)
        if rtype is None:
            raise ValueError(f"unknown resource type {resource_type!r}")
        with self.lock:
            self.durations[rtype.type.lower()] = float(seconds)

    def config(self):
        with self.lock:
            durations = {}
            for t in sorted(all_types(), key=lambda t: t.type.lower()):
                durations[t.type] = self.durations.get(t.type.lower(), float(t.duration))
            return {"time_scale": self.time_scale, "durations": durations,
                    "clock_offset": self.clock_offset}

    def update_config(self, data):
        if not isinstance(data, dict):
            raise ValueError("config must be a JSON object")
        unknown = set(data) - {"time_scale", "durations", "advance"}
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        if data.get("time_scale") is not None:
            self.set_time_scale(data["time_scale"])
        for t, s in (data.get("durations") or {}).items():
            self.set_duration(t, s)
        if data.get("advance"):
            self.advance(data["advance"])
        return self.config()

    def reset(self):
        with self.lock:
            self.store.clear()
            self.faults.clear()
            self.log.clear()
            self.time_scale = self._initial_time_scale
            self.durations = dict(self._initial_durations)

    def resources(self):
        with self.lock:
            self._advance_ops()
            return {r.id: self.render(r, None) for r in sorted(self.store.records.values(),
                                                               key=lambda r: r.seq)}

    # -- entry point -------------------------------------------------------------------
    def handle(self, req):
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        segs = [s for s in req.path.split("/") if s]
        first = segs[0].lower() if segs else ""
        try:
            if first == "_emulator":
                resp = self._control(req, segs[1:])
                resp.kind = "control"
            elif first == "subscriptions":
                resp = self._arm(req)
            elif self._is_token_path(segs):
                resp = self._token(req, segs)
                resp.kind = "token"
            else:
                raise _route_not_found(req.path)
        except ArmError as e:
            resp = Response(e.status, e.body(), e.headers)
            resp.kind = "control" if first == "_emulator" else (
                "token" if self._is_token_path(segs) else "arm")
            if first == "subscriptions":
                resp.api_version = req.query.get("api-version")
        except Exception as e:  # a bug in the emulator: answer 500 and say so on stderr
            traceback.print_exc(file=sys.stderr)
            resp = Response(500, {"error": {"code": "InternalServerError",
                                            "message": f"armemu internal error: {e!r}"}})
        resp.headers.setdefault("x-ms-request-id", request_id)
        resp.headers.setdefault("x-ms-correlation-request-id", request_id)
        if "x-ms-client-request-id" in req.headers:
            resp.headers.setdefault("x-ms-client-request-id", req.headers["x-ms-client-request-id"])
        if not (resp.kind == "control" and len(segs) > 1 and segs[1].lower() == "requests"):
            entry = {
                "time": self.now(),
                "method": req.method,
                "path": req.path,
                "api_version": resp.api_version if resp.api_version is not None
                else req.query.get("api-version"),
                "status": resp.status,
                "kind": resp.kind,
                "resource_type": resp.resource_type,
                "write": bool(resp.write),
                "fault": resp.fault,
                "request_id": request_id,
                "body": resp.log_body,
                "duration_ms": round((time.monotonic() - started) * 1000, 3),
            }
            self.log.add(entry)
            if self.log_stream is not None:
                try:
                    self.log_stream.write(
                        f"armemu {req.method} {req.path}"
                        f"{'?api-version=' + entry['api_version'] if entry['api_version'] else ''}"
                        f" -> {resp.status} [{resp.kind}{' fault#%s' % resp.fault if resp.fault else ''}]"
                        f" {entry['duration_ms']:.1f}ms\n")
                    self.log_stream.flush()
                except (OSError, ValueError):
                    pass
        return resp

    # -- token endpoints ---------------------------------------------------------------
    @staticmethod
    def _is_token_path(segs):
        low = [s.lower() for s in segs]
        if len(low) >= 3 and low[1:3] == ["discovery", "instance"]:
            return True
        if len(low) == 3 and low[1:] == ["discovery", "keys"]:
            return True
        if len(low) == 4 and low[1:] == ["discovery", "v2.0", "keys"]:
            return True
        if len(low) >= 3 and low[-2:] == [".well-known", "openid-configuration"]:
            return True
        if len(low) >= 3 and low[1] == "oauth2" and low[-1] in ("token", "authorize", "devicecode"):
            return True
        return False

    def _token(self, req, segs):
        low = [s.lower() for s in segs]
        tenant = segs[0]
        fault = self.faults.take(req.method, req.path, "token", None)
        if fault is not None and fault.status:
            e = fault.error()
            resp = Response(e.status, e.body(), e.headers)
            resp.fault = fault.id
            return resp
        if low[1:3] == ["discovery", "instance"]:
            return Response(200, self.authority.instance_discovery(self.base_url, tenant))
        if "discovery" in low and low[-1] == "keys":
            return Response(200, {"keys": []})
        if low[-1] == "openid-configuration":
            if not self.authority.known_tenant(tenant):
                status, body = self.authority.unknown_tenant(tenant)
                return Response(status, body)
            return Response(200, self.authority.openid_configuration(self.base_url, tenant))
        if low[-1] == "token":
            if req.method != "POST":
                return Response(405, {"error": "invalid_request",
                                      "error_description": "AADSTS900561: The endpoint only accepts POST requests."})
            form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
            form = {k: v[0] for k, v in form.items()}
            if "authorization" in req.headers and req.headers["authorization"].lower().startswith("basic "):
                try:
                    cid, _sep, secret = base64.b64decode(req.headers["authorization"][6:]).decode().partition(":")
                    form.setdefault("client_id", unquote(cid))
                    form.setdefault("client_secret", unquote(secret))
                except (ValueError, UnicodeDecodeError):
                    pass
            status, body, _tok = self.authority.token(tenant, form, v1=(low[2] == "token"))
            return Response(status, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})
        return Response(400, {"error": "invalid_request",
                              "error_description": "AADSTS50059: Only the client credentials flow is emulated."})

    # -- control API -------------------------------------------------------------------
    def _control(self, req, segs):
        low = [s.lower() for s in segs]
        m = req.method
        try:
            if low == ["requests"]:
                if m == "GET":
                    writes = req.query.get("writes", "").lower() in ("1", "true", "yes")
                    since = int(req.query.get("since", "0") or 0)
                    return Response(200, {"value": self.log.entries(writes_only=writes, since=since)})
                if m == "DELETE":
                    self.log.clear()
                    return Response(204)
            elif low == ["faults"]:
                if m == "GET":
                    return Response(200, {"value": self.faults.list()})
                if m == "POST":
                    data = req.json()
                    rules = data if isinstance(data, list) else [data]
                    if not all(isinstance(r, dict) for r in rules):
                        raise ValueError("a fault rule is a JSON object")
                    ids = [self.faults.add(r) for r in rules]
                    return Response(201, {"id": ids[0]} if not isinstance(data, list) else {"ids": ids})
                if m == "DELETE":
                    self.faults.clear()
                    return Response(204)
            elif low == ["reset"] and m == "POST":
                self.reset()
                return Response(204)
            elif low == ["config"]:
                if m == "GET":
                    return Response(200, self.config())
                if m in ("POST", "PUT", "PATCH"):
                    return Response(200, self.update_config(req.json_object()))
            elif low == ["resources"] and m == "GET":
                return Response(200, self.resources())
            elif low == ["advance"] and m == "POST":
                data = req.json_object(required=False)
                self.advance(data.get("seconds", 0))
                return Response(200, self.config())
            elif low == ["tokens", "expire"] and m == "POST":
                data = req.json_object(required=False)
                self.authority.expire(data.get("token"))
                return Response(204)
            elif low == ["health"] and m in ("GET", "HEAD"):
                return Response(200, {"status": "ok"})
            elif low == ["info"] and m == "GET":
                return Response(200, self.info())
            else:
                return Response(404, {"error": {"code": "NotFound",
                                                "message": f"No control endpoint {m} /_emulator/{'/'.join(segs)}"}})
            return Response(405, {"error": {"code": "MethodNotAllowed",
                                            "message": f"{m} is not allowed on /_emulator/{'/'.join(segs)}"}})
        except (ValueError, TypeError, KeyError) as e:
            return Response(400, {"error": {"code": "BadRequest", "message": str(e)}})

    def info(self):
        return {"url": self.base_url, "tenant_id": self.tenant_id,
                "client_id": next(iter(self.authority.clients)),
                "client_secret": next(iter(self.authority.clients.values())),
                "subscription_id": self.subscription_id}

    # -- ARM ---------------------------------------------------------------------------
    def _arm(self, req):
        api_version = req.query.get("api-version")
        target = None
        try:
            target = parse_arm_path(req.path, api_version, req.method)
        except ArmError as e:
            resp = Response(e.status, e.body(), e.headers)
            resp.api_version = api_version
            resp.write = req.method in WRITE_METHODS
            self._authenticate(req)  # an unauthenticated request gets 401 whatever the path
            return resp
        kind = "operation" if target.kind == "operation" else "arm"
        rtype_name = target.rtype.type if target.rtype is not None else None
        if target.kind == "operation":
            op = self.store.ops.get(target.op_id)
            rtype_name = op.rtype.type if op is not None else None
        is_write = kind == "arm" and req.method in WRITE_METHODS and not (
            target.kind == "action" and not target.action.write)

        def finish(resp):
            resp.kind = kind
            resp.resource_type = rtype_name
            resp.api_version = api_version
            resp.write = is_write
            if is_write and resp.log_body is None:
                try:
                    resp.log_body = req.json()
                except ArmError:
                    resp.log_body = req.body.decode("utf-8", "replace")
            return resp

        fault = None
        try:
            self._authenticate(req)
            if not api_version:
                raise ArmError(400, "MissingApiVersionParameter",
                               "The api-version query parameter (?api-version=) is required for all requests.")
            fault = self.faults.take(req.method, req.path, kind, rtype_name)
            if fault is not None and fault.status:
                raise fault.error()
            with self.lock:
                self._advance_ops()
                resp = self._dispatch(req, target, api_version, fault)
                self._advance_ops()  # time_scale 0: done before the client's first poll
        except ArmError as e:
            resp = Response(e.status, e.body(), e.headers)
        if fault is not None:
            resp.fault = fault.id
        return finish(resp)

    def _authenticate(self, req):
        header = req.headers.get("authorization")
        if not header:
            raise ArmError(401, "AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is missing.")
        scheme, _sep, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ArmError(401, "AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is provided in an invalid format.")
        tok = self.authority.lookup(value.strip())
        if tok is None:
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")
        if tok.expires_at <= time.time():
            fmt = "%m/%d/%Y %I:%M:%S %p"
            exp = datetime.datetime.fromtimestamp(tok.expires_at, datetime.timezone.utc).strftime(fmt)
            now = datetime.datetime.now(datetime.timezone.utc).strftime(fmt)
            raise ArmError(401, "ExpiredAuthenticationToken",
                           f"The access token expiry UTC time '{exp}' is earlier than current UTC time '{now}'.")
        allowed = {a.rstrip("/").lower() for a in ARM_AUDIENCES}
        if self.base_url:
            allowed.add(self.base_url.rstrip("/").lower())
        if tok.audience.rstrip("/").lower() not in allowed:
            raise ArmError(401, "InvalidAuthenticationTokenAudience",
                           f"The access token has been obtained for wrong audience or resource "
                           f"'{tok.audience}'. It should exactly match with one of the allowed audiences "
                           f"'{self.base_url}/','{self.base_url}','https://management.azure.com/',"
                           "'https://management.azure.com','https://management.core.windows.net/'.")
        return tok

    def _check_api_version(self, rtype, api_version):
        if not rtype.supports(api_version):
            supported = ",".join(sorted(rtype.api_versions, reverse=True))
            raise ArmError(400, "InvalidApiVersionParameter",
                           f"The api-version '{api_version}' is invalid. The supported versions are "
                           f"'{supported}'.")

    def _dispatch(self, req, t, api_version, fault):
        m = req.method
        if t.kind == "subscriptions":
            if m != "GET":
                raise self._method_not_allowed(m)
            return Response(200, {"value": [self._subscription_body(s) for s in self.subscriptions.values()],
                                  "count": {"type": "Total", "value": len(self.subscriptions)}})
        sub = self.subscriptions.get((t.sub or "").lower())
        if sub is None:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{t.sub}' could not be found.")
        if t.kind == "subscription":
            if m not in ("GET", "HEAD"):
                raise self._method_not_allowed(m)
            return self._maybe_head(m, Response(200, self._subscription_body(sub)))
        if t.kind == "operation":
            if m not in ("GET", "HEAD"):
                raise self._method_not_allowed(m)
            return self._maybe_head(m, self._get_operation(t, api_version))
        if t.kind == "providers":
            return Response(200, {"value": [self._provider_body(sub, ns) for ns in sorted(namespaces().values())]})
        if t.kind in ("provider", "register"):
            ns = namespaces().get(t.namespace.lower())
            if ns is None:
                raise ArmError(404, "InvalidResourceNamespace",
                               f"The resource namespace '{t.namespace}' is invalid.")
            return Response(200, self._provider_body(sub, ns))
        if t.kind == "rg_list":
            rgt = get_type(RG_TYPE)
            self._check_api_version(rgt, api_version)
            if m != "GET":
                raise self._method_not_allowed(m)
            recs = [r for r in self.store.of_type(RG_TYPE) if r.key.startswith(f"/subscriptions/{sub.lower()}/")]
            return Response(200, {"value": [self.render(r, api_version) for r in recs]})
        if t.kind == "rg_resources":
            self._check_api_version(get_type(RG_TYPE), api_version)
            rg = self._require_rg(t, write=False)
            out = []
            for r in self.store.children(rg.key):
                item = {k: r.body[k] for k in ("id", "name", "type", "location", "tags") if k in r.body}
                out.append(item)
            return Response(200, {"value": out})
        if t.kind == "collection":
            self._check_api_version(t.rtype, api_version)
            if m != "GET":
                raise self._method_not_allowed(m)
            return self._list(t, api_version)
        self._check_api_version(t.rtype, api_version)
        if t.kind == "action":
            if m != "POST":
                raise self._method_not_allowed(m)
            return self._post_action(req, t, api_version, fault)
        if m in ("GET", "HEAD"):
            return self._get_item(req, t, api_version)
        if m == "PUT":
            return self._put_item(req, t, api_version, fault)
        if m == "PATCH":
            return self._patch_item(req, t, api_version, fault)
        if m == "DELETE":
            return self._delete_item(req, t, api_version, fault)
        raise self._method_not_allowed(m)

    @staticmethod
    def _method_not_allowed(method):
        return ArmError(405, "MethodNotAllowed",
                        f"The requested resource does not support http method '{method}'.")

    @staticmethod
    def _maybe_head(method, resp):
        if method == "HEAD":
            resp.body = None
        return resp

    def _subscription_body(self, sub):
        return {
            "id": f"/subscriptions/{sub}",
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": sub,
            "tenantId": self.tenant_id,
            "displayName": "armemu subscription",
            "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                     "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
        }

    def _provider_body(self, sub, ns):
        types = []
        for t in sorted(all_types(), key=lambda t: t.type.lower()):
            if t.namespace.lower() != ns.lower():
                continue
            types.append({
                "resourceType": "/".join(t.type_segments),
                "locations": sorted(t.allowed_locations or []),
                "apiVersions": sorted(t.api_versions, reverse=True),
                "capabilities": "SupportsTags, SupportsLocation" if t.has_location else "None",
            })
        return {"id": f"/subscriptions/{sub}/providers/{ns}", "namespace": ns,
                "registrationState": "Registered", "registrationPolicy": "RegistrationRequired",
                "resourceTypes": types}

    # -- resolving a path to records -----------------------------------------------------
    def _require_rg(self, t, write):
        rg = self.store.get(t.rg_key)
        if rg is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{t.rg_name}' could not be found.")
        if write and rg.deleting:
            raise ArmError(409, "ResourceGroupBeingDeleted",
                           f"The resource group '{rg.name}' is in deprovisioning state and cannot perform "
                           "this operation.")
        return rg

    def _context(self, t, api_version, write=False):
        ctx = Context(self, t.sub, api_version, t.rtype, key=t.key, name=t.name, rg_name=t.rg_name,
                      type_path_with_names=t.type_path_with_names if t.rtype else None)
        if t.rg_key:
            ctx.rg = self._require_rg(t, write)
            ctx.rg_name = ctx.rg.name
        if t.scope_kind == "resource":
            scope = self.store.get(t.scope_key)
            if scope is None:
                raise ArmError(404, "ResourceNotFound",
                               f"The scope resource '{t.scope_key}' was not found.")
        if t.rtype is not None and t.rtype.parent_type:
            parent = self.store.get(t.parent_key)
            if parent is None:
                pnames = "/".join(t.names[:-1])
                raise ArmError(404, "ParentResourceNotFound",
                               f"Can not perform requested operation on nested resource. Parent resource "
                               f"'{pnames}' not found.")
            if write and parent.deleting:
                raise conflict("Conflict", f"The parent resource '{parent.id}' is being deleted.")
            ctx.parent = parent
        ctx.existing = self.store.get(t.key) if t.key else None
        if ctx.existing is not None:
            ctx.id = ctx.existing.id
            ctx.name = ctx.existing.name
        else:
            ctx.id = self._canonical_id(t, ctx)
        ctx.operation_location = self._operation_location(ctx)
        return ctx

    def _canonical_id(self, t, ctx):
        rtype = t.rtype
        if rtype.type == RG_TYPE:
            return f"/subscriptions/{self.subscriptions[t.sub.lower()]}/resourceGroups/{t.name}"
        seg = rtype.type_segments[-1]
        if ctx.parent is not None:
            return f"{ctx.parent.id}/{seg}/{t.name}"
        if t.scope_kind == "resourceGroup":
            return f"{ctx.rg.id}/providers/{rtype.namespace}/{seg}/{t.name}"
        if t.scope_kind == "resource":
            return f"{self.store.get(t.scope_key).id}/providers/{rtype.namespace}/{seg}/{t.name}"
        return f"/subscriptions/{self.subscriptions[t.sub.lower()]}/providers/{rtype.namespace}/{seg}/{t.name}"

    def _operation_location(self, ctx):
        for rec in (ctx.existing, ctx.parent, ctx.rg):
            if rec is not None and rec.location and rec.location != "global":
                return rec.location
        return "global"

    def _ctx_for_record(self, record, api_version):
        parts = record.id.split("/")
        sub = parts[2] if len(parts) > 2 else self.subscription_id
        rg_name = parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else None
        low_id = record.id.lower()
        idx = low_id.rfind("/providers/")
        tpn = record.id[idx + len("/providers/"):].split("/", 1)[-1] if idx >= 0 else record.name
        ctx = Context(self, sub, api_version or max(record.rtype.api_versions), record.rtype,
                      key=record.key, id=record.id, name=record.name, rg_name=rg_name,
                      type_path_with_names=tpn, existing=record)
        if rg_name is not None:
            ctx.rg = self.store.get(f"/subscriptions/{sub.lower()}/resourcegroups/{rg_name.lower()}")
        if record.rtype.parent_type:
            ctx.parent = self.store.get(record.parent_key)
        ctx.location = record.location or (ctx.parent.location if ctx.parent else None)
        ctx.operation_location = self._operation_location(ctx)
        return ctx

    # -- rendering ---------------------------------------------------------------------
    def render(self, record, api_version):
        ctx = self._ctx_for_record(record, api_version)
        body = copy.deepcopy(record.body)
        props = body.setdefault("properties", {})
        for prop, ctype in record.rtype.inline_children.items():
            props[prop] = [self.render(c, api_version) for c in self.store.children(record.key, ctype)]
        return record.rtype.render(ctx, record, body)

    # -- GET / list --------------------------------------------------------------------
    def _get_item(self, req, t, api_version):
        ctx = self._context(t, api_version)
        if ctx.existing is None:
            if req.method == "HEAD":
                return Response(404)
            raise t.rtype.not_found(ctx)
        if req.method == "HEAD":
            return Response(204)
        return Response(200, self.render(ctx.existing, api_version))

    def _list(self, t, api_version):
        if t.rg_key:
            self._require_rg(t, write=False)
            if t.rtype.parent_type:
                parent = self.store.get(t.parent_key)
                if parent is None:
                    pnames = "/".join(t.names)
                    raise ArmError(404, "ParentResourceNotFound",
                                   f"Can not perform requested operation on nested resource. Parent "
                                   f"resource '{pnames}' not found.")
            recs = self.store.children(t.parent_key, t.rtype.type)
        else:  # subscription-wide list of a type
            recs = self.store.of_type(t.rtype.type, under=f"/subscriptions/{t.sub.lower()}")
            if t.rtype.parent_type:
                recs = [r for r in recs if r.parent_key == t.parent_key]
        return Response(200, {"value": [self.render(r, api_version) for r in recs]})

    # -- PUT ---------------------------------------------------------------------------
    def _normalize_input(self, rtype, body, path_prefix=""):
        """Copy of a PUT body with server-owned fields dropped and common fields checked."""
        body = copy.deepcopy(body)
        for k in TOP_LEVEL_SERVER_FIELDS:
            if k != "name":
                body.pop(k, None)
        props = body.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise ArmError(400, "InvalidRequestContent",
                           f"The request content was invalid and could not be deserialized: "
                           f"'{path_prefix}properties' must be a JSON object.")
        for k in rtype.read_only_properties:
            props.pop(k, None)
        body["properties"] = props
        tags = body.get("tags")
        if tags is not None:
            if not rtype.has_tags:
                body.pop("tags")
            elif not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
                raise ArmError(400, "InvalidRequestContent",
                               "The request content was invalid and could not be deserialized: "
                               f"'{path_prefix}tags' must be an object of string values.")
            elif len(tags) > 50:
                raise bad_request("InvalidTagCount", f"The number of tags {len(tags)} exceeds the limit of 50.")
            else:
                for k, v in tags.items():
                    if len(k) > 512 or any(c in k for c in "<>%&\\?/"):
                        raise bad_request("InvalidTagNameCharacters",
                                          f"The tag names '{k}' have reserved characters '<,>,%,&,\\,?,/' "
                                          "or control characters.")
                    if len(v) > 256:
                        raise bad_request("InvalidTagValueLength",
                                          f"The tag value '{v[:32]}...' exceeds the maximum length of 256.")
        return body

    def _check_location(self, rtype, body, existing, ctx):
        if not rtype.has_location:
            body.pop("location", None)
            return
        loc = body.get("location")
        if loc is None or loc == "":
            if rtype.type == RG_TYPE:
                raise bad_request("LocationRequired", "The location property is required for this definition.")
            raise bad_request("LocationRequired", "The location property is required for this definition.")
        if not isinstance(loc, str):
            raise ArmError(400, "InvalidRequestContent",
                           "The request content was invalid and could not be deserialized: 'location' "
                           "must be a string.")
        loc = normalize(loc)
        allowed = {normalize(x) for x in rtype.allowed_locations} if rtype.allowed_locations else REGIONS - {"global"}
        if loc not in allowed:
            if rtype.type == RG_TYPE:
                raise bad_request("LocationNotAvailableForResourceGroup",
                                  f"The provided location '{body['location']}' is not available for resource "
                                  f"group. List of available regions is '{','.join(sorted(allowed))}'.")
            raise bad_request("LocationNotAvailableForResourceType",
                              f"The provided location '{body['location']}' is not available for resource "
                              f"type '{rtype.type}'. List of available regions for the resource type is "
                              f"'{','.join(sorted(allowed))}'.")
        body["location"] = loc
        if existing is not None and existing.location and existing.location != loc:
            if rtype.type == RG_TYPE:
                raise conflict("InvalidResourceGroupLocation",
                               f"Invalid resource group location '{loc}'. The Resource group already exists "
                               f"in location '{existing.location}'.")
            raise bad_request("InvalidResourceLocation",
                              f"The resource '{existing.name}' already exists in location "
                              f"'{existing.location}' in resource group '{ctx.rg_name}'. A resource with "
                              f"the same name cannot be created in location '{loc}'. Please select a new "
                              "resource name.")

    def _check_name(self, rtype, name, ctx):
        if not rtype.name_pattern.match(name):
            raise bad_request(rtype.name_code, rtype.name_message.format(name=name, id=ctx.id),
                              target=name)

    def _check_preconditions(self, req, existing):
        if_match = req.headers.get("if-match")
        if_none = req.headers.get("if-none-match")
        etag = existing.body.get("etag") if existing is not None else None
        if if_match:
            if existing is None or (if_match.strip() != "*" and if_match.strip() != etag):
                raise ArmError(412, "PreconditionFailed",
                               "The condition specified using HTTP conditional header(s) is not met.")
        if if_none:
            if existing is not None and (if_none.strip() == "*" or if_none.strip() == etag):
                raise ArmError(412, "PreconditionFailed",
                               "The condition specified using HTTP conditional header(s) is not met.")

    def _siblings(self, parent_key, rtype, exclude_key):
        return [self.render(r, None) for r in self.store.children(parent_key, rtype.type)
                if r.key != exclude_key]

    def _put_item(self, req, t, api_version, fault):
        raw = req.json_object()
        rtype = t.rtype
        ctx = self._context(t, api_version, write=True)
        existing = ctx.existing
        if existing is not None and existing.deleting:
            raise conflict("Conflict" if rtype.type != RG_TYPE else "ResourceGroupBeingDeleted",
                           f"The resource '{existing.id}' is being deleted and cannot be updated."
                           if rtype.type != RG_TYPE else
                           f"The resource group '{existing.name}' is in deprovisioning state and cannot "
                           "perform this operation.")
        self._check_preconditions(req, existing)
        if existing is None:
            self._check_name(rtype, t.name, ctx)
        body = self._normalize_input(rtype, raw)
        body.pop("name", None)
        self._check_location(rtype, body, existing, ctx)
        ctx.location = body.get("location") or (ctx.parent.location if ctx.parent else None)
        if ctx.parent is not None:
            ctx.parent_body = self.render(ctx.parent, api_version)
            ctx.siblings = self._siblings(ctx.parent.key, rtype, t.key)
        rtype.validate(ctx, body, existing)

        # inline children: validate all before changing anything
        plans = []
        for prop, ctype_name in rtype.inline_children.items():
            ctype = get_type(ctype_name)
            items = body["properties"].pop(prop, None)
            if items is None:
                items = []
            if not isinstance(items, list):
                raise invalid_request_format(f"properties.{prop}", items, "System.Collections.Generic.List")
            seg = ctype.type_segments[-1]
            normalized = []
            seen = {}
            for i, item in enumerate(items):
                if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
                    raise bad_request("InvalidRequestFormat",
                                      f"Cannot parse the request: properties.{prop}[{i}] needs a 'name'.",
                                      details=[])
                lname = item["name"].lower()
                if lname in seen:
                    raise bad_request("DuplicateResourceName",
                                      f"Resource {ctx.id} has two child resources with the same name "
                                      f"({item['name']}).", details=[])
                seen[lname] = i
                cbody = self._normalize_input(ctype, item, f"properties.{prop}[{i}].")
                cbody["name"] = item["name"]
                cbody.pop("location", None)
                normalized.append(cbody)
            parent_view = copy.deepcopy(body)
            parent_view["id"] = ctx.id
            parent_view["name"] = ctx.name
            parent_view["properties"][prop] = normalized
            children = []
            for i, cbody in enumerate(normalized):
                name = cbody["name"]
                ckey = f"{t.key}/{seg.lower()}/{name.lower()}"
                cexisting = self.store.get(ckey)
                cctx = Context(self, t.sub, api_version, ctype, key=ckey,
                               id=cexisting.id if cexisting else f"{ctx.id}/{seg}/{name}",
                               name=cexisting.name if cexisting else name, rg_name=ctx.rg_name,
                               rg=ctx.rg, parent=existing, existing=cexisting, location=ctx.location,
                               parent_body=parent_view, inline=True,
                               siblings=[b for j, b in enumerate(normalized) if j != i],
                               type_path_with_names=f"{ctx.type_path_with_names}/{seg}/{name}",
                               operation_location=ctx.operation_location)
                self._check_name(ctype, name, cctx)
                payload = {k: v for k, v in cbody.items() if k != "name"}
                ctype.validate(cctx, payload, cexisting)
                children.append((cctx, payload))
            removed = []
            if existing is not None:
                for r in self.store.children(existing.key, ctype.type):
                    if r.name.lower() not in seen:
                        rctx = self._ctx_for_record(r, api_version)
                        ctype.validate_delete(rctx, r)
                        removed.append(r)
            plans.append((ctype, children, removed))

        # commit
        old_body = copy.deepcopy(existing.body) if existing is not None else None
        if rtype.async_put:
            state = rtype.updating_state if existing is not None else rtype.creating_state
        else:
            state = "Succeeded"
        record = self._store(ctx, rtype, body, existing, state, t.parent_key, t.rg_key)
        ctx.existing = existing
        child_records = []
        for ctype, children, removed in plans:
            for r in removed:
                self._remove_subtree(r.key, api_version)
            for cctx, payload in children:
                cctx.parent = record
                cstate = (ctype.updating_state if cctx.existing is not None else ctype.creating_state) \
                    if rtype.async_put else "Succeeded"
                crec = self._store(cctx, ctype, payload, cctx.existing, cstate, record.key, t.rg_key)
                child_records.append((cctx, crec))
        op = None
        if rtype.async_put:
            op = self._new_op("put", rtype, ctx, [record.key] + [c.key for _name, c in child_records],
                              api_version, fault)
            op.result_key = record.key
            record.op_id = op.id
            for _name, c in child_records:
                c.op_id = op.id
        self._touch_parent(ctx.parent, rtype)
        rtype.on_put(ctx, record, old_body)
        for cctx, crec in child_records:
            crec.rtype.on_put(cctx, crec, None)
        status = 200 if existing is not None else 201
        headers = {}
        if op is not None:
            headers.update(self._op_headers(ctx, rtype, op, api_version, rtype.put_headers
                                            if not rtype.put_accepted else
                                            ("Azure-AsyncOperation", "Location")))
            if rtype.put_accepted:
                return Response(202, None, headers)
        return Response(status, self.render(record, api_version), headers)

    def _touch_parent(self, parent, rtype):
        """A change to an inline child changes the parent's etag (as a VNet's on a subnet PUT)."""
        if parent is not None and parent.rtype.etag and \
                rtype.type in parent.rtype.inline_children.values():
            parent.body["etag"] = self._etag(parent.rtype)

    def _etag(self, rtype):
        if rtype.etag == "weak":
            return weak_etag()
        if rtype.etag == "guid":
            return str(uuid.uuid4())
        return None

    def _store(self, ctx, rtype, body, existing, state, parent_key, rg_key):
        new = {"id": ctx.id, "name": ctx.name, "type": rtype.type}
        if rtype.has_location and body.get("location") is not None:
            new["location"] = body["location"]
        if rtype.has_tags and body.get("tags") is not None:
            new["tags"] = body["tags"]
        for k, v in body.items():
            if k not in ("id", "name", "type", "location", "tags", "etag", "properties"):
                new[k] = v
        new["properties"] = body.get("properties") or {}
        new = rtype.defaults(ctx, new, existing)
        new["properties"]["provisioningState"] = state
        if rtype.etag:
            if existing is not None and "etag" in existing.body and \
                    _same(existing.body, new):
                new["etag"] = existing.body["etag"]
            else:
                new["etag"] = self._etag(rtype)
        if existing is not None:
            existing.body = new
            existing.deleting = False
            record = existing
        else:
            record = Record(ctx.key, ctx.id, rtype, ctx.name, new, parent_key, rg_key, self.store.next_seq())
            self.store.put(record)
        return record

    # -- PATCH -------------------------------------------------------------------------
    def _patch_item(self, req, t, api_version, fault):
        raw = req.json_object()
        rtype = t.rtype
        ctx = self._context(t, api_version, write=True)
        existing = ctx.existing
        if existing is None:
            raise rtype.not_found(ctx)
        if rtype.patch is None:
            raise self._method_not_allowed("PATCH")
        self._check_preconditions(req, existing)
        before = copy.deepcopy(existing.body)
        if rtype.patch == "tags":
            if "tags" in raw:
                tags = self._normalize_input(rtype, {"tags": raw["tags"]}).get("tags")
                if tags:
                    existing.body["tags"] = tags
                else:
                    existing.body.pop("tags", None)
        else:
            merged = copy.deepcopy(existing.body)
            patch = self._normalize_input(rtype, raw)
            patch.pop("name", None)
            if "location" in patch:
                self._check_location(rtype, patch, existing, ctx)
            _merge_patch(merged, patch)
            if "tags" in raw:
                if raw["tags"]:
                    merged["tags"] = raw["tags"]
                else:
                    merged.pop("tags", None)
            ctx.location = merged.get("location") or (ctx.parent.location if ctx.parent else None)
            if ctx.parent is not None:
                ctx.parent_body = self.render(ctx.parent, api_version)
                ctx.siblings = self._siblings(ctx.parent.key, rtype, t.key)
            candidate = {k: v for k, v in merged.items() if k not in ("id", "name", "type", "etag")}
            candidate["properties"] = {k: v for k, v in merged.get("properties", {}).items()
                                       if k not in rtype.read_only_properties}
            rtype.validate(ctx, candidate, existing)
            state = existing.properties.get("provisioningState", "Succeeded")
            self._store(ctx, rtype, candidate, existing, state, existing.parent_key, existing.rg_key)
        if rtype.etag and not _same(before, existing.body):
            existing.body["etag"] = self._etag(rtype)
        headers = {}
        if rtype.async_patch:
            existing.properties["provisioningState"] = rtype.updating_state
            op = self._new_op("patch", rtype, ctx, [existing.key], api_version, fault)
            op.result_key = existing.key
            existing.op_id = op.id
            if rtype.put_accepted:
                return Response(202, None, self._op_headers(ctx, rtype, op, api_version,
                                                            ("Azure-AsyncOperation", "Location")))
            headers.update(self._op_headers(ctx, rtype, op, api_version, rtype.put_headers))
        return Response(200, self.render(existing, api_version), headers)

    # -- DELETE ------------------------------------------------------------------------
    def _delete_item(self, req, t, api_version, fault):
        rtype = t.rtype
        ctx = self._context(t, api_version)
        existing = ctx.existing
        if existing is None:
            if rtype.delete_missing == 204:
                return Response(204)
            raise rtype.not_found(ctx)
        self._check_preconditions(req, existing)
        if not existing.deleting:
            rtype.validate_delete(ctx, existing)
        if not rtype.async_delete:
            self._remove_subtree(existing.key, api_version)
            self._touch_parent(ctx.parent, rtype)
            return Response(200)
        existing.deleting = True
        existing.properties["provisioningState"] = rtype.deleting_state
        op = self._new_op("delete", rtype, ctx, [existing.key], api_version, fault)
        existing.op_id = op.id
        return Response(202, None, self._op_headers(ctx, rtype, op, api_version, rtype.delete_headers))

    def _remove_subtree(self, key, api_version=None):
        keys = sorted(self.store.subtree(key), key=lambda k: (-k.count("/"), k))
        removed = []
        for k in keys:
            rec = self.store.get(k)
            if rec is None:
                continue
            ctx = self._ctx_for_record(rec, api_version)
            self.store.remove(k)
            removed.append((ctx, rec))
        for ctx, rec in removed:
            rec.rtype.on_delete(ctx, rec)
        return removed

    # -- POST actions ------------------------------------------------------------------
    def _post_action(self, req, t, api_version, fault):
        act = t.action
        if act.api_versions and api_version not in act.api_versions:
            raise ArmError(400, "InvalidApiVersionParameter",
                           f"The api-version '{api_version}' is invalid. The supported versions are "
                           f"'{','.join(sorted(act.api_versions, reverse=True))}'.")
        ctx = self._context(t, api_version, write=act.write)
        if ctx.existing is None:
            raise t.rtype.not_found(ctx)
        body = req.json_object(required=False) if req.body.strip() else {}
        ctx.location = ctx.existing.location or (ctx.parent.location if ctx.parent else None)
        callbacks = []
        ctx.on_complete = callbacks.append
        result = act.func(t.rtype, ctx, ctx.existing, body)
        if not act.asynchronous:
            return Response(200 if result is not None else 204, result)
        op = self._new_op("action", t.rtype, ctx, [ctx.existing.key], api_version, fault,
                          duration=act.duration)
        op.result = result
        op.callbacks = callbacks
        return Response(202, None, self._op_headers(ctx, t.rtype, op, api_version,
                                                    ("Azure-AsyncOperation", "Location")))

    # -- async operations --------------------------------------------------------------
    def _duration(self, rtype, kind, explicit=None):
        if explicit is not None:
            return float(explicit)
        override = self.durations.get(rtype.type.lower())
        if override is not None:
            return override
        if kind == "delete" and rtype.delete_duration is not None:
            return float(rtype.delete_duration)
        return float(rtype.duration)

    def _new_op(self, kind, rtype, ctx, targets, api_version, fault, duration=None):
        seconds = self._duration(rtype, kind, duration)
        if fault is not None and fault.duration is not None:
            seconds = fault.duration
        now = self.now()
        op = Operation(str(uuid.uuid4()), kind, rtype, ctx.sub, targets, now,
                       now + seconds * self.time_scale, api_version)
        if fault is not None and fault.operation_failed:
            op.error = fault.operation_error()
            op.fault_id = fault.id
        op.status_path, op.result_path = rtype.operation_paths(ctx, op.id)
        self.store.ops[op.id] = op
        return op

    def _retry_after(self, op):
        """Retry-After for a running operation, in the emulator's (scaled) seconds.

        At time scale 1 it is what ARM sends: whole seconds, the type's usual hint, never more than
        what remains. Under a time scale the hint is scaled like the durations (a 10 s hint at 1/100
        is 0.1 s), so it is fractional: a client that waited the unscaled hint would wait up to 100
        times too long and every benchmark would measure the hint, not the overlap."""
        remaining = op.deadline - self.now()
        if remaining <= 0:
            return "0"
        if self.time_scale >= 1.0 or self.time_scale <= 0:
            return str(int(min(op.rtype.retry_after, max(1, math.ceil(remaining)))))
        hint = min(op.rtype.retry_after * self.time_scale, remaining)
        return "%g" % max(0.01, math.ceil(hint * 100) / 100.0)

    def _op_headers(self, ctx, rtype, op, api_version, which):
        headers = {}
        q = f"?api-version={api_version}"
        for h in which:
            if h == "Azure-AsyncOperation" and op.status_path:
                headers["Azure-AsyncOperation"] = f"{self.base_url}{op.status_path}{q}"
            elif h == "Location" and op.result_path:
                headers["Location"] = f"{self.base_url}{op.result_path}{q}"
        headers["Retry-After"] = self._retry_after(op)
        return headers

    def _advance_ops(self):
        now = self.now()
        due = [op for op in self.store.ops.values() if not op.done and op.deadline <= now]
        due.sort(key=lambda op: op.deadline)
        for op in due:
            op.end_clock = now
            self._complete(op)
        if len(self.store.ops) > 2000:  # long standalone runs: forget old finished operations
            for op_id in [k for k, op in self.store.ops.items() if op.done and op.end_clock < now - 3600]:
                del self.store.ops[op_id]

    def _complete(self, op):
        op.status = "Failed" if op.error is not None else "Succeeded"
        op.end = _utcnow_iso()
        if op.kind in ("put", "patch"):
            for key in op.targets:
                rec = self.store.get(key)
                if rec is None or rec.op_id != op.id:
                    continue
                rec.properties["provisioningState"] = op.status
                rec.op_id = None
                rec.rtype.on_complete(self._ctx_for_record(rec, op.api_version), rec, op)
        elif op.kind == "delete":
            for key in op.targets:
                rec = self.store.get(key)
                if rec is None or rec.op_id != op.id:
                    continue
                rec.op_id = None
                if op.error is not None:
                    rec.deleting = False
                    rec.properties["provisioningState"] = "Failed"
                else:
                    parent = self.store.get(rec.parent_key) if rec.rtype.parent_type else None
                    self._remove_subtree(key, op.api_version)
                    self._touch_parent(parent, rec.rtype)
        elif op.kind == "action":
            if op.error is None:
                for cb in op.callbacks:
                    res = cb()
                    if res is not None:
                        op.result = res

    def _get_operation(self, t, api_version):
        op = self.store.ops.get(t.op_id)
        if op is None or op.sub.lower() != t.sub.lower():
            raise not_found("OperationNotFound" if t.op_mode == "status" else "NotFound",
                            f"The operation '{t.op_id}' could not be found.")
        headers = {}
        if not op.done:
            headers["Retry-After"] = self._retry_after(op)
        if t.op_mode == "status":
            return Response(200, op.rtype.operation_status_body(op), headers)
        # result (Location) polling
        if not op.done:
            headers["Location"] = f"{self.base_url}{op.result_path}?api-version={op.api_version}"
            return Response(202, None, headers)
        if op.error is not None:
            return Response(400, {"error": op.error})
        if op.kind in ("put", "patch") and op.result_key:
            rec = self.store.get(op.result_key)
            if rec is not None:
                return Response(200, self.render(rec, op.api_version))
            return Response(204)
        if op.kind == "action":
            return Response(200 if op.result is not None else 204, op.result)
        return Response(200)


def _strip_volatile(body):
    b = copy.deepcopy(body)
    b.pop("etag", None)
    b.get("properties", {}).pop("provisioningState", None)
    return b


def _same(a, b):
    return _strip_volatile(a) == _strip_volatile(b)


def _merge_patch(target, patch):
    """RFC 7386 JSON merge patch, in place (tags are handled by the caller)."""
    for k, v in patch.items():
        if k == "tags":
            continue
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge_patch(target[k], v)
        else:
            target[k] = copy.deepcopy(v)
