"""Token Status List (draft-ietf-oauth-status-list) §5: what the JWT (§5.1) and CWT (§5.2) forms share —
the algorithms allowed, the claim names of each form, the claim checks and the verified token's shape.

Signing (``signing``) and verifying (``verification``) both build on this, so the two can never disagree
on what a well-formed claim set is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from credentials.cose import COSE_ALG
from credentials.status_list._checks import URI, is_int
from credentials.status_list.encoding import StatusList
from credentials.status_list.errors import StatusListError

MAX_TOKEN_BYTES = 16 * 1024 * 1024  # a signed token is never larger than the list it carries, compressed
JWT_TYP = "statuslist+jwt"  # §5.1
CWT_TYP = "application/statuslist+cwt"  # §5.2
# Asymmetric algorithms only (§11.6 allows MACs; a counter verifying offline must not share a secret).
ALGS: dict[str, tuple[str, int]] = {name: (name, COSE_ALG[name]) for name in ("ES256", "EdDSA", "SM2")}  # RFC 9053 §2.1-2.2
HDR_TYP = 16  # COSE header label "typ" (RFC 9596)
JWT_NAMES = ("sub", "iat", "exp", "ttl", "status_list", "nbf")  # §5.1, RFC 7519 §4.1
CWT_NAMES = (2, 6, 4, 65534, 65533, 5)  # §5.2, RFC 8392 §3.1; 65534 ttl and 65533 status_list from the draft
# tongban's extension: the SHA-256 of the list's decompressed byte array (§4.1 step 2), so that a counter that
# rebuilt the list from signed deltas (``delta``) can check the result. CWT: a private-use claim label (IANA
# "CWT Claims" registry: integers below -65536); JWT: a collision-resistant name (RFC 7519 §4.3).
DIGEST_CWT, DIGEST_JWT = -65537, "tbsl_digest"


@dataclass(frozen=True)
class StatusListToken:
    """A verified Status List Token (§5): its subject (the list's URI), times and the list."""

    subject: str
    issued_at: int
    expires_at: int | None
    ttl: int | None
    status_list: StatusList
    digest: bytes | None = None  # the signed digest of the list's bits (tongban's extension), when it has one


def list_digest(status_list: StatusList) -> bytes:
    """SHA-256 of the decompressed byte array (§4.1 step 2): what the digest claim signs."""
    return hashlib.sha256(status_list.as_bytes()).digest()


def check_digest(value: Any, status_list: StatusList) -> bytes | None:
    """A signed digest must be 32 bytes and match the list it was signed with; absent is allowed (other issuers)."""
    if value is None:
        return None
    if not isinstance(value, bytes) or len(value) != 32:
        raise StatusListError("the digest claim must be 32 bytes (SHA-256)")
    if value != list_digest(status_list):
        raise StatusListError("the list does not match its signed digest", "status_list_digest")
    return value


def check_alg(alg: Any) -> tuple[Any, int]:
    """The JOSE name and COSE id of an allowed algorithm; anything else is refused."""
    if not isinstance(alg, str) or alg not in ALGS:
        raise StatusListError(f"algorithm {alg!r} is not allowed: use one of {', '.join(ALGS)}", "status_list_alg")
    return ALGS[alg]


def check_claims(sub: Any, iat: Any, exp: Any, ttl: Any) -> None:
    """§5.1 / §5.2: ``sub`` a URI, ``iat`` a NumericDate, ``exp`` after it, ``ttl`` positive."""
    if not isinstance(sub, str) or not URI.fullmatch(sub):
        raise StatusListError("the subject must be the list's URI")
    if not is_int(iat) or iat < 0:
        raise StatusListError("iat must be a non-negative integer NumericDate")
    if exp is not None and (not is_int(exp) or exp <= iat):
        raise StatusListError("exp must be an integer NumericDate after iat")
    if ttl is not None and (not is_int(ttl) or ttl <= 0):
        raise StatusListError("ttl must be a positive integer (§5.1)")


def claim_set(names: tuple, status_list: Any, sub: str, iat: int, exp: int | None, ttl: int | None) -> dict:
    """The claims of a token to sign, under the form's ``names``, leaving out what is None."""
    check_claims(sub, iat, exp, ttl)
    values = (sub, iat, exp, ttl, status_list)  # the order of the draft's examples
    return {name: value for name, value in zip(names, values, strict=False) if value is not None}


def checked_key(key: Any, alg: str, kind: type) -> Any:
    """Keys come from the ``keys`` package, so signatures are made by ``cryptography`` there, never here."""
    if not isinstance(key, kind):
        raise StatusListError(f"the key must be a keys.{kind.__name__}", "status_list_key")
    if key.alg != alg:
        raise StatusListError(f"the key is for {key.alg}, not the expected {alg}", "status_list_alg")
    return key
