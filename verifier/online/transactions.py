"""Presentation requests in flight, over the key-value store (``storage.kv``: in-process or Redis).

Each request is kept for its lifetime under its transaction id; the *open* marker beside it is consumed
atomically by the first response that reaches the ``response_uri`` (OpenID4VP 1.0 §8.2), so a request takes one
answer: a second post, the same ``vp_token`` again, or one meant for another request, finds it closed
(``response_already_received``) and its nonce spent. The outcome, accepted or refused, is kept for the app to
collect. A same-device request also gets a ``response_code`` (§8.2, §13.3): the wallet's redirect carries it to
the app's page, and the result is handed only with it, so a link fixed by someone else yields nothing. Each
accepted ``vp_token`` is remembered by the digest of what its KB-JWTs sign (``replay_key``) until its KB-JWT
could no longer be fresh (``vp_token_replayed``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from credentials.sdjwt import split
from keys import TrustList, b64url
from storage.kv import KeyValueStore
from verifier.online.errors import OnlineError
from verifier.online.request import PresentationRequest
from verifier.online.vp_token import KB_MAX_AGE, parse_vp_token, verify_vp_token
from verifier.ports import StatusSource

PREFIX = "oid4vp:"
RESULT_TTL = 600


@dataclass(frozen=True)
class Outcome:
    """What an app collects: ``pending``, or ``verified`` with the credentials, or ``refused`` with a reason."""

    state: str
    credentials: dict[str, Any] | None = None
    reason: str | None = None
    response_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.state}
        if self.credentials is not None:
            out["credentials"] = self.credentials
        if self.reason is not None:
            out["error"] = self.reason
        return out


def replay_key(vp_token: object) -> str:
    """The identity of an accepted ``vp_token``: the digest of its KB-JWTs' signing inputs (header and claims, which
    the signatures fix), never of the text as posted: the JSON around them can be re-spaced and an ECDSA signature
    re-encoded (``s`` → ``n - s``) without changing what was signed."""
    inputs = sorted(split(p).kb_jwt.rsplit(".", 1)[0] for values in parse_vp_token(vp_token).values() for p in values)
    return hashlib.sha256("\n".join(inputs).encode()).hexdigest()


class Transactions:
    def __init__(self, store: KeyValueStore):
        self.store = store

    def open(self, request: PresentationRequest, now: int) -> None:
        ttl = max(request.exp - now, 1)
        self.store.put(PREFIX + "req:" + request.id, request.to_json(), ttl)
        self.store.put(PREFIX + "open:" + request.id, "1", ttl)

    def get(self, transaction: object) -> PresentationRequest | None:
        if not isinstance(transaction, str) or not 0 < len(transaction) <= 64 or not transaction.isascii():
            return None
        found = self.store.get(PREFIX + "req:" + transaction)
        return PresentationRequest.from_json(found) if found else None

    def answer(self, transaction: str, form: dict[str, str], *, trust: TrustList | None, status: StatusSource,
               now: int, new_code: Callable[[], str] = lambda: b64url(secrets.token_bytes(16))) -> Outcome:
        """The ``direct_post`` body (§8.2): ``vp_token`` and ``state``, or ``error``. Raises ``OnlineError`` when
        the request is unknown, expired or already answered; any other refusal is recorded as the outcome."""
        request = self.get(transaction)
        if request is None or now >= request.exp:
            raise OnlineError("no such request, or it has expired", "request_not_found")
        if self.store.consume(PREFIX + "open:" + transaction) is None:
            raise OnlineError("this request has already received its response", "response_already_received")
        code = new_code() if request.same_device else None
        try:
            state = form.get("state")
            if not isinstance(state, str) or not hmac.compare_digest(state.encode(), request.state.encode()):
                raise OnlineError("state is not this request's", "state_mismatch")
            if "error" in form:
                raise OnlineError("the wallet declined: " + str(form.get("error"))[:64], "wallet_declined")
            token = form.get("vp_token")
            verified = verify_vp_token(token, request=request, trust=trust, status=status, now=now)
            if self.store.incr(PREFIX + "seen:" + replay_key(token), KB_MAX_AGE * 2) != 1:
                raise OnlineError("this vp_token was received before", "vp_token_replayed")
            outcome = Outcome("verified", {k: v.to_json() for k, v in verified.items()}, response_code=code)
        except OnlineError as exc:
            outcome = Outcome("refused", reason=exc.reason, response_code=code)
        self._keep(transaction, outcome)
        return outcome

    def _keep(self, transaction: str, outcome: Outcome) -> None:
        self.store.put(PREFIX + "result:" + transaction, json.dumps({**outcome.to_json(), "code": outcome.response_code},
                                                                    ensure_ascii=False), RESULT_TTL)

    def outcome(self, transaction: str, response_code: str | None = None) -> Outcome:
        """The result for the app; a same-device request's only with the ``response_code`` of its redirect."""
        request = self.get(transaction)
        found = self.store.get(PREFIX + "result:" + transaction)
        if found is None:
            if request is None:
                raise OnlineError("no such request, or it has expired", "request_not_found")
            return Outcome("pending")
        data = json.loads(found)
        code = data.get("code")
        if code is not None and not (isinstance(response_code, str)
                                     and hmac.compare_digest(code.encode(), response_code.encode())):
            return Outcome("pending")
        return Outcome(data["status"], data.get("credentials"), data.get("error"), code)
