"""The OpenID4VCI key proof: a JWT the device key signs to show it holds the key a credential will be bound to.

OpenID for Verifiable Credential Issuance 1.0, §8.2.1.1 and Appendix F.1 (``jwt`` proof type): header
``{"typ": "openid4vci-proof+jwt", "alg": ..., "jwk": <the device's public key>}`` and claims ``aud`` (the
credential issuer), ``iat`` and ``nonce`` (a ``c_nonce`` from the nonce endpoint, §7). One checker serves both
credential endpoints (licences in ``issuer.vci``, health codes in ``issuer.health.web``), so the two cannot drift.

The nonce is consumed last: only a proof that is valid in every other respect uses it up, so a forged proof
cannot burn a citizen's nonce. Error codes are §8.3.1.2's ``invalid_proof`` and ``invalid_nonce``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import jwt

from issuer.errors import KeyProofRefused
from issuer.nonces import MAX_CHARS
from keys import KeyFormatError, PublicKey

PROOF_TYP = "openid4vci-proof+jwt"
PROOF_MAX_AGE = 300  # seconds between the proof's iat and now, either way
MAX_PROOF_CHARS = 4096
# Key references other than the inline jwk would let a proof name a key we would then have to fetch or trust.
_FORBIDDEN_HEADERS = frozenset({"kid", "x5c", "x5u", "jku", "trust_chain", "key_attestation"})


def check_key_proof(token: object, *, audience: str, now: int, consume_nonce: Callable[[str], bool],
                    algorithms: Collection[str] = ("ES256", "EdDSA"), typ: str = PROOF_TYP,
                    bound: Mapping[str, str] | None = None) -> PublicKey:
    """Return the device key ``token`` proves possession of; raise KeyProofRefused saying what is wrong.

    ``typ`` and ``bound`` serve other signed requests of the device key (``issuer.vci.removal``): another ``typ``
    keeps a proof for one purpose from being accepted for another, and each ``bound`` claim must equal its
    value, so the signature covers what the request is about."""
    if not isinstance(token, str) or not token:
        raise KeyProofRefused("the proof must be a JWT (a string)")
    if len(token) > MAX_PROOF_CHARS:
        raise KeyProofRefused("the proof is too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise KeyProofRefused("the proof is not a JWT") from exc
    if header.get("typ") != typ:
        raise KeyProofRefused(f"the proof's typ must be {typ}")
    alg = header.get("alg")
    if alg not in algorithms:
        raise KeyProofRefused(f"the proof must be signed with {' or '.join(sorted(algorithms))}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "d" in jwk or _FORBIDDEN_HEADERS & set(header):
        raise KeyProofRefused("the proof must carry the device's public key as a jwk header, and only that")
    try:
        device_key = PublicKey.from_jwk(jwk)
    except KeyFormatError as exc:
        raise KeyProofRefused(f"the proof's jwk is not a device key: {exc}") from exc
    if device_key.alg != alg:
        raise KeyProofRefused("the proof's alg must match its key (ES256 for P-256, EdDSA for Ed25519)")
    try:
        claims = jwt.decode(token, jwt.PyJWK(jwk, alg).key, algorithms=[alg], audience=audience,
                            options={"require": ["aud", "iat", "nonce"], "verify_iat": False})
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise KeyProofRefused("the proof's signature or audience is not valid") from exc
    for name, value in (bound or {}).items():
        if claims.get(name) != value:
            raise KeyProofRefused(f"the proof's {name} is not the one this request is about")
    iat = claims["iat"]
    if not isinstance(iat, int) or isinstance(iat, bool) or abs(now - iat) > PROOF_MAX_AGE:
        raise KeyProofRefused("the proof's iat is not within five minutes of now")
    nonce = claims["nonce"]
    if not isinstance(nonce, str) or not nonce or len(nonce) > MAX_CHARS or not consume_nonce(nonce):
        raise KeyProofRefused("the c_nonce is unknown, used or expired; fetch a new one", error="invalid_nonce")
    return device_key


__all__ = ["MAX_PROOF_CHARS", "PROOF_MAX_AGE", "PROOF_TYP", "check_key_proof"]
