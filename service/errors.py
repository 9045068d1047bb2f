"""Errors at the web edge: a store that cannot be reached is a JSON 503 with ``Retry-After``; anything else
unexpected a JSON 500. Never an HTML page, never a traceback to a client.

The body has the OAuth error-response shape (RFC 6749 §5.2 for the token endpoint, §4.1.2.1 for the
authorization endpoint: ``temporarily_unavailable`` — "the authorization server is currently unable to handle
the request due to a temporary overloading or maintenance"; ``server_error`` otherwise), so an OAuth client
treats it as it should (retry later) and every other client reads the same JSON. ``Retry-After`` (RFC 9110
§10.2.3) says when. The authorization endpoint does not redirect the error to the client: with the database
gone the client and its redirect URI cannot be checked, and an unchecked redirect is an open redirector.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify

from storage.errors import unavailable_errors

log = logging.getLogger("tongban.errors")

UNAVAILABLE = {"error": "temporarily_unavailable",
               "error_description": "a service this request needs is unavailable; retry later (暂时无法处理，请稍后重试)"}
SERVER_ERROR = {"error": "server_error", "error_description": "unexpected error (服务器内部错误)"}


def unavailable_response(retry_after: int) -> Response:
    response = jsonify(UNAVAILABLE)
    response.status_code = 503
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def install_error_handlers(app: Flask, *, retry_after: int) -> None:
    """503 for every "store unavailable" error (``storage.errors.unavailable_errors``), JSON 500 for the rest."""

    def _unavailable(exc: Exception) -> Response:
        metrics = app.extensions.get("tongban.metrics")
        if metrics is not None:
            metrics.storage_error(store_of(exc))
        log.warning("storage unavailable", extra={"event": "storage_unavailable", "error": type(exc).__name__,
                                                  "detail": _first_line(exc)})
        return unavailable_response(retry_after)

    for error in unavailable_errors():
        app.register_error_handler(error, _unavailable)

    @app.errorhandler(500)
    def _server_error(exc) -> tuple[Response, int]:  # Flask has already logged the original exception
        original = getattr(exc, "original_exception", None)
        if original is not None and isinstance(original, unavailable_errors()):
            return _unavailable(original), 503
        return jsonify(SERVER_ERROR), 500


def store_of(exc: BaseException) -> str:
    """``cache`` for Redis errors, ``database`` for the rest (metrics label)."""
    from storage.redis_client import unavailable_errors as redis_errors

    if isinstance(exc, redis_errors()) or "Redis" in str(exc)[:40]:
        return "cache"
    return "database"


def _first_line(exc: BaseException) -> str:
    """The driver's message without the SQL and parameters SQLAlchemy appends (they may hold personal data)."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:200] if text else ""


__all__ = ["SERVER_ERROR", "UNAVAILABLE", "install_error_handlers", "unavailable_response"]
