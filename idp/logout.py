"""Ending SSO sessions: RP-initiated logout (OIDC RP-Initiated Logout 1.0) and back-channel logout tokens
(OIDC Back-Channel Logout 1.0 §2.4), POSTed to every client of the session that registered a URI.
"""

from __future__ import annotations

import logging
import secrets
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING

from joserfc import jwt

if TYPE_CHECKING:
    from idp.provider import Provider

log = logging.getLogger(__name__)
EVENT = "http://schemas.openid.net/event/backchannel-logout"


def logout_token(provider: Provider, client_id: str, sub: str, sid: str, now: int) -> str:
    """§2.4: iss, aud, iat, exp, jti, sub and/or sid, events; no nonce; ``typ`` logout+jwt (§2.4).

    Signed like the client's ID tokens (§2.4: "the same way as an ID Token"): its
    ``id_token_signed_response_alg``, ES256 by default."""
    client = provider.clients.get(client_id)
    alg = client.id_token_signed_response_alg if client is not None else "ES256"
    key = provider.signing_key(alg)
    claims = {"iss": provider.issuer, "aud": client_id, "iat": now, "exp": now + 120, "jti": secrets.token_urlsafe(16),
              "sub": provider.subject_for(client_id, sub), "sid": sid, "events": {EVENT: {}}}
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "logout+jwt"}, claims, key, algorithms=[alg])


def http_post(url: str, token: str) -> int:
    """§2.5: POST ``logout_token`` as a form; a 200 or 204 means the client logged the session out."""
    body = urllib.parse.urlencode({"logout_token": token}).encode()
    req = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - registered https/loopback URI
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=3) as response:  # noqa: S310
        return response.status


def end_session(provider: Provider, sid: str, post: Callable[[str, str], int] = http_post) -> list[str]:
    """End one SSO session: revoke its token families and notify its clients. Returns clients notified."""
    now = int(time.time())
    session = provider.sessions.end(sid)
    if session is None:
        return []
    provider.grants.revoke_session_families(sid, now)
    notified = []
    for client_id in session.clients:
        client = provider.clients.get(client_id)
        if client is None or not client.backchannel_logout_uri:
            continue
        try:
            status = post(client.backchannel_logout_uri, logout_token(provider, client_id, session.sub, sid, now))
            if status in (200, 204):
                notified.append(client_id)
        except OSError as exc:
            log.warning("back-channel logout to %s failed: %s", client_id, exc)
    provider.audit.record("logout", now=now, sub=session.sub, notified=notified)
    return notified
