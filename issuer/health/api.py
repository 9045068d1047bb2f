"""What the health code's two JSON blueprints share: the wiring (``HealthWeb``), the access-token check, body
parsing and the mapping of errors to ``{"error", "error_description"}`` answers (RFC 6750 §3 for token errors).

The endpoints are ``issuer.health.web`` (codes and proxies) and ``issuer.health.invitations_web``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from flask import Blueprint, Response, current_app, jsonify, request

from issuer.errors import IssuerError, NotAuthorisedError, ValidationError
from issuer.health.errors import InvitationClosed, InvitationExpired, InvitationNotFound, ProxyError, UnknownPerson
from issuer.health.invitations import ProxyInvitations
from issuer.health.models import Person
from issuer.health.service import HealthDesk
from issuer.nonces import CNonces
from issuer.ports import ISSUER_SCOPE, AccessTokens, Principal, TokenRefused, TokenRequest
from storage.kv import MemoryStore


class Counters(Protocol):
    def incr(self, key: str, ttl: int) -> int: ...
    def ttl(self, key: str) -> int | None: ...


@dataclass
class HealthWeb:
    desk: HealthDesk
    tokens: AccessTokens
    nonces: CNonces  # shared with issuer.vci's nonce endpoint
    audience: Callable[[], str]
    counters: Counters = field(default_factory=MemoryStore)  # rate limits: the service passes its key-value store
    invitations: ProxyInvitations = field(init=False)

    def __post_init__(self) -> None:
        self.invitations = ProxyInvitations(self.desk)


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.headers = headers or {}


def web() -> HealthWeb:
    return current_app.extensions["tongban.health"]


# -- request plumbing ---------------------------------------------------------------------------------
def principal(require_id: bool = True) -> Principal:
    try:
        found = web().tokens.principal_for(token_request())
    except TokenRefused as exc:
        raise ApiError(exc.status, exc.error, exc.description) from exc
    if require_id and not found.id_number:
        raise ApiError(403, "insufficient_scope", f"the access token lacks the {ISSUER_SCOPE} scope")
    return found


def token_request() -> TokenRequest:
    return TokenRequest(request.headers.get("Authorization", ""), request.headers.get("DPoP"), request.method,
                        request.path)


def body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "the body must be a JSON object")
    return data


def person_of(p: Principal) -> Person:
    found = web().desk.people.find(p.id_number) if web().desk.people else None
    return found or Person(p.id_number, "")


def api_error(exc: ApiError) -> Response:
    response = jsonify(error=exc.error, error_description=exc.description)
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = f'DPoP error="{exc.error}", Bearer error="{exc.error}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(exc.headers)
    return response


_INVITATION_ERRORS = {InvitationNotFound: 404, InvitationClosed: 409, InvitationExpired: 410}


def issuer_error(exc: IssuerError) -> Response:
    if type(exc) in _INVITATION_ERRORS:
        status, error = _INVITATION_ERRORS[type(exc)], exc.reason
    elif isinstance(exc, UnknownPerson):
        status, error = 404, "unknown_person"
    elif isinstance(exc, ProxyError | NotAuthorisedError):
        status, error = 403, "access_denied"
    elif isinstance(exc, ValidationError):
        status, error = 400, "invalid_request"
    else:
        status, error = 400, exc.reason
    return api_error(ApiError(status, error, str(exc)))


def now() -> int:
    return int(time.time())


def answer_errors(bp: Blueprint) -> None:
    """Answer ApiError and IssuerError raised in ``bp`` as JSON errors."""
    bp.register_error_handler(ApiError, api_error)
    bp.register_error_handler(IssuerError, issuer_error)


__all__ = ["AccessTokens", "ApiError", "Counters", "HealthWeb", "Principal", "answer_errors", "body", "now",
           "person_of", "principal", "web"]
