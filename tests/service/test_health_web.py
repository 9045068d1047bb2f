"""Health codes over HTTP against a live service: wallet tokens from the real OIDC flow, device-key proofs,
family proxies, and the /admin page with staff sign-in through the same IdP (Authlib's Flask client)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, replace

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey
from werkzeug.serving import make_server

import keys
from credentials import make_presentation, parse_credential
from idp.errors import InvalidInput
from idp.registry import DEMO_PEOPLE, TableRegistry
from issuer.cli import init_step
from service.app import create_app
from service.config import Settings
from service.health import DEMO_OFFICER
from tests.conftest import POSTGRES_URL, REDIS_URL, examples, need_server
from tests.idp.conftest import Browser, server_storage
from verifier.cache import DirectorySource, VerifierCache
from verifier.pipeline import verify
from verifier.replay import MemoryReplayCache

CITIZENS = {
    "zhang": ("张三", "110101199003071233", "13800138000", "tongban-demo-2024"),
    "li": ("李四", "440304198512124569", "13700137000", "tongban-li-2024"),
    "zhao": ("赵敏", "110105198505202214", "13600136000", "tongban-zhao-2024"),
    "officer": (DEMO_OFFICER["name"], DEMO_OFFICER["id_number"], DEMO_OFFICER["phone"], DEMO_OFFICER["password"]),
}
REDIRECT = "http://127.0.0.1:9/cb"


@dataclass
class Service:
    url: str
    app: object
    provider: object
    data: object
    wallet_client: dict

    def desk(self):
        return self.app.extensions["tongban.health"].desk


class _S:
    def __init__(self, data_dir, url):
        self.data_dir, self.database_url = data_dir, url


@pytest.fixture(scope="module", params=["embedded", "servers"])
def service(request, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    tmp = tmp_path_factory.mktemp("health-web")
    init_step(_S(tmp, f"sqlite:///{tmp / 'init.sqlite3'}"), lambda _m: None)  # hub, authorities, keys
    overrides, cleanup = {}, []
    if request.param == "servers":
        need_server("PostgreSQL", "127.0.0.1", 5432)
        need_server("Redis", "127.0.0.1", 6379)
        overrides, drop = server_storage(POSTGRES_URL, REDIS_URL)
        cleanup.append(drop)
    settings = Settings.from_env(tmp, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"})
    app = create_app(replace(settings, issuer_url="http://127.0.0.1:1"), **overrides)
    provider = app.extensions["tongban.idp"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=lambda: server.serve_forever(poll_interval=0.01), daemon=True).start()
    TableRegistry(provider.engine, provider.secrets).add(DEMO_PEOPLE + [("赵敏", "110105198505202214")])
    for name, id_number, phone, password in CITIZENS.values():
        provider.accounts.register(name, id_number, phone, password, 1_700_000_000)
    client = provider.clients.add("钱包 / wallet", [REDIRECT], public=True, scopes=["openid", "profile", "licences"],
                                  subject_type="public", first_party=True)
    service = Service(provider.issuer, app, provider, tmp, client)
    service.desk().grant_staff(DEMO_OFFICER["id_number"], "bj-health", "officer", int(time.time()))
    yield service
    server.shutdown()
    for fn in cleanup:
        fn()
    mp.undo()


class _BrowserOf(Browser):
    def __init__(self, svc: Service):
        super().__init__(svc)  # Browser only needs .url


_tokens: dict = {}


def token_for(svc: Service, who: str, scope: str = "openid profile licences", client: dict | None = None) -> str:
    """An access token for ``who`` from the real code flow with PKCE (consenting to id_number when asked)."""
    client = client or svc.wallet_client
    if (svc.url, who, scope, client["client_id"]) in _tokens:
        return _tokens[(svc.url, who, scope, client["client_id"])]
    name, id_number, _phone, password = CITIZENS[who]
    session = OAuth2Session(client["client_id"], client.get("client_secret"), scope=scope, redirect_uri=REDIRECT,
                            code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic" if "client_secret" in client else "none")
    verifier = secrets.token_urlsafe(48)
    url, _ = session.create_authorization_url(svc.url + "/authorize", code_verifier=verifier, nonce="n")
    browser = _BrowserOf(svc)
    out = browser.go(url)
    out = out or browser.login(username=id_number, password=password)
    if out is None:
        out = browser.submit("/consent", decision="allow", consent_id_number="yes")
    assert out and out.startswith(REDIRECT), browser.page.text[:500]
    token = session.fetch_token(svc.url + "/token", authorization_response=out, code_verifier=verifier)
    _tokens[(svc.url, who, scope, client["client_id"])] = token["access_token"]
    return token["access_token"]


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def nonce(svc: Service) -> str:
    r = requests.post(svc.url + "/issuer/health-code/nonce", timeout=5)
    assert r.status_code == 200 and r.json()["c_nonce_expires_in"] == 300
    return r.json()["c_nonce"]


def proof(svc: Service, device: keys.PrivateKey, *, c_nonce: str | None = None, **changes) -> str:
    """An openid4vci-proof+jwt signed with joserfc, an independent JOSE implementation."""
    header = {"typ": "openid4vci-proof+jwt", "alg": device.alg, "jwk": device.public.jwk}
    claims = {"aud": svc.url, "iat": int(time.time()), "nonce": c_nonce or nonce(svc)}
    header.update(changes.pop("header", {}))
    claims.update(changes)
    key_cls = OKPKey if device.alg == "EdDSA" else ECKey
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc flags the generic "EdDSA" name as deprecated by RFC 9864
        return jose_jwt.encode(header, claims, key_cls.import_key(device.crypto_key()), algorithms=[device.alg])


def fetch(svc: Service, who: str, device: keys.PrivateKey, **extra) -> requests.Response:
    body = {"proof": {"proof_type": "jwt", "jwt": proof(svc, device)}, **extra}
    return requests.post(svc.url + "/issuer/health-code", json=body, headers=auth(token_for(svc, who)), timeout=10)


def view(payload: dict, name: str) -> bytes:
    raw = payload["credentials"][0]["credential"][name]
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


class Counter:
    def __init__(self, svc: Service, tmp_path):
        self.svc, self.cache, self.replay = svc, VerifierCache(tmp_path / "counter"), MemoryReplayCache()

    def sync(self) -> None:
        source = DirectorySource(self.svc.data)
        self.cache.sync(source, now=int(time.time()), root=keys.PublicKey.from_jwk(source.root_key()))

    def check(self, credential: bytes, device: keys.PrivateKey):
        now = int(time.time())
        qr = make_presentation(credential, device, now=now, challenge=uuid.uuid4().bytes)
        return verify(qr, trust=self.cache.trust_list(now), status=self.cache, replay=self.replay, now=now)


# -- the wallet's endpoints ---------------------------------------------------------------------------
def test_wallet_fetches_its_code_then_a_status_change_replaces_it(service, tmp_path):
    device = keys.generate()
    first = fetch(service, "zhang", device)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["licence_type"] == "health-code" and body["colour"] == "green" and set(body["views"]) == {"code", "full"}
    assert set(body["credentials"][0]["credential"]) == {"code", "full"}
    assert body["summary"] == {"name": "张三", "colour": "green", "expires_at": body["expires_at"],
                               "authority": "北京市卫生健康委员会", "reason": "无异常", "region": body["summary"]["region"]}
    assert body["summary"]["region"].isdigit()  # the wallet shows the reason and region beside the colour
    assert body["views"]["code"]["claims"] == ["name", "colour", "reason", "region"]
    _, cred = parse_credential(view(body, "code"))
    assert cred.holder_key.kid == device.public.kid and cred.claims["name"] == "张三"
    assert fetch(service, "zhang", device).json()["elicence_id"] == body["elicence_id"]  # unchanged: same code

    service.desk().set_status(CITIZENS["zhang"][1], "red", "密接 / close contact", actor="staff:t", now=int(time.time()))
    second = fetch(service, "zhang", device).json()
    assert second["elicence_id"] != body["elicence_id"] and second["colour"] == "red"
    counter = Counter(service, tmp_path)
    counter.sync()
    assert counter.check(view(body, "code"), device).reasons == ("suspended",)
    shown = counter.check(view(second, "code"), device)
    assert shown.valid and shown.claims["colour"] == "red"
    status = requests.get(service.url + "/issuer/health-status", headers=auth(token_for(service, "zhang")), timeout=5)
    assert status.json()["colour"] == "red" and status.json()["reason"] == "密接 / close contact"
    service.desk().set_status(CITIZENS["zhang"][1], "green", "", actor="staff:t", now=int(time.time()))


def test_eddsa_device_keys_work_too(service):
    assert fetch(service, "zhao", keys.generate("EdDSA")).status_code == 200


def test_proof_must_be_fresh_signed_and_use_a_nonce_once(service):
    device, other = keys.generate(), keys.generate()
    headers = auth(token_for(service, "zhao"))

    def post(jwt_text, **extra):
        return requests.post(service.url + "/issuer/health-code", headers=headers, timeout=5,
                             json={"proof": {"proof_type": "jwt", "jwt": jwt_text}, **extra})

    used = nonce(service)
    assert post(proof(service, device, c_nonce=used)).status_code == 200
    assert post(proof(service, device, c_nonce=used)).json()["error"] == "invalid_nonce"
    assert post(proof(service, device, c_nonce="made-up")).json()["error"] == "invalid_nonce"
    assert post(proof(service, device, aud="https://elsewhere.example")).json()["error"] == "invalid_proof"
    assert post(proof(service, device, iat=int(time.time()) - 3600)).json()["error"] == "invalid_proof"
    assert post(proof(service, device, header={"typ": "JWT"})).json()["error"] == "invalid_proof"
    # signed by another key than the one in the header
    forged = proof(service, other, header={"jwk": device.public.jwk})
    assert post(forged).json()["error"] == "invalid_proof"
    assert post(proof(service, device), proxy_id="x").json()["error"] == "invalid_request"


def test_tokens_and_scopes(service):
    device = keys.generate()
    body = {"proof": {"proof_type": "jwt", "jwt": proof(service, device)}}
    r = requests.post(service.url + "/issuer/health-code", json=body, timeout=5)
    assert r.status_code == 401 and "invalid_token" in r.headers["WWW-Authenticate"]
    r = requests.post(service.url + "/issuer/health-code", json=body, headers=auth("not-a-token"), timeout=5)
    assert r.status_code == 401
    no_id = token_for(service, "zhao", "openid profile")
    r = requests.post(service.url + "/issuer/health-code", json=body, headers=auth(no_id), timeout=5)
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"


def test_an_ordinary_apps_token_reaches_no_issuer_endpoint(service):
    """An app a citizen signed into, even with the id_number scope, is not the issuer's audience: it cannot read
    the colour, make itself a proxy, fetch a code bound to its key (suspending the phone's), or list records."""
    app = service.provider.clients.add("某应用", [REDIRECT], scopes=["openid", "profile", "id_number"])
    token = token_for(service, "zhao", "openid profile id_number", client=app)
    device = keys.generate()
    attempts = [
        ("GET", "/issuer/health-status", None), ("GET", "/issuer/proxies", None),
        ("POST", "/issuer/proxies", {"proxy": CITIZENS["li"][1]}), ("DELETE", "/issuer/proxies/1", None),
        ("POST", "/issuer/proxy-invitations", {"to": CITIZENS["li"][2]}), ("GET", "/issuer/proxy-invitations", None),
        ("PATCH", "/issuer/proxy-invitations/" + "a" * 24, {"status": "accepted"}),
        ("DELETE", "/issuer/proxy-invitations/" + "a" * 24, None),
        ("POST", "/issuer/health-code", {"proof": {"proof_type": "jwt", "jwt": proof(service, device)}}),
        ("GET", "/issuer/records", None), ("POST", "/issuer/credential", {"format": "tongban-cose"}),
    ]
    for method, path, body in attempts:
        r = requests.request(method, service.url + path, json=body, headers=auth(token), timeout=5)
        assert r.status_code == 401 and r.json()["error"] == "invalid_token", (path, r.status_code, r.text[:200])
    with pytest.raises(InvalidInput, match="wallet only"):  # and no app can be registered for the issuer's scope
        service.provider.clients.add("冒充钱包", [REDIRECT], scopes=["openid", "licences"])


def test_a_dpop_bound_token_needs_its_proof_at_the_issuer(service):
    """RFC 9449 §7: the wallet's tokens are bound to its key; a copy of the access token alone is useless."""
    from idp.dpop import access_token_hash

    wallet_key = keys.generate()
    token = dpop_token_for(service, "zhao", wallet_key)
    url = service.url + "/issuer/health-status"
    r = requests.get(url, headers=auth(token), timeout=5)  # as Bearer: refused
    assert r.status_code == 401 and "DPoP-bound" in r.json()["error_description"]
    r = requests.get(url, headers={"Authorization": f"DPoP {token}"}, timeout=5)  # no proof
    assert r.status_code == 401
    thief = keys.generate()
    for signer, method, target, ath in ((thief, "GET", url, True), (wallet_key, "POST", url, True),
                                        (wallet_key, "GET", service.url + "/issuer/proxies", True),
                                        (wallet_key, "GET", url, False)):
        proof_jwt = dpop_proof(signer, method, target, access_token_hash(token) if ath else None)
        r = requests.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": proof_jwt}, timeout=5)
        assert r.status_code == 401, (method, target, ath)
    good = dpop_proof(wallet_key, "GET", url, access_token_hash(token))
    r = requests.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": good}, timeout=5)
    assert r.status_code == 200 and r.json()["colour"]
    r = requests.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": good}, timeout=5)  # the same proof again
    assert r.status_code == 401


def dpop_proof(key: keys.PrivateKey, method: str, url: str, ath: str | None) -> str:
    import time
    import uuid

    import jwt as pyjwt

    claims = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
    if ath:
        claims["ath"] = ath
    return pyjwt.encode(claims, key.crypto_key(), algorithm="ES256",
                        headers={"typ": "dpop+jwt", "jwk": key.public.public_jwk()})


def dpop_token_for(svc: Service, who: str, key: keys.PrivateKey) -> str:
    """The wallet's way: the code exchanged with a DPoP proof, so the token family is bound to ``key``."""
    name, id_number, _phone, password = CITIZENS[who]
    session = OAuth2Session(svc.wallet_client["client_id"], None, scope="openid profile licences",
                            redirect_uri=REDIRECT, code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = secrets.token_urlsafe(48)
    url, _ = session.create_authorization_url(svc.url + "/authorize", code_verifier=verifier, nonce="n")
    browser = _BrowserOf(svc)
    out = browser.go(url) or browser.login(username=id_number, password=password)
    if out is None:
        out = browser.submit("/consent", decision="allow")
    code = dict(x.split("=", 1) for x in out.split("?", 1)[1].split("&"))["code"]
    response = requests.post(svc.url + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
        "client_id": svc.wallet_client["client_id"]},
        headers={"DPoP": dpop_proof(key, "POST", svc.url + "/token", None)}, timeout=5)
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP", response.text
    return response.json()["access_token"]


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.none(), st.integers(), st.text(max_size=50), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["proof", "proxy_id", "x"]),
                    st.one_of(st.none(), st.integers(), st.text(max_size=30), st.booleans(),
                              st.dictionaries(st.sampled_from(["proof_type", "jwt"]), st.text(max_size=300))),
                    max_size=3),
))
@example(payload={"proof": {"proof_type": "jwt", "jwt": "000000000.."}})  # not base64url: once a 500
@example(payload={"proof": {"proof_type": "jwt", "jwt": "e30.e30.AA"}})
def test_any_health_code_body_gets_a_json_4xx_never_a_500(service, payload):
    r = requests.post(service.url + "/issuer/health-code", data=json.dumps(payload), timeout=5,
                      headers={**auth(token_for(service, "zhao")), "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500 and r.json()["error"]


def test_the_one_sided_grant_is_gone(service):
    """Behaviour change (issue 8): POST /issuer/proxies granted at once and named the family member; now a proxy
    needs their consent, by invitation (tests/service/test_proxy_invitations_web.py)."""
    for payload in ({"proxy": CITIZENS["li"][2]}, {"proxy": "13900000001"}, None):
        r = requests.post(service.url + "/issuer/proxies", json=payload, headers=auth(token_for(service, "zhao")),
                          timeout=5)
        assert r.status_code == 410 and r.json()["error"] == "invitation_required"
        assert "李四" not in r.text


def grant_by_invitation(svc: Service, relative: str, proxy: str, to: str) -> dict:
    """``relative`` invites ``proxy`` by ``to``; ``proxy`` accepts; the grant."""
    r = requests.post(svc.url + "/issuer/proxy-invitations", json={"to": to}, headers=auth(token_for(svc, relative)),
                      timeout=5)
    assert r.status_code == 202, r.text
    r = requests.patch(f"{svc.url}/issuer/proxy-invitations/{r.json()['id']}", json={"status": "accepted"},
                       headers=auth(token_for(svc, proxy)), timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["proxy"]


def test_proxy_grant_fetch_end_revoked(service, tmp_path):
    li_device = keys.generate()
    relative, proxy = auth(token_for(service, "zhang")), auth(token_for(service, "li"))
    grant = grant_by_invitation(service, "zhang", "li", "+86 137 0013 7000")
    assert (grant["relative_name"], grant["proxy_name"], grant["granted_via"], grant["active"]) == (
        "张三", "李四", "self", True)
    held = requests.get(service.url + "/issuer/proxies", headers=proxy, timeout=5).json()["held"]
    assert [g["id"] for g in held] == [grant["id"]]
    # the proxy fetches the relative's code, bound to the proxy's own device
    code = fetch(service, "li", li_device, proxy_id=grant["id"])
    assert code.status_code == 200, code.text
    code = code.json()
    assert set(code["views"]) == {"proxy-code", "proxy-full"} and code["proxy_id"] == grant["id"]
    assert code["summary"]["shown_by"] == "李四" and code["summary"]["name"] == "张三"
    counter = Counter(service, tmp_path)
    counter.sync()
    shown = counter.check(view(code, "proxy-code"), li_device)
    assert shown.valid and shown.claims["shown_by"] == "李四" and shown.claims["name"] == "张三"
    # nobody else can use the grant or end it
    assert fetch(service, "zhao", keys.generate(), proxy_id=grant["id"]).status_code == 403
    r = requests.delete(f"{service.url}/issuer/proxies/{grant['id']}", headers=proxy, timeout=5)
    assert r.status_code == 403
    # the relative ends it: revoked at the counter after sync; the proxy can fetch no more
    r = requests.delete(f"{service.url}/issuer/proxies/{grant['id']}", headers=relative, timeout=5)
    assert r.status_code == 200 and r.json()["revoked"] == [code["elicence_id"]]
    assert r.json()["proxy"]["active"] is False
    counter.sync()
    assert counter.check(view(code, "proxy-code"), li_device).reasons == ("revoked",)
    again = fetch(service, "li", li_device, proxy_id=grant["id"])
    assert again.status_code == 403 and again.json()["error"] == "access_denied"


def test_proxy_end_refusals(service):
    relative = auth(token_for(service, "zhao"))
    assert requests.delete(service.url + "/issuer/proxies/999999", headers=relative, timeout=5).status_code == 403


# -- /admin ---------------------------------------------------------------------------------------------
def admin_browser(svc: Service, who: str) -> Browser:
    """Sign in to /admin through the IdP: authorization code + PKCE by the tongban-admin client."""
    _name, id_number, _phone, password = CITIZENS[who]
    browser = _BrowserOf(svc)
    assert browser.go(svc.url + "/admin/login") is None
    assert 'name="password"' in browser.page.text
    out = browser.login(username=id_number, password=password)
    if out is None and 'action="/consent"' in browser.page.text:
        out = browser.submit("/consent", decision="allow", consent_id_number="yes")
    assert out is None and browser.page.status_code in (200, 403), (out, browser.page.text[:300])
    return browser


def admin_form(browser: Browser, action: str) -> dict:
    m = re.search(r'<form method="post" action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', browser.page.text, re.S)
    assert m, browser.page.text[:2000]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', m.group(1)))


def test_admin_requires_sign_in(service):
    page = requests.get(service.url + "/admin/", timeout=5)
    assert page.status_code == 200 and 'href="/admin/login"' in page.text
    r = requests.post(service.url + "/admin/status", data={"id_number": CITIZENS["zhao"][1], "colour": "red"},
                      timeout=5, allow_redirects=False)
    assert r.status_code == 400  # no CSRF token, no session


def test_staff_officer_sets_a_status_through_the_page(service):
    browser = admin_browser(service, "officer")
    assert browser.page.status_code == 200 and "查询" in browser.page.text and "王芳" in browser.page.text
    target = CITIZENS["zhao"][1]  # a Beijing resident: within bj-health's region
    browser.go(service.url + "/admin/search", "POST", {**admin_form(browser, "/admin/search"), "id_number": target})
    assert browser.page.status_code == 200 and "110105********2214" in browser.page.text
    form = admin_form(browser, "/admin/status")
    browser.go(service.url + "/admin/status", "POST", {**form, "colour": "yellow", "reason": "<b>行程</b>"})
    assert browser.page.status_code == 200 and "已保存" in browser.page.text
    assert "&lt;b&gt;行程&lt;/b&gt;" in browser.page.text and "<b>行程</b>" not in browser.page.text  # escaped
    trail = service.desk().audit(target)
    officer_sub = service.provider.accounts.find(DEMO_OFFICER["id_number"]).sub
    assert trail[-1].new_colour == "yellow" and trail[-1].actor == f"staff:{officer_sub}"
    # the audit trail names the officer, with the sub beside it (small) and as the tooltip
    row = re.search(r'<td title="staff:' + re.escape(officer_sub) + r'">(.*?)</td>', browser.page.text, re.S)
    assert row and row.group(1).startswith(DEMO_OFFICER["name"]) and f"staff:{officer_sub}</small>" in row.group(1)
    # an actor the IdP does not know (or a CLI user) is shown as recorded
    service.desk().set_status(target, "green", "", actor="staff:gone", now=int(time.time()))
    browser.go(service.url + "/admin/search", "POST", {**admin_form(browser, "/admin/search"), "id_number": target})
    assert '<td title="staff:gone">staff:gone</td>' in browser.page.text
    # a forged form without the session's CSRF token is refused
    browser.go(service.url + "/admin/status", "POST", {**form, "csrf_token": "forged", "colour": "red"})
    assert browser.page.status_code == 400 and service.desk().status(target).colour == "green"
    # sign out
    browser.go(service.url + "/admin/")
    browser.go(service.url + "/admin/logout", "POST", admin_form(browser, "/admin/logout"))
    assert 'href="/admin/login"' in browser.page.text


def test_non_staff_gets_403(service):
    browser = admin_browser(service, "zhao")
    assert browser.page.status_code == 403 and "Forbidden" in browser.page.text
    # even with the page's own CSRF token, changing a status is refused
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.page.text).group(1)
    before = service.desk().audit(CITIZENS["zhang"][1])
    browser.go(service.url + "/admin/status", "POST",
               {"csrf_token": token, "id_number": CITIZENS["zhang"][1], "colour": "red", "reason": "x"})
    assert browser.page.status_code == 403
    browser.go(service.url + "/admin/search", "POST", {"csrf_token": token, "id_number": CITIZENS["zhang"][1]})
    assert browser.page.status_code == 403
    assert service.desk().audit(CITIZENS["zhang"][1]) == before
    # staff of another authority is not staff of the health commission
    service.desk().grant_staff(CITIZENS["zhao"][1], "bj-traffic-police", "officer", int(time.time()))
    browser.go(service.url + "/admin/")
    assert browser.page.status_code == 403


def test_admin_sign_in_without_the_id_number_consent_explains_and_refuses(service):
    _name, id_number, _phone, password = CITIZENS["li"]
    browser = _BrowserOf(service)
    browser.go(service.url + "/admin/login")
    browser.login(username=id_number, password=password)
    assert 'action="/consent"' in browser.page.text
    browser.submit("/consent", decision="allow")  # the ID-number box left unticked
    assert browser.page.status_code == 403 and "did not consent to share your ID number" in browser.page.text


def test_admin_callback_with_a_forged_state_is_refused(service):
    browser = _BrowserOf(service)
    browser.go(service.url + "/admin/login")  # a real login started: state stored in this browser's session
    r = browser.http.get(service.url + "/admin/callback?code=abc&state=forged", allow_redirects=False, timeout=5)
    assert r.status_code == 400 and "Sign-in failed" in r.text


def test_admin_sign_in_expires(service, monkeypatch):
    """30 minutes idle, or 8 hours after sign-in however active (issuer.admin_sessions), by the admin's clock."""
    admin = service.app.extensions["tongban.admin"]
    offset = {"s": 0}
    monkeypatch.setattr(admin, "clock", lambda: time.time() + offset["s"])
    browser = admin_browser(service, "officer")
    assert "查询" in browser.page.text
    offset["s"] = 29 * 60
    assert "查询" in browser.http.get(service.url + "/admin/", timeout=5).text  # 29 min idle: still signed in
    offset["s"] = 29 * 60 + 31 * 60
    assert 'href="/admin/login"' in browser.http.get(service.url + "/admin/", timeout=5).text  # 31 min idle: gone
    offset["s"] = 0
    browser = admin_browser(service, "officer")  # active all day: every 20 minutes a page
    for minutes in range(20, 8 * 60, 20):
        offset["s"] = minutes * 60
        assert "查询" in browser.http.get(service.url + "/admin/", timeout=5).text, minutes
    offset["s"] = 8 * 3600 + 1
    assert 'href="/admin/login"' in browser.http.get(service.url + "/admin/", timeout=5).text


# -- /admin sessions: sign-out, the IdP's logout, fixation (issue 8 §5) -------------------------------------------------
ADMIN_COOKIE = "tb_admin"


def _admin_cookie(browser: Browser) -> str:
    return browser.http.cookies.get(ADMIN_COOKIE, path="/admin")


def _idp_sid(browser: Browser) -> str:
    from idp.web_helpers import SID_COOKIE

    return browser.http.cookies.get(SID_COOKIE)


def _signed_in(svc: Service, cookie: str) -> bool:
    page = requests.get(svc.url + "/admin/", cookies={ADMIN_COOKIE: cookie}, timeout=5)
    return "查询" in page.text and 'href="/admin/login"' not in page.text


def _sign_out(svc: Service, browser: Browser) -> None:
    browser.go(svc.url + "/admin/")
    browser.go(svc.url + "/admin/logout", "POST", admin_form(browser, "/admin/logout"))


def test_a_copied_admin_cookie_stops_working_after_sign_out(service):
    browser = admin_browser(service, "officer")
    stolen, csrf = _admin_cookie(browser), admin_form(browser, "/admin/search")["csrf_token"]
    assert stolen and _signed_in(service, stolen)
    _sign_out(service, browser)
    assert 'href="/admin/login"' in browser.page.text and _admin_cookie(browser) is None
    assert not _signed_in(service, stolen)
    target = CITIZENS["zhang"][1]
    before = service.desk().audit(target)
    r = requests.post(service.url + "/admin/status", cookies={ADMIN_COOKIE: stolen}, timeout=5, allow_redirects=False,
                      data={"csrf_token": csrf, "id_number": target, "colour": "red", "reason": "x"})
    assert r.status_code == 400 and service.desk().audit(target) == before


def test_admin_sign_out_also_ends_the_idp_session(service):
    """On a shared office PC the next person clicking 'sign in' must not find 王芳's IdP session open."""
    browser = admin_browser(service, "officer")
    sid = _idp_sid(browser)
    assert sid and service.provider.sessions.get(sid) is not None
    _sign_out(service, browser)
    assert service.provider.sessions.get(sid) is None  # RP-initiated logout with id_token_hint: no question asked
    assert 'href="/admin/login"' in browser.page.text  # and back at /admin/ (post_logout_redirect_uri)
    r = browser.http.get(service.url + "/account", allow_redirects=False, timeout=5)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert browser.go(service.url + "/admin/login") is None and 'name="password"' in browser.page.text


def test_the_idps_back_channel_logout_ends_the_admin_session(service):
    from idp.logout import end_session

    browser = admin_browser(service, "officer")
    cookie, sid = _admin_cookie(browser), _idp_sid(browser)
    other = admin_browser(service, "officer")  # another PC: another IdP session, untouched
    assert _signed_in(service, cookie) and _signed_in(service, _admin_cookie(other))
    client_id = service.app.extensions["tongban.admin"].credentials()["client_id"]
    assert service.provider.clients.get(client_id).backchannel_logout_uri == service.url + "/admin/backchannel-logout"
    assert end_session(service.provider, sid, service.provider.backchannel_post) == [client_id]  # a real HTTP POST
    assert not _signed_in(service, cookie)
    assert _signed_in(service, _admin_cookie(other))
    # ended from the citizen's own account page (a lost phone, a shared PC) too
    other.go(service.url + "/account")
    other.go(service.url + "/account/sessions/end", "POST",
             {**other.form("/account/sessions/end"), "sid": _idp_sid(other)})
    assert not _signed_in(service, _admin_cookie(other) or "gone")


def test_staff_sign_in_always_asks_for_the_password(service, monkeypatch):
    """prompt=login on the way out, and auth_time checked on the way back: removing prompt=login from the
    authorization request in the browser does not sign anyone in on an IdP session left open."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    from issuer.health import admin_sign_in

    _name, id_number, _phone, password = CITIZENS["officer"]
    browser = _BrowserOf(service)
    browser.go(service.url + "/login")
    browser.login(username=id_number, password=password)  # 王芳 signed in at the IdP (e.g. for another app)
    assert browser.go(service.url + "/admin/login") is None and 'name="password"' in browser.page.text
    r = browser.http.get(service.url + "/admin/login", allow_redirects=False, timeout=5)
    params = dict(parse_qsl(urlsplit(r.headers["Location"]).query))
    assert params["prompt"] == "login" and params["max_age"] == "300"
    stripped = {k: v for k, v in params.items() if k not in ("prompt", "max_age")}
    monkeypatch.setattr(admin_sign_in, "AUTH_TIME_SKEW", 0)
    time.sleep(1.1)  # auth_time is in whole seconds: the IdP sign-in is now strictly older than this attempt
    r = browser.http.get(service.url + "/admin/login", allow_redirects=False, timeout=5)
    stripped = {k: v for k, v in dict(parse_qsl(urlsplit(r.headers["Location"]).query)).items()
                if k not in ("prompt", "max_age")}
    out = browser.go(service.url + "/authorize?" + urlencode(stripped))
    if out is None and 'action="/consent"' in browser.page.text:
        out = browser.submit("/consent", decision="allow", consent_id_number="yes")
    assert out is None and browser.page.status_code == 400, (out, browser.page.text[:300])
    assert "must enter their password" in browser.page.text and _admin_cookie(browser) is None


def test_the_session_id_is_new_at_every_sign_in(service):
    """Fixation: a session id planted in the browser before sign-in is never the signed-in one."""
    browser = _BrowserOf(service)
    browser.http.cookies.set(ADMIN_COOKIE, "planted-by-the-attacker", path="/admin", domain="127.0.0.1")
    name, id_number, _phone, password = CITIZENS["officer"]
    browser.go(service.url + "/admin/login")
    out = browser.login(username=id_number, password=password)
    if out is None and 'action="/consent"' in browser.page.text:
        browser.submit("/consent", decision="allow", consent_id_number="yes")
    first = _admin_cookie(browser)
    assert first and first != "planted-by-the-attacker" and _signed_in(service, first)
    assert not _signed_in(service, "planted-by-the-attacker")
    browser.go(service.url + "/admin/login")
    browser.login(username=id_number, password=password)
    second = _admin_cookie(browser)
    assert second != first and _signed_in(service, second) and not _signed_in(service, first)


def _signed_logout_token(svc: Service, claims: dict, key=None) -> str:
    from joserfc import jwt as jose

    key = key or svc.provider.signing_key("ES256")
    return jose.encode({"alg": "ES256", "kid": key.kid, "typ": "logout+jwt"}, claims, key, algorithms=["ES256"])


def test_forged_replayed_and_expired_logout_tokens_are_refused_and_end_nothing(service):
    from joserfc.jwk import ECKey

    from idp.logout import EVENT, logout_token

    browser = admin_browser(service, "officer")
    cookie, sid = _admin_cookie(browser), _idp_sid(browser)
    client_id = service.app.extensions["tongban.admin"].credentials()["client_id"]
    sub = service.provider.accounts.find(DEMO_OFFICER["id_number"]).sub
    url, now = service.url + "/admin/backchannel-logout", int(time.time())
    base = {"iss": service.url, "aud": client_id, "iat": now, "exp": now + 120, "sub": sub, "sid": sid,
            "events": {EVENT: {}}}

    def post(token):
        return requests.post(url, data={"logout_token": token}, timeout=5)

    # a sub-only token, used once while nobody is signed in through it... then replayed at this session
    sub_only = _signed_logout_token(service, {k: v for k, v in base.items() if k != "sid"} | {"jti": "once"})
    assert requests.post(url, data={"logout_token": _signed_logout_token(
        service, {**base, "sub": "someone-else", "sid": "no-such-sid", "jti": "once"})}, timeout=5).status_code == 200
    stranger = ECKey.generate_key("P-256", parameters={"kid": service.provider.signing_key("ES256").kid})
    refused = [
        _signed_logout_token(service, {**base, "jti": "f1"}, key=stranger),  # forged: not the IdP's key
        sub_only,  # replayed jti
        _signed_logout_token(service, {**base, "jti": "e1", "iat": now - 3600, "exp": now - 3480}),  # expired
        _signed_logout_token(service, {**base, "jti": "a1", "aud": "another-client"}),
        _signed_logout_token(service, {**base, "jti": "i1", "iss": "http://127.0.0.1:9"}),
        _signed_logout_token(service, {**base, "jti": "n1", "nonce": "x"}),
        browser_id_token(service, cookie),  # an ID token is not a logout token
        "", "not.a.jwt",
    ]
    for token in refused:
        r = post(token)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", (token[:40], r.text)
        assert r.headers["Cache-Control"] == "no-store"
        assert _signed_in(service, cookie)
    assert requests.post(url, data={}, timeout=5).status_code == 400
    assert requests.post(url, json={"logout_token": sub_only}, timeout=5).status_code == 400
    real = logout_token(service.provider, client_id, sub, sid, int(time.time()))
    assert post(real).status_code == 200 and not _signed_in(service, cookie)
    assert post(real).status_code == 400  # the real one, replayed


def browser_id_token(svc: Service, cookie: str) -> str:
    sessions = svc.app.extensions["tongban.admin"].sessions
    return sessions.get(cookie, int(time.time())).id_token


# -- region scope and reasons at /admin (issue 8 §11, §13) ---------------------------------------------------------------
def test_an_officer_cannot_see_or_change_a_citizen_of_another_region(service):
    browser = admin_browser(service, "officer")
    target = CITIZENS["li"][1]  # registered in Shenzhen (440304): not bj-health's
    form = admin_form(browser, "/admin/search")
    browser.go(service.url + "/admin/search", "POST", {**form, "id_number": target})
    assert browser.page.status_code == 403 and "不属于北京市卫生健康委员会的辖区" in browser.page.text
    assert "440304********4569" not in browser.page.text
    before = service.desk().status(target)
    browser.go(service.url + "/admin/status", "POST",  # the form forged with the page's own CSRF token
               {"csrf_token": form["csrf_token"], "id_number": target, "colour": "red", "reason": "密接"})
    assert browser.page.status_code == 403 and "outside the region of bj-health" in browser.page.text
    assert service.desk().status(target) == before
    assert all(e.reason != "密接" for e in service.desk().audit(target))


@pytest.mark.parametrize("colour", ["yellow", "red"])
def test_yellow_or_red_without_a_reason_is_refused_at_the_page(service, colour):
    browser = admin_browser(service, "officer")
    target = CITIZENS["zhao"][1]
    browser.go(service.url + "/admin/search", "POST", {**admin_form(browser, "/admin/search"), "id_number": target})
    before = service.desk().audit(target)
    for reason in ("", "   ", "无异常"):
        browser.go(service.url + "/admin/status", "POST",
                   {**admin_form(browser, "/admin/status"), "colour": colour, "reason": reason})
        assert browser.page.status_code == 400
        assert "必须填写原因" in browser.page.text and "needs a reason" in browser.page.text
        assert service.desk().audit(target) == before


_ADMIN_FIELD = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(
    [CITIZENS["zhao"][1], CITIZENS["li"][1], CITIZENS["zhao"][1].lower(), "11010519491231002x", "green", "yellow",
     "red", "RED", "无异常", "\x00", "a" * 300, " " * 18]))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=st.sampled_from(["/admin/search", "/admin/status", "/admin/logout-no"]),
       csrf=st.sampled_from(["valid", "missing", "wrong"]), id_number=_ADMIN_FIELD, colour=_ADMIN_FIELD,
       reason=_ADMIN_FIELD, extra=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=2))
def test_any_admin_form_gets_a_page_never_a_500(service, action, csrf, id_number, colour, reason, extra):
    browser = _admin_session(service)
    data = {**extra, "id_number": id_number, "colour": colour, "reason": reason}
    if csrf != "missing":
        data["csrf_token"] = browser["csrf"] if csrf == "valid" else "x" + browser["csrf"]
    data = {k: v for k, v in data.items() if v is not None}
    path = "/admin/status" if action == "/admin/logout-no" else action
    r = requests.post(service.url + path, data=data, cookies={ADMIN_COOKIE: browser["cookie"]}, timeout=10,
                      allow_redirects=False)
    assert r.status_code in (200, 302, 400, 403), (r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    if csrf != "valid":
        assert r.status_code == 400


_admin_sessions: dict = {}


def _admin_session(svc: Service) -> dict:
    if svc.url not in _admin_sessions:
        browser = admin_browser(svc, "officer")
        _admin_sessions[svc.url] = {"cookie": _admin_cookie(browser),
                                    "csrf": admin_form(browser, "/admin/search")["csrf_token"]}
    return _admin_sessions[svc.url]


def test_an_officer_cannot_grant_roles_from_the_page(service):
    """Roles are an operator's (``tongban authorities grant``): /admin has no way to grant or change one."""
    browser = admin_browser(service, "officer")
    csrf = admin_form(browser, "/admin/search")["csrf_token"]
    target = CITIZENS["zhang"][1]
    for path in ("/admin/staff", "/admin/grant", "/admin/roles", "/admin/authorities/grant"):
        r = browser.http.post(service.url + path, timeout=5, allow_redirects=False,
                              data={"csrf_token": csrf, "username": target, "authority": "bj-health", "role": "admin"})
        assert r.status_code in (404, 405), path
    r = browser.http.post(service.url + "/admin/status", timeout=5, allow_redirects=False,
                          data={"csrf_token": csrf, "id_number": target, "colour": "green", "role": "admin"})
    assert r.status_code == 200
    assert service.desk().staff_role(target, "bj-health") is None


def test_signing_in_as_someone_else_on_the_same_browser_ends_the_last_officers_admin_session(service):
    """A shared PC: the next person signs in at the IdP (for any app). The IdP ends the browser's previous SSO
    session; it must say so over the back-channel, or 王芳's /admin cookie keeps working in that browser."""
    browser = admin_browser(service, "officer")
    cookie = _admin_cookie(browser)
    assert _signed_in(service, cookie)
    _name, id_number, _phone, password = CITIZENS["zhao"]
    browser.go(service.url + "/login")
    browser.login(username=id_number, password=password)
    assert not _signed_in(service, cookie)
