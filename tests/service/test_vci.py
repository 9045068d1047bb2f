"""The credential endpoint (issuer.vci, OpenID4VCI-shaped) driven over HTTP with a real IdP access token."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
import requests

import keys
from credentials import make_presentation
from credentials.credential import parse_credential
from credentials.elicence_id import parse_id
from idp.cli import DEMO_CITIZEN
from tests.service.conftest import sign_in
from verifier.cache import DirectorySource, VerifierCache
from verifier.pipeline import verify
from verifier.replay import MemoryReplayCache


@pytest.fixture(scope="module")
def token(live) -> str:
    return sign_in(live)["access_token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def proof(live, device: keys.PrivateKey, *, nonce: str | None = None, aud: str | None = None, iat: int | None = None,
          typ: str = "openid4vci-proof+jwt") -> dict:
    if nonce is None:
        nonce = requests.post(live.url + "/issuer/nonce", timeout=5).json()["c_nonce"]
    claims = {"aud": aud or live.url, "iat": iat or int(time.time()), "nonce": nonce}
    token = jwt.encode(claims, device.crypto_key(), algorithm="ES256",
                       headers={"typ": typ, "jwk": device.public.public_jwk()})
    return {"proof_type": "jwt", "jwt": token}


def records(live, token: str) -> dict[str, dict]:
    response = requests.get(live.url + "/issuer/records", headers=bearer(token), timeout=5)
    assert response.status_code == 200, response.text
    return {r["licence_type"]: r for r in response.json()["records"]}


def test_metadata_names_the_endpoints(live):
    meta = requests.get(live.url + "/.well-known/openid-credential-issuer", timeout=5).json()
    assert meta["credential_issuer"] == live.url and meta["nonce_endpoint"] == live.url + "/issuer/nonce"
    config = meta["credential_configurations_supported"]["driving-licence"]
    assert config["scope"] == "licences" and config["proof_types_supported"]["jwt"]
    assert "health-code" not in meta["credential_configurations_supported"]  # served by /issuer/health-code


def test_records_list_the_citizens_licences_without_the_id_number(live, token):
    held = records(live, token)
    assert set(held) == {"driving-licence", "resident-id"}
    assert DEMO_CITIZEN["id_number"] not in str(held)


def test_issue_binds_the_device_key_and_verifies_offline(live, token, tmp_path):
    device = keys.generate("ES256")
    record = records(live, token)["driving-licence"]
    response = requests.post(live.url + "/issuer/credential", headers=bearer(token), timeout=10, json={
        "credential_configuration_id": "driving-licence", "record": record["id"], "proof": proof(live, device)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["Cache-Control"] == "no-store"
    assert set(body["views"]) == {"full", "driving", "age"} and body["summary"]["name"] == "张三"
    views = {k: base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)) for k, v in body["credentials"][0]["credential"].items()}
    _, credential = parse_credential(views["driving"])
    assert credential.holder_key.kid == device.public.kid
    cache = VerifierCache(tmp_path / "cache")
    now = int(time.time())
    cache.sync(DirectorySource(live.data), now=now, root=keys.PublicKey.from_jwk(DirectorySource(live.data).root_key()))
    decision = verify(make_presentation(views["driving"], device, now=now), trust=cache.trust_list(now), status=cache,
                      replay=MemoryReplayCache(), now=now)
    assert decision.valid, decision
    assert decision.elicence_id == body["elicence_id"]


@pytest.mark.parametrize(("change", "error"), [
    ({"aud": "https://elsewhere.example"}, "invalid_proof"),
    ({"iat": 1_000_000_000}, "invalid_proof"),
    ({"typ": "JWT"}, "invalid_proof"),
    ({"nonce": "never-issued"}, "invalid_nonce"),
])
def test_bad_proofs_are_refused(live, token, change, error):
    record = records(live, token)["resident-id"]
    response = requests.post(live.url + "/issuer/credential", headers=bearer(token), timeout=10, json={
        "credential_configuration_id": "resident-id", "record": record["id"],
        "proof": proof(live, keys.generate("ES256"), **change)})
    assert (response.status_code, response.json()["error"]) == (400, error)


def test_a_nonce_is_used_once(live, token):
    record = records(live, token)["resident-id"]
    nonce = requests.post(live.url + "/issuer/nonce", timeout=5).json()["c_nonce"]
    device = keys.generate("ES256")
    request = {"credential_configuration_id": "resident-id", "record": record["id"]}
    first = requests.post(live.url + "/issuer/credential", headers=bearer(token), timeout=10,
                          json={**request, "proof": proof(live, device, nonce=nonce)})
    assert first.status_code == 200
    again = requests.post(live.url + "/issuer/credential", headers=bearer(token), timeout=10,
                          json={**request, "proof": proof(live, device, nonce=nonce)})
    assert again.json()["error"] == "invalid_nonce"


def test_token_and_record_checks(live, token):
    device = keys.generate("ES256")
    url = live.url + "/issuer/credential"
    assert requests.get(live.url + "/issuer/records", timeout=5).status_code == 401
    bad = requests.get(live.url + "/issuer/records", headers=bearer("nope"), timeout=5)
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    # Another citizen's record (李四's driving licence) looks like no record at all.
    from issuer.cli import records_for

    [other] = records_for(live.settings).held_by("440304198512124569")
    response = requests.post(url, headers=bearer(token), timeout=10, json={
        "credential_configuration_id": "driving-licence", "record": other.record_id, "proof": proof(live, device)})
    assert response.json()["error"] == "invalid_credential_request"
    response = requests.post(url, headers=bearer(token), timeout=10, json={
        "credential_configuration_id": "passport", "record": other.record_id, "proof": proof(live, device)})
    assert response.json()["error"] == "unknown_credential_configuration"


def test_a_token_without_the_licences_scope_is_refused(live):
    provider = live.app.extensions["tongban.idp"]
    client = provider.clients.add("其他应用", ["http://127.0.0.1:9/cb"], public=True, scopes=["openid", "profile"])
    token = sign_in(live, client_id=client["client_id"], redirect_uri="http://127.0.0.1:9/cb",
                    scope="openid profile")["access_token"]
    response = requests.get(live.url + "/issuer/records", headers=bearer(token), timeout=5)
    # Another app's token is not for the issuer at all (its audience), whatever its scopes.
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_1_0_proofs_form_is_accepted_with_one_jwt(live, token):
    record = records(live, token)["resident-id"]
    device = keys.generate("ES256")
    request = {"credential_configuration_id": "resident-id", "record": record["id"]}
    response = requests.post(live.url + "/issuer/credential", headers=bearer(token), timeout=10,
                             json={**request, "proofs": {"jwt": [proof(live, device)["jwt"]]}})
    assert response.status_code == 200, response.text
    two = [proof(live, device)["jwt"], proof(live, device)["jwt"]]
    response = requests.post(live.url + "/issuer/credential", headers=bearer(token), timeout=10,
                             json={**request, "proofs": {"jwt": two}})
    assert response.json()["error"] == "invalid_proof"


def test_a_revoked_token_stops_working(live):
    from wallet.web import CLIENT_ID

    token = sign_in(live)["access_token"]
    assert requests.get(live.url + "/issuer/records", headers=bearer(token), timeout=5).status_code == 200
    revoked = requests.post(live.url + "/revoke", data={"token": token, "client_id": CLIENT_ID}, timeout=5)
    assert revoked.status_code == 200, revoked.text
    assert requests.get(live.url + "/issuer/records", headers=bearer(token), timeout=5).status_code == 401


def test_wallet_page_scripts_are_static_files_under_the_csp(live):
    page = requests.get(live.url + "/wallet/", timeout=5)
    assert page.status_code == 200 and "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.text and 'data-client-id="tongban-wallet"' in page.text
    assert requests.get(live.url + "/wallet", timeout=5, allow_redirects=False).status_code in (301, 308)
    for path in ("/wallet/static/wallet.js", "/wallet/static/tb-format.js",
                 "/wallet/static/vendor/qrcode-generator-2.0.4.mjs", "/wallet/sw.js"):
        response = requests.get(live.url + path, timeout=5)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/javascript"), path


def test_wallet_scripts_use_no_pop_ups_or_eval():
    from pathlib import Path

    static = Path(__file__).resolve().parents[2] / "wallet" / "static"
    scripts = sorted(static.glob("*.js"))  # wallet.js and every module it imports (one per section), sw.js
    assert {"wallet.js", "tb-format.js", "sw.js", "presenting.js", "health.js"} <= {p.name for p in scripts}
    for script in scripts:
        text = script.read_text()
        assert not any(word in text for word in ("alert(", "confirm(", "prompt(", "eval(", "innerHTML")), script.name


def test_adding_the_licence_again_replaces_the_earlier_copy(live, token, tmp_path):
    """A new phone (or a reinstalled wallet) gets the licence; the copy on the old device is revoked."""
    record = records(live, token)["driving-licence"]

    def add(device: keys.PrivateKey) -> dict:
        response = requests.post(live.url + "/issuer/credential", headers=bearer(token), timeout=10, json={
            "credential_configuration_id": "driving-licence", "record": record["id"], "proof": proof(live, device)})
        assert response.status_code == 200, response.text
        return response.json()

    old_phone, new_phone = keys.generate("ES256"), keys.generate("ES256")
    first, second = add(old_phone), add(new_phone)
    assert parse_id(second["elicence_id"])[2] == parse_id(first["elicence_id"])[2]  # same serial, next version
    assert parse_id(second["elicence_id"])[3] == parse_id(first["elicence_id"])[3] + 1
    cache = VerifierCache(tmp_path / "cache")
    now = int(time.time())
    cache.sync(DirectorySource(live.data), now=now, root=keys.PublicKey.from_jwk(DirectorySource(live.data).root_key()))

    def decide(body: dict, device: keys.PrivateKey):
        raw = body["credentials"][0]["credential"]["driving"]
        view = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        return verify(make_presentation(view, device, now=now), trust=cache.trust_list(now), status=cache,
                      replay=MemoryReplayCache(), now=now)

    assert decide(first, old_phone).reasons == ("revoked",)
    assert decide(second, new_phone).valid
