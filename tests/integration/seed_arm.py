"""Raw ARM calls that the seed modules (cluster_seed.py, isolation_seed.py) use to put resources straight
into the emulator, and the values they share."""
import time

import requests

LOCATION = "westeurope"
RG_API = "2024-03-01"
NET_API = "2024-05-01"
ACR_API = "2025-04-01"
# The cache rule a network-isolated cluster pulls its bootstrap images through.
AKS_MCR_RULE = {"sourceRepository": "mcr.microsoft.com/*", "targetRepository": "aks-managed-repository/*"}


class Arm:
    """Raw ARM calls with a token of the emulator's service principal; every write is awaited."""

    def __init__(self, emu):
        self.emu = emu
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = emu.ca_path
        token = self.session.post(
            "%s/%s/oauth2/v2.0/token" % (emu.url, emu.tenant_id),
            data={"grant_type": "client_credentials", "client_id": emu.client_id,
                  "client_secret": emu.client_secret, "scope": emu.url + "/.default"}, timeout=30).json()
        self.session.headers["Authorization"] = "Bearer " + token["access_token"]
        self.sub = "/subscriptions/" + emu.subscription_id

    def call(self, method, path, api_version, body=None):
        return self.session.request(method, self.emu.url + path, params={"api-version": api_version},
                                    json=body, timeout=30)

    def put(self, path, api_version, body):
        response = self.call("PUT", path, api_version, body)
        assert response.status_code in (200, 201, 202), "%s: %s" % (path, response.text)
        self.wait(response)
        return self.get(path, api_version)

    def get(self, path, api_version):
        response = self.call("GET", path, api_version)
        return response.json() if response.status_code == 200 else None

    def wait(self, response):
        """Until the operation of ``response`` has succeeded (it fails the test if it ends otherwise)."""
        url = response.headers.get("Azure-AsyncOperation")
        location = response.headers.get("Location")
        for _attempt in range(200):
            if url:
                status = self.session.get(url, timeout=30).json().get("status")
                if status not in ("InProgress", "Accepted", "Running"):
                    assert status == "Succeeded", status
                    return
            elif location:
                if self.session.get(location, timeout=30).status_code != 202:
                    return
            else:
                return
            time.sleep(0.02)
        raise AssertionError("operation did not finish")

    def rg(self, name):
        return "%s/resourceGroups/%s" % (self.sub, name)
