"""免证办 wired: the issuer's fetch endpoints over this service's IdP, and the counter's fetcher.

* ``CounterTokens`` — ``issuer.ports.CounterTokens``: a counter's client-credentials token (``idp.client_credentials``)
  → its counter id. A citizen's token, or an ordinary app's, is refused here with ``insufficient_scope``: it is
  not the counter role, whatever its scopes.
* ``mount_fetch`` — ``/issuer/fetch-grants`` and ``/issuer/fetch`` (``issuer.fetch_web``) on the main app.
* ``counter_fetcher`` — the counter inside ``tongban serve`` fetches through the same HTTP endpoints as a counter
  elsewhere (``verifier.fetch.HttpFetcher``), configured by ``TONGBAN_COUNTER_FETCH`` (the file ``tongban clients
  add-counter --out`` wrote).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from issuer.ports import TokenRefused, TokenRequest


class CounterTokens:
    def __init__(self, provider: Any):  # idp.Provider
        self.provider = provider

    def counter_for(self, request: TokenRequest) -> str:
        scheme, _, token = (request.authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 512:
            raise TokenRefused(401, "invalid_token", "send the counter's access token as Authorization: Bearer")
        client_id = self.provider.grants.counter_token(token)
        if client_id is None:
            if self.provider.grants.access_token(token) is not None:
                raise TokenRefused(403, "insufficient_scope", "this is a citizen's or an app's token, not a counter's: "
                                   "only registered counters fetch licences (tongban clients add-counter)")
            raise TokenRefused(401, "invalid_token", "the access token is unknown or expired")
        client = self.provider.clients.get(client_id)
        if client is None or not client.is_counter:
            raise TokenRefused(403, "insufficient_scope", "this client is not a registered counter")
        return client_id


def mount_fetch(app: Flask, provider: Any, issuer: Any, records: Any) -> None:
    from issuer.fetch import FetchGrants
    from issuer.fetch_web import FetchWeb, bp

    app.extensions["tongban.fetch"] = FetchWeb(FetchGrants(issuer.hub, issuer.engine, records, provider.store),
                                               CounterTokens(provider))
    app.register_blueprint(bp)


def counter_fetcher(config_file: str | Path | None) -> Any:
    """The counter's fetcher from its configuration file, or None (no 免证办 at this counter)."""
    if not config_file:
        return None
    from verifier.fetch import HttpFetcher

    return HttpFetcher.from_file(Path(config_file))
