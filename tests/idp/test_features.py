"""Sensitive-claim consent and withdrawal, TOTP, PAR, step-up (acr), private_key_jwt, key rotation."""

from __future__ import annotations

import time

import jwt as pyjwt
import pyotp
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

import keys
from idp.cli import DEMO_CITIZEN
from tests.idp.conftest import Browser, query
from tests.idp.test_negatives import REDIRECT, authorize_url, challenge, exchange, get_code

embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)


def userinfo(idp, tokens: dict) -> dict:
    return requests.get(idp.url + "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}).json()


@embedded
def test_id_number_needs_registration_and_separate_consent(idp):
    client = idp.client(scopes=["openid", "profile", "id_number"])
    browser = Browser(idp)
    browser.go(authorize_url(idp, client, scope="openid profile id_number"))
    browser.login()
    assert "居民身份证号码" in browser.page.text and "resident ID number" in browser.page.text
    assert 'name="consent_id_number"' in browser.page.text
    out = browser.submit("/consent", decision="allow")  # box not ticked: no ID number
    tokens = exchange(idp, client, query(out)["code"]).json()
    assert tokens["scope"] == "openid profile"
    assert "id_number" not in userinfo(idp, tokens)

    browser.go(authorize_url(idp, client, scope="openid profile id_number"))  # asked again, only then
    out = browser.submit("/consent", decision="allow", consent_id_number="yes")
    tokens = exchange(idp, client, query(out)["code"]).json()
    assert userinfo(idp, tokens)["id_number"] == DEMO_CITIZEN["id_number"]
    assert idp.provider.consents.granted(tokens and idp.provider.accounts.find("13800138000").sub,
                                         client["client_id"]) == {"openid", "profile", "id_number"}

    # account page lists each consent; withdrawing one revokes the client's tokens and asks again next time
    browser.go(idp.url + "/account")
    assert "居民身份证号码" in browser.page.text and "测试应用" in browser.page.text
    form = browser.form("/account/consents/withdraw")  # first row
    browser.go(idp.url + "/account/consents/withdraw", "POST", {**form, "scope": "id_number"})
    assert userinfo(idp, tokens).get("error") == "invalid_token"
    sub = idp.provider.accounts.find("13800138000").sub
    assert idp.provider.consents.granted(sub, client["client_id"]) == {"openid", "profile"}
    assert query(browser.go(authorize_url(idp, client, scope="openid profile id_number", prompt="none"))
                 )["error"] == "consent_required"


@embedded
def test_consent_deny_returns_access_denied(idp):
    client = idp.client()
    browser = Browser(idp)
    browser.go(authorize_url(idp, client))
    browser.login()
    params = query(browser.submit("/consent", decision="deny"))
    assert params["error"] == "access_denied" and params["iss"] == idp.url and params["state"] == "st-1"


@embedded
def test_totp_enrolment_and_second_factor(idp):
    browser = Browser(idp)
    browser.go(idp.url + "/login")
    browser.login()
    browser.go(idp.url + "/account")
    browser.submit("/account/totp", action="begin")
    secret = browser.page.text.split("<code>")[1].split("</code>")[0]
    assert 'src="data:image/png;base64,' in browser.page.text  # QR code for the authenticator app
    browser.submit("/account/totp", action="confirm", otp="000000" if pyotp.TOTP(secret).now() != "000000" else "1")
    assert browser.page.status_code == 400
    browser.submit("/account/totp", action="confirm", otp=pyotp.TOTP(secret).now())
    assert "已启用动态验证码" in browser.page.text

    client = idp.client()
    fresh = Browser(idp)
    fresh.go(authorize_url(idp, client))
    fresh.login()
    assert fresh.page.status_code == 401 and 'name="otp"' in fresh.page.text
    code_now = pyotp.TOTP(secret).now()
    out = fresh.login(otp=code_now)
    if out is None:
        out = fresh.submit("/consent", decision="allow")
    claims = pyjwt.decode(exchange(idp, client, query(out)["code"]).json()["id_token"],
                          options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]
    again = Browser(idp)  # the same code cannot be used twice (RFC 6238 §5.2)
    again.go(idp.url + "/login")
    again.login(otp=code_now)
    assert again.page.status_code == 401


def test_pushed_authorization_request(idp):
    client = idp.client()
    auth = (client["client_id"], client["client_secret"])
    data = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT,
            "scope": "openid profile", "state": "par-state", "code_challenge": challenge("v" * 50),
            "code_challenge_method": "S256"}
    resp = requests.post(idp.url + "/par", data=data, auth=auth)
    assert resp.status_code == 201 and resp.json()["expires_in"] == 60
    request_uri = resp.json()["request_uri"]
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    browser = Browser(idp)
    browser.go(idp.url + "/authorize?" + requests.compat.urlencode({"client_id": client["client_id"],
                                                                     "request_uri": request_uri}))
    browser.login()
    out = browser.submit("/consent", decision="allow")
    assert query(out)["state"] == "par-state"
    assert exchange(idp, client, query(out)["code"]).status_code == 200
    browser.go(idp.url + "/authorize?" + requests.compat.urlencode({"client_id": client["client_id"],
                                                                     "request_uri": request_uri}))
    assert browser.page.status_code == 400  # used once
    bad = requests.post(idp.url + "/par", data={**data, "code_challenge_method": "plain"}, auth=auth)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
    assert requests.post(idp.url + "/par", data=data).status_code == 401


@embedded
def test_acr_step_up(idp):
    client = idp.client()
    browser = Browser(idp)
    get_code(idp, browser, client)  # signed in at real-name
    silent = query(browser.go(authorize_url(idp, client, acr_values="real-person", prompt="none")))
    assert silent["error"] == "interaction_required"
    assert browser.go(authorize_url(idp, client, acr_values="real-person")) is None
    assert "人脸核验" in browser.page.text
    out = browser.submit("/stepup", decision="verify", challenge="demo")
    claims = pyjwt.decode(exchange(idp, client, query(out)["code"]).json()["id_token"],
                          options={"verify_signature": False})
    assert claims["acr"] == "real-person" and "face" in claims["amr"]


@embedded
def test_private_key_jwt_client_authentication(idp):
    key = ECKey.generate_key("P-256", {"kid": "rp-1"}, private=True)
    client = idp.client(jwks={"keys": [key.as_dict(private=False)]})
    assert client["token_endpoint_auth_method"] == "private_key_jwt" and "client_secret" not in client
    browser = Browser(idp)
    code = get_code(idp, browser, client)
    session = OAuth2Session(client["client_id"], key, redirect_uri=REDIRECT,
                            token_endpoint_auth_method=PrivateKeyJWT(idp.url + "/token", alg="ES256"))
    token = session.fetch_token(idp.url + "/token", grant_type="authorization_code", code=code,
                                code_verifier="v" * 50)
    assert token["id_token"]
    wrong = ECKey.generate_key("P-256", private=True)
    session = OAuth2Session(client["client_id"], wrong, redirect_uri=REDIRECT,
                            token_endpoint_auth_method=PrivateKeyJWT(idp.url + "/token", alg="ES256"))
    code = get_code(idp, browser, client)
    with pytest.raises(Exception, match="invalid_client"):
        session.fetch_token(idp.url + "/token", grant_type="authorization_code", code=code, code_verifier="v" * 50)


@embedded
def test_rotated_key_stays_published_and_old_tokens_verify(idp, tmp_path):
    client = idp.client()
    browser = Browser(idp)
    old_token = exchange(idp, client, get_code(idp, browser, client)).json()["id_token"]
    key_dir = idp.provider.key_cache.key_dir
    store = keys.KeyRingStore(key_dir, idp.provider.key_cache.policy)
    ring = store.load("idp")
    ring.rotate(int(time.time()))
    store.save(ring)
    published = [k for k in requests.get(idp.url + "/jwks.json").json()["keys"] if k["alg"] == "ES256"]
    assert len(published) == 2
    new_token = exchange(idp, client, get_code(idp, browser, client)).json()["id_token"]
    assert pyjwt.get_unverified_header(new_token)["kid"] != pyjwt.get_unverified_header(old_token)["kid"]
    jwks = pyjwt.PyJWKClient(idp.url + "/jwks.json")
    for token in (old_token, new_token):
        pyjwt.decode(token, jwks.get_signing_key_from_jwt(token).key, algorithms=["ES256"],
                     audience=client["client_id"])


@embedded
def test_failed_step_up_keeps_the_lower_level(idp):
    client = idp.client()
    browser = Browser(idp)
    get_code(idp, browser, client)
    browser.go(authorize_url(idp, client, acr_values="real-person"))
    out = browser.submit("/stepup", decision="verify", challenge="not-the-face")
    claims = pyjwt.decode(exchange(idp, client, query(out)["code"]).json()["id_token"],
                          options={"verify_signature": False})
    assert claims["acr"] == "real-name" and "face" not in claims["amr"]  # the RP sees what was proven


@embedded
def test_counter_verified_account_reaches_the_highest_level_after_step_up(idp):
    account = idp.provider.accounts.find(DEMO_CITIZEN["id_number"])
    idp.provider.accounts.set_assurance(account.sub, "counter-verified")
    client = idp.client()
    browser = Browser(idp)
    get_code(idp, browser, client)
    browser.go(authorize_url(idp, client, acr_values="counter-verified"))
    out = browser.submit("/stepup", decision="verify", challenge="demo")
    claims = pyjwt.decode(exchange(idp, client, query(out)["code"]).json()["id_token"],
                          options={"verify_signature": False})
    assert claims["acr"] == "counter-verified"


@embedded
def test_turning_totp_off_needs_a_current_code_or_the_password(idp):
    """A session alone (a phone left unlocked, a stolen cookie) must not switch the second factor off."""
    browser = Browser(idp)
    browser.go(idp.url + "/login")
    browser.login()
    browser.go(idp.url + "/account")
    browser.submit("/account/totp", action="begin")
    secret = browser.page.text.split("<code>")[1].split("</code>")[0]
    browser.submit("/account/totp", action="confirm", otp=pyotp.TOTP(secret).now())
    account = idp.provider.accounts.find(DEMO_CITIZEN["id_number"])
    assert account.totp_enabled

    browser.submit("/account/totp", action="disable")  # one click, as before: refused
    assert "still on" in browser.page.text
    browser.submit("/account/totp", action="disable", password="not-the-password")
    assert "still on" in browser.page.text
    assert idp.provider.accounts.find(DEMO_CITIZEN["id_number"]).totp_enabled
    browser.submit("/account/totp", action="disable", password=DEMO_CITIZEN["password"])
    assert not idp.provider.accounts.find(DEMO_CITIZEN["id_number"]).totp_enabled
