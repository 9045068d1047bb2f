"""The HTTP edge of the online verifier (OpenID4VP 1.0), a Blueprint ``service`` mounts. Paths:

* ``POST /verifier/requests``: the app (HTTP Basic: its client_id and secret) sends ``{"dcql_query", "purpose"?,
  "same_device"?}``; 201 with ``transaction_id``, ``request_uri``, ``link`` (``openid4vp://``), ``wallet_link``;
* ``GET /verifier/requests/<id>/request.jwt``: the wallet's signed Request Object (§5.10,
  ``application/oauth-authz-req+jwt``);
* ``POST /verifier/requests/<id>/response``: the wallet's ``direct_post`` (§8.2), form ``vp_token`` + ``state`` (or
  ``error``); ``{}`` or ``{"redirect_uri"}``;
* ``GET /verifier/requests/<id>``: the app (Basic) collects ``pending``, ``verified`` + ``credentials``, or
  ``refused`` + ``error``; ``?response_code=`` for a same-device request;
* ``GET /verifier/clients/<client_id>``: for the wallet, a registered app's name, purpose and request keys (§5.9.1).

Errors are JSON ``{"error", "error_description"}``: 400, 401 (with ``WWW-Authenticate: Basic``), 404, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import unquote

from flask import Blueprint, Response, current_app, jsonify, request

from verifier.online.errors import OnlineError
from verifier.online.hub import OnlineVerifier

bp = Blueprint("oid4vp", __name__)
MAX_FORM = 600 * 1024


def ctx() -> OnlineVerifier:
    return current_app.extensions["tongban.oid4vp"]


def _error(status: int, code: str, description: str) -> Response:
    response = jsonify(error=code, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="tongban verifier"'
    return response


def _app_client() -> str | Response:
    """RFC 6749 §2.3.1 client_secret_basic (form-urlencoded id and secret inside Basic)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        client_id = secret = ""
    client_id, secret = unquote(client_id), unquote(secret)
    if scheme.lower() != "basic" or not client_id or not secret or not ctx().authenticate(client_id, secret):
        return _error(401, "invalid_client", "authenticate with the app's client_id and client_secret")
    return client_id


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/verifier/requests")
def create() -> Response:
    client_id = _app_client()
    if isinstance(client_id, Response):
        return client_id
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "invalid_request", "send a JSON object with dcql_query")
    purpose, same_device = body.get("purpose"), body.get("same_device", False)
    if (purpose is not None and not isinstance(purpose, str)) or not isinstance(same_device, bool):
        return _error(400, "invalid_request", "purpose is text and same_device a boolean")
    try:
        created = ctx().create(client_id, body.get("dcql_query"), purpose=purpose, same_device=same_device)
    except OnlineError as exc:
        return _error(400, exc.reason, str(exc))
    return _no_store(jsonify(created)), 201


@bp.get("/verifier/requests/<transaction>/request.jwt")
def request_object(transaction: str) -> Response:
    try:
        token = ctx().request_object(transaction)
    except OnlineError as exc:
        return _error(404, exc.reason, str(exc))
    return _no_store(Response(token, mimetype="application/oauth-authz-req+jwt"))


@bp.post("/verifier/requests/<transaction>/response")
def response(transaction: str) -> Response:
    if (request.content_length or 0) > MAX_FORM:
        return _error(413, "invalid_request", "the response is too large")
    if request.mimetype != "application/x-www-form-urlencoded":
        return _error(400, "invalid_request", "direct_post sends application/x-www-form-urlencoded (§8.2)")
    form = {k: request.form.get(k) for k in ("vp_token", "state", "error") if k in request.form}
    try:
        outcome, redirect = ctx().answer(transaction, form)
    except OnlineError as exc:
        return _error(400 if exc.reason == "response_already_received" else 404, exc.reason, str(exc))
    current_app.logger.info("oid4vp response for %s: %s %s", transaction, outcome.state, outcome.reason or "")
    if outcome.state != "verified" and form.get("error") is None:
        refused = _error(400, "invalid_request", outcome.reason or "refused")
        if redirect:  # same-device: the citizen goes back to the app, which shows the refusal
            refused.set_data(json.dumps({**refused.get_json(), "redirect_uri": redirect}))
        return refused
    return _no_store(jsonify({"redirect_uri": redirect} if redirect else {}))


@bp.get("/verifier/requests/<transaction>")
def result(transaction: str) -> Response:
    client_id = _app_client()
    if isinstance(client_id, Response):
        return client_id
    try:
        found = ctx().outcome(client_id, transaction, request.args.get("response_code"))
    except OnlineError as exc:
        return _error(404, exc.reason, str(exc))
    return _no_store(jsonify(found.to_json()))


@bp.get("/verifier/clients/<client_id>")
def client(client_id: str) -> Response:
    described = ctx().registry.describe(client_id, ctx().clock())
    if described is None:
        return _error(404, "unknown_client", "no verifier is registered under this client_id")
    response = jsonify(described)
    response.headers["Cache-Control"] = "no-cache"
    return response
