"""Token Status List (draft-ietf-oauth-status-list) §5: signing a Status List Token, as a JWT (§5.1)
or as a CWT (§5.2, COSE_Sign1_Tagged through ``credentials.cose``, never the CWT tag 61).

The key is a ``keys.PrivateKey`` and the times come from the caller: nothing here reads the clock. ``digest``
(default on) adds tongban's digest claim (``delta``); off, the token is exactly the draft's.
"""

from __future__ import annotations

from typing import Any

import cbor2
import jwt

from credentials.cose import sign1
from credentials.status_list.claims import (
    CWT_NAMES,
    CWT_TYP,
    DIGEST_CWT,
    DIGEST_JWT,
    HDR_TYP,
    JWT_NAMES,
    JWT_TYP,
    check_alg,
    checked_key,
    claim_set,
    list_digest,
)
from credentials.status_list.encoding import StatusList
from credentials.status_list.errors import StatusListError
from keys import PrivateKey, b64url, jws_encode


def sign_status_list_jwt(status_list: StatusList, *, subject_uri: str, issued_at: int, expires_at: int | None,
                         ttl: int | None, signing_key: Any, kid: str, alg: str, digest: bool = True) -> str:
    """§5.1: a JWS compact serialisation signed with ``signing_key`` (a ``keys.PrivateKey``), with the digest claim."""
    check_alg(alg)
    claims = claim_set(JWT_NAMES, status_list.to_json_obj(), subject_uri, issued_at, expires_at, ttl)
    if digest:
        claims[DIGEST_JWT] = b64url(list_digest(status_list))
    try:
        return jws_encode(claims, checked_key(signing_key, alg, PrivateKey), headers={"typ": JWT_TYP, "kid": kid})
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise StatusListError(f"cannot sign with this key as {alg}: {exc}", "status_list_key") from exc


def sign_status_list_cwt(status_list: StatusList, *, subject_uri: str, issued_at: int, expires_at: int | None,
                         ttl: int | None, signing_key: Any, kid: str | bytes, alg: str, digest: bool = True) -> bytes:
    """§5.2: a COSE_Sign1_Tagged CWT (``credentials.cose``), typ in the protected header, claims in the draft's order,
    then the digest claim (``claims.DIGEST_CWT``)."""
    check_alg(alg)
    claims = claim_set(CWT_NAMES, status_list.to_cbor_obj(), subject_uri, issued_at, expires_at, ttl)
    if digest:
        claims[DIGEST_CWT] = list_digest(status_list)
    key = checked_key(signing_key, alg, PrivateKey)
    return sign1(cbor2.dumps(claims), key, kid=kid.encode() if isinstance(kid, str) else kid,
                 protected_extra={HDR_TYP: CWT_TYP})
