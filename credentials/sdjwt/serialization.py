"""The compact serialisation of RFC 9901 §4: ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~[<KB-JWT>]``.

Without Key Binding the string ends in ``~``; with it, the KB-JWT follows the last ``~`` (§4). An empty part
between two ``~`` is refused (it is no Disclosure), and so is anything longer than ``MAX_CHARS``, before any
decoding. ``sd_hash`` (§4.3.1) is the digest of everything up to and including the last ``~``, as sent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from credentials.sdjwt.disclosures import MAX_DISCLOSURES
from credentials.sdjwt.errors import SdJwtError
from keys import b64url

SEPARATOR = "~"
MAX_CHARS = 256 * 1024
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_PART = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Compact:
    jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None
    without_kb: str  # the SD-JWT as sent, up to and including its last "~": what sd_hash covers


def split(text: object) -> Compact:
    """Split a compact SD-JWT or SD-JWT+KB; raise ``SdJwtError`` on anything else."""
    if not isinstance(text, str) or not text or len(text) > MAX_CHARS or not text.isascii():
        raise SdJwtError(f"an SD-JWT must be an ASCII string of at most {MAX_CHARS} characters")
    if SEPARATOR not in text:
        raise SdJwtError("an SD-JWT has at least one ~ after its JWT")
    head, _, kb = text.rpartition(SEPARATOR)
    parts = head.split(SEPARATOR)
    if len(parts) - 1 > MAX_DISCLOSURES:
        raise SdJwtError(f"more than {MAX_DISCLOSURES} Disclosures")
    if not _JWS.fullmatch(parts[0]):
        raise SdJwtError("the Issuer-signed JWT is not a compact JWS")
    if any(not _PART.fullmatch(p) for p in parts[1:]):
        raise SdJwtError("a Disclosure is empty or not base64url", "disclosure_malformed")
    if kb and not _JWS.fullmatch(kb):
        raise SdJwtError("the Key Binding JWT is not a compact JWS", "kb_invalid")
    return Compact(parts[0], tuple(parts[1:]), kb or None, head + SEPARATOR)


def join(jwt: str, disclosures: list[str] | tuple[str, ...], kb_jwt: str | None = None) -> str:
    return SEPARATOR.join([jwt, *disclosures]) + SEPARATOR + (kb_jwt or "")


def sd_hash(without_kb: str) -> str:
    """§4.3.1: base64url(SHA-256(ASCII of the SD-JWT with its Disclosures, up to the last ~))."""
    return b64url(hashlib.sha256(without_kb.encode("ascii")).digest())
