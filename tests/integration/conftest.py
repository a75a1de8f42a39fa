"""Run playbooks of the collection against the ARM emulator."""
import json
import os
import subprocess
import sys

import pytest
from armemu.testing import DNS_API, RG_API, ArmClient, sdk_pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


class PlaybookRun:
    def __init__(self, proc, events):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.events = events

    @property
    def stats(self):
        return (self.events or {}).get("stats", {}).get("localhost", {})

    @property
    def changed(self):
        return self.stats.get("changed", 0)

    @property
    def failures(self):
        return self.stats.get("failures", 0)

    def tasks(self):
        for play in (self.events or {}).get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    yield task["task"]["name"], result

    def failed_results(self):
        return [(name, result) for name, result in self.tasks() if result.get("failed")]

    def failure_message(self):
        """The message of the first failed task (of its first failed item, for loops)."""
        failed = self.failed_results()
        if not failed:
            return ""
        result = failed[0][1]
        for item in result.get("results") or []:
            if item.get("failed"):
                return item.get("msg", "")
        return result.get("msg", "")

    def __repr__(self):
        return "PlaybookRun(rc=%s, stats=%s, failure=%r, stderr=%s)" % (
            self.rc, self.stats, self.failure_message(), self.stderr[-2000:])


def connection_vars(emu):
    return {
        "azure_connection": {
            "subscription_id": emu.subscription_id,
            "auth_source": "credentials",
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "tenant_id": emu.tenant_id,
            "arm_endpoint": emu.url,
            "authority": emu.url,
            "ca_bundle": emu.ca_path,
        }
    }


@pytest.fixture
def connection(arm):
    """The azure_connection variables that point the modules at the emulator."""
    return connection_vars(arm)["azure_connection"]


@pytest.fixture
def playbook(arm, tmp_path):
    """``playbook(name, extra_vars=None, check=False, diff=False, verbose=0, json_output=True)``."""

    def run(name, extra_vars=None, check=False, diff=False, verbose=0, json_output=True, inventory=None,
            env=None, connection=True):
        variables = connection_vars(arm) if connection else {}
        variables.update(extra_vars or {})
        vars_file = tmp_path / "extra-vars.json"
        vars_file.write_text(json.dumps(variables))
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory or os.path.join(ROOT, "tests", "integration",
                                                                                      "inventory.yml"),
               os.path.join(ROOT, "playbooks", name), "-e", "@" + str(vars_file)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbose:
            cmd.append("-" + "v" * verbose)
        environ = dict(os.environ)
        environ.update(
            ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            PATH=BIN + os.pathsep + environ.get("PATH", ""),
        )
        # Never pick up a developer's real Azure credentials.
        for key in list(environ):
            if key.startswith("AZURE_"):
                del environ[key]
        if json_output:
            environ["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        environ.update(env or {})
        proc = subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=900,
                              check=False)
        events = None
        if json_output:
            start = proc.stdout.find("{")
            events = json.loads(proc.stdout[start:]) if start >= 0 else None
        return PlaybookRun(proc, events)

    return run


@pytest.fixture
def client(arm):
    """Raw ARM calls to the emulator through the real Azure SDK pipeline."""
    return ArmClient(arm, sdk_pipeline(arm))


@pytest.fixture
def private_endpoint_network(arm, client):  # pylint: disable=redefined-outer-name
    """``private_endpoint_network(rg, zones)``: what the isolated_network stage leaves for a stage that puts
    private endpoints in it (resource group, vnet-llm with its private endpoint subnet, the private DNS
    ``zones`` linked to it), put straight into the emulator; returns the virtual network. The request log is
    cleared afterwards."""

    def make(rg, zones):
        assert client.put(client.rg(rg), {"location": "westeurope"}, api_version=RG_API).status_code == 201
        vnet = client.make_vnet(rg, "vnet-llm", prefixes=("10.40.0.0/16",), subnets=[
            {"name": "snet-private-endpoints", "properties": {"addressPrefix": "10.40.5.0/24",
                                                              "defaultOutboundAccess": False}}])
        for zone in zones:
            client.poll(client.put(client.zone(rg, zone), {"location": "global"}, api_version=DNS_API))
            client.poll(client.put(client.link(rg, zone, "vnet-llm"), {
                "location": "global", "properties": {"virtualNetwork": {"id": vnet["id"]}}}, api_version=DNS_API))
        arm.clear_requests()
        return vnet

    return make
