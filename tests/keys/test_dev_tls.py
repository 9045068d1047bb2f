"""The development TLS certificate of `tongban serve --tls` (keys.dev_tls): names, lifetime, reuse, key file mode."""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509

from keys.dev_tls import VALID_DAYS, dev_certificate


def test_a_certificate_for_the_names_reused_while_it_covers_them_and_is_valid(tmp_path):
    now = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    cert_path, key_path, fingerprint = dev_certificate(tmp_path, ["127.0.0.1", "localhost"], now)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert cert.not_valid_after_utc - now <= dt.timedelta(days=VALID_DAYS)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert key_path.stat().st_mode & 0o777 == 0o600 and len(fingerprint.split(":")) == 32
    assert dev_certificate(tmp_path, ["localhost"], now)[2] == fingerprint  # still covers it: reused
    assert dev_certificate(tmp_path, ["192.168.1.20", "localhost"], now)[2] != fingerprint  # a new name: a new one
    later = now + dt.timedelta(days=VALID_DAYS)
    assert dev_certificate(tmp_path, ["192.168.1.20", "localhost"], later)[2] != fingerprint  # expiring: renewed
