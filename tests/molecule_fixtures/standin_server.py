"""Test stand-ins the gpu_jumpbox molecule scenarios talk to, on 127.0.0.1 only.

* an HTTP server for the local signed apt repository (apt_repo.py) that replaces
  NVIDIA's container toolkit repository through the role's mirror variable, and
  for a PyPI mirror (pypi_mirror.py, at /pypi/simple/) standing for the role's
  gpu_jumpbox_pip_index_url;
* an HTTPS server (certificate from a CA made here) that plays the Azure instance
  metadata service (``GET /metadata/identity/oauth2/token``, ``Metadata: true``)
  and an Azure Container Registry's token exchange (``POST /oauth2/exchange``),
  with a request log at ``GET /_standin/requests`` that tests assert on.

Tokens are unsigned-looking JWTs with real ``exp`` claims; nothing here is
secret. Each server exits by itself after ``--lifetime`` seconds.

CLI::

    python standin_server.py up   --dir DIR [--http-port 38080] [--https-port 38443]
    python standin_server.py down --dir DIR
    python standin_server.py serve ...   (what ``up`` runs in the background)

``up`` builds DIR/www (apt repository, PyPI mirror) and DIR/tls when missing, starts the servers in the
background (pid in DIR/standin.pid, log in DIR/standin.log), waits until they
answer and is a no-op when they already run. ``down`` stops them.
"""

import argparse
import base64
import datetime
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

LOOPBACK = "127.0.0.1"
TENANT = "11111111-2222-3333-4444-555555555555"
REFRESH_LIFETIME = 3 * 3600  # what ACR issues


# ------------------------------------------------------------------ tokens and TLS


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims):
    header = {"alg": "RS256", "typ": "JWT", "kid": "standin"}
    return "%s.%s.%s" % (
        _b64url(json.dumps(header).encode()),
        _b64url(json.dumps(claims, sort_keys=True).encode()),
        _b64url(b"stand-in signature, not verified"),
    )


def make_tls(directory):
    """CA + server certificate for 127.0.0.1/localhost; returns (ca.pem, server.pem, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    paths = tuple(os.path.join(directory, n) for n in ("ca.pem", "server.pem", "server.key"))
    if all(os.path.exists(p) for p in paths):
        return paths
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "airgap.aks_inference test CA (stand-in)")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(paths[1], "wb") as f:
        f.write(cert.public_bytes(pem))
    with open(paths[2], "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(paths[2], 0o600)
    return paths


# ------------------------------------------------------------------ IMDS + ACR exchange


class AzureStandIn(object):
    """State of the IMDS/ACR stand-in: issued tokens and a request log (no secrets in it)."""

    def __init__(self, login_server=None, refresh_lifetime=REFRESH_LIFETIME, faults=None):
        self.login_server = login_server  # None: accept any service
        self.refresh_lifetime = refresh_lifetime
        self.faults = list(faults or [])  # statuses to answer before succeeding, e.g. [429, 503]
        self.issued = set()
        self.log = []
        self.lock = threading.Lock()

    def record(self, **entry):
        with self.lock:
            self.log.append(dict(entry, time=time.time()))


class AzureHandler(BaseHTTPRequestHandler):
    server_version = "airgap-standin/1"
    state = None  # AzureStandIn, set by make_azure_server

    def log_message(self, fmt, *args):  # quiet; the request log is the record
        sys.stderr.write("azure-standin: " + (fmt % args) + "\n")

    def _send(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, path):
        with self.state.lock:
            status = self.state.faults.pop(0) if self.state.faults else None
        if status:
            self.state.record(method=self.command, path=path, status=status, fault=True)
            self._send(status, {"error": "standin_fault", "error_description": "injected %d" % status}, {"Retry-After": "0"})
            return True
        return False

    def do_GET(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/_standin/requests":
            with self.state.lock:
                return self._send(200, list(self.state.log))
        if parts.path != "/metadata/identity/oauth2/token":
            return self._send(404, {"error": "not_found"})
        if self._fault(parts.path):
            return None
        if self.headers.get("Metadata") != "true":
            self.state.record(method="GET", path=parts.path, status=400)
            return self._send(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
        resource = (query.get("resource") or [""])[0]
        client_id = (query.get("client_id") or [None])[0]
        if not resource or not query.get("api-version"):
            self.state.record(method="GET", path=parts.path, status=400)
            return self._send(400, {"error": "invalid_request", "error_description": "resource and api-version required"})
        now = int(time.time())
        token = make_jwt({"aud": resource, "tid": TENANT, "iat": now, "exp": now + 86399,
                          "appid": client_id or "system-assigned", "nonce": "%d-%d" % (now, len(self.state.log))})
        with self.state.lock:
            self.state.issued.add(token)
        self.state.record(method="GET", path=parts.path, status=200, resource=resource, client_id=client_id)
        return self._send(200, {"access_token": token, "expires_in": "86399", "expires_on": str(now + 86399),
                                "resource": resource, "token_type": "Bearer", "client_id": client_id or "system"})

    def do_POST(self):
        parts = urlsplit(self.path)
        if parts.path != "/oauth2/exchange":
            return self._send(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
        if self._fault(parts.path):
            return None
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        entry = dict(method="POST", path=parts.path, grant_type=form.get("grant_type"), service=form.get("service"),
                     tenant=form.get("tenant"), content_type=self.headers.get("Content-Type"))
        problem = None
        if form.get("grant_type") != "access_token":
            problem = "grant_type must be access_token"
        elif self.state.login_server and form.get("service") != self.state.login_server:
            problem = "service must be %s" % self.state.login_server
        elif form.get("access_token") not in self.state.issued:
            problem = "access_token was not issued by the IMDS stand-in"
        if problem:
            self.state.record(status=401, **entry)
            return self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": problem}]})
        now = int(time.time())
        refresh = make_jwt({"iss": "Azure Container Registry", "aud": form["service"], "tenant": form.get("tenant"),
                            "iat": now, "exp": now + self.state.refresh_lifetime, "grant_type": "refresh_token",
                            "jti": "standin-%d-%d" % (now, len(self.state.log))})
        self.state.record(status=200, **entry)
        return self._send(200, {"refresh_token": refresh})


def make_azure_server(port, tls_dir, state=None, host=LOOPBACK):
    ca, cert, key = make_tls(tls_dir)
    handler = type("BoundAzureHandler", (AzureHandler,), {"state": state or AzureStandIn()})
    server = ThreadingHTTPServer((host, port), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    return server


# ------------------------------------------------------------------ apt repository


class QuietFileHandler(SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("apt-standin: " + (fmt % args) + "\n")


def make_repo_server(port, repo_dir, host=LOOPBACK):
    server = ThreadingHTTPServer((host, port), partial(QuietFileHandler, directory=repo_dir))
    server.daemon_threads = True
    return server


# ------------------------------------------------------------------ CLI


def _answers(port, tls):
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
            if tls:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                with ctx.wrap_socket(sock):
                    pass
        return True
    except OSError:
        return False


def _pid_alive(pidfile):
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def cmd_serve(args):
    state = AzureStandIn(login_server=args.login_server)
    servers = [make_repo_server(args.http_port, os.path.join(args.dir, "www")),
               make_azure_server(args.https_port, os.path.join(args.dir, "tls"), state)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait(args.lifetime)
    for server in servers:
        server.shutdown()
    return 0


def cmd_up(args):
    import apt_repo
    import pypi_mirror

    os.makedirs(args.dir, exist_ok=True)
    pidfile = os.path.join(args.dir, "standin.pid")
    if _pid_alive(pidfile) and _answers(args.http_port, False) and _answers(args.https_port, True):
        print("stand-ins already running (pid %s)" % _pid_alive(pidfile))
        return 0
    www = os.path.join(args.dir, "www")
    if not os.path.exists(os.path.join(www, "gpgkey")):
        apt_repo.build(www)
    if args.pypi_requirement and not os.path.isdir(os.path.join(www, "pypi", "simple")):
        pypi_mirror.build(os.path.join(www, "pypi"), args.pypi_requirement)
    make_tls(os.path.join(args.dir, "tls"))
    for port in (args.http_port, args.https_port):
        if _answers(port, False):
            print("port %d on %s is taken by something else" % (port, LOOPBACK), file=sys.stderr)
            return 1
    cmd = [sys.executable, os.path.abspath(__file__), "serve", "--dir", args.dir, "--http-port", str(args.http_port),
           "--https-port", str(args.https_port), "--lifetime", str(args.lifetime)]
    if args.login_server:
        cmd += ["--login-server", args.login_server]
    with open(os.path.join(args.dir, "standin.log"), "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    with open(pidfile, "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _answers(args.http_port, False) and _answers(args.https_port, True):
            print("stand-ins up (pid %d): apt repo http://%s:%d/  azure https://%s:%d/"
                  % (proc.pid, LOOPBACK, args.http_port, LOOPBACK, args.https_port))
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    print("stand-ins did not start; see %s" % os.path.join(args.dir, "standin.log"), file=sys.stderr)
    return 1


def cmd_down(args):
    pidfile = os.path.join(args.dir, "standin.pid")
    pid = _pid_alive(pidfile)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _attempt in range(50):
            if not _pid_alive(pidfile):
                break
            time.sleep(0.1)
        print("stand-ins stopped (pid %d)" % pid)
    else:
        print("stand-ins not running")
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "serve", "down"):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True, help="state directory (www/, tls/, pid, log)")
        if name != "down":
            p.add_argument("--http-port", type=int, default=38080)
            p.add_argument("--https-port", type=int, default=38443)
            p.add_argument("--lifetime", type=int, default=3600, help="seconds before the servers exit by themselves")
            p.add_argument("--login-server", default=None, help="the only service the exchange accepts")
        if name == "up":
            p.add_argument("--pypi-requirement", action="append", default=[],
                           help="serve a PyPI mirror at /pypi/simple/ holding this requirement (repeatable)")
    args = parser.parse_args(argv)
    args.dir = os.path.abspath(os.path.expanduser(args.dir))
    return {"up": cmd_up, "serve": cmd_serve, "down": cmd_down}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
