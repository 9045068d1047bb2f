"""免证办 over HTTP: a wallet's fetch handle, a registered counter redeems it once (issuer.fetch, idp client
credentials), and every way around that is refused without spending the holder's handle."""

from __future__ import annotations

import base64
import io
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import keys
from credentials.presentation import parse_presentation
from idp.cli import DEMO_CITIZEN
from idp.disclosures import disclosures
from tests.conftest import examples
from tests.service.conftest import sign_in
from tests.service.fetch_world import bearer, fetch_code, grant, handle_of, issue, start
from verifier.fetch import HttpFetcher


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    live, server = start(tmp_path_factory.mktemp("fetch"))
    yield live
    server.shutdown()


@pytest.fixture(scope="module")
def token(world) -> str:
    return sign_in(world)["access_token"]


@pytest.fixture(scope="module")
def licence(world, token):
    return issue(world, token)


def redeem(world, counter: str, code: str) -> dict:
    return world.counters[counter].fetch(code)


def test_a_counter_fetches_the_whole_licence_with_portrait_once(world, token, licence):
    device, views, eid = licence
    response = grant(world, token, eid)
    assert response.headers["Cache-Control"] == "no-store" and 110 <= response.json()["expires_in"] <= 120
    code = fetch_code(views["age"], device, handle_of(response))
    got = redeem(world, "counter-a", code)
    assert got["ok"] is True, got
    assert got["elicence_id"] == eid and got["claims"]["name"] == "张三"
    assert got["claims"]["id_number"] == DEMO_CITIZEN["id_number"] and got["claims"]["vehicle_classes"] == ["C1"]
    portrait = base64.b64decode(got["portrait"])
    with Image.open(io.BytesIO(portrait)) as image:
        assert image.format == "JPEG" and image.height > image.width
    again = redeem(world, "counter-a", code)
    assert again == {"ok": False, "code": "handle_used"}
    # A new code of the same phone with the same (spent) handle is refused the same way.
    assert redeem(world, "counter-a", fetch_code(views["full"], device, parse_presentation(code).fetch_handle)) == {
        "ok": False, "code": "handle_used"}


def test_each_fetch_is_audited_and_in_the_citizens_disclosure_record(world, token, licence):
    device, views, eid = licence
    assert redeem(world, "counter-a", fetch_code(views["age"], device, handle_of(grant(world, token, eid))))["ok"]
    p = world.provider
    sub = p.accounts.find(DEMO_CITIZEN["id_number"]).sub
    fetched = [d for d in disclosures(p.audit, p.clients, sub) if d.scopes == ("licence_fetch",)]
    assert fetched and fetched[0].app == "东城区政务服务中心 3 号窗口" and fetched[0].client_id == "counter-a"
    assert fetched[0].to_json()["licence_type"] == "driving-licence"
    assert "柜台调取" in fetched[0].to_json()["information"][0]["zh"]
    entry = p.audit.events(sub, limit=1, kinds=("licence_fetched",))[0]
    assert eid in entry["detail"] and "张三" not in entry["detail"] and DEMO_CITIZEN["id_number"] not in entry["detail"]
    # The citizen reads it on /account and in the export.
    from types import SimpleNamespace

    from tests.idp.conftest import Browser

    browser = Browser(SimpleNamespace(url=world.url))
    browser.go(world.url + "/account")
    browser.login()
    browser.go(world.url + "/account")
    assert "东城区政务服务中心 3 号窗口" in browser.page.text and "柜台调取了证照全部信息" in browser.page.text
    exported = browser.http.get(world.url + "/account/disclosures.json", timeout=5).json()["disclosures"]
    assert any(d["client_id"] == "counter-a" and d["licence_type"] == "driving-licence" for d in exported)


def test_an_expired_handle_is_refused(world, token, licence):
    device, views, eid = licence
    handle = handle_of(grant(world, token, eid))
    fetch_web = world.app.extensions["tongban.fetch"]
    fetch_web.clock = lambda: int(time.time()) + 121
    try:
        got = redeem(world, "counter-a", fetch_code(views["age"], device, handle, now=int(time.time()) + 121))
    finally:
        fetch_web.clock = lambda: int(time.time())
    assert got == {"ok": False, "code": "handle_unknown"}


def test_an_old_code_is_stale_and_spends_nothing(world, token, licence):
    device, views, eid = licence
    handle = handle_of(grant(world, token, eid))
    assert redeem(world, "counter-a", fetch_code(views["age"], device, handle, now=int(time.time()) - 200)) == {
        "ok": False, "code": "stale"}
    assert redeem(world, "counter-a", fetch_code(views["age"], device, handle))["ok"]


def test_a_handle_for_another_counter_is_refused_and_still_good_for_its_own(world, token, licence):
    device, views, eid = licence
    handle = handle_of(grant(world, token, eid, audience="counter-a"))
    code = fetch_code(views["age"], device, handle, audience="counter-a")
    assert redeem(world, "counter-b", code) == {"ok": False, "code": "wrong_counter"}
    # The wallet signed no aud into this one: a handle bound to counter-a needs the code to name it.
    assert redeem(world, "counter-a", fetch_code(views["age"], device, handle)) == {"ok": False, "code": "wrong_counter"}
    assert redeem(world, "counter-a", code)["ok"]
    # Unbound handle, but the holder signed another counter's id into the code: only that counter.
    handle = handle_of(grant(world, token, eid))
    assert redeem(world, "counter-b", fetch_code(views["age"], device, handle, audience="counter-a")) == {
        "ok": False, "code": "wrong_counter"}


def test_a_handle_lifted_into_another_presentation_is_refused(world, token, licence):
    device, views, eid = licence
    handle = handle_of(grant(world, token, eid))
    # Another licence (the same citizen's resident ID, on another phone) carrying the captured handle.
    other_device, other_views, _ = issue(world, token, "resident-id")
    assert redeem(world, "counter-a", fetch_code(other_views["identity"], other_device, handle)) == {
        "ok": False, "code": "handle_not_for_this_licence"}
    # The right licence, re-signed by a key that is not the phone's.
    assert redeem(world, "counter-a", fetch_code(views["age"], keys.generate("ES256"), handle)) == {
        "ok": False, "code": "holder_signature_invalid"}
    # A code without the handle, and garbage: nothing to fetch.
    assert redeem(world, "counter-a", fetch_code(views["age"], device, None)) == {"ok": False, "code": "no_fetch_handle"}
    assert redeem(world, "counter-a", "TB1:NOPE") == {"ok": False, "code": "malformed_presentation"}
    # None of that spent the holder's handle.
    assert redeem(world, "counter-a", fetch_code(views["age"], device, handle))["ok"]


def test_a_replaced_or_foreign_licence_gets_no_handle(world, token):
    assert grant(world, token, "1.2.156.3005.2.X.Y.00000001.001.Z").status_code == 404
    assert grant(world, token, ["list"]).status_code == 400
    assert requests.post(world.url + "/issuer/fetch-grants", json={"elicence_id": "x"}, timeout=5).status_code == 401
    device, views, first = issue(world, token, "resident-id")
    issue(world, token, "resident-id")  # a new phone: the first copy is replaced
    assert grant(world, token, first).json()["error"] == "unknown_licence"
    assert grant(world, token, first, audience="bad id!").status_code == 400


def test_only_a_registered_counter_token_redeems(world, token, licence):
    device, views, eid = licence
    code = fetch_code(views["age"], device, handle_of(grant(world, token, eid)))
    url = world.url + "/issuer/fetch"
    assert requests.post(url, json={"code": code}, timeout=5).status_code == 401
    # The citizen's own (wallet) token, or any app's: not the counter role.
    refused = requests.post(url, json={"code": code}, headers=bearer(token), timeout=5)
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    assert requests.post(url, json={"code": code}, headers=bearer("made-up"), timeout=5).status_code == 401
    # A counter key the IdP does not know, under counter-a's id: no token at all.
    impostor = world.counters["counter-a"]
    forged = HttpFetcher("counter-a", keys.generate("ES256"), impostor.token_endpoint, impostor.fetch_endpoint)
    assert forged.fetch(code) == {"ok": False, "code": "fetch_unauthorised"}
    # None of these spent it.
    assert redeem(world, "counter-a", code)["ok"]


def test_the_token_endpoint_gives_client_credentials_to_counters_only(world, token):
    counter = world.counters["counter-a"]
    form = {"grant_type": "client_credentials", "client_assertion_type":
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    ok = requests.post(world.url + "/token", data={**form, "client_assertion": counter.assertion()}, timeout=5)
    assert ok.status_code == 200, ok.text
    assert ok.status_code == 200 and ok.json()["scope"] == "counter" and "refresh_token" not in ok.json()
    # The counter token is no citizen's token: /userinfo and the wallet's endpoints refuse it.
    cct = ok.json()["access_token"]
    assert requests.get(world.url + "/userinfo", headers=bearer(cct), timeout=5).status_code == 401
    assert requests.get(world.url + "/issuer/records", headers=bearer(cct), timeout=5).status_code == 401
    wider = requests.post(world.url + "/token", timeout=5,
                          data={**form, "client_assertion": counter.assertion(), "scope": "counter openid"})
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    # The same assertion twice (RFC 7523 §3 jti): refused.
    assertion = counter.assertion()
    assert requests.post(world.url + "/token", data={**form, "client_assertion": assertion}, timeout=5).ok
    replayed = requests.post(world.url + "/token", data={**form, "client_assertion": assertion}, timeout=5)
    assert replayed.status_code in (400, 401) and replayed.json()["error"] == "invalid_client", replayed.text
    # The wallet (a public first-party client) may not use client credentials.
    from wallet.web import CLIENT_ID

    no = requests.post(world.url + "/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID},
                       timeout=5)
    assert no.status_code in (400, 401) and no.json()["error"] in ("unauthorized_client", "invalid_client")


def test_the_counter_page_shows_the_fetched_licence_and_portrait(world, token, licence):
    device, views, eid = licence
    code = fetch_code(views["age"], device, handle_of(grant(world, token, eid)))
    body = requests.post(world.url + "/counter/api/verify", json={"qr": code}, timeout=20).json()
    assert body["valid"] is True, body
    fetched = body["display"]["fetched"]
    assert fetched["ok"] and fetched["portrait"].startswith("data:image/jpeg;base64,")
    rows = {c["name"]: c["value"] for c in fetched["claims"]}
    assert rows["name"] == "张三" and rows["id_number"] == DEMO_CITIZEN["id_number"], "identity profile: in full"
    again = requests.post(world.url + "/counter/api/verify", json={"qr": code}, timeout=20).json()
    assert again["valid"] is False and again["reasons"] == ["replayed"] and again["display"]["fetched"] is None


@pytest.mark.slow
def test_two_counters_redeeming_at_once_get_one_licence(world, token, licence):
    """The handle is consumed atomically: of simultaneous redemptions exactly one receives the licence."""
    from concurrent.futures import ThreadPoolExecutor

    device, views, eid = licence
    for _ in range(3):
        code = fetch_code(views["age"], device, handle_of(grant(world, token, eid)))
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda text: redeem(world, "counter-a", text), [code] * 4))
        assert sum(r["ok"] for r in results) == 1, results
        assert all(r == {"ok": False, "code": "handle_used"} for r in results if not r["ok"])


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                       max_leaves=6)


@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSONISH | st.fixed_dictionaries({"code": JSONISH}) | st.fixed_dictionaries({"code": st.text(max_size=60)}),
       raw=st.none() | st.binary(max_size=80))
def test_any_body_at_the_fetch_endpoints_is_a_json_4xx_never_a_500(world, token, body, raw):
    counter_token = world.counters["counter-a"].token()
    client = world.app.test_client()
    for path, auth in (("/issuer/fetch", counter_token), ("/issuer/fetch-grants", token)):
        kwargs = {"data": raw, "content_type": "application/json"} if raw is not None else {"json": body}
        response = client.post(path, headers=bearer(auth), **kwargs)
        assert 400 <= response.status_code < 500, (path, body, raw, response.get_data())
        assert isinstance(response.get_json()["error"], str)
