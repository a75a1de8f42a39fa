"""Adding a resource type: a test-only provider with a child type, POST actions and a
reference to a subnet (which then cannot be deleted)."""
from armemu import ArmError, ResourceType, action, register

API = "2024-01-01"


@register
class Widget(ResourceType):
    type = "Microsoft.ArmemuTest/widgets"
    api_versions = (API,)
    duration = 3.0

    def validate(self, ctx, body, existing):
        sid = body["properties"].get("subnetId")
        if sid is not None and ctx.get(sid) is None:
            raise ArmError(400, "InvalidSubnetReference", f"Subnet {sid} was not found.")

    def defaults(self, ctx, body, existing):
        body["properties"].setdefault("generation", 1)
        return body

    @action("listSecrets", write=False)
    def list_secrets(self, ctx, record, body):
        return {"secret": f"secret-of-{record.name}"}

    @action("rotate", asynchronous=True, duration=4)
    def rotate(self, ctx, record, body):
        def done():
            record.properties["generation"] += 1
            return {"generation": record.properties["generation"]}
        ctx.on_complete(done)
        return None


@register
class Gear(ResourceType):
    type = "Microsoft.ArmemuTest/widgets/gears"
    api_versions = (API,)
    async_put = False
    async_delete = False
    has_location = False
    has_tags = False


def _widget(client, name="w"):
    return f"{client.rg('rg1')}/providers/Microsoft.ArmemuTest/widgets/{name}"


def test_reference_blocks_subnet_deletion(client):
    client.make_rg()
    client.make_vnet(subnets=[{"name": "s", "properties": {"addressPrefix": "10.0.0.0/24"}}])
    sid = client.subnet("rg1", "vnet1", "s")
    r = client.put(_widget(client), {"location": "westeurope", "properties": {"subnetId": sid.upper()}},
                   api_version=API)
    assert r.status_code == 201
    client.poll(r)
    for resp in (client.delete(sid),
                 client.put(client.vnet("rg1", "vnet1"), {"location": "westeurope", "properties": {
                     "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}),
                 client.delete(client.vnet("rg1", "vnet1"))):
        err = client.body(resp)["error"]
        assert resp.status_code == 400 and err["code"] == "InUseSubnetCannotBeDeleted", err
        assert _widget(client) in err["message"] or sid.upper() in err["message"]
    r = client.delete(_widget(client), api_version=API)
    client.poll(r)
    r = client.delete(sid)
    assert r.status_code == 202


def test_actions_and_child_types(client, arm):
    client.make_rg()
    r = client.put(_widget(client), {"location": "westeurope"}, api_version=API)
    client.poll(r)
    arm.clear_requests()
    r = client.call("POST", _widget(client) + "/listSecrets", api_version=API)
    assert r.status_code == 200 and client.body(r) == {"secret": "secret-of-w"}
    assert arm.writes() == []  # a read-only POST action is not a write
    arm.set_time_scale(1.0)
    r = client.call("POST", _widget(client) + "/rotate", api_version=API)
    assert r.status_code == 202 and "Location" in r.headers
    assert client.get(r.headers["Location"], api_version=None).status_code == 202
    arm.advance(5)
    res = client.get(r.headers["Location"], api_version=None)
    assert res.status_code == 200 and client.body(res) == {"generation": 2}
    assert [w["path"].rsplit("/", 1)[-1] for w in arm.writes()] == ["rotate"]
    assert client.call("POST", _widget(client) + "/explode", api_version=API).status_code == 400
    # a synchronous child type
    gear = _widget(client) + "/gears/g1"
    r = client.put(gear, {"properties": {"teeth": 12}}, api_version=API)
    assert r.status_code == 201 and "Azure-AsyncOperation" not in r.headers
    assert client.body(r)["properties"] == {"teeth": 12, "provisioningState": "Succeeded"}
    assert client.body(r)["type"] == "Microsoft.ArmemuTest/widgets/gears"
    assert client.get(_widget(client, "nope") + "/gears/g1", api_version=API).status_code == 404
    r = client.delete(_widget(client), api_version=API)
    arm.advance(5)
    assert client.get(gear, api_version=API).status_code == 404  # removed with its parent
