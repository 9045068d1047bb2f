"""The wallet as an app (issue 11), in a real browser at 390×844 against a live service.

* Offline, every button stays inside the app: Add, Family and 检查更新 say on the status line that they need the
  network (需要联网 / needs the network) instead of navigating to the browser's offline page, both when
  ``navigator.onLine`` is false and when it is true but the request cannot get through.
* Elderly mode: the QR spans the screen's full width and still reads.
* This phone's licences: remove one with two taps (no pop-up); it leaves IndexedDB and the issuer revokes that copy.
* On opening, a notice says what changed since the last visit (a licence revoked, a health code's colour), once.
Screenshots go to $TONGBAN_SCREENSHOT_DIR (default: the test's tmp directory).
"""

from __future__ import annotations

import time

import pytest

from credentials.status_list import INVALID, VALID
from idp.cli import DEMO_CITIZEN
from issuer import store
from tests.service.test_wallet_session_browser import PHONE, desk, sign_in_for_health
from verifier.image import read_qr

pytestmark = pytest.mark.browser


def open_wallet(chromium, live):
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda dialog: problems.append(f"pop-up: {dialog.message}"))
    page.goto(live.url + "/wallet/")
    page.wait_for_selector("body[data-ready='1']")
    return context, page, problems


def needs_network(page, what: str) -> None:
    status = page.locator("#status[data-offline='1']", has_text=what)
    status.wait_for()
    assert "需要联网" in status.inner_text() and "needs the network" in status.inner_text()
    assert what in status.inner_text()


def test_offline_buttons_say_they_need_the_network(live, chromium, shots):
    context, page, problems = open_wallet(chromium, live)
    navigations: list[str] = []
    try:
        # Signed out, navigator.onLine true, but nothing gets through: Add says so instead of leaving for sign-in.
        blocked = lambda route: route.abort("internetdisconnected")  # noqa: E731
        page.route("**/.well-known/openid-configuration", blocked)
        page.route("**/authorize**", blocked)
        page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
        page.click("#add")
        needs_network(page, "登录")  # Add goes to sign-in first, and sign-in needs the network
        assert navigations == [] and page.url == live.url + "/wallet/" and page.is_visible("#home")
        page.unroute("**/.well-known/openid-configuration")
        page.unroute("**/authorize**")

        sign_in_for_health(page)  # online: signed in, the health code on screen
        assert page.evaluate("async () => Boolean(await navigator.serviceWorker.ready)")
        navigations.clear()
        context.set_offline(True)
        page.click("#health-update")
        needs_network(page, "检查更新")
        assert page.is_visible("#qr")  # still the code, on the wallet's own screen
        page.screenshot(path=shots / "app-1-offline-update.png", full_page=True)
        page.click("#show button.back")
        page.click("#add")
        needs_network(page, "添加证照")
        assert page.is_visible("#home") and page.is_hidden("#records")
        page.click("#family")
        needs_network(page, "家人代办")
        assert page.is_visible("#home") and page.is_hidden("#family-section")
        page.screenshot(path=shots / "app-2-offline-family.png", full_page=True)
        assert navigations == [] and page.url == live.url + "/wallet/"

        # navigator.onLine true, the issuer unreachable: the Family request fails, back home with the reason.
        context.set_offline(False)
        page.route("**/issuer/**", blocked)
        page.click("#family")
        needs_network(page, "家人代办")
        assert page.is_visible("#home") and page.is_hidden("#family-section")
        page.click("#add")
        needs_network(page, "添加证照")
        assert page.is_visible("#home") and page.is_hidden("#records")
        assert navigations == [] and problems == [], (navigations, problems)
    finally:
        context.close()


def test_elderly_mode_gives_the_qr_the_full_width(live, chromium, shots):
    context, page, problems = open_wallet(chromium, live)
    try:
        sign_in_for_health(page)
        normal = page.locator("#qr").bounding_box()
        page.click("label[for=elderly]")
        page.wait_for_selector("html.elderly")
        page.wait_for_function("() => document.getElementById('qr').style.width === '100%'")
        large = page.locator("#qr").bounding_box()
        width = PHONE["viewport"]["width"]
        assert large["width"] >= width - 14 and large["x"] <= 7, (normal, large)  # edge to edge, inside the colour frame
        assert large["width"] > normal["width"] + 20 and abs(large["width"] - large["height"]) < 1
        shot = shots / "app-3-elderly-qr.png"
        page.locator(".qr-box").screenshot(path=shot)
        assert read_qr(shot)  # still reads after the browser scaled it to the screen
        # And back: normal mode draws whole pixels per module again.
        page.click("label[for=elderly]")
        page.wait_for_function("() => !document.documentElement.classList.contains('elderly')")
        assert page.locator("#qr").bounding_box()["width"] == pytest.approx(normal["width"], abs=1)
        assert problems == [], problems
    finally:
        context.close()


COUNT_STORED = """async () => {
    const db = await new Promise((ok) => { const r = indexedDB.open("tongban-wallet"); r.onsuccess = () => ok(r.result); });
    const all = await new Promise((ok) => { const r = db.transaction("credentials").objectStore("credentials").getAll();
                                            r.onsuccess = () => ok(r.result); });
    db.close();
    return all.map((c) => c.elicence_id);
}"""


def add_licence(page, label: str) -> str:
    signed_in = page.is_visible("#session-box[data-state=signed-in]")
    page.click("#add")
    if not signed_in:
        page.wait_for_url("**/login**")
        page.fill("input[name=username]", DEMO_CITIZEN["id_number"])
        page.fill("input[name=password]", DEMO_CITIZEN["password"])
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        page.wait_for_load_state()
        if "/wallet/" not in page.url:  # the consent page (the first time this citizen allows the wallet)
            page.click("button[name=decision][value=allow]")
    page.wait_for_selector("#record-list button[data-record]")
    page.click(f".record:has-text('{label}') button")
    page.wait_for_selector("#qr[data-iat]")
    page.click("#show button.back")
    return page.get_attribute(f"#phone-licences li:has-text('{label}')", "data-phone")


def test_remove_a_licence_from_this_phone(live, chromium, shots):
    context, page, problems = open_wallet(chromium, live)
    engine = live.app.extensions["tongban.vci"].issuer.engine
    try:
        assert page.is_hidden("#phone-box")
        driving = add_licence(page, "机动车驾驶证")
        resident = add_licence(page, "居民身份证")
        assert sorted(page.evaluate(COUNT_STORED)) == sorted([driving, resident])
        page.screenshot(path=shots / "app-4-phone-licences.png", full_page=True)

        # The first tap only asks (in the app: no pop-up); nothing is removed yet.
        button = page.locator(f"#phone-licences button[data-remove='{driving}']")
        button.click()
        assert button.get_attribute("data-armed") == "1" and "再点一次" in button.inner_text()
        assert driving in page.evaluate(COUNT_STORED)
        button.click()
        page.locator("#status", has_text="发证机关已作废").wait_for()
        assert page.evaluate(COUNT_STORED) == [resident]
        assert page.locator(f"#cards [data-elicence='{driving}']").count() == 0
        assert store.find(engine, driving).status == INVALID  # the issuer revoked this phone's copy
        page.screenshot(path=shots / "app-5-removed.png", full_page=True)

        # Offline: removed from the phone all the same, and the page says the issuer was not told.
        context.set_offline(True)
        page.click(f"#phone-licences button[data-remove='{resident}']")
        page.click(f"#phone-licences button[data-remove='{resident}']")
        page.locator("#status", has_text="尚未收到通知").wait_for()
        assert page.evaluate(COUNT_STORED) == [] and page.is_hidden("#phone-box") and page.is_visible("#empty")
        assert store.find(engine, resident).status == VALID
        assert problems == [], problems
    finally:
        context.close()


def test_a_notice_on_opening_says_what_changed_since_the_last_visit(live, chromium, shots):
    now = lambda: int(time.time())  # noqa: E731
    desk(live).set_status(DEMO_CITIZEN["id_number"], "green", "", actor="staff:test", now=now())
    context, page, problems = open_wallet(chromium, live)
    try:
        sign_in_for_health(page)
        page.click("#show button.back")
        driving = add_licence(page, "机动车驾驶证")
        page.reload()  # a visit with nothing new: no notice
        page.wait_for_selector("body[data-notice-checked='1']")
        assert page.is_hidden("#notice")

        # Between visits: the officer sets the code red and the authority revokes the licence.
        desk(live).set_status(DEMO_CITIZEN["id_number"], "red", "密接", actor="staff:test", now=now())
        live.app.extensions["tongban.vci"].issuer.set_status(driving, now=now())
        page.reload()
        notice = page.locator("#notice")
        notice.wait_for()
        text = notice.inner_text()
        assert "机动车驾驶证已被发证机关作废" in text and "revoked" in text
        assert "健康码：绿码 · 无异常 → 红码 · 有异常" in text and "Green · no anomaly → Red · anomaly" in text, text
        page.screenshot(path=shots / "app-6-notice.png", full_page=True)
        page.click("#notice-close")
        assert page.is_hidden("#notice")

        # Said once: the next opening has nothing new to say.
        page.reload()
        page.wait_for_selector("body[data-notice-checked='1']")
        assert page.is_hidden("#notice") and problems == [], problems
    finally:
        context.close()
        desk(live).set_status(DEMO_CITIZEN["id_number"], "green", "", actor="staff:test", now=now())
