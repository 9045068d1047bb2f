"""DPoP proofs (RFC 9449): sender-constrained tokens for clients that hold a key.

``verify_proof`` implements the checks of RFC 9449 §4.3 with joserfc (no hand-rolled JOSE) and returns the
JWK SHA-256 thumbprint (RFC 7638) the token is bound to (``cnf.jkt``, §6.1). Time and replay memory are
passed in. Server-provided nonces (§8) are not used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import import_key

from idp.errors import IdpError
from keys import b64url

ALGORITHMS = ["ES256", "EdDSA", "PS256", "RS256"]  # asymmetric only (§4.3 check 4)
MAX_AGE = 300  # seconds a proof's iat may be in the past
SKEW = 30  # seconds it may be in the future
JTI_TTL = 600  # seconds a proof's jti is remembered against replay (§11.1): longer than MAX_AGE + SKEW


class InvalidDpopProof(IdpError):
    reason = "invalid_dpop_proof"


def _htu(url: str) -> str:
    """§4.3 check 9: compare without query and fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def access_token_hash(token: str) -> str:
    """``ath``: base64url SHA-256 of the access token (§4.2)."""
    return b64url(hashlib.sha256(token.encode()).digest())


def verify_proof(proof: object, *, method: str, url: str, now: int, first_use: Callable[[str], bool],
                 access_token: str | None = None) -> str:
    """Check one DPoP proof; returns the bound key's thumbprint or raises ``InvalidDpopProof``."""
    if not isinstance(proof, str) or not proof or len(proof) > 4096:
        raise InvalidDpopProof("one DPoP header with a JWT is required")
    try:
        compact = jws.extract_compact(proof.encode())
        header = compact.headers()
        if header.get("typ") != "dpop+jwt":
            raise InvalidDpopProof("DPoP proof typ must be dpop+jwt")
        if header.get("alg") not in ALGORITHMS:
            raise InvalidDpopProof("DPoP proof must use an asymmetric algorithm")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict) or any(k in jwk for k in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise InvalidDpopProof("DPoP proof needs a public jwk header")
        key = import_key(jwk)
        claims = json.loads(jws.deserialize_compact(proof, key, algorithms=[header["alg"]]).payload)
    except InvalidDpopProof:
        raise
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidDpopProof("DPoP proof is not a valid signed JWT") from exc
    if not isinstance(claims, dict):
        raise InvalidDpopProof("DPoP proof payload must be a JSON object")
    if claims.get("htm") != method:
        raise InvalidDpopProof("DPoP proof htm does not match the request method")
    if not isinstance(claims.get("htu"), str) or _htu(claims["htu"]) != _htu(url):
        raise InvalidDpopProof("DPoP proof htu does not match the request URL")
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool) or not (now - MAX_AGE <= iat <= now + SKEW):
        raise InvalidDpopProof("DPoP proof iat is missing or not recent")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise InvalidDpopProof("DPoP proof ath does not match the access token")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise InvalidDpopProof("DPoP proof needs a jti")
    thumbprint = key.thumbprint()
    if not first_use(f"{thumbprint}:{jti}"):
        raise InvalidDpopProof("DPoP proof was already used")
    return thumbprint


def replay_guard(store: Any) -> Callable[[str], bool]:
    """``first_use`` for ``verify_proof`` over a key-value store: one place for the key and its lifetime, shared by
    every resource server that checks proofs (the IdP's UserInfo, the issuer's token port)."""
    return lambda key: store.incr(f"dpop:{key}", JTI_TTL) == 1
