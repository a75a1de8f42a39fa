"""Helpers for tests that drive the emulator through the real Azure SDK.

Needs azure-core and azure-identity (the emulator itself does not).

    from armemu.testing import ArmClient, sdk_pipeline
    client = ArmClient(emu, sdk_pipeline(emu))
    client.make_rg("rg1"); r = client.put(client.vnet("rg1", "v"), {...}); client.poll(r)
"""
import json

from azure.core import PipelineClient
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential

RG_API = "2024-03-01"
NET_API = "2024-05-01"
DNS_API = "2024-06-01"


class ArmClient:
    """Raw ARM REST calls through the real SDK pipeline (no retries, so faults are visible)."""

    def __init__(self, emu, pipeline):
        self.emu = emu
        self.pipeline = pipeline
        self.sub = emu.subscription_id

    def url(self, path, api_version=NET_API):
        if path.startswith("https://"):
            return path
        sep = "&" if "?" in path else "?"
        return f"{self.emu.url}{path}" + (f"{sep}api-version={api_version}" if api_version else "")

    def call(self, method, path, body=None, api_version=NET_API, headers=None):
        kw = {"headers": headers or {}}
        if body is not None:
            kw["json"] = body
        resp = self.pipeline.send_request(HttpRequest(method, self.url(path, api_version), **kw))
        resp.read()
        return resp

    @staticmethod
    def body(resp):
        return json.loads(resp.text()) if resp.text() else None

    def get(self, path, api_version=NET_API):
        return self.call("GET", path, api_version=api_version)

    def put(self, path, body, api_version=NET_API, headers=None):
        return self.call("PUT", path, body, api_version=api_version, headers=headers)

    def patch(self, path, body, api_version=NET_API):
        return self.call("PATCH", path, body, api_version=api_version)

    def delete(self, path, api_version=NET_API):
        return self.call("DELETE", path, api_version=api_version)

    def poll(self, resp):
        """Follow Azure-AsyncOperation until the operation is no longer InProgress."""
        url = resp.headers["Azure-AsyncOperation"]
        for _attempt in range(50):
            r = self.call("GET", url)
            status = self.body(r)["status"]
            if status != "InProgress":
                return self.body(r)
        raise AssertionError("operation did not finish")

    # paths
    def rg(self, name):
        return f"/subscriptions/{self.sub}/resourceGroups/{name}"

    def vnet(self, rg, name):
        return f"{self.rg(rg)}/providers/Microsoft.Network/virtualNetworks/{name}"

    def subnet(self, rg, vnet, name):
        return f"{self.vnet(rg, vnet)}/subnets/{name}"

    def nsg(self, rg, name):
        return f"{self.rg(rg)}/providers/Microsoft.Network/networkSecurityGroups/{name}"

    def zone(self, rg, name):
        return f"{self.rg(rg)}/providers/Microsoft.Network/privateDnsZones/{name}"

    def link(self, rg, zone, name):
        return f"{self.zone(rg, zone)}/virtualNetworkLinks/{name}"

    # shortcuts
    def make_rg(self, name="rg1", location="westeurope"):
        r = self.put(self.rg(name), {"location": location}, api_version=RG_API)
        assert r.status_code in (200, 201), r.text()
        return self.body(r)

    def make_vnet(self, rg="rg1", name="vnet1", prefixes=("10.0.0.0/16",), subnets=None,
                  location="westeurope"):
        body = {"location": location, "properties": {"addressSpace": {"addressPrefixes": list(prefixes)}}}
        if subnets is not None:
            body["properties"]["subnets"] = subnets
        r = self.put(self.vnet(rg, name), body)
        assert r.status_code in (200, 201), r.text()
        assert self.poll(r)["status"] == "Succeeded"
        return self.body(self.get(self.vnet(rg, name)))

    def make_nsg(self, rg="rg1", name="nsg1", rules=None, location="westeurope"):
        body = {"location": location, "properties": {}}
        if rules is not None:
            body["properties"]["securityRules"] = rules
        r = self.put(self.nsg(rg, name), body)
        assert r.status_code in (200, 201), r.text()
        assert self.poll(r)["status"] == "Succeeded"
        return self.body(self.get(self.nsg(rg, name)))


def sdk_credential(emu):
    """The real azure-identity credential, pointed at the emulator (never at Entra ID)."""
    return ClientSecretCredential(emu.tenant_id, emu.client_id, emu.client_secret, authority=emu.url,
                                  disable_instance_discovery=True, connection_verify=emu.ca_path)


def sdk_pipeline(emu, credential=None):
    """An azure-core PipelineClient with only BearerTokenCredentialPolicy (no retries)."""
    policy = BearerTokenCredentialPolicy(credential or sdk_credential(emu), f"{emu.url}/.default")
    return PipelineClient(base_url=emu.url, policies=[policy], connection_verify=emu.ca_path)
