"""Validating a back-channel logout token as a relying party (OIDC Back-Channel Logout 1.0 §2.6).

``/admin`` is a client of this service's IdP; when the IdP ends an SSO session it POSTs a Logout Token
(§2.5) and ``/admin`` ends its own sessions of that ``sid`` / ``sub`` (§2.7). A token that fails any check
is refused (400, §2.8) and ends nothing:

1. explicitly typed ``logout+jwt`` (§2.4: an ID token cannot be passed off as a logout token), signed with
   ES256 or RS256 by a key of the IdP's JWKS (by ``kid``): never ``none`` or an HMAC;
2. ``iss`` is the IdP, ``aud`` contains this client's id;
3. ``iat`` is recent (within ``MAX_AGE`` seconds, not from the future beyond ``SKEW``), ``exp`` if present
   not past;
4. ``sub`` and/or ``sid`` present (strings);
5. ``events`` holds the member ``http://schemas.openid.net/event/backchannel-logout`` whose value is a JSON
   object;
6. no ``nonce``;
7. ``jti`` used once (``first_use``, called last, so a forged token cannot burn a real one's jti).

No clock and no store here: ``now``, the JWKS and ``first_use`` are passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jwt

EVENT = "http://schemas.openid.net/event/backchannel-logout"
ALGORITHMS = ("ES256", "RS256")
MAX_AGE = 300  # seconds a logout token is accepted after its iat (the IdP's live 120 s, plus delivery)
SKEW = 60
MAX_TOKEN = 8192


class LogoutTokenError(Exception):
    """The logout token is not valid; the message says which check failed (for the 400 body and the log)."""

    reason = "invalid_request"


@dataclass(frozen=True)
class LogoutRequest:
    sid: str | None
    sub: str | None
    jti: str


def verify_logout_token(token: object, *, jwks: dict, issuer: str, client_id: str, now: int,
                        first_use: Callable[[str], bool]) -> LogoutRequest:
    """§2.6 in order; returns which sessions to end, or raises ``LogoutTokenError``."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise LogoutTokenError("logout_token missing or too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise LogoutTokenError("logout_token is not a JWS") from exc
    if header.get("typ") != "logout+jwt":
        raise LogoutTokenError("logout_token must be typed logout+jwt")
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise LogoutTokenError("logout_token alg not accepted")
    keys = [k for k in (jwks.get("keys") or []) if isinstance(k, dict) and k.get("kid") == kid and kid]
    if len(keys) != 1:
        raise LogoutTokenError("logout_token signed by a key the IdP does not publish")
    try:
        key = jwt.PyJWK(keys[0], alg).key
        claims = jwt.decode(token, key, algorithms=[alg], audience=client_id, issuer=issuer,
                            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                     "require": ["iss", "aud", "iat", "jti", "events"]})
    except jwt.PyJWTError as exc:
        raise LogoutTokenError(f"logout_token refused: {exc}") from exc
    except (ValueError, TypeError, KeyError) as exc:  # a malformed key in the set
        raise LogoutTokenError("logout_token key unusable") from exc
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or isinstance(iat, bool) or not now - MAX_AGE <= iat <= now + SKEW:
        raise LogoutTokenError("logout_token iat is not recent")
    if exp is not None and (not isinstance(exp, int) or isinstance(exp, bool) or exp <= now - SKEW):
        raise LogoutTokenError("logout_token expired")
    sid, sub = claims.get("sid"), claims.get("sub")
    if sid is not None and not (isinstance(sid, str) and 0 < len(sid) <= 64):
        raise LogoutTokenError("logout_token sid malformed")
    if sub is not None and not (isinstance(sub, str) and 0 < len(sub) <= 200):
        raise LogoutTokenError("logout_token sub malformed")
    if sid is None and sub is None:
        raise LogoutTokenError("logout_token names neither sid nor sub")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(EVENT), dict):
        raise LogoutTokenError("logout_token lacks the back-channel logout event")
    if "nonce" in claims:
        raise LogoutTokenError("logout_token must not contain a nonce")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 200:
        raise LogoutTokenError("logout_token jti malformed")
    if not first_use(jti):
        raise LogoutTokenError("logout_token already used (jti)")
    return LogoutRequest(sid, sub, jti)


__all__ = ["EVENT", "LogoutRequest", "LogoutTokenError", "verify_logout_token"]
