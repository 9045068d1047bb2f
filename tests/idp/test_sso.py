"""SSO across clients, RP-initiated and back-channel logout, max_age / prompt=login, id_token_hint."""

from __future__ import annotations

import jwt as pyjwt
import pytest
import requests

from tests.idp.conftest import Browser, query
from tests.idp.test_negatives import REDIRECT, authorize_url, exchange, get_code

embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)


def test_second_client_signs_in_without_password_and_logout_ends_both(idp, receiver):
    a = idp.client(name="社保", backchannel_logout_uri=receiver.url, post_logout_redirect_uris=["http://127.0.0.1:9/bye"])
    b = idp.client(name="公积金", backchannel_logout_uri=receiver.url)
    browser = Browser(idp)
    tokens_a = exchange(idp, a, get_code(idp, browser, a)).json()
    # client B: no login form, only B's consent page
    out = browser.go(authorize_url(idp, b))
    assert out is None and 'name="password"' not in browser.page.text and "公积金" in browser.page.text
    out = browser.submit("/consent", decision="allow")
    tokens_b = exchange(idp, b, query(out)["code"]).json()
    sid_a = pyjwt.decode(tokens_a["id_token"], options={"verify_signature": False})["sid"]
    sid_b = pyjwt.decode(tokens_b["id_token"], options={"verify_signature": False})["sid"]
    assert sid_a == sid_b  # one SSO session

    out = browser.go(idp.url + "/logout?" + requests.compat.urlencode({
        "id_token_hint": tokens_a["id_token"], "post_logout_redirect_uri": "http://127.0.0.1:9/bye", "state": "s9"}))
    assert out == "http://127.0.0.1:9/bye?state=s9"
    assert len(receiver.tokens) == 2
    jwks = pyjwt.PyJWKClient(idp.url + "/jwks.json")
    audiences = set()
    for token in receiver.tokens:
        header = pyjwt.get_unverified_header(token)
        assert header["typ"] == "logout+jwt"
        key = jwks.get_signing_key_from_jwt(token).key
        claims = pyjwt.decode(token, key, algorithms=["ES256"], issuer=idp.url,
                              options={"verify_aud": False, "require": ["iat", "jti", "events"]})
        assert claims["sid"] == sid_a and "nonce" not in claims
        assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
        audiences.add(claims["aud"])
    assert audiences == {a["client_id"], b["client_id"]}
    # both clients' tokens are dead and the next request needs a password
    for client, tokens in ((a, tokens_a), (b, tokens_b)):
        resp = requests.post(idp.url + "/token", data={"grant_type": "refresh_token",
                                                       "refresh_token": tokens["refresh_token"]},
                             auth=(client["client_id"], client["client_secret"]))
        assert resp.json()["error"] == "invalid_grant"
    assert query(browser.go(authorize_url(idp, b, prompt="none")))["error"] == "login_required"


@embedded
def test_logout_without_hint_asks_and_unregistered_post_logout_uri_is_refused(idp):
    a = idp.client()
    browser = Browser(idp)
    get_code(idp, browser, a)
    browser.go(idp.url + "/logout")
    assert 'value="logout"' in browser.page.text  # confirmation page, session still alive
    assert "code" in query(browser.go(authorize_url(idp, a, prompt="none")))
    browser.go(idp.url + f"/logout?client_id={a['client_id']}&post_logout_redirect_uri=http://evil.example/")
    assert browser.page.status_code == 400
    browser.go(idp.url + "/logout")
    browser.submit("/logout", decision="logout")
    assert "已退出" in browser.page.text
    assert query(browser.go(authorize_url(idp, a, prompt="none")))["error"] == "login_required"


@embedded
def test_prompt_login_and_max_age_force_reauthentication(idp):
    a = idp.client()
    browser = Browser(idp)
    get_code(idp, browser, a)
    assert browser.go(authorize_url(idp, a, prompt="login")) is None and 'name="password"' in browser.page.text
    out = browser.login()
    assert "code" in query(out)
    sso = idp.provider.sessions.get(browser.http.cookies.get("tb_sid"))
    sso.auth_time -= 100
    idp.provider.sessions.save(sso)
    assert browser.go(authorize_url(idp, a, max_age="50")) is None and 'name="password"' in browser.page.text
    assert "code" in query(browser.go(authorize_url(idp, a, max_age="500")))
    bad = query(browser.go(authorize_url(idp, a, max_age="-1")))
    assert bad["error"] == "invalid_request"
    bad = query(browser.go(authorize_url(idp, a, prompt="none login")))
    assert bad["error"] == "invalid_request"


@embedded
def test_id_token_hint_and_login_hint(idp):
    a = idp.client()
    browser = Browser(idp)
    tokens = exchange(idp, a, get_code(idp, browser, a)).json()
    ok = query(browser.go(authorize_url(idp, a, prompt="none", id_token_hint=tokens["id_token"])))
    assert "code" in ok
    bad = query(browser.go(authorize_url(idp, a, id_token_hint="not-a-jwt")))
    assert bad["error"] == "invalid_request"
    fresh = Browser(idp)
    fresh.go(authorize_url(idp, a, login_hint="13800138000"))
    assert 'value="13800138000"' in fresh.page.text


def test_redirect_uri_exact_and_nonce_echoed(idp):
    a = idp.client(redirect_uris=[REDIRECT, "http://127.0.0.1:9/cb2"])
    browser = Browser(idp)
    code = get_code(idp, browser, a, redirect_uri="http://127.0.0.1:9/cb2")
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/cb2",
            "code_verifier": "v" * 50}
    tokens = requests.post(idp.url + "/token", data=data, auth=(a["client_id"], a["client_secret"])).json()
    assert pyjwt.decode(tokens["id_token"], options={"verify_signature": False})["nonce"] == "n-1"


@embedded
def test_account_lists_sessions_and_ends_another_one(idp, receiver):
    a = idp.client(name="社保", backchannel_logout_uri=receiver.url)
    phone, laptop = Browser(idp), Browser(idp)
    get_code(idp, phone, a)
    laptop.go(idp.url + "/login")
    laptop.login()
    laptop.go(idp.url + "/account")
    assert laptop.page.text.count('action="/account/sessions/end"') == 2 and "社保" in laptop.page.text
    phone_sid = phone.http.cookies.get("tb_sid")
    laptop.go(idp.url + "/account/sessions/end", "POST", {**laptop.form("/account/sessions/end"), "sid": phone_sid})
    assert idp.provider.sessions.get(phone_sid) is None and len(receiver.tokens) == 1
    assert query(phone.go(authorize_url(idp, a, prompt="none")))["error"] == "login_required"
    # a session id that is not the citizen's own is ignored
    stranger = idp.provider.sessions.create("someone-else", 0, "real-name", ["pwd"])
    laptop.go(idp.url + "/account/sessions/end", "POST", {**laptop.form("/account/sessions/end"),
                                                          "sid": stranger.sid})
    assert idp.provider.sessions.get(stranger.sid) is not None
