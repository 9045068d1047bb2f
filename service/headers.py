"""What every tongban web app shares: security headers (OWASP ASVS V14.4) and JSON errors for 4xx.

Used by both app factories (``service.app`` and ``service.counter_app``)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

# Content-Security-Policy (CSP Level 3): no framing (clickjacking), no plugins, same-origin everything. Styles come
# only from the apps' CSS files (no 'unsafe-inline': no style="" attribute, no <style> block; tests/service/
# test_markup.py), so markup slipped into a page cannot restyle it, e.g. hide a warning or fake a green band.
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'")
# The counter page asks for the camera; nothing may ask for anything else.
PERMISSIONS = "camera=(self), microphone=(), geolocation=()"


def install_security_headers(app: Flask, *, https: bool, no_store_paths: tuple[str, ...] = ()) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Permissions-Policy"] = PERMISSIONS
        if https:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if response.mimetype == "text/html" or request.path in no_store_paths:
            response.headers["Cache-Control"] = "no-store"
        return response


def install_json_errors(app: Flask) -> None:
    """4xx as ``{"error", "error_description"}`` (RFC 6749 §5.2 shape), never an HTML page or a traceback."""

    @app.errorhandler(400)
    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def _http_error(exc):
        if getattr(exc, "response", None) is not None:
            return exc.response
        return jsonify(error=exc.name.lower().replace(" ", "_"), error_description=exc.description), exc.code
