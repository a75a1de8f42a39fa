"""A private CA and a server certificate for 127.0.0.1 / localhost.

Files in the work directory: ca.pem (the bundle clients trust), ca-key.pem, server.pem,
server-key.pem. They are reused while valid and covering the requested host, so a
standalone emulator keeps the CA a client already trusts across restarts.
"""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _write(path, data, private=False):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _make_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "armemu local CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "airgap.aks_inference tests")])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_server(ca_key, ca_cert, hosts):
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    sans = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, key_cert_sign=False,
                                     crl_sign=False, content_commitment=False, data_encipherment=False,
                                     key_agreement=True, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _load(path_cert, path_key):
    try:
        with open(path_cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(path_key, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        return key, cert
    except (OSError, ValueError):
        return None, None


def _not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)  # cryptography >= 42
    if value is None:
        value = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return value


def _valid_for(cert, days=1):
    return _not_after(cert) > _now() + datetime.timedelta(days=days)


def _covers(cert, hosts):
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    have |= set(san.get_values_for_type(x509.DNSName))
    for h in hosts:
        try:
            h = str(ipaddress.ip_address(h))
        except ValueError:
            pass
        if h not in have:
            return False
    return True


def ensure_certs(workdir, host="127.0.0.1"):
    """Create or reuse the CA and server certificate; return (ca_path, cert_path, key_path)."""
    os.makedirs(workdir, exist_ok=True)
    ca_path = os.path.join(workdir, CA_FILE)
    ca_key_path = os.path.join(workdir, CA_KEY_FILE)
    cert_path = os.path.join(workdir, CERT_FILE)
    key_path = os.path.join(workdir, KEY_FILE)
    hosts = ["127.0.0.1", "localhost", "::1"]
    if host not in hosts:
        hosts.append(host)

    ca_key, ca_cert = _load(ca_path, ca_key_path)
    new_ca = ca_cert is None or not _valid_for(ca_cert, days=30)
    if new_ca:
        ca_key, ca_cert = _make_ca()
        _write(ca_key_path, _key_pem(ca_key), private=True)
        _write(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM))

    _key, cert = _load(cert_path, key_path)
    if new_ca or cert is None or not _valid_for(cert) or not _covers(cert, hosts) \
            or cert.issuer != ca_cert.subject:
        key, cert = _make_server(ca_key, ca_cert, hosts)
        _write(key_path, _key_pem(key), private=True)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return ca_path, cert_path, key_path
