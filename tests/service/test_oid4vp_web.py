"""OpenID4VP 1.0 through the Flask test client: an app registered with ``tongban clients add --verifier`` asks
for a driving licence, the "wallet" (this test, with a licence fetched through OpenID4VCI) reads the signed
request object with the app's registered key, answers by ``direct_post``, and the app collects exactly the asked
claims. Then the attacks at the HTTP edge: a second post, a wrong secret, another app reading the result, a
revoked licence, and the demo app's own endpoints."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

import keys
from credentials.sdjwt import present
from service.cli import main
from service.demo_app import DEMO_CLIENT_ID
from service.demo_app import query as demo_query
from verifier.online import verify_request_object

from .test_vci_offers import SD, access, proof, request_credential

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client(live):
    return live.app.test_client()


@pytest.fixture(scope="module")
def record(live):
    from idp.cli import DEMO_CITIZEN
    from issuer.cli import records_for

    [found] = [r for r in records_for(live.settings).held_by(DEMO_CITIZEN["id_number"])
               if r.licence_type == "driving-licence"]
    return found


def register(live, name="出租车管理", *extra) -> dict:
    env = {"TONGBAN_ISSUER_URL": live.url, "TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_DATA": str(live.data)}
    result = CliRunner().invoke(main, ["clients", "add", "--name", name, "--redirect-uri", "https://taxi.example.cn/back",
                                       *extra], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def app_client(live):
    return register(live, "出租车管理", "--verifier", "--purpose", "核对驾驶证 / check the driving licence")


@pytest.fixture(scope="module")
def holding(live, client, record):
    """A device key and the SD-JWT VC driving licence bound to it (OpenID4VCI pre-authorized flow)."""
    device = keys.generate("ES256")
    issued = request_credential(client, access(client, live, record), [proof(live, client, device)])
    assert issued.status_code == 200, issued.get_json()
    return device, issued.get_json()["credentials"][0]["credential"]


def basic(app: dict, secret: str | None = None) -> dict:
    raw = f"{app['client_id']}:{secret or app['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def ask(client, live, app: dict, **extra):
    response = client.post("/verifier/requests", headers=basic(app),
                           json={"dcql_query": demo_query(live.url), **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def wallet_reads(client, link: str, now: int) -> dict:
    """What the wallet does with a link: fetch the request object and check it with the app's registered key."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    described = client.get(f"/verifier/clients/{params['client_id']}").get_json()
    [jwk] = described["jwks"]["keys"]
    response = client.get(urlsplit(params["request_uri"]).path)
    assert response.status_code == 200 and response.mimetype == "application/oauth-authz-req+jwt"
    claims = verify_request_object(response.get_data(as_text=True), key=keys.PublicKey.from_jwk(jwk),
                                   client_id=params["client_id"], now=now)
    return {**claims, "described": described}


def respond(client, claims: dict, device, sd_jwt: str, names, *, now: int):
    shown = present(sd_jwt, names, holder_key=device, nonce=claims["nonce"], audience=claims["client_id"], iat=now)
    vp_token = json.dumps({"driving_licence": [shown]})
    return client.post(urlsplit(claims["response_uri"]).path, data={"vp_token": vp_token, "state": claims["state"]})


def test_registration_publishes_name_purpose_and_key(client, app_client):
    assert app_client["client_secret"] and app_client["verifier"]["purpose"].startswith("核对驾驶证")
    described = client.get(f"/verifier/clients/{app_client['client_id']}").get_json()
    assert described["name"] == "出租车管理" and described["jwks"]["keys"][0]["crv"] == "P-256"
    assert "d" not in described["jwks"]["keys"][0]
    assert client.get("/verifier/clients/nobody").status_code == 404


def test_the_whole_flow_and_the_edge_attacks(client, live, app_client, holding, record):
    device, sd_jwt = holding
    now = int(time.time())
    created = ask(client, live, app_client)
    assert created["link"].startswith("openid4vp://?client_id=")
    claims = wallet_reads(client, created["link"], now)
    assert claims["described"]["name"] == "出租车管理" and claims["purpose"].startswith("核对驾驶证")
    assert client.get(f"/verifier/requests/{created['transaction_id']}", headers=basic(app_client)).get_json() \
        == {"status": "pending"}
    answered = respond(client, claims, device, sd_jwt, ["name", "vehicle_classes", "valid_until"], now=now)
    assert answered.status_code == 200 and answered.get_json() == {}
    result = client.get(f"/verifier/requests/{created['transaction_id']}", headers=basic(app_client)).get_json()
    assert result["status"] == "verified"
    assert result["credentials"]["driving_licence"]["claims"] == {"name": "张三", "vehicle_classes": ["C1"],
                                                                   "valid_until": str(record.claims["valid_until"])}

    # A response posted twice: refused, and the first outcome stands.
    again = respond(client, claims, device, sd_jwt, ["name", "vehicle_classes", "valid_until"], now=now)
    assert again.status_code == 400 and again.get_json()["error"] == "response_already_received"
    # Another registered app cannot read it; a wrong secret is 401.
    other = register(live, "另一个应用", "--verifier", "--purpose", "别的用途")
    assert client.get(f"/verifier/requests/{created['transaction_id']}", headers=basic(other)).status_code == 404
    wrong = client.get(f"/verifier/requests/{created['transaction_id']}", headers=basic(app_client, "nope"))
    assert wrong.status_code == 401 and "Basic" in wrong.headers["WWW-Authenticate"]
    assert client.post("/verifier/requests", json={"dcql_query": demo_query(live.url)}).status_code == 401
    # A plain OIDC client (not a verifier) cannot create requests with its valid secret.
    plain = register(live, "只是登录")
    assert client.post("/verifier/requests", headers=basic(plain), json={"dcql_query": demo_query(live.url)}
                       ).status_code == 401

    # Disclosing more than asked: the app's result says refused.
    created = ask(client, live, app_client)
    claims = wallet_reads(client, created["link"], now)
    extra = respond(client, claims, device, sd_jwt, ["name", "vehicle_classes", "valid_until", "birth_date"], now=now)
    assert extra.status_code == 400
    result = client.get(f"/verifier/requests/{created['transaction_id']}", headers=basic(app_client)).get_json()
    assert result == {"status": "refused", "error": "claims_not_requested"}


def test_bad_requests_are_json_never_500(client, live, app_client):
    for body in (None, [], {"dcql_query": {}}, {"dcql_query": demo_query(live.url), "same_device": "yes"},
                 {"dcql_query": demo_query(live.url), "purpose": 5}):
        response = client.post("/verifier/requests", headers=basic(app_client), json=body)
        assert response.status_code == 400 and response.get_json()["error"]
    assert client.get("/verifier/requests/nope/request.jwt").status_code == 404
    assert client.post("/verifier/requests/nope/response", data={"vp_token": "{}"}).status_code == 404
    created = ask(client, live, app_client)
    path = urlsplit(created["request_uri"]).path.replace("request.jwt", "response")
    assert client.post(path, json={"vp_token": {}}).status_code == 400  # direct_post is form-encoded


def test_a_revoked_licence_is_refused(client, live, app_client, record):
    from issuer.cli import records_for

    device = keys.generate("ES256")
    issued = request_credential(client, access(client, live, record, configurations=(SD,)), [proof(live, client, device)])
    sd_jwt = issued.get_json()["credentials"][0]["credential"]
    now = int(time.time())
    elicence_id = records_for(live.settings).last_issued(f"{record.record_id}|dc+sd-jwt")
    issuer = live.app.extensions["tongban.vci"].issuer
    issuer.set_status(elicence_id, now=now)
    issuer.publish_pending(now=now)
    created = ask(client, live, app_client)
    claims = wallet_reads(client, created["link"], now)
    answered = respond(client, claims, device, sd_jwt, ["name", "vehicle_classes", "valid_until"], now=now)
    assert answered.status_code == 400
    result = client.get(f"/verifier/requests/{created['transaction_id']}", headers=basic(app_client)).get_json()
    assert result == {"status": "refused", "error": "revoked"}


def test_the_demo_app_same_device_round(client, live, record):
    device = keys.generate("ES256")  # a fresh copy: the earlier tests' were replaced or revoked
    issued = request_credential(client, access(client, live, record), [proof(live, client, device)])
    sd_jwt = issued.get_json()["credentials"][0]["credential"]
    assert client.get("/demo-app/").status_code == 200
    created = client.post("/demo-app/api/requests", json={"same_device": True}).get_json()
    assert created["qr"].startswith("data:image/svg+xml;base64,")
    assert created["wallet_link"].startswith(live.url + "/wallet/?client_id=" + DEMO_CLIENT_ID)
    now = int(time.time())
    claims = wallet_reads(client, created["wallet_link"], now)
    answered = respond(client, claims, device, sd_jwt, ["name", "vehicle_classes", "valid_until"], now=now)
    redirect = answered.get_json()["redirect_uri"]
    assert redirect.startswith(live.url + "/demo-app/?transaction=")
    code = parse_qs(urlsplit(redirect).query)["response_code"][0]
    path = f"/demo-app/api/requests/{created['transaction_id']}"
    assert client.get(path).get_json() == {"status": "pending"}  # no response_code: nothing (session fixation)
    found = client.get(path, query_string={"response_code": code}).get_json()
    assert found["status"] == "verified" and set(found["credentials"]["driving_licence"]["claims"]) == {
        "name", "vehicle_classes", "valid_until"}


def test_clients_add_verifier_needs_a_purpose_and_a_secret(live):
    env = {"TONGBAN_ISSUER_URL": live.url, "TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_DATA": str(live.data)}
    base = ["clients", "add", "--name", "x", "--redirect-uri", "https://x.example.cn/cb"]
    for extra in (["--verifier"], ["--verifier", "--purpose", "p", "--public"], ["--purpose", "p"]):
        result = CliRunner().invoke(main, [*base, *extra], env=env)
        assert result.exit_code == 2 and result.output.startswith("error:"), result.output
