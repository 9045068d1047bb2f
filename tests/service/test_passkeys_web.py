"""The passkey endpoints over HTTP, answered by a software authenticator (tests/idp/soft_authenticator.py): CSRF on
every form, a challenge answered from another browser, the ID token's ``amr``/``acr`` after a passkey sign-in, and
the wallet's unlock endpoint (token required; bound to the token; replay; no passkey yet)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.cli import DEMO_CITIZEN
from service.health import DEMO_OFFICER
from tests.idp.soft_authenticator import SoftAuthenticator
from tests.service.conftest import sign_in
from wallet.web import CLIENT_ID, REDIRECT_PATH


class Citizen:
    """A browser: cookies, and the CSRF token of the last page read."""

    def __init__(self, url: str):
        self.url, self.http = url, requests.Session()
        self.csrf = ""

    def read(self, path: str) -> requests.Response:
        page = self.http.get(self.url + path, timeout=10)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        self.csrf = found.group(1) if found else self.csrf
        return page

    def post(self, path: str, **form) -> requests.Response:
        return self.http.post(self.url + path, data={"csrf_token": self.csrf, **form}, allow_redirects=False,
                              timeout=10)

    def password_sign_in(self, username: str = DEMO_CITIZEN["id_number"], password: str = DEMO_CITIZEN["password"]):
        self.read("/login")
        assert self.post("/login", username=username, password=password).status_code == 302
        self.read("/account")

    def add_passkey(self, phone: SoftAuthenticator, name: str = "手机") -> None:
        options = self.post("/account/passkeys/options")
        assert options.status_code == 200, options.text
        added = self.post("/account/passkeys", credential=phone.create(options.json()), name=name)
        assert added.status_code == 200 and added.json()["redirect"] == "/account?passkey=added", added.text

    def passkey_sign_in(self, phone: SoftAuthenticator, **kw) -> requests.Response:
        self.read("/login")
        options = self.post("/login/passkey/options").json()
        return self.post("/login/passkey", credential=phone.get(options, **kw))


@pytest.fixture(scope="module")
def site(live_localhost):
    return live_localhost


@pytest.fixture(scope="module")
def phone(site) -> SoftAuthenticator:
    """张三's phone with a passkey registered."""
    authenticator = SoftAuthenticator(site.url, "localhost")
    citizen = Citizen(site.url)
    citizen.password_sign_in()
    citizen.add_passkey(authenticator)
    return authenticator


def test_every_passkey_form_needs_the_csrf_token(site):
    citizen = Citizen(site.url)
    citizen.password_sign_in()
    for path in ("/login/passkey/options", "/login/passkey", "/account/passkeys/options", "/account/passkeys"):
        response = citizen.http.post(site.url + path, data={"csrf_token": "forged"}, timeout=10)
        assert response.status_code == 400 and response.json()["error"] == "csrf", path
    removal = citizen.http.post(site.url + "/account/passkeys/remove", data={"credential_id": "x"}, timeout=10)
    assert removal.status_code == 400


def test_passkey_sign_in_gives_hwk_and_user_and_the_password_acr(site, phone):
    citizen = Citizen(site.url)
    signed = citizen.passkey_sign_in(phone)
    assert signed.status_code == 200 and signed.json() == {"redirect": "/account"}
    assert "tb_sid" in citizen.http.cookies
    # An app signs in through this session: its ID token says how (RFC 8176) and at which level.
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": site.url + REDIRECT_PATH,
              "scope": "openid", "state": "s", "nonce": "n", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
              "code_challenge_method": "S256"}
    page = citizen.http.get(site.url + "/authorize?" + urlencode(params), allow_redirects=False, timeout=10)
    if page.status_code == 200:  # the consent page
        citizen.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        ia = re.search(r'name="ia" value="([^"]+)"', page.text).group(1)
        page = citizen.post("/consent", ia=ia, decision="allow")
    code = parse_qs(urlsplit(page.headers["Location"]).query)["code"][0]
    tokens = requests.post(site.url + "/token", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": site.url + REDIRECT_PATH,
        "client_id": CLIENT_ID, "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}).json()
    keys = KeySet.import_key_set(requests.get(site.url + "/jwks.json", timeout=10).json())
    claims = jwt.decode(tokens["id_token"], keys).claims
    assert claims["amr"] == ["hwk", "user"] and claims["acr"] == "real-name"


def test_a_challenge_from_one_browser_cannot_be_answered_in_another(site, phone):
    victim, attacker = Citizen(site.url), Citizen(site.url)
    victim.read("/login")
    attacker.read("/login")
    options = victim.post("/login/passkey/options").json()  # e.g. a phishing relay fetched it in the victim's name
    answer = phone.get(options)
    attacker.post("/login/passkey/options")
    refused = attacker.post("/login/passkey", credential=answer)
    assert refused.status_code == 401 and "tb_sid" not in attacker.http.cookies
    replayed = victim.post("/login/passkey", credential=answer)
    assert replayed.status_code == 200  # the victim's own browser still can, once
    again = victim.post("/login/passkey", credential=answer)
    assert again.status_code == 401 and again.json()["error"] == "passkey_challenge"


def test_a_refused_passkey_says_why_in_words(site, phone):
    refused = Citizen(site.url).passkey_sign_in(phone, uv=False)
    assert refused.status_code == 401
    assert refused.json()["error"] == "passkey_invalid" and "could not be verified" in refused.json()["message"]


def _bearer(tokens: dict) -> dict:
    return {"Authorization": "Bearer " + tokens["access_token"]}


def test_wallet_unlock(site, phone):
    tokens = sign_in(site)
    url = site.url + "/wallet/api/unlock"
    assert requests.post(url + "/options", timeout=10).status_code == 401
    options = requests.post(url + "/options", headers=_bearer(tokens), timeout=10)
    assert options.status_code == 200 and options.json()["userVerification"] == "required"
    assert [d["id"] for d in options.json()["allowCredentials"]] == [json.loads(phone.get(options.json()))["id"]]
    answer = phone.get(options.json())
    ok = requests.post(url, json={"credential": answer}, headers=_bearer(tokens), timeout=10)
    assert ok.status_code == 200 and ok.json()["unlocked"] is True and ok.json()["seconds"] == 300
    replay = requests.post(url, json={"credential": answer}, headers=_bearer(tokens), timeout=10)
    assert replay.status_code == 403 and replay.json()["error"] == "passkey_challenge"


def test_wallet_unlock_is_bound_to_the_token_that_asked(site, phone):
    first, second = sign_in(site), sign_in(site)  # the same citizen's two wallets (two browsers)
    url = site.url + "/wallet/api/unlock"
    options = requests.post(url + "/options", headers=_bearer(first), timeout=10).json()
    answer = phone.get(options)
    refused = requests.post(url, json={"credential": answer}, headers=_bearer(second), timeout=10)
    assert refused.status_code == 403 and refused.json()["error"] == "passkey_challenge"
    # and the first wallet's challenge is still its own to answer
    assert requests.post(url, json={"credential": answer}, headers=_bearer(first), timeout=10).status_code == 200


def test_wallet_unlock_without_a_passkey_says_so(site):
    officer = sign_in(site, username=DEMO_OFFICER["id_number"], password=DEMO_OFFICER["password"])
    response = requests.post(site.url + "/wallet/api/unlock/options", headers=_bearer(officer), timeout=10)
    assert response.status_code == 409 and response.json()["error"] == "passkey_none"
    assert "account page" in response.json()["message"]


@pytest.mark.parametrize("body", [None, {}, {"credential": 5}, {"credential": "x" * 20000}, {"credential": "{}"}])
def test_wallet_unlock_refuses_junk_with_a_reason(site, phone, body):
    tokens = sign_in(site)
    url = site.url + "/wallet/api/unlock"
    requests.post(url + "/options", headers=_bearer(tokens), timeout=10)
    response = requests.post(url, json=body, headers=_bearer(tokens), timeout=10)
    assert response.status_code == 403 and response.json()["error"].startswith("passkey_")
