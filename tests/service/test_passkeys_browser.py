"""Passkeys in a real browser at 390x844 with Chromium's virtual authenticator (CDP ``WebAuthn.*``: ctap2, internal,
resident keys, user verification): register on /account, sign out, sign in with the passkey alone, sign in on a
second browser (no passkey there: the password form), remove the passkey there, then the passkey is refused with a
clear message; and the wallet's face/fingerprint unlock before a licence QR, verified by the server.

WebAuthn needs a domain as RP id (browsers refuse an IP address), so the service runs as http://localhost:PORT
(``live_localhost``; a secure context, like 127.0.0.1).
"""

from __future__ import annotations

import json

import pytest

from idp.cli import DEMO_CITIZEN

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


@pytest.fixture(scope="module")
def site(live_localhost):
    return live_localhost


def authenticator(page) -> tuple[object, str]:
    """A virtual platform authenticator in this page (a phone's: internal, resident keys, face/fingerprint)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    made = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, made["authenticatorId"]


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # Refusals are answered 401/403 (logged by Chromium as failed loads); those the test provokes are expected.
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and "the server responded with a status of 40" not in msg.text
            and not msg.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("dialog", lambda dialog: problems.append(f"pop-up: {dialog.message}"))
    return problems


def password_sign_in(page, url: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", DEMO_CITIZEN["id_number"])
    page.fill("input[name=password]", DEMO_CITIZEN["password"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/account")


def sign_out(page, url: str) -> None:
    page.goto(url + "/logout")
    page.click("button[name=decision][value=logout]")
    page.wait_for_selector("text=您已安全退出")


def add_passkey(page, name: str) -> None:
    page.fill("#passkey-name", name)
    page.click("#passkey-add button[type=submit]")
    page.wait_for_url("**/account?passkey=added")


def test_register_sign_in_second_browser_remove(site, chromium, shots):
    phone = chromium.new_context(**PHONE)
    page = phone.new_page()
    problems = watch(page)
    cdp, auth_id = authenticator(page)

    password_sign_in(page, site.url)
    assert page.is_visible("#passkey-add")
    add_passkey(page, "我的手机")
    assert page.locator("#passkeys tr[data-passkey='我的手机']").count() == 1
    assert "北京时间 (UTC+8)" in page.inner_text("#passkeys")
    page.screenshot(path=shots / "passkey-1-added.png", full_page=True)
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": auth_id})["credentials"]
    assert len(stored) == 1 and stored[0]["isResidentCredential"]

    sign_out(page, site.url)
    page.goto(site.url + "/login")
    page.wait_for_selector("#passkey-login:not([hidden])")
    page.screenshot(path=shots / "passkey-2-login.png", full_page=True)
    page.click("#passkey-login button[type=submit]")  # no username typed: the discoverable credential says who
    page.wait_for_url("**/account")
    provider = site.app.extensions["tongban.idp"]
    sessions = provider.sessions.of(provider.accounts.find(DEMO_CITIZEN["id_number"]).sub)
    newest = max(sessions, key=lambda s: s.auth_time)
    assert newest.amr == ["hwk", "user"] and newest.acr == "real-name"
    assert "hwk, user" in page.inner_text("body")
    assert page.locator("#passkeys tr[data-passkey='我的手机'] td").nth(2).inner_text() != "—"  # last used now
    page.screenshot(path=shots / "passkey-3-signed-in.png", full_page=True)

    # A second browser: no passkey there; the password is offered as before, and from there the passkey is removed.
    other = chromium.new_context(**PHONE)
    second = other.new_page()
    problems += watch(second)
    second.goto(site.url + "/login")
    assert second.is_visible("input[name=password]") and second.is_visible("#passkey-login button")
    password_sign_in(second, site.url)
    second.click("#passkeys tr[data-passkey='我的手机'] button[type=submit]")
    second.wait_for_url("**/account?passkey=removed")
    assert second.locator("#passkeys tr[data-passkey]").count() == 0
    second.screenshot(path=shots / "passkey-4-removed.png", full_page=True)
    other.close()

    # The phone still holds the credential, but the site no longer knows it: refused, in words.
    sign_out(page, site.url)
    page.goto(site.url + "/login")
    page.click("#passkey-login button[type=submit]")
    page.wait_for_selector("#passkey-login [data-passkey-error]:not([hidden])")
    message = page.inner_text("#passkey-login [data-passkey-error]")
    assert "未在本网站登记，或已被删除" in message and "not registered here, or was removed" in message
    assert page.url.endswith("/login")
    page.screenshot(path=shots / "passkey-5-refused.png", full_page=True)
    assert not problems, problems
    phone.close()


def test_a_stale_sign_in_cannot_remove_a_passkey(site, chromium):
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    authenticator(page)
    password_sign_in(page, site.url)
    add_passkey(page, "旧手机")
    provider = site.app.extensions["tongban.idp"]
    sid = page.context.cookies()[0]["value"] if page.context.cookies()[0]["name"] == "tb_sid" else next(
        c["value"] for c in page.context.cookies() if c["name"] == "tb_sid")
    sso = provider.sessions.get(sid)
    sso.auth_time -= 3600  # signed in an hour ago (a cookie taken from an unattended browser)
    provider.sessions.save(sso)
    page.click("#passkeys tr[data-passkey='旧手机'] button[type=submit]")
    page.wait_for_url("**/account?passkey=reauth")
    assert page.locator("#passkeys tr[data-passkey='旧手机']").count() == 1
    assert "重新登录" in page.inner_text("body")
    page.click("#passkey-add button[type=submit]")  # adding one is refused as well
    page.wait_for_selector("#passkey-add [data-passkey-error]:not([hidden])")
    assert "sign in again" in page.inner_text("#passkey-add [data-passkey-error]")
    context.close()


def test_wallet_unlock_before_the_qr(site, chromium, shots):
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    problems = watch(page)
    cdp, auth_id = authenticator(page)
    password_sign_in(page, site.url)
    add_passkey(page, "钱包手机")

    page.goto(site.url + "/wallet/")
    page.wait_for_selector("body[data-ready='1']")
    page.click("#add")
    page.wait_for_selector("button[name=decision][value=allow]")
    page.click("button[name=decision][value=allow]")
    page.wait_for_selector("#record-list button[data-record]")
    page.click("#records [data-go=home]")
    page.wait_for_selector("#unlock-box:not([hidden])")
    page.click("#unlock-setting")  # turning it on is itself a verified unlock
    page.wait_for_function("() => localStorage.getItem('tb.unlock') === '1'")
    assert page.is_checked("#unlock-setting")
    page.screenshot(path=shots / "unlock-1-setting.png", full_page=True)

    page.goto(site.url + "/wallet/")  # a reload: the unlock was in memory only, the setting stays
    page.wait_for_selector("body[data-ready='1']")
    page.click("#add")
    page.wait_for_selector("#record-list button[data-record]")
    # The phone's face check fails (user not verified): the phone itself gives no assertion; no code.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": auth_id, "isUserVerified": False})
    page.click(".record:has-text('机动车驾驶证') button")
    page.wait_for_selector("#show.locked")
    page.wait_for_selector("#status.error")
    assert not page.is_visible("#qr") and page.is_visible("#unlock-button")
    assert "取消" in page.inner_text("#status")
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": auth_id, "isUserVerified": True})

    # The server decides, not the page: an assertion altered on its way (its signature) is refused; still no code.
    def tamper(route):
        body = route.request.post_data_json
        credential = json.loads(body["credential"])
        credential["response"]["signature"] = credential["response"]["signature"][::-1]
        route.continue_(post_data=json.dumps({"credential": json.dumps(credential)}))

    page.route("**/wallet/api/unlock", tamper)
    page.click("#unlock-button")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('验证失败')")
    assert not page.is_visible("#qr") and page.is_visible("#unlock-button")
    page.screenshot(path=shots / "unlock-2-refused.png", full_page=True)
    page.unroute("**/wallet/api/unlock")
    # Verified this time: the code appears.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": auth_id, "isUserVerified": True})
    page.click("#unlock-button")
    page.wait_for_selector("#qr[data-view=driving]")
    assert page.is_visible("#qr") and not page.is_visible("#unlock-button")
    page.screenshot(path=shots / "unlock-3-qr.png", full_page=True)
    events = [e["kind"] for e in site.app.extensions["tongban.idp"].audit.events(limit=30)]
    assert "wallet_unlock" in events and "unlock_failed" in events
    assert not problems, problems
    context.close()
