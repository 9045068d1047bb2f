"""The demo app at ``/demo-app/`` (``tongban serve`` in demo mode): a relying app that asks a citizen's wallet for
"driving licence: name + vehicle classes + valid_until" through OpenID4VP 1.0 and shows what it received.

It is a verifier client like any registered app (``DEMO_CLIENT_ID``, registered by ``service.oid4vp``), calling the hub's verifier
service in-process instead of over HTTP with a secret. The page offers the request as a QR for a phone
(cross-device: ``openid4vp://``) or as a link to this hub's wallet (same-device: the wallet sends the citizen back
here with ``transaction`` and ``response_code``, §8.2), polls for the outcome and lists the verified claims. The
query also names the licence number as optional (a second claim set without it), so the wallet lets the citizen
leave it out.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from credentials.sdjwt import vct_for
from credentials.words import CLAIM_LABELS
from verifier.online import OnlineError, OnlineVerifier
from verifier.qr_svg import qr_svg_data_url

DEMO_CLIENT_ID = "tongban-demo-app"
DEMO_NAME = "通办演示应用 / tongban demo app"
DEMO_PURPOSE = ("核对您的准驾车型和驾驶证有效期，用于网约车司机注册 / "
                "to check your vehicle classes and licence validity for a ride-hailing driver sign-up")
PATH = "/demo-app/"
bp = Blueprint("demo_app", __name__, url_prefix="/demo-app", template_folder="templates", static_folder="static/demo_app",
               static_url_path="/static")
WANTED = ("name", "vehicle_classes", "valid_until")


def query(issuer_url: str) -> dict:
    """DCQL (OpenID4VP 1.0 §6): the driving licence's name, vehicle classes and expiry; the number optional."""
    return {"credentials": [{
        "id": "driving_licence", "format": "dc+sd-jwt", "meta": {"vct_values": [vct_for(issuer_url, "driving-licence")]},
        "claims": [{"id": "name", "path": ["name"]}, {"id": "classes", "path": ["vehicle_classes"]},
                   {"id": "until", "path": ["valid_until"]}, {"id": "number", "path": ["licence_number"]}],
        "claim_sets": [["name", "classes", "until", "number"], ["name", "classes", "until"]],
    }]}


def _online() -> OnlineVerifier:
    return current_app.extensions["tongban.oid4vp"]


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def page() -> str:
    return render_template("demo_app/index.html", labels={n: CLAIM_LABELS[n] for n in (*WANTED, "licence_number")})


@bp.post("/api/requests")
def create() -> Response:
    body = request.get_json(silent=True) or {}
    online = _online()
    created = online.create(DEMO_CLIENT_ID, query(online.base_url), same_device=body.get("same_device") is True)
    created["qr"] = qr_svg_data_url(created["link"])
    return _no_store(jsonify(created))


@bp.get("/api/requests/<transaction>")
def result(transaction: str) -> Response:
    try:
        found = _online().outcome(DEMO_CLIENT_ID, transaction, request.args.get("response_code"))
    except OnlineError as exc:
        return _no_store(jsonify(error=exc.reason, error_description=str(exc))), 404
    return _no_store(jsonify(found.to_json()))
