"""Microsoft.Features in the emulator: what az feature register / show and az provider register see."""
API = "2021-07-01"


def feature(client, name="ManagedGPUExperiencePreview", namespace="Microsoft.ContainerService"):
    return "/subscriptions/%s/providers/Microsoft.Features/providers/%s/features/%s" % (client.sub, namespace, name)


def state(client, path):
    return client.body(client.get(path, api_version=API))["properties"]["state"]


def test_a_known_feature_answers_not_registered(client):
    body = client.body(client.get(feature(client, "managedgpuexperiencepreview", "microsoft.containerservice"),
                                  api_version=API))
    assert body == {"id": feature(client), "name": "Microsoft.ContainerService/ManagedGPUExperiencePreview",
                    "type": "Microsoft.Features/providers/features", "properties": {"state": "NotRegistered"}}


def test_an_unknown_feature_is_404(client):
    response = client.get(feature(client, "NoSuchFeature"), api_version=API)
    assert response.status_code == 404 and client.body(response)["error"]["code"] == "FeatureNotFound"


def test_register_takes_time(client, arm):
    arm.set_time_scale(1.0)
    arm.set_duration("Microsoft.Features/providers/features", 120)
    path = feature(client)
    assert state(client, path) == "NotRegistered"
    response = client.call("POST", path + "/register", api_version=API)
    assert response.status_code == 200 and client.body(response)["properties"]["state"] == "Registering"
    assert state(client, path) == "Registering"
    again = client.call("POST", path + "/register", api_version=API)   # idempotent while Registering
    assert client.body(again)["properties"]["state"] == "Registering"
    arm.advance(121)
    assert state(client, path) == "Registered"
    assert [w["path"].rsplit("/", 1)[-1] for w in arm.writes()] == ["register", "register"]


def test_register_without_reading_first(client):
    response = client.call("POST", feature(client, "NetworkIsolatedClusterPreview") + "/register", api_version=API)
    assert response.status_code == 200
    assert state(client, feature(client, "NetworkIsolatedClusterPreview")) == "Registered"  # time scale 0


def test_unregister_and_list(client):
    path = feature(client)
    client.call("POST", path + "/register", api_version=API)
    client.call("POST", path + "/unregister", api_version=API)
    assert state(client, path) == "Unregistered"
    listed = client.body(client.get(path.rsplit("/", 1)[0], api_version=API))["value"]
    assert [f["name"] for f in listed] == ["Microsoft.ContainerService/ManagedGPUExperiencePreview"]


def test_put_and_delete_are_refused(client):
    path = feature(client)
    assert client.put(path, {"properties": {}}, api_version=API).status_code == 405
    client.get(path, api_version=API)
    assert client.delete(path, api_version=API).status_code == 405


def test_provider_register(client):
    response = client.call("POST", "/subscriptions/%s/providers/Microsoft.ContainerService/register" % client.sub,
                           api_version="2021-04-01")
    assert response.status_code == 200 and client.body(response)["registrationState"] == "Registered"
