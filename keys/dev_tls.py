"""A self-signed TLS certificate for development (``tongban serve --tls``): phones allow the camera and WebAuthn
only on HTTPS origins (or localhost), so trying the counter's camera or the wallet on a phone needs one.

An ECDSA P-256 key and an X.509 v3 certificate (RFC 5280) for the given host names and addresses, valid 30 days,
made with ``cryptography`` and kept in the data directory (key file 0600). Reused while it is valid and covers the
same names; its SHA-256 fingerprint is what a user compares when the browser asks (there is no CA to vouch for it).
Never for production: put a real certificate on the reverse proxy there.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 30


def _names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _still_good(cert_path: Path, hosts: list[str], now: dt.datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    return cert.not_valid_after_utc > now + dt.timedelta(days=1) and set(_names(hosts)) <= set(sans)


def dev_certificate(directory: Path, hosts: list[str], now: dt.datetime | None = None) -> tuple[Path, Path, str]:
    """(certificate file, key file, SHA-256 fingerprint as colon-separated hex) for ``hosts``, made if needed."""
    now = now or dt.datetime.now(dt.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "dev-tls.crt", directory / "dev-tls.key"
    if not (_still_good(cert_path, hosts, now) and key_path.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"tongban development ({hosts[0]})")])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))
                .add_extension(x509.SubjectAlternativeName(_names(hosts)), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(key, hashes.SHA256()))
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert_path, key_path, cert.fingerprint(hashes.SHA256()).hex(":").upper()
