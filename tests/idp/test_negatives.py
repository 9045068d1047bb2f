"""What the provider must refuse: PKCE, redirect URIs, code and refresh reuse, scopes, CSRF, lockout, proofing."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

import pytest
import requests

from idp.cli import DEMO_CITIZEN
from tests.idp.conftest import Browser, query

REDIRECT = "http://127.0.0.1:9/cb"
embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_url(idp, client: dict, verifier: str | None = "v" * 50, **overrides) -> str:
    params = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT,
              "scope": "openid profile", "state": "st-1", "nonce": "n-1"}
    if verifier is not None:
        params.update(code_challenge=challenge(verifier), code_challenge_method="S256")
    params.update(overrides)
    return idp.url + "/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def get_code(idp, browser: Browser, client: dict, verifier: str = "v" * 50, **overrides) -> str:
    out = browser.go(authorize_url(idp, client, verifier, **overrides))
    if out is None and 'name="password"' in browser.page.text:
        out = browser.login()
    if out is None:
        out = browser.submit("/consent", decision="allow")
    return query(out)["code"]


def exchange(idp, client: dict, code: str, verifier: str | None = "v" * 50) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        data["code_verifier"] = verifier
    return requests.post(idp.url + "/token", data=data, auth=(client["client_id"], client["client_secret"]))


def refresh(idp, client: dict, token: str) -> requests.Response:
    return requests.post(idp.url + "/token", data={"grant_type": "refresh_token", "refresh_token": token},
                         auth=(client["client_id"], client["client_secret"]))


def userinfo(idp, access_token: str) -> int:
    return requests.get(idp.url + "/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code


@embedded
@pytest.mark.parametrize("overrides,description", [
    ({"code_challenge": None, "code_challenge_method": None}, "PKCE is required"),
    ({"code_challenge_method": "plain", "code_challenge": "v" * 50}, "S256"),
    ({"code_challenge_method": None}, "S256"),
])
def test_pkce_missing_or_plain_is_refused(idp, overrides, description):
    client = idp.client()
    out = Browser(idp).go(authorize_url(idp, client, **overrides))
    params = query(out)
    assert params["error"] == "invalid_request" and description in params["error_description"]
    assert params["state"] == "st-1" and params["iss"] == idp.url  # RFC 9207: iss on errors too


@embedded
def test_wrong_or_missing_verifier(idp):
    client, browser = idp.client(), Browser(idp)
    code = get_code(idp, browser, client)
    bad = exchange(idp, client, code, verifier="w" * 50)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    code = get_code(idp, browser, client)
    missing = exchange(idp, client, code, verifier=None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


@embedded
def test_redirect_uri_mismatch_is_not_redirected(idp):
    client = idp.client()
    browser = Browser(idp)
    out = browser.go(authorize_url(idp, client, redirect_uri="http://127.0.0.1:9/cb/evil"))
    assert out is None and browser.page.status_code == 400  # never redirect to an unregistered URI
    out = browser.go(authorize_url(idp, client, redirect_uri="http://127.0.0.1:9/CB"))
    assert out is None and browser.page.status_code == 400  # exact match, case included
    # at the token endpoint the redirect_uri must equal the one in the request
    code = get_code(idp, browser, client)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/other",
            "code_verifier": "v" * 50}
    resp = requests.post(idp.url + "/token", data=data, auth=(client["client_id"], client["client_secret"]))
    assert resp.json()["error"] == "invalid_grant"


def test_code_reuse_revokes_tokens_issued_from_it(idp):
    client, browser = idp.client(), Browser(idp)
    code = get_code(idp, browser, client)
    first = exchange(idp, client, code)
    assert first.status_code == 200
    tokens = first.json()
    assert userinfo(idp, tokens["access_token"]) == 200
    second = exchange(idp, client, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert userinfo(idp, tokens["access_token"]) == 401  # RFC 6749 §4.1.2: revoke what the code issued
    assert refresh(idp, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_code_reused_while_its_first_exchange_runs_issues_nothing_live(idp):
    """Two requests at once: the first exchange has taken the code but not yet written its family when the same
    code arrives again. The reuse must still end that family (RFC 6749 §4.1.2), not find nothing to revoke."""
    from idp.errors import TokenRefused

    client, browser = idp.client(), Browser(idp)
    code = get_code(idp, browser, client)
    grants = idp.provider.grants
    taken = grants.consume_code(code, int(time.time()))  # the first exchange, up to writing its tokens
    assert taken is not None
    second = exchange(idp, client, code)  # the reuse, in the gap
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    tokens = {"access_token": secrets.token_urlsafe(32), "refresh_token": secrets.token_urlsafe(32),
              "expires_in": 300, "scope": taken.scope}
    with pytest.raises(TokenRefused):  # the first exchange finishes: it sees the reuse and answers invalid_grant
        grants.open_family(tokens, taken, now=int(time.time()))
    assert not grants.family_live(taken.family_id)
    assert userinfo(idp, tokens["access_token"]) == 401


def test_refresh_reuse_revokes_the_family(idp):
    client, browser = idp.client(), Browser(idp)
    tokens = exchange(idp, client, get_code(idp, browser, client)).json()
    rotated = refresh(idp, client, tokens["refresh_token"])
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    newest = refresh(idp, client, new["refresh_token"]).json()  # the client used its new token: it had the answer
    replay = refresh(idp, client, tokens["refresh_token"])  # so the old one now is a stolen copy
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert refresh(idp, client, newest["refresh_token"]).json()["error"] == "invalid_grant"  # family revoked
    assert userinfo(idp, newest["access_token"]) == 401


@embedded
def test_refresh_token_of_another_client_is_refused(idp):
    a, b, browser = idp.client(), idp.client(), Browser(idp)
    tokens = exchange(idp, a, get_code(idp, browser, a)).json()
    assert refresh(idp, b, tokens["refresh_token"]).json()["error"] == "invalid_grant"


@embedded
def test_unregistered_scope_is_refused(idp):
    client = idp.client(scopes=["openid", "profile"])
    params = query(Browser(idp).go(authorize_url(idp, client, scope="openid profile id_number")))
    assert params["error"] == "invalid_scope" and params["iss"] == idp.url


@embedded
def test_unsupported_response_type(idp):
    client = idp.client()
    params = query(Browser(idp).go(authorize_url(idp, client, response_type="token")))
    assert params["error"] == "unsupported_response_type"


@embedded
def test_unknown_client_gets_an_error_page(idp):
    browser = Browser(idp)
    assert browser.go(authorize_url(idp, {"client_id": "nope"})) is None
    assert browser.page.status_code == 400


@embedded
def test_prompt_none_without_session(idp):
    client = idp.client()
    params = query(Browser(idp).go(authorize_url(idp, client, prompt="none")))
    assert params == {"error": "login_required", "error_description": "the citizen is not signed in",
                      "state": "st-1", "iss": idp.url}


@embedded
def test_missing_csrf_token_is_refused(idp):
    browser = Browser(idp)
    browser.go(idp.url + "/login")
    resp = browser.http.post(idp.url + "/login", data={"username": DEMO_CITIZEN["id_number"],
                                                        "password": DEMO_CITIZEN["password"]},
                             allow_redirects=False)
    assert resp.status_code == 400 and "tb_sid" not in resp.cookies
    wrong = browser.http.post(idp.url + "/login", data={"username": DEMO_CITIZEN["id_number"], "csrf_token": "x",
                                                         "password": DEMO_CITIZEN["password"]},
                              allow_redirects=False)
    assert wrong.status_code == 400
    # A non-ASCII token is a mismatch like any other (keys.csrf), not a 500 from secrets.compare_digest.
    foreign = browser.http.post(idp.url + "/login", data={"username": DEMO_CITIZEN["id_number"], "csrf_token": "令牌",
                                                           "password": DEMO_CITIZEN["password"]},
                                allow_redirects=False)
    assert foreign.status_code == 400 and "tb_sid" not in foreign.cookies


def test_repeated_failures_make_this_address_wait_for_this_account(idp):
    browser = Browser(idp)
    browser.go(idp.url + "/login")
    for _ in range(5):
        browser.login(password="wrong-password-123")
        assert browser.page.status_code in (401, 429)
    browser.login()  # the right password is refused while this address waits
    assert browser.page.status_code == 429
    assert "过于频繁" in browser.page.text and "try again in 1 minute" in browser.page.text
    assert 0 < int(browser.page.headers["Retry-After"]) <= 30  # the first delay; it doubles from here
    other = Browser(idp)
    other.go(idp.url + "/login")
    other.login(username=DEMO_CITIZEN["phone"])
    assert other.page.status_code == 429  # same account by phone, same address: still waiting


@embedded
def test_source_address_lockout(idp):
    from idp.throttle import ThrottlePolicy
    idp.provider.throttle.policy = ThrottlePolicy(source_failures=3)
    browser = Browser(idp)
    browser.go(idp.url + "/login")
    for n in range(3):
        browser.login(username=f"1390013900{n}", password="whatever-password")
    browser.login()
    assert browser.page.status_code == 429 and "过于频繁" in browser.page.text


@embedded
@pytest.mark.parametrize("id_number,message", [
    ("110101199003071234", "check digit"),
    ("11010119900307123", "18 characters"),
    ("1101011990030712XX", "malformed"),
])
def test_registration_rejects_invalid_id_number(idp, id_number, message):
    browser = Browser(idp)
    browser.go(idp.url + "/register")
    browser.submit("/register", name="李四", id_number=id_number, phone="13900139000", password="long-password-1")
    assert browser.page.status_code == 400 and message in browser.page.text


@embedded
def test_registration_name_id_mismatch_creates_nothing(idp):
    browser = Browser(idp)
    browser.go(idp.url + "/register")
    browser.submit("/register", name="王五", id_number="440304198512124569", phone="13900139000",
                   password="long-password-1")
    assert browser.page.status_code == 400 and "do not match" in browser.page.text
    assert idp.provider.accounts.find("440304198512124569") is None
    assert idp.provider.accounts.find("13900139000") is None


@embedded
def test_registration_then_login(idp):
    browser = Browser(idp)
    browser.go(idp.url + "/register")
    browser.submit("/register", name="李四", id_number="440304198512124569", phone="13900139000",
                   password="long-password-1")
    assert "注册成功" in browser.page.text
    browser.login(username="13900139000", password="long-password-1")
    assert browser.page.status_code == 200 and "李四" in browser.page.text and "4403**********4569" in browser.page.text
    with pytest.raises(Exception, match="exists"):
        idp.provider.accounts.register("李四", "440304198512124569", "13900139001", "long-password-1", 0)


@embedded
def test_security_headers_and_cookie_flags(idp):
    browser = Browser(idp)
    browser.go(idp.url + "/login")
    h = browser.page.headers
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["Referrer-Policy"] == "no-referrer" and h["X-Content-Type-Options"] == "nosniff"
    browser.login()
    set_cookie = browser.http.cookies
    assert any(c.name == "tb_sid" and c.has_nonstandard_attr("HttpOnly") for c in set_cookie)


@embedded
def test_introspection_and_revocation(idp):
    client, other, browser = idp.client(), idp.client(), Browser(idp)
    tokens = exchange(idp, client, get_code(idp, browser, client)).json()
    auth = (client["client_id"], client["client_secret"])
    other_auth = (other["client_id"], other["client_secret"])
    assert requests.post(idp.url + "/introspect", data={"token": tokens["access_token"]},
                         auth=other_auth).json() == {"active": False}
    assert requests.post(idp.url + "/introspect", data={"token": "garbage"}, auth=auth).json() == {"active": False}
    assert requests.post(idp.url + "/introspect", data={"token": "x"}).status_code == 401
    resp = requests.post(idp.url + "/revoke", data={"token": tokens["refresh_token"],
                                                    "token_type_hint": "refresh_token"}, auth=auth)
    assert resp.status_code == 200
    assert requests.post(idp.url + "/introspect", data={"token": tokens["access_token"]},
                         auth=auth).json() == {"active": False}
    assert refresh(idp, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert requests.post(idp.url + "/revoke", data={"token": "unknown"}, auth=auth).status_code == 200  # §2.2


@embedded
def test_random_code_and_verifier(idp):
    client = idp.client()
    resp = exchange(idp, client, secrets.token_urlsafe(32))
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    bad_auth = requests.post(idp.url + "/token", data={"grant_type": "authorization_code", "code": "x"},
                             auth=(client["client_id"], "wrong"))
    assert bad_auth.status_code == 401 and bad_auth.json()["error"] == "invalid_client"
    password = requests.post(idp.url + "/token", data={"grant_type": "password", "username": "a", "password": "b"},
                             auth=(client["client_id"], client["client_secret"]))
    assert password.json()["error"] == "unsupported_grant_type"


@embedded
def test_interaction_cannot_be_resumed_from_another_browser(idp):
    client = idp.client()
    attacker, victim = Browser(idp), Browser(idp)
    attacker.go(authorize_url(idp, client))
    ia = attacker.form("/login")["ia"]
    victim.go(idp.url + "/login")
    victim.login()  # the victim has a session
    assert victim.go(idp.url + "/authorize/resume?ia=" + ia) is None
    assert victim.page.status_code == 400 and "过期" in victim.page.text


def test_source_lockout_behind_a_reverse_proxy(tmp_path):
    """With TONGBAN_PROXY_HOPS=1 the throttle counts the client's address, not the proxy's."""
    import re
    from dataclasses import replace

    from idp.throttle import ThrottlePolicy
    from service.app import create_app
    from service.config import Settings

    env = {"TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_PROXY_HOPS": "1"}
    app = create_app(replace(Settings.from_env(tmp_path, env=env), issuer_url="http://localhost"))
    app.extensions["tongban.idp"].throttle.policy = ThrottlePolicy(source_failures=3)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)

    def attempt(address: str) -> int:
        return client.post("/login", data={"csrf_token": token, "username": "13900139000",
                                           "password": "not-the-password"},
                           headers={"X-Forwarded-For": address}).status_code

    assert [attempt("10.0.0.1") for _ in range(3)] == [401, 401, 401]
    assert attempt("10.0.0.1") == 429
    assert attempt("10.0.0.2") == 401

    # An outsider cannot lock a citizen out: failures from one address delay only that address for that
    # account. And an unknown username is throttled with the very same answer as a real one (no enumeration).
    app.extensions["tongban.idp"].throttle.policy = ThrottlePolicy()

    def login(address: str, username: str, password: str) -> tuple[int, str]:
        response = client.post("/login", data={"csrf_token": token, "username": username, "password": password},
                               headers={"X-Forwarded-For": address})
        return response.status_code, re.sub(r"\d+ minute", "N minute", response.get_data(as_text=True))

    from idp.cli import DEMO_CITIZEN
    from idp.registry import DEMO_PEOPLE, TableRegistry

    provider = app.extensions["tongban.idp"]
    TableRegistry(provider.engine, provider.secrets).add(DEMO_PEOPLE)
    c = DEMO_CITIZEN
    provider.accounts.register(c["name"], c["id_number"], c["phone"], c["password"], 1_700_000_000)
    assert provider.accounts.find(c["id_number"]) is not None and provider.accounts.find("11010519491231002X") is None
    answers = {}
    for username in (DEMO_CITIZEN["id_number"], "11010519491231002X"):  # a real account, a valid unused number
        codes = [login("10.0.1.1", username, "guessing-password")[0] for _ in range(5)]
        assert codes == [401] * 5, username
        answers[username] = login("10.0.1.1", username, "guessing-password")
    real, unknown = answers.values()
    assert real[0] == unknown[0] == 429
    assert real[1].replace(DEMO_CITIZEN["id_number"], "X") == unknown[1].replace("11010519491231002X", "X")
    status, _ = login("10.0.1.2", DEMO_CITIZEN["id_number"], DEMO_CITIZEN["password"])
    assert status == 302  # the citizen at home signs in, whatever was tried against them elsewhere
    with pytest.raises(ValueError, match="TONGBAN_PROXY_HOPS"):  # the one settings reader refuses it
        Settings.from_env(tmp_path, env={**env, "TONGBAN_PROXY_HOPS": "two"})


@embedded
def test_registration_attempts_are_limited_per_source(idp):
    browser = Browser(idp)
    browser.go(idp.url + "/register")
    for _ in range(10):
        browser.submit("/register", name="王五", id_number="440304198512124569", phone="13900139000",
                       password="long-password-1")
        assert browser.page.status_code == 400
    browser.submit("/register", name="李四", id_number="440304198512124569", phone="13900139000",
                   password="long-password-1")
    assert browser.page.status_code == 429 and "一小时" in browser.page.text
    assert idp.provider.accounts.find("440304198512124569") is None


def _assertion(client_id: str, audience: str, key=None, kid: str | None = None) -> str:
    import time
    import uuid

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, key or ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                      headers={"kid": kid} if kid else None)


@embedded
@pytest.mark.parametrize("registered", ["no keys", "other key"])
def test_a_client_assertion_the_client_cannot_back_is_invalid_client_never_a_500(idp, registered):
    """A well-formed, signed private_key_jwt assertion for a client registered without keys (once an HTTP 500 at
    every endpoint that authenticates clients), or signed by a key the client did not register."""
    from joserfc.jwk import ECKey

    jwks = None if registered == "no keys" else {"keys": [ECKey.generate_key("P-256").as_dict(private=False)]}
    client = idp.client(jwks=jwks) if jwks else idp.client()
    for path in ("/token", "/revoke", "/introspect", "/par"):
        response = requests.post(idp.url + path, data={
            "client_id": client["client_id"], "grant_type": "authorization_code", "code": "x", "token": "x",
            "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid",
            "code_challenge": challenge("v" * 50), "code_challenge_method": "S256",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _assertion(client["client_id"], idp.url + path, kid="not-registered")}, timeout=10)
        assert response.status_code in (400, 401), (path, response.status_code, response.text[:200])
        assert response.json()["error"] == "invalid_client", path


def _joserfc_assertion(client_id: str, audience: str, key, alg: str) -> str:
    import time
    import uuid

    from joserfc import jwt as jose_jwt

    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    return jose_jwt.encode({"alg": alg}, claims, key, algorithms=[alg])


@embedded
@pytest.mark.parametrize("kind,alg,accepted", [
    ("oct", "HS256", False),  # a symmetric key smuggled into jwks: the assertion would be a shared secret
    ("rsa", "RS384", False),  # not in the advertised list
    ("ec", "ES256", True),
    ("okp", "Ed25519", True),  # advertised in discovery, so it must work (RFC 9864 name)
])
def test_client_assertion_algorithms_are_an_allow_list(idp, kind, alg, accepted):
    from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

    key = {"oct": lambda: OctKey.generate_key(256), "rsa": lambda: RSAKey.generate_key(2048),
           "ec": lambda: ECKey.generate_key("P-256"), "okp": lambda: OKPKey.generate_key("Ed25519")}[kind]()
    client = idp.client(jwks={"keys": [key.as_dict(private=kind == "oct")]})
    code = get_code(idp, Browser(idp), client)
    response = requests.post(idp.url + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": "v" * 50,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _joserfc_assertion(client["client_id"], idp.url + "/token", key, alg)}, timeout=10)
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client"
