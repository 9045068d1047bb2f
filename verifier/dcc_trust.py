"""EU DCC document signers at the counter: ``tongban verifier import-dcc-trust FILE`` and the store it fills.

Accepted files (JSON, at most 16 MiB, 20,000 certificates):

- the EU gateway's trust list (DGCG ``GET /trustList``, as national backends pass it on): a list of entries,
  or ``{"certificates": [...]}``, each ``{"kid", "certificateType", "country", "rawData", "thumbprint"?, ...}``
  with ``rawData`` the base64 DER certificate and ``kid`` base64 of its first 8 SHA-256 bytes;
- the mapping some apps use: ``{"<kid>": ["<base64 DER>", ...], ...}``.

Each DSC is checked (``keys.x509_dsc``): it parses; its kid (and thumbprint, when given) is its own; its key is
P-256 or RSA of at least 2048 bits (the keys of ES256 and PS256); it has not expired at import (a DSC not yet
valid is kept: it is checked again at every verification); the entry's country is its subject's; and, when
CSCA certificates are given (``--csca`` files, or ``certificateType: CSCA`` entries of the list itself), it
is signed by one of its country's CSCAs valid now (``keys.x509_dsc.issued_by`` says what that covers).
Not checked: the gateway's own signature over each entry (the upload's CMS ``signature``; checking it needs
the DGCG trust anchor, which a counter is not given) -- so the file must come over a channel the counter
trusts, as its ``--root`` key does. Without any CSCA, DSCs are stored unchained, and the report says so.

An import replaces the whole set (a DSC the gateway withdrew disappears), atomically: a counter verifying
meanwhile sees the old set or the new one, never half of either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from keys.x509_dsc import Certificate, CertificateError, issued_by, read_certificate
from verifier.cache import write_atomic
from verifier.cache_layout import CacheLayout
from verifier.errors import VerifierError

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 20_000
FORMAT = "tongban-dcc-signers/1"


@dataclass(frozen=True)
class Entry:
    label: str  # where it is in the file, for the report
    der: bytes | None
    kid: str | None  # as the file states it (base64)
    country: str | None
    certificate_type: str
    thumbprint: str | None = None


@dataclass
class ImportReport:
    stored: int = 0
    chained: int = 0
    cscas: int = 0
    refused: dict[str, str] = field(default_factory=dict)  # entry label → reason code


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError(f"{what} is not base64 text")
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not base64") from exc


def parse_trust_file(data: bytes) -> list[Entry]:
    """The entries of a trust list file (either format); ``VerifierError`` (``dcc_trust_malformed``) if neither."""
    if len(data) > MAX_FILE_BYTES:
        raise VerifierError(f"the DCC trust file is larger than {MAX_FILE_BYTES} bytes", "dcc_trust_malformed")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise VerifierError(f"the DCC trust file is not JSON: {exc}", "dcc_trust_malformed") from exc
    if isinstance(doc, dict) and isinstance(doc.get("certificates"), list):
        doc = doc["certificates"]
    entries: list[Entry] = []
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            if not isinstance(item, dict):
                raise VerifierError(f"entry {i} of the DCC trust list is not an object", "dcc_trust_malformed")
            der = _optional_der(item.get("rawData"))
            entries.append(Entry(label=f"#{i} kid {item.get('kid')}", der=der, kid=_str(item.get("kid")),
                                 country=_str(item.get("country")), thumbprint=_str(item.get("thumbprint")),
                                 certificate_type=_str(item.get("certificateType")) or "DSC"))
    elif isinstance(doc, dict) and all(isinstance(k, str) and isinstance(v, list) for k, v in doc.items()):
        for kid, ders in doc.items():
            for j, text in enumerate(ders):
                entries.append(Entry(label=f"kid {kid} [{j}]", der=_optional_der(text), kid=kid, country=None,
                                     certificate_type="DSC"))
    else:
        raise VerifierError("the DCC trust file is neither a gateway trust list (a list of entries, or "
                            '{"certificates": [...]}) nor a {kid: [certificate, ...]} mapping', "dcc_trust_malformed")
    if len(entries) > MAX_ENTRIES:
        raise VerifierError(f"the DCC trust file holds more than {MAX_ENTRIES} certificates", "dcc_trust_malformed")
    return entries


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _optional_der(text: Any) -> bytes | None:
    try:
        return _b64(text, "rawData")
    except ValueError:
        return None  # refused per entry below, with the entry named


def read_cscas(data: bytes) -> list[bytes]:
    """CSCA certificates from a ``--csca`` file: PEM (one or more), one DER certificate, or a trust list's
    ``certificateType: CSCA`` entries."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        blocks = data.split(b"-----BEGIN CERTIFICATE-----")[1:]
        try:
            return [base64.b64decode(b.split(b"-----END CERTIFICATE-----")[0], validate=False) for b in blocks]
        except (binascii.Error, ValueError) as exc:
            raise VerifierError("a PEM block of the CSCA file is not base64", "dcc_trust_malformed") from exc
    if data[:1] == b"\x30":
        return [data]
    return [e.der for e in parse_trust_file(data) if e.certificate_type == "CSCA" and e.der]


def _check(entry: Entry, now: int, cscas: list[Certificate]) -> tuple[Certificate, bool]:
    """The DSC of ``entry`` and whether it chains, or ``CertificateError`` naming why it is refused."""
    if entry.der is None:
        raise CertificateError("rawData is missing or not base64", "dsc_malformed")
    cert = read_certificate(entry.der)
    if entry.kid is not None and entry.kid.strip() != base64.b64encode(cert.kid).decode():
        raise CertificateError("the entry's kid is not its certificate's (SHA-256, first 8 bytes)", "dsc_kid_mismatch")
    if entry.thumbprint is not None and entry.thumbprint.lower() != hashlib.sha256(entry.der).hexdigest():
        raise CertificateError("the entry's thumbprint is not its certificate's SHA-256", "dsc_kid_mismatch")
    if cert.key_type not in ("EC-P256", "RSA") or not (cert.cose_algorithm_fits(-7) or cert.cose_algorithm_fits(-37)):
        raise CertificateError(f"a {cert.key_type} key signs neither ES256 nor PS256", "dsc_key_unsupported")
    if cert.not_after < now:
        raise CertificateError("the certificate has expired", "dsc_expired")
    if entry.country and cert.country and entry.country.upper() != cert.country.upper():
        raise CertificateError(f"listed for {entry.country}, issued to {cert.country}", "dsc_country_mismatch")
    if not cscas:
        return cert, False
    country = (entry.country or cert.country or "").upper()
    if not any(issued_by(cert, ca) for ca in cscas if ca.valid_at(now) and (not country or not ca.country
                                                                           or ca.country.upper() == country)):
        raise CertificateError("not signed by any CSCA given for its country", "dsc_chain")
    return cert, True


def import_signers(data: bytes, *, now: int, csca_ders: list[bytes] = ()) -> tuple[list[dict[str, Any]], ImportReport]:
    """Check every DSC of a trust file; the records to store and a report (nothing is written here)."""
    entries = parse_trust_file(data)
    report = ImportReport()
    cscas: list[Certificate] = []
    for der in [*csca_ders, *(e.der for e in entries if e.certificate_type == "CSCA" and e.der)]:
        try:
            cscas.append(read_certificate(der))
        except CertificateError as exc:
            raise VerifierError(f"a CSCA certificate is unreadable: {exc}", "dcc_trust_malformed") from exc
    report.cscas = len(cscas)
    records: list[dict[str, Any]] = []
    for entry in entries:
        if entry.certificate_type == "CSCA":
            continue
        if entry.certificate_type != "DSC":  # the gateway's UPLOAD / AUTHENTICATION certificates sign nothing here
            report.refused[entry.label] = "dsc_not_a_signer"
            continue
        try:
            cert, chained = _check(entry, now, cscas)
        except CertificateError as exc:
            report.refused[entry.label] = exc.reason
            continue
        records.append({"kid": base64.b64encode(cert.kid).decode(), "country": entry.country or cert.country,
                        "der": base64.b64encode(cert.der).decode(), "chained": chained})
        report.chained += chained
    report.stored = len(records)
    return records, report


class DscStore:
    """The counter's DSCs by kid, read from ``<cache>/dcc-signers.json`` (re-read when the file changes)."""

    def __init__(self, cache_dir: Path):
        self.path = CacheLayout(cache_dir).dcc_signers
        self._seen: tuple[int, int] | None = None
        self._by_kid: dict[bytes, list[dict[str, Any]]] = {}
        self.imported_at: int | None = None

    def save(self, records: list[dict[str, Any]], *, now: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({"format": FORMAT, "imported_at": now, "signers": records}))

    def loaded(self) -> bool:
        """Whether any DSC list was imported (a counter without one says so rather than "unknown signer")."""
        self._refresh()
        return self._seen is not None

    def find(self, kid: bytes) -> list[tuple[Certificate, dict[str, Any]]]:
        """Every stored DSC with this kid (8 bytes can collide: each is tried), parsed on first use."""
        self._refresh()
        try:
            return [(_parse(base64.b64decode(r["der"])), r) for r in self._by_kid.get(kid, [])]
        except (CertificateError, ValueError) as exc:  # the file was altered after import
            raise VerifierError(f"a stored DCC signer is unreadable: {exc}", "dcc_trust_missing") from exc

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except OSError:
            self._seen, self._by_kid = None, {}
            return
        key = (stat.st_mtime_ns, stat.st_size)
        if key == self._seen:
            return
        try:
            doc = json.loads(self.path.read_text())
            by_kid: dict[bytes, list[dict[str, Any]]] = {}
            for record in doc["signers"]:
                by_kid.setdefault(base64.b64decode(record["kid"]), []).append(record)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VerifierError(f"the counter's DCC signer file is unreadable: {exc}", "dcc_trust_missing") from exc
        self._seen, self._by_kid, self.imported_at = key, by_kid, doc.get("imported_at")


@lru_cache(maxsize=1024)
def _parse(der: bytes) -> Certificate:
    return read_certificate(der)
