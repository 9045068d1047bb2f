"""What the OpenID4VCI endpoints share: the blueprint, their context (wired by ``service.app``), error answers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, jsonify, request

from issuer.nonces import CNonces
from issuer.offers import Offers
from issuer.ports import ISSUER_SCOPE, Principal, TokenRefused, TokenRequest
from issuer.records import Records
from issuer.service import Issuer
from issuer.vci.tokens import PreAuthTokens
from storage.kv import KeyValueStore

SCOPE = ISSUER_SCOPE
bp = Blueprint("vci", __name__)


@dataclass
class CredentialIssuer:
    """What the endpoints need, wired by ``service.app``."""

    url: str
    issuer: Issuer
    records: Records
    store: KeyValueStore
    principal_for: Callable[[TokenRequest], Principal]  # raises TokenRefused (issuer.ports)
    nonces: CNonces
    clock: Callable[[], int] = field(default=lambda: int(time.time()))
    offers: Offers | None = None  # default: on the issuer's database
    preauth: PreAuthTokens | None = None  # default: in ``store``

    def __post_init__(self) -> None:
        self.offers = self.offers or Offers(self.issuer.engine)
        self.preauth = self.preauth or PreAuthTokens(self.store)

    @property
    def authorization_server(self) -> str:
        """The issuer's own authorization server (pre-authorized codes only), next to the IdP (§12.2.4)."""
        return self.url + "/issuer"


def ctx() -> CredentialIssuer:
    return current_app.extensions["tongban.vci"]


def error(status: int, code: str, description: str, **headers: str) -> Response:
    response = jsonify(error=code, error_description=description)
    response.status_code = status
    response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def bearer_error(status: int, code: str, description: str) -> Response:
    challenge = f'DPoP error="{code}", Bearer error="{code}", error_description="{description}"'
    if code == "insufficient_scope":
        challenge += f', scope="{SCOPE}"'
    return error(status, code, description, **{"WWW-Authenticate": challenge})


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def principal() -> Principal | Response:
    """The citizen an IdP access token (DPoP or Bearer) stands for, with the licences scope."""
    try:
        found = ctx().principal_for(TokenRequest(request.headers.get("Authorization", ""),
                                                 request.headers.get("DPoP"), request.method, request.path))
    except TokenRefused as exc:
        return bearer_error(exc.status, exc.error, exc.description)
    if SCOPE not in found.scope.split() or found.id_number is None:
        return bearer_error(403, "insufficient_scope", f"the access token lacks the {SCOPE} scope")
    return found
