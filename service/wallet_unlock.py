"""The wallet's "unlock with this phone's face/fingerprint": a passkey assertion the server verifies before the
wallet shows a licence QR (when the citizen turned it on in the wallet's settings).

Two JSON endpoints, authorised like every wallet call by the wallet's DPoP-bound access token
(``service.health.AccessTokens``: first-party client, ``licences`` scope, proof of the bound key):

* ``POST /wallet/api/unlock/options`` → ``navigator.credentials.get`` options listing the account's passkeys,
  user verification required;
* ``POST /wallet/api/unlock`` ``{"credential": <the assertion as JSON>}`` → ``{"unlocked": true, "seconds": 300}``.

The challenge is bound to the account and the token's DPoP key (the wallet's non-extractable key in this browser),
single-use and short-lived (``idp.passkeys``): it cannot be answered from another browser or for another account,
and only a passkey of the token's own account is accepted. Failures count in the sign-in throttle.

What it protects: someone who picks up an unlocked phone with the wallet open cannot show its licences without the
owner's face or fingerprint. The QR itself is made on the phone (offline-capable), so the wallet enforces the
result for ``UNLOCK_SECONDS`` in memory: a reload or a closed tab locks it again. Unlocking needs the network.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from idp.errors import LockedOut, PasskeyRefused
from issuer.ports import TokenRefused, TokenRequest

UNLOCK_SECONDS = 300
bp = Blueprint("wallet_unlock", __name__, url_prefix="/wallet/api/unlock")


def _provider() -> Any:
    return current_app.extensions["tongban.idp"]


def _refused(status: int, error: str, message: str) -> Response:
    response = jsonify(error=error, message=message)
    response.status_code = status
    return response


def _caller() -> tuple[str, str] | Response:
    """The account ``sub`` behind the wallet's token and the challenge binding (account + DPoP key), or a 401."""
    from service.health import AccessTokens

    p = _provider()
    authorization = request.headers.get("Authorization", "")
    try:
        principal = AccessTokens(p).principal_for(TokenRequest(authorization, request.headers.get("DPoP"),
                                                               request.method, request.path))
    except TokenRefused as exc:
        response = _refused(exc.status, exc.error, exc.description)
        response.headers["WWW-Authenticate"] = f'DPoP error="{exc.error}"'
        return response
    token = p.grants.access_token(authorization.partition(" ")[2].strip())
    key = token.jkt if token is not None and token.jkt else authorization
    binding = hashlib.sha256(f"unlock:{principal.sub}:{key}".encode()).hexdigest()
    return principal.sub, binding


def options() -> Response:
    caller = _caller()
    if isinstance(caller, Response):
        return caller
    sub, binding = caller
    try:
        return jsonify(_provider().passkeys.authentication_options("unlock", binding, sub))
    except PasskeyRefused as exc:
        return _refused(409 if exc.reason == "passkey_none" else 400, exc.reason, str(exc))


def unlock() -> Response:
    caller = _caller()
    if isinstance(caller, Response):
        return caller
    sub, binding = caller
    body = request.get_json(silent=True)
    credential = body.get("credential") if isinstance(body, dict) else None
    p, now = _provider(), int(time.time())
    try:
        p.passkeys.authenticate("unlock", binding, credential, now, source=request.remote_addr or "unknown", sub=sub)
    except LockedOut as exc:
        response = _refused(429, exc.reason, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except PasskeyRefused as exc:
        return _refused(403, exc.reason, str(exc))
    p.audit.record("wallet_unlock", now=now, sub=sub)
    return jsonify(unlocked=True, seconds=UNLOCK_SECONDS, until=now + UNLOCK_SECONDS)


bp.add_url_rule("/options", view_func=options, methods=["POST"])
bp.add_url_rule("", view_func=unlock, methods=["POST"])
