"""The wallet stays signed in, and its health code stays current (issue 7), in a real browser against a live service.

* A browser restart (a persistent Chromium profile closed and launched again): the officer set 张三 red meanwhile;
  the reopened wallet shows red with no click and no trip to the sign-in page, having rotated its DPoP-bound
  refresh token (RFC 9449 §5, RFC 9700 §4.14.2) because the stored access token had run out.
* A revoked, then an expired, refresh token: the wallet says the sign-in ended and offers sign-in once; no loop.
* Offline: "状态未更新 · 最后更新 HH:MM / status not updated since HH:MM" beside the stored code, also after an offline
  reload (the service worker's copy of the page, never the browser's offline page).
* Two tabs refreshing at the same moment: one rotation, the family stays alive (navigator.locks).
* Sign-out: the refresh token is revoked at the provider (RFC 7009) and deleted with the DPoP key.
Screenshots go to $TONGBAN_SCREENSHOT_DIR (default: the test's tmp directory).
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import update

from idp import models
from idp.cli import DEMO_CITIZEN
from idp.grants import digest
from tests.service.conftest import ARGS, CHROMIUM
from wallet.web import CLIENT_ID

pytestmark = pytest.mark.browser

ZONE = "Asia/Shanghai"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "timezone_id": ZONE}

# The stored session (IndexedDB "tongban-session", written by wallet/static/session.js), read and edited in the page.
READ_SESSION = """async () => {
    const db = await new Promise((ok, no) => { const r = indexedDB.open("tongban-session"); r.onsuccess = () => ok(r.result);
                                               r.onerror = () => no(r.error); });
    const get = (k) => new Promise((ok) => { const r = db.transaction("session").objectStore("session").get(k);
                                             r.onsuccess = () => ok(r.result); });
    const tokens = await get("tokens"), key = await get("dpop-key");
    db.close();
    return { tokens: tokens || null, key: key ? { extractable: key.privateKey.extractable,
             curve: key.privateKey.algorithm.namedCurve, jwk: key.publicJwk } : null };
}"""
EXPIRE_ACCESS_TOKEN = """async () => {
    const db = await new Promise((ok) => { const r = indexedDB.open("tongban-session"); r.onsuccess = () => ok(r.result); });
    await new Promise((ok) => { const t = db.transaction("session", "readwrite"); const s = t.objectStore("session");
        const r = s.get("tokens"); r.onsuccess = () => s.put({ ...r.result, expires_at: 0 }, "tokens"); t.oncomplete = ok; });
    db.close();
}"""


def watch(page, live) -> dict:
    """Record the main frame's navigations and the requests to the token endpoint."""
    seen: dict = {"urls": [], "token": [], "revoke": [], "authorize": []}
    page.on("framenavigated", lambda frame: seen["urls"].append(frame.url) if frame == page.main_frame else None)
    page.on("request", lambda r: seen["token"].append(r.post_data or "") if r.url == live.url + "/token" else None)
    page.on("request", lambda r: seen["revoke"].append(r.post_data or "") if r.url == live.url + "/revoke" else None)
    page.on("request", lambda r: seen["authorize"].append(r.url) if r.url.startswith(live.url + "/authorize") else None)
    return seen


def sign_in_for_health(page, *, password: bool = True) -> None:
    """Tap the health card; sign in (when the provider asks) and consent (the first time)."""
    page.click("#health-cards button[data-slot=self]")
    page.wait_for_url(lambda url: "/wallet/" not in url or "code=" in url)
    if "/login" in page.url:
        assert password
        page.fill("input[name=username]", DEMO_CITIZEN["id_number"])
        page.fill("input[name=password]", DEMO_CITIZEN["password"])
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        page.wait_for_load_state()
    if "/wallet/" not in page.url:  # the consent page (the first time)
        page.click("button[name=decision][value=allow]")
    page.wait_for_selector("#band:not([hidden])")


def desk(live):
    return live.app.extensions["tongban.health"].desk


def family_of(live, refresh_token: str) -> str:
    token = live.app.extensions["tongban.idp"].grants.refresh_token(refresh_token, now=int(time.time()))
    assert token is not None
    return token.family_id


def test_browser_restart_shows_red_without_sign_in(live, chromium, shots, tmp_path):
    desk(live).set_status(DEMO_CITIZEN["id_number"], "green", "", actor="staff:test", now=int(time.time()))
    profile = tmp_path / "profile"
    launch = chromium.browser_type.launch_persistent_context
    context = launch(profile, executable_path=CHROMIUM, args=ARGS, **PHONE)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(live.url + "/wallet/")
        page.wait_for_selector("body[data-ready='1']")
        sign_in_for_health(page)
        page.wait_for_selector("#band.green")
        stored = page.evaluate(READ_SESSION)
        first = stored["tokens"]
        assert first["token_type"] == "DPoP" and first["refresh_token"] and first["access_token"]
        assert stored["key"]["extractable"] is False and stored["key"]["curve"] == "P-256"
        assert page.evaluate("() => sessionStorage.length") == 0  # nothing of the sign-in is left in the tab
        # The family is bound to the wallet's DPoP key: the refresh token alone, without a proof, is refused.
        stolen = requests.post(live.url + "/token", data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                           "refresh_token": first["refresh_token"]}, timeout=10)
        assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
        page.screenshot(path=shots / "session-1-green.png", full_page=True)
        page.evaluate(EXPIRE_ACCESS_TOKEN)  # as if the phone had been put away for more than 15 minutes
    finally:
        context.close()

    desk(live).set_status(DEMO_CITIZEN["id_number"], "red", "密接", actor="staff:test", now=int(time.time()))

    context = launch(profile, executable_path=CHROMIUM, args=ARGS, **PHONE)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        seen = watch(page, live)
        page.goto(live.url + "/wallet/")
        card = page.locator("#health-cards button.red[data-slot=self]", has_text="红码")
        card.wait_for(timeout=15_000)
        assert "Red" in card.inner_text() and "状态未更新" not in card.inner_text()
        page.screenshot(path=shots / "session-2-restarted-red.png", full_page=True)
        assert all(url.startswith(live.url + "/wallet/") for url in seen["urls"]), seen["urls"]
        assert len(seen["token"]) == 1 and "grant_type=refresh_token" in seen["token"][0]
        after = page.evaluate(READ_SESSION)["tokens"]
        assert after["refresh_token"] != first["refresh_token"]  # rotated, and the new one stored
        assert after["access_token"] != first["access_token"]
        assert page.is_visible("#session-box[data-state=signed-in]")
        # The DPoP scheme works where the resource checks it (the provider's UserInfo, RFC 9449 §7) ...
        info = page.evaluate("""async () => { const s = await import("/wallet/static/session.js");
                                              const r = await s.authFetch("/userinfo"); return [r.status, await r.json()]; }""")
        assert info[0] == 200 and info[1]["name"] == DEMO_CITIZEN["name"]
        # ... and the DPoP-bound access token is refused there as a bearer token.
        bearer = requests.get(live.url + "/userinfo", headers={"Authorization": "Bearer " + after["access_token"]},
                              timeout=10)
        assert bearer.status_code == 401
        # The code itself, opened: red with its words, no sign-in on the way.
        card.click()
        page.wait_for_selector("#band.red")
        assert "密接" in page.inner_text("#band") and page.is_hidden("#health-stale")
        assert all("/login" not in url and "/authorize" not in url for url in seen["urls"]), seen["urls"]
        assert problems == [], problems
    finally:
        context.close()


def test_revoked_or_expired_refresh_token_leads_back_to_sign_in(live, chromium, shots):
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    try:
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(live.url + "/wallet/")
        page.wait_for_selector("body[data-ready='1']")
        sign_in_for_health(page)
        grants = live.app.extensions["tongban.idp"].grants

        for how in ("revoked", "expired"):
            tokens = page.evaluate(READ_SESSION)["tokens"]
            if how == "revoked":  # e.g. the citizen ended the session at /account, or withdrew consent
                grants.revoke_family(family_of(live, tokens["refresh_token"]), "test", int(time.time()))
            else:  # 30 days unused
                with grants.engine.begin() as conn:
                    conn.execute(update(models.refresh_tokens).where(
                        models.refresh_tokens.c.token_hash == digest(tokens["refresh_token"])).values(expires_at=1))
            # Off the wallet page first (same origin, so the storage is reachable): none of its timers can be
            # refreshing in the background while the token is aged, so what is counted is the reopened page alone.
            page.goto(live.url + "/wallet/static/icon.svg")
            page.evaluate(EXPIRE_ACCESS_TOKEN)
            seen = watch(page, live)
            page.goto(live.url + "/wallet/")
            page.wait_for_selector("#session-box[data-state=ended]:not([hidden])")
            page.locator("#health-cards button[data-slot=self] .stale", has_text="状态未更新").wait_for()
            page.wait_for_timeout(1500)  # room for a loop to show itself
            assert len(seen["token"]) == 1, seen["token"]
            assert page.url == live.url + "/wallet/" and all("/wallet/" in u for u in seen["urls"]), seen["urls"]
            assert page.evaluate(READ_SESSION) == {"tokens": None, "key": None}
            assert "重新登录" in page.inner_text("#session-box")
            page.screenshot(path=shots / f"session-3-{how}.png", full_page=True)

            # One tap: to the provider (whose own session is still alive here: no password) and back, signed in.
            page.click("#session-button")
            page.wait_for_selector("#session-box[data-state=signed-in]:not([hidden])")
            assert page.evaluate(READ_SESSION)["tokens"]["refresh_token"] != tokens["refresh_token"]
            page.click("#health-cards button[data-slot=self]")
            page.wait_for_selector("#band:not([hidden])")
            assert page.is_hidden("#health-stale")
            page.click("#show button.back")
        assert problems == [], problems
    finally:
        context.close()


def test_offline_says_since_when_the_status_is_not_updated(live, chromium, shots):
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    try:
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error"
                and "ERR_INTERNET_DISCONNECTED" not in msg.text else None)  # the browser's log of the offline tap
        page.goto(live.url + "/wallet/")
        page.wait_for_selector("body[data-ready='1']")
        sign_in_for_health(page)
        assert page.is_hidden("#health-stale")
        checked = page.evaluate("""async () => {
            const db = await new Promise((ok) => { const r = indexedDB.open("tongban-wallet");
                                                   r.onsuccess = () => ok(r.result); });
            return new Promise((ok) => { const r = db.transaction("health").objectStore("health").get("self");
                                         r.onsuccess = () => ok(r.result.checked_at); }); }""")
        since = datetime.fromtimestamp(checked, ZoneInfo(ZONE)).strftime("%H:%M")
        assert page.evaluate("async () => Boolean(await navigator.serviceWorker.ready)")

        # The network goes: the code stays on screen, and the page says since when its status is not updated.
        context.set_offline(True)
        stale = page.locator("#health-stale")
        stale.wait_for()
        assert stale.inner_text() == f"状态未更新 · 最后更新 {since} status not updated since {since}"
        assert page.is_visible("#band") and page.is_visible("#qr")
        page.screenshot(path=shots / "session-4-offline-code.png", full_page=True)

        # Offline from the start: the wallet's own page (not the browser's offline page), the same words on the card.
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        line = page.locator("#health-cards button[data-slot=self] .stale")
        line.wait_for()
        assert since in line.inner_text() and "status not updated since" in line.inner_text()
        page.screenshot(path=shots / "session-5-offline-home.png", full_page=True)
        page.click("#add")  # signed in, offline: a message, not a trip to a page that cannot load
        page.locator("#status", has_text="需要联网").wait_for()
        assert page.url == live.url + "/wallet/" and page.is_visible("#home")

        # Back online: checked at once, the warning goes.
        context.set_offline(False)
        line.wait_for(state="detached")
        assert problems == [], problems
    finally:
        context.close()


def test_two_tabs_refreshing_at_once_keep_the_family(live, chromium):
    context = chromium.new_context(**PHONE)
    try:
        first = context.new_page()
        first.goto(live.url + "/wallet/")
        first.wait_for_selector("body[data-ready='1']")
        sign_in_for_health(first)
        first.click("#show button.back")
        second = context.new_page()
        second.goto(live.url + "/wallet/")
        second.wait_for_selector("body[data-health-checked]")  # its opening check is done
        before = first.evaluate(READ_SESSION)["tokens"]
        first.evaluate(EXPIRE_ACCESS_TOKEN)
        token_requests: list[str] = []
        for page in (first, second):
            page.on("request", lambda r: token_requests.append(r.post_data) if r.url.endswith("/token") else None)
        # Both tabs need a new access token at the same moment (a shared start time, 400 ms from now).
        start = int(time.time() * 1000) + 400
        for page in (first, second):
            page.evaluate("""(start) => { window.raced = import("/wallet/static/session.js").then((s) =>
                new Promise((ok) => setTimeout(ok, start - Date.now())).then(() => s.current())); }""", start)
        results = [page.evaluate("async () => (await window.raced)?.access_token ?? null") for page in (first, second)]
        assert results[0] and results[0] == results[1], results
        assert len(token_requests) == 1, token_requests
        after = first.evaluate(READ_SESSION)["tokens"]
        assert after["refresh_token"] != before["refresh_token"]
        family = family_of(live, after["refresh_token"])
        assert live.app.extensions["tongban.idp"].grants.family_live(family)
        # And the next rotation, from the other tab, still works.
        again = second.evaluate("""async (old) => (await (await import("/wallet/static/session.js")).refresh(old))""",
                                after["access_token"])
        assert again and again["refresh_token"] != after["refresh_token"]
    finally:
        context.close()


@pytest.mark.smoke  # the everyday tier runs this one of the page's browser tests; the others are slow
def test_sign_out_revokes_and_deletes(live, chromium, shots):
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(live.url + "/wallet/")
        page.wait_for_selector("body[data-ready='1']")
        sign_in_for_health(page)
        page.click("#show button.back")
        tokens = page.evaluate(READ_SESSION)["tokens"]
        family = family_of(live, tokens["refresh_token"])
        seen = watch(page, live)
        page.click("#session-button")
        page.locator("#status", has_text="已退出登录").wait_for()
        assert len(seen["revoke"]) == 1 and "token_type_hint=refresh_token" in seen["revoke"][0]
        assert not live.app.extensions["tongban.idp"].grants.family_live(family)
        assert page.evaluate(READ_SESSION) == {"tokens": None, "key": None}
        assert page.is_hidden("#session-box")
        page.locator("#health-cards button[data-slot=self] .stale").wait_for()  # the code stays, not kept current
        page.screenshot(path=shots / "session-6-signed-out.png", full_page=True)
        # The next sign-in asks for the password again, although the provider's session is still alive.
        page.click("#add")
        page.wait_for_url("**/login**")
        assert len(seen["authorize"]) == 1 and "prompt=login" in seen["authorize"][0], seen["authorize"]
    finally:
        context.close()
