"""The public Python API: :class:`Emulator`."""
import ipaddress
import json
import os
import sys

from .app import App
from .certs import ensure_certs
from .server import HTTPSServer, bound_port, make_ssl_context, serve_in_thread

DEFAULT_TENANT_ID = "11111111-1111-4111-8111-111111111111"
DEFAULT_SUBSCRIPTION_ID = "22222222-2222-4222-8222-222222222222"
DEFAULT_CLIENT_ID = "33333333-3333-4333-8333-333333333333"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"


def check_loopback(host):
    if host == "localhost":
        return "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host must be an IP address in 127.0.0.0/8 (or 'localhost'), not {host!r}") from None
    if ip.version != 4 or ip not in ipaddress.ip_network("127.0.0.0/8"):
        raise ValueError(f"refusing to listen on {host}: only 127.0.0.0/8 is allowed")
    return str(ip)


class Emulator:
    """A local ARM emulator served over HTTPS on a loopback address.

    >>> emu = Emulator(workdir=tmp_path, port=0, time_scale=0.0)
    >>> emu.start(); ...; emu.stop()
    """

    def __init__(self, workdir, port=0, host="127.0.0.1", time_scale=1.0,
                 tenant_id=DEFAULT_TENANT_ID, client_id=DEFAULT_CLIENT_ID,
                 client_secret=DEFAULT_CLIENT_SECRET, subscription_id=DEFAULT_SUBSCRIPTION_ID,
                 durations=None, token_lifetime=3599, log_requests=False, log_stream=None):
        self.workdir = os.path.abspath(str(workdir))
        self.host = check_loopback(host)
        self.port = int(port)
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.subscription_id = subscription_id
        self.ca_path, self._cert_path, self._key_path = ensure_certs(self.workdir, self.host)
        self.app = App(tenant_id, client_id, client_secret, subscription_id, time_scale=time_scale,
                       durations=durations, token_lifetime=token_lifetime,
                       log_stream=(log_stream or sys.stderr) if log_requests else None)
        self._server = None
        self._thread = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self):
        if self._server is not None:
            return self
        self._server = HTTPSServer((self.host, self.port), self.app,
                                   make_ssl_context(self._cert_path, self._key_path))
        self.port = bound_port(self._server)
        self.app.base_url = self.url
        self._thread = serve_in_thread(self._server)
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def running(self):
        return self._server is not None

    @property
    def url(self):
        return f"https://{self.host}:{self.port}"

    def info(self):
        """Everything a client needs (what ``emulator.json`` holds, without the pid)."""
        return {"url": self.url, "ca_path": self.ca_path, "tenant_id": self.tenant_id,
                "client_id": self.client_id, "client_secret": self.client_secret,
                "subscription_id": self.subscription_id}

    def write_info(self, path=None, extra=None):
        path = path or os.path.join(self.workdir, "emulator.json")
        data = self.info()
        data.update(extra or {})
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
        return path

    # -- request log ---------------------------------------------------------------------
    def requests(self, since=0):
        """Log entries (dicts) of every request, oldest first."""
        return self.app.log.entries(since=since)

    def writes(self, since=0):
        """Entries of PUT/PATCH/DELETE/POST requests on ARM resources."""
        return self.app.log.entries(writes_only=True, since=since)

    def clear_requests(self):
        self.app.log.clear()

    # -- faults --------------------------------------------------------------------------
    def add_fault(self, **rule):
        """Add a fault rule (see armemu.faults); returns its id."""
        return self.app.faults.add(rule)

    def faults(self):
        return self.app.faults.list()

    def clear_faults(self):
        self.app.faults.clear()

    # -- time ----------------------------------------------------------------------------
    @property
    def time_scale(self):
        return self.app.time_scale

    def set_time_scale(self, value):
        self.app.set_time_scale(value)

    def set_duration(self, resource_type, seconds):
        self.app.set_duration(resource_type, seconds)

    def config(self):
        return self.app.config()

    def advance(self, seconds):
        """Move the emulator's clock forward (operations progress without sleeping)."""
        self.app.advance(seconds)

    # -- state ---------------------------------------------------------------------------
    def reset(self):
        """Drop all resources, operations, faults and the log; restore time_scale/durations."""
        self.app.reset()

    def resources(self):
        """{resource id: GET body} of every stored resource (resource groups included)."""
        return self.app.resources()

    def expire_tokens(self, token=None):
        """Expire one issued token, or all of them (ARM then answers 401 ExpiredAuthenticationToken)."""
        self.app.authority.expire(token)
