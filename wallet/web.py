"""The citizen's web wallet at ``/wallet/``: one page, its scripts and a service worker (all static).

Everything that matters runs in the phone's browser (``static/wallet.js``): sign-in through the
identity provider as the public client ``tongban-wallet`` (authorization code + PKCE S256; the refresh
token kept on the phone, DPoP-bound and rotated: ``static/session.js``), a
non-extractable WebCrypto P-256 device key in IndexedDB, licences fetched from ``issuer.vci`` and kept
in IndexedDB, and presentations built and signed on the phone in exactly the format of
``credentials.presentation`` (``static/tb-format.js``), so showing a licence needs no network.
The words for claims and colours come from the server (``/wallet/words.json``, from ``credentials.words``)
so the wallet and the counter say the same. The server only hands out these files; it never sees the device key or a presentation.
"""

from __future__ import annotations

import json
import mimetypes

from flask import Blueprint, Response, jsonify, render_template, send_from_directory

from credentials.words import words_json

mimetypes.add_type("text/javascript", ".mjs")  # module scripts need a JavaScript MIME type; not every OS maps .mjs

CLIENT_ID = "tongban-wallet"
CLIENT_NAME = "通办电子证照钱包 / tongban wallet"
SCOPES = ("openid", "profile", "licences")
REDIRECT_PATH = "/wallet/"

bp = Blueprint("wallet", __name__, url_prefix="/wallet", static_folder="static", static_url_path="/static",
               template_folder="templates")


@bp.get("/")
def page() -> str:
    return render_template("wallet/index.html", client_id=CLIENT_ID, scope=" ".join(SCOPES))


@bp.get("/sw.js")
def service_worker() -> Response:
    """Served from /wallet/ so its scope is the wallet, and never cached by HTTP (the worker updates itself)."""
    response = send_from_directory(bp.static_folder, "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


MANIFEST = {  # W3C Web Application Manifest §2: what "add to home screen" installs
    "name": "通办钱包 / tongban wallet", "short_name": "通办钱包", "lang": "zh-CN", "dir": "ltr",
    "description": "通办电子证照钱包：证照与健康码离线出示。 / Licences and health codes, shown offline from this phone.",
    "id": "/wallet/", "start_url": "/wallet/", "scope": "/wallet/", "display": "standalone",
    "theme_color": "#0b4a8b", "background_color": "#f3f5f8",
    "icons": [
        {"src": "/wallet/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
        {"src": "/wallet/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/wallet/static/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
    ],
}


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The install manifest, as ``application/manifest+json`` (Web App Manifest §1.3, its registered media type);
    ``no-cache`` like the words: the service worker keeps the offline copy, the browser asks again when online."""
    response = Response(json.dumps(MANIFEST, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/words.json")
def words() -> Response:
    """Claim labels and colour words, the counter's own (``credentials.words``); the service worker keeps a copy
    for offline use, and ``no-cache`` makes the browser ask again whenever it is online (the words may change)."""
    response = jsonify(words_json())
    response.headers["Cache-Control"] = "no-cache"
    return response
