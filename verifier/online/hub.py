"""The hub's verifier service for registered apps (what ``web`` exposes, and what an in-process app calls).

An app creates a request (``create``), shows its link or QR; the wallet fetches the signed Request Object
(``request_object``) and posts its answer to the ``response_uri`` (``answer``); the app collects the outcome
(``outcome``). The clock, the trust list and the status lists are injected (``service`` wires the hub's counter
cache and its published status lists).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from keys import TrustList
from verifier.online.errors import OnlineError
from verifier.online.registry import VerifierRegistry
from verifier.online.request import DEFAULT_TTL, new_request, sign_request_object, wallet_link
from verifier.online.transactions import Outcome, Transactions
from verifier.ports import StatusSource


@dataclass
class OnlineVerifier:
    base_url: str
    registry: VerifierRegistry
    transactions: Transactions
    trust: Callable[[int], TrustList | None]
    status: StatusSource
    authenticate: Callable[[str, str], bool]  # client_id, secret → registered and right (the IdP's check)
    clock: Callable[[], int] = field(default=lambda: int(time.time()))
    wallet_path: str = "/wallet/"

    def create(self, client_id: str, dcql: object, *, purpose: str | None = None, same_device: bool = False,
               ttl: int = DEFAULT_TTL) -> dict[str, Any]:
        client = self.registry.get(client_id)
        if client is None:
            raise OnlineError("this client is not registered as a verifier (tongban clients add --verifier)",
                              "unauthorized_client")
        now = self.clock()
        request = new_request(client_id=client_id, dcql=dcql, base_url=self.base_url, purpose=purpose or client.purpose,
                              now=now, ttl=ttl, same_device=same_device)
        self.transactions.open(request, now)
        link = wallet_link(client_id, request.request_uri)
        return {"transaction_id": request.id, "request_uri": request.request_uri, "link": link,
                "wallet_link": wallet_link(client_id, request.request_uri,
                                           base=self.base_url.rstrip("/") + self.wallet_path),
                "expires_at": request.exp}

    def request_object(self, transaction: str) -> str:
        request = self.transactions.get(transaction)
        now = self.clock()
        if request is None or now >= request.exp:
            raise OnlineError("no such request, or it has expired", "request_not_found")
        return sign_request_object(request, self.registry.signer(request.client_id, now))

    def answer(self, transaction: str, form: dict[str, str]) -> tuple[Outcome, str | None]:
        """The outcome, and for a same-device request the URL the wallet sends the citizen on to (§8.2)."""
        now = self.clock()
        outcome = self.transactions.answer(transaction, form, trust=self.trust(now), status=self.status, now=now)
        request = self.transactions.get(transaction)
        client = self.registry.get(request.client_id) if request else None
        redirect = None
        if outcome.response_code is not None and client is not None:
            joiner = "&" if "?" in client.redirect_uri else "?"
            redirect = client.redirect_uri + joiner + urlencode({"transaction": transaction,
                                                                 "response_code": outcome.response_code})
        return outcome, redirect

    def outcome(self, client_id: str, transaction: str, response_code: str | None = None) -> Outcome:
        request = self.transactions.get(transaction)
        if request is not None and request.client_id != client_id:
            raise OnlineError("no such request, or it has expired", "request_not_found")  # another app's: unseen
        return self.transactions.outcome(transaction, response_code)
