"""Token Status List (draft-ietf-oauth-status-list) §8.3: verifying a Status List Token (JWT §5.1 or
CWT §5.2) and reading a publisher's own token without verifying it (``peek_times``).

Verifying fixes the algorithm and key (never taken from the token) and takes ``now`` from the caller
(§8.3 step 4c): nothing here reads the clock or the network. Every refusal is a ``StatusListError``.
"""

from __future__ import annotations

import json
from typing import Any

import cbor2
import jwt

from credentials.cbor import loads_strict
from credentials.cose import parse_sign1, verify_sign1
from credentials.errors import StructureError
from credentials.status_list._checks import is_int
from credentials.status_list.claims import (
    CWT_NAMES,
    CWT_TYP,
    DIGEST_CWT,
    DIGEST_JWT,
    HDR_TYP,
    JWT_NAMES,
    JWT_TYP,
    MAX_TOKEN_BYTES,
    StatusListToken,
    check_alg,
    check_claims,
    check_digest,
    checked_key,
)
from credentials.status_list.encoding import MAX_DECOMPRESSED_BYTES, StatusList
from credentials.status_list.errors import StatusListError
from keys import KeysError, PublicKey, b64url, b64url_decode, jws_decode


def _token(claims: Any, names: tuple, parse: Any, *, now: Any, leeway: Any, expected_subject: str | None,
           require_exp: bool, max_bytes: int, digest: Any = None) -> StatusListToken:
    """The claim checks shared by §5.1 and §5.2 against the caller's clock (§8.3 step 4), then the list."""
    if not isinstance(claims, dict):
        raise StatusListError("the token's claims must be a map")
    if not is_int(now) or not is_int(leeway) or leeway < 0:
        raise StatusListError("now and leeway must be integers (seconds)")
    sub, iat, exp, ttl, status_list, nbf = (claims.get(name) for name in names)
    check_claims(sub, iat, exp, ttl)
    if exp is None and require_exp:
        raise StatusListError("the Status List Token has no expiry", "status_list_expired")
    if expected_subject is not None and sub != expected_subject:
        raise StatusListError("the token's subject is not the URI the reference points to", "status_list_subject")
    if exp is not None and now - leeway >= exp:
        raise StatusListError(f"the Status List Token expired at {exp}", "status_list_expired")
    if iat > now + leeway or (nbf is not None and (not is_int(nbf) or nbf > now + leeway)):
        raise StatusListError("the Status List Token is not valid yet", "status_list_not_yet_valid")
    parsed = parse(status_list, max_bytes)
    return StatusListToken(subject=sub, issued_at=iat, expires_at=exp, ttl=ttl, status_list=parsed,
                           digest=check_digest(digest, parsed))


def verify_status_list_jwt(token: Any, *, public_key: Any, alg: str, now: int, expected_subject: str | None = None,
                           leeway: int = 0, require_exp: bool = True,
                           max_bytes: int = MAX_DECOMPRESSED_BYTES) -> StatusListToken:
    """§5.1 and §8.3: signature under the caller's ``alg`` and key, ``typ``, claims, times, then the list."""
    check_alg(alg)
    if not isinstance(token, str):
        raise StatusListError("a JWT must be a string")
    try:
        header = jwt.get_unverified_header(token)
        # RFC 8725 §3.11; RFC 7515 §4.1.9 lets "application/" be left out and compares case-insensitively.
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower().removeprefix("application/") != JWT_TYP:
            raise StatusListError(f"JWT typ must be {JWT_TYP}, not {typ!r}", "status_list_typ")
        # Only the JWS layer from PyJWT: its claim validation would read the clock; ours uses `now`.
        # The signature is checked by the key itself (keys.jws): every suite, SM2 included.
        payload = jws_decode(token, checked_key(public_key, alg, PublicKey))
        claims = json.loads(payload)
    except jwt.InvalidSignatureError as exc:
        raise StatusListError("the Status List Token's signature does not verify", "status_list_signature") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise StatusListError(f"the token is not signed with the expected {alg}", "status_list_alg") from exc
    except (jwt.PyJWTError, TypeError, ValueError, RecursionError) as exc:
        raise StatusListError(f"the Status List Token is not a valid JWT: {exc}") from exc
    if isinstance(claims, dict) and "aud" in claims:  # RFC 7519 §4.1.3: no audience is expected here
        raise StatusListError("the Status List Token is addressed to an audience")
    digest = claims.get(DIGEST_JWT) if isinstance(claims, dict) else None
    if digest is not None:
        try:
            digest = b64url_decode(digest) if isinstance(digest, str) and b64url(b64url_decode(digest)) == digest \
                else None
        except KeysError:
            digest = None
        if digest is None:
            raise StatusListError("the digest claim must be base64url of 32 bytes")
    return _token(claims, JWT_NAMES, StatusList.from_json_obj, now=now, leeway=leeway,
                  expected_subject=expected_subject, require_exp=require_exp, max_bytes=max_bytes, digest=digest)


def _cbor_loads(data: bytes, what: str) -> Any:
    """``credentials.cbor.loads_strict`` (one item, no trailing bytes), failing as a StatusListError."""
    try:
        return loads_strict(data, what, max_bytes=MAX_TOKEN_BYTES, ordered=False)
    except StructureError as exc:
        raise StatusListError(str(exc)) from exc


def verify_status_list_cwt(token: Any, *, public_key: Any, alg: str, now: int, expected_subject: str | None = None,
                           leeway: int = 0, require_exp: bool = True,
                           max_bytes: int = MAX_DECOMPRESSED_BYTES) -> StatusListToken:
    """§5.2 and §8.3, through the project's one COSE_Sign1 parser (``credentials.cose``): strict structure first,
    then alg and typ, then the signature with the caller's key."""
    _, alg_id = check_alg(alg)
    if not isinstance(token, bytes | bytearray):
        raise StatusListError("a CWT must be bytes")
    token = bytes(token)
    if token[:2] == b"\xd8\x3d":  # the head of tag 61
        raise StatusListError("§5.2: a Status List Token must not carry the CWT tag 61")
    try:
        # Only the labels §5.2 needs (and a kid): nothing critical, nothing this parser would not check.
        message = parse_sign1(token, "the Status List Token", extra_protected=frozenset({HDR_TYP}),
                              max_bytes=MAX_TOKEN_BYTES, ordered=False)
    except StructureError as exc:
        raise StatusListError(f"§5.2: {exc}") from exc
    if message.alg != alg_id:
        raise StatusListError(f"the token is not signed with the expected {alg}", "status_list_alg")
    if message.headers.get(HDR_TYP) != CWT_TYP:
        raise StatusListError(f"CWT typ must be {CWT_TYP}", "status_list_typ")
    # The unprotected header is not signed (RFC 9052 §4.4) and not needed here.
    if not verify_sign1(message, checked_key(public_key, alg, PublicKey)):
        raise StatusListError("the Status List Token's signature does not verify", "status_list_signature")
    claims = _cbor_loads(message.payload, "the CWT claims")
    digest = claims.get(DIGEST_CWT) if isinstance(claims, dict) else None
    return _token(claims, CWT_NAMES, StatusList.from_cbor_obj, now=now, leeway=leeway,
                  expected_subject=expected_subject, require_exp=require_exp, max_bytes=max_bytes, digest=digest)


def peek_list(token: Any) -> StatusList | None:
    """The list inside a Status List Token CWT, read **without verifying** it; None when unreadable.

    For the publisher only: the list it signed last, to compute the next delta against. Never for a verifier.
    """
    try:
        outer = _cbor_loads(bytes(token), "the Status List Token")
        payload = outer.value[2] if isinstance(outer, cbor2.CBORTag) and isinstance(outer.value, list) else None
        claims = _cbor_loads(payload, "the CWT claims") if isinstance(payload, bytes) else None
        return StatusList.from_cbor_obj(claims.get(65533)) if isinstance(claims, dict) else None
    except (StatusListError, IndexError, TypeError, ValueError):
        return None


def peek_times(token: Any) -> tuple[int, int | None, int | None] | None:
    """``(iat, exp, ttl)`` of a Status List Token CWT, read **without verifying** it; None when unreadable.

    For the publisher looking at its own file (is it due for re-signing? which ``iat`` did it last sign?)
    and for HTTP cache headers. Never a reason to trust a list: counters verify (``verify_status_list_cwt``).
    """
    try:
        outer = _cbor_loads(bytes(token), "the Status List Token")
        payload = outer.value[2] if isinstance(outer, cbor2.CBORTag) and isinstance(outer.value, list) else None
        claims = _cbor_loads(payload, "the CWT claims") if isinstance(payload, bytes) else None
        if not isinstance(claims, dict):
            return None
        iat, exp, ttl = (claims.get(name) for name in (6, 4, 65534))
        check_claims("x:", iat, exp, ttl)
    except (StatusListError, IndexError, TypeError, ValueError):
        return None
    return iat, exp, ttl
