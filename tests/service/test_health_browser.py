"""Health codes and family proxies in a real browser (Chromium through Playwright), against a live service.

(a) the officer 王芳 signs in at /admin through the real login form and sets 张三 red → 张三's wallet shows the
    red code with its words and the reason → the QR, read back from a screenshot with zxing-cpp, typed into the
    counter's scanner field → the counter fills the screen red with the words and the reason.
(b) 张三 invites 王芳 to show his code (family proxy, by her phone number; a number nobody uses gets the same
    words) → 王芳's wallet shows the invitation from 张* → she accepts (two taps) → 张三 sees her name among his
    proxies → 王芳's wallet shows 张三's code marked 代为出示 → valid at the counter → 张三 ends the proxy → after
    the counter re-syncs, 王芳's next code is refused (revoked), and her wallet says the proxy has ended.
Screenshots (390x844, normal and elderly) go to $TONGBAN_SCREENSHOT_DIR (default: the test's tmp directory).
"""

from __future__ import annotations

import re

import pytest

from idp.cli import DEMO_CITIZEN
from verifier.image import read_qr

pytestmark = pytest.mark.browser

OFFICER = {"id_number": "310104199206157893", "phone": "13900139000", "password": "tongban-health-2024"}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


class Tab:
    """One browser context and page, recording script errors, console errors and pop-ups."""

    def __init__(self, browser, **options):
        self.context = browser.new_context(**options)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(str(exc)))
        self.page.on("console", lambda msg: self.problems.append(msg.text) if msg.type == "error"
                     and not msg.location.get("url", "").endswith("/favicon.ico") else None)
        self.page.on("dialog", lambda dialog: self.problems.append(f"pop-up: {dialog.message}"))

    def sign_in(self, username: str, password: str, *, id_number_box: bool = False) -> None:
        page = self.page
        page.wait_for_url("**/login**")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("form[action='/login'] button[type=submit]")
        allow = page.locator("button[name=decision][value=allow]")
        page.wait_for_url(lambda url: "/login" not in url)
        page.wait_for_load_state()
        if "/wallet/" in page.url or "/admin/" in page.url:
            return  # consented before
        if id_number_box:
            page.check("input[name=consent_id_number]")
        allow.click()

    def close(self) -> None:
        self.context.close()


def open_wallet(browser, live) -> Tab:
    tab = Tab(browser, **PHONE)
    tab.page.goto(live.url + "/wallet/")
    tab.page.wait_for_selector("body[data-ready='1']")
    return tab


def elderly(tab: Tab, on: bool) -> None:
    if tab.page.is_checked("#elderly") != on:
        tab.page.click("label[for=elderly]")
    tab.page.wait_for_selector("html.elderly" if on else "html:not(.elderly)")


def qr_text(tab: Tab, path) -> str:
    tab.page.locator("#qr[data-iat]").wait_for()
    tab.page.screenshot(path=path, full_page=True)
    return read_qr(path)


class CounterTab(Tab):
    def __init__(self, browser, live):
        super().__init__(browser, viewport={"width": 390, "height": 844}, locale="zh-CN")
        self.page.goto(live.url + "/counter")
        self.page.locator("#state", has_text="v").wait_for()

    def sync(self) -> None:
        self.page.click("#sync")
        self.page.locator("#message", has_text="同步完成").wait_for()

    def scan(self, text: str) -> str:
        """The scanner field, as a keyboard-wedge scanner fills it: the text, then Enter."""
        self.page.fill("#qr", text)
        with self.page.expect_response(lambda r: r.url.endswith("/counter/api/verify")):
            self.page.press("#qr", "Enter")
        self.page.wait_for_selector("#verdict:not([hidden])")
        return self.page.inner_text("#verdict")


def set_status_at_admin(browser, live, id_number: str, colour: str, reason: str, shots) -> None:
    officer = Tab(browser, viewport={"width": 1024, "height": 768}, locale="zh-CN")
    try:
        page = officer.page
        page.goto(live.url + "/admin/")
        page.click("a[href='/admin/login']")
        officer.sign_in(OFFICER["id_number"], OFFICER["password"], id_number_box=True)
        page.wait_for_selector("form[action='/admin/search']")
        page.fill("#q", id_number)
        page.click("form[action='/admin/search'] button[type=submit]")
        page.check(f"input[name=colour][value={colour}]")
        page.fill("#reason", reason)
        page.click("form[action='/admin/status'] button[type=submit]")
        page.locator("p.ok", has_text="已保存").wait_for()
        page.screenshot(path=shots / "health-admin-saved.png", full_page=True)
    finally:
        officer.close()


def test_officer_sets_red_wallet_turns_red_counter_shows_red(live, chromium, shots):
    citizen = open_wallet(chromium, live)
    counter = CounterTab(chromium, live)
    page = citizen.page
    try:
        card = page.locator("#health-cards button[data-slot=self]")
        assert "点击获取" in card.inner_text()
        page.screenshot(path=shots / "health-1-home.png", full_page=True)
        card.click()
        citizen.sign_in(DEMO_CITIZEN["id_number"], DEMO_CITIZEN["password"])
        page.wait_for_selector("#band.green")
        band = page.inner_text("#band")
        assert "绿码 · 无异常" in band and "Green · no anomaly" in band and page.is_hidden("#band-reason")
        assert page.is_hidden("#proxy-banner") and page.get_attribute("#qr", "data-view") == "code"
        page.screenshot(path=shots / "health-2-green.png", full_page=True)

        set_status_at_admin(chromium, live, DEMO_CITIZEN["id_number"], "red", "密接", shots)

        # Opening the code again checks the status (online) and fetches the re-issued code.
        page.click("#show button.back")
        page.click("#health-cards button[data-slot=self]")
        page.wait_for_selector("#band.red")
        band = page.inner_text("#band")
        assert "红码" in band and "Red" in band and "密接" in band
        assert "绿码" not in page.inner_text("#show")
        page.screenshot(path=shots / "health-3-red.png", full_page=True)
        text = qr_text(citizen, shots / "health-3-red.png")

        counter.sync()
        verdict = counter.scan(text)
        counter.page.wait_for_selector("#health:not([hidden])")
        assert counter.page.get_attribute("#health", "class") == "health red"
        screen = counter.page.inner_text("#health")
        assert "红码" in screen and "Red" in screen and "张*" in screen and "张三" not in screen
        assert "北京市" in screen and "秒前出示" in screen
        counter.page.screenshot(path=shots / "health-counter-red-code.png")
        assert "有效" in verdict

        # The reason is in the full view: the counter shows it too, on the red screen.
        page.click("#presets button[data-view=full]")
        page.wait_for_selector("#qr[data-view=full]")
        assert page.is_visible("#full-warning")
        text = qr_text(citizen, shots / "health-4-red-full.png")
        counter.page.click("#health")
        counter.scan(text)
        counter.page.wait_for_selector("#health:not([hidden])")
        screen = counter.page.inner_text("#health")
        assert counter.page.get_attribute("#health", "class") == "health red"
        assert "红码" in screen and "密接" in screen
        counter.page.screenshot(path=shots / "health-counter-red-full.png")

        # Elderly mode: the same code, larger; the colour's words are still beside it.
        elderly(citizen, True)
        page.screenshot(path=shots / "health-5-red-elderly.png", full_page=True)
        assert "红码" in page.inner_text("#band") and "密接" in page.inner_text("#band")
        read_qr(shots / "health-5-red-elderly.png")
        page.click("#show button.back")
        page.locator("#health-cards button.red[data-slot=self]", has_text="红码").wait_for()
        assert "Red" in page.inner_text("#health-cards button[data-slot=self]")
        page.screenshot(path=shots / "health-8-home-red-elderly.png", full_page=True)
        elderly(citizen, False)
        assert citizen.problems == [] and counter.problems == [], (citizen.problems, counter.problems)
    finally:
        citizen.close()
        counter.close()


def test_family_proxy_shown_then_ended_then_refused(live, chromium, shots):
    relative = open_wallet(chromium, live)   # 张三
    proxy = open_wallet(chromium, live)      # 王芳, a citizen too
    counter = CounterTab(chromium, live)
    try:
        # 张三 invites 王芳 to show his code: he types her phone number. A number nobody uses gets the same words.
        rp = relative.page
        rp.click("#family")
        relative.sign_in(DEMO_CITIZEN["id_number"], DEMO_CITIZEN["password"])
        rp.wait_for_selector("#family-section:not([hidden])")
        assert "代为出示" in rp.inner_text("#family-section") and "随时" in rp.inner_text("#family-section")
        said = []
        for number in ("13900000002", OFFICER["phone"]):
            rp.fill("#proxy-ref", number)
            rp.click("#grant-form button[type=submit]")
            rp.locator("#status", has_text="已发送邀请").wait_for()
            said.append(rp.inner_text("#status"))
            rp.evaluate("document.getElementById('status').textContent = ''")
        assert said[0] == said[1] and "已发送邀请，对方确认后生效" in said[0], said
        assert "Invitation sent; it takes effect when they accept" in said[0]
        sent = rp.locator("#sent-invites li[data-status=pending]", has_text="139****9000")
        sent.wait_for()
        assert "等待对方确认" in sent.inner_text() and "王芳" not in rp.inner_text("#family-section")
        assert rp.locator("#granted li[data-granted]").count() == 0  # nothing yet: she has not accepted
        rp.screenshot(path=shots / "family-1-invited.png", full_page=True)

        # 王芳 sees the invitation from 张* in her own wallet, with what accepting allows, and accepts (two taps).
        pp = proxy.page
        pp.click("#family")
        proxy.sign_in(OFFICER["id_number"], OFFICER["password"])
        invitation = pp.locator("#invites li[data-invitation]", has_text="张*")
        invitation.wait_for()
        words = invitation.inner_text()
        assert "张* 邀请您代为出示其健康码" in words and "代为出示" in words and "张三" not in words
        elderly(proxy, True)
        pp.screenshot(path=shots / "family-1a-invitation-elderly.png", full_page=True)
        elderly(proxy, False)
        accept = invitation.locator("button[data-answer=accepted]")
        accept.click()
        assert "再点一次" in accept.inner_text()  # two taps, no pop-up
        accept.click()
        pp.locator("#status", has_text="已接受").wait_for()
        assert pp.locator("#invites li[data-invitation]").count() == 0

        # 张三 now sees her name among the family members who may show his code.
        rp.click("#family-section button.back")
        rp.click("#family")
        rp.locator("#granted li[data-granted]", has_text="王芳").wait_for()
        # accepted: listed as a proxy, no longer among the sent invitations (the two lists load separately)
        rp.locator("#sent-invites li", has_text="139****9000").wait_for(state="detached")
        rp.screenshot(path=shots / "family-1-granted.png", full_page=True)

        # 王芳 sees 张三 among the relatives and shows his code on his behalf.
        held = pp.locator("#held button[data-proxy]", has_text="张三")
        held.wait_for()
        pp.screenshot(path=shots / "family-1b-proxy-list.png", full_page=True)
        held.click()
        pp.wait_for_selector("#qr[data-view=proxy-code]")
        banner = pp.inner_text("#proxy-banner")
        assert pp.is_visible("#proxy-banner") and "代为出示" in banner and "张*" in banner and "王芳" in banner
        assert "Shown on behalf of".lower() in banner.lower()
        assert re.search(r"(绿码|黄码|红码)", pp.inner_text("#band"))
        text = qr_text(proxy, shots / "family-2-proxy-code.png")
        elderly(proxy, True)
        pp.screenshot(path=shots / "family-3-proxy-elderly.png", full_page=True)
        read_qr(shots / "family-3-proxy-elderly.png")
        elderly(proxy, False)

        counter.sync()
        verdict = counter.scan(text)
        assert "有效" in verdict and "NOT VALID" not in verdict
        screen = counter.page.inner_text("#health")
        assert "代为出示" in screen and "王*" in screen and "张*" in screen
        counter.page.screenshot(path=shots / "family-counter-valid.png")
        counter.page.click("#health")

        # The proxy's phone is offline from here: it keeps the code it has, and makes fresh QR codes from it.
        proxy.context.set_offline(True)
        end = rp.locator("#granted li[data-granted]", has_text="王芳").locator("button[data-end]")
        end.click()
        assert "再点一次" in end.inner_text()  # two taps, no pop-up
        rp.screenshot(path=shots / "family-4-end-ask.png", full_page=True)
        end.click()
        rp.locator("#status", has_text="已结束").wait_for()
        assert rp.locator("#granted li[data-granted]").count() == 0
        rp.screenshot(path=shots / "family-5-ended.png", full_page=True)

        counter.sync()
        pp.click("#presets button[data-view=proxy-full]")
        pp.wait_for_selector("#qr[data-view=proxy-full]")
        verdict = counter.scan(qr_text(proxy, shots / "family-6-proxy-after-end.png"))
        assert "无效" in verdict and "授权已结束" in verdict and "family authorisation" in verdict  # not "revoked"
        assert counter.page.is_hidden("#health")  # a refused code never shows a colour
        counter.page.screenshot(path=shots / "family-counter-revoked.png", full_page=True)

        # Back online, the screen re-checks at once: it says the proxy has ended, and the code is gone from the phone.
        proxy.context.set_offline(False)
        pp.locator("#status", has_text="代办已结束").wait_for()
        assert pp.is_visible("#home") and pp.is_hidden("#qr")
        assert pp.locator("#health-cards button[data-slot^='proxy:']").count() == 0
        pp.screenshot(path=shots / "family-7-proxy-ended.png", full_page=True)
        problems = relative.problems + proxy.problems + counter.problems
        assert all("Failed to load resource" in p and "403" in p for p in problems), problems
    finally:
        relative.close()
        proxy.close()
        counter.close()


@pytest.mark.smoke  # the everyday tier runs this one of the page's browser tests; the others are slow
def test_offline_the_stored_code_shows_until_it_expires(live, chromium, shots):
    citizen = open_wallet(chromium, live)
    page = citizen.page
    try:
        page.click("#health-cards button[data-slot=self]")
        citizen.sign_in(DEMO_CITIZEN["id_number"], DEMO_CITIZEN["password"])
        page.wait_for_selector("#band:not([hidden])")
        expires = int(page.get_attribute("#qr", "data-expires"))
        assert page.evaluate("async () => Boolean(await navigator.serviceWorker.ready)")

        # No network, a fresh load: the page, the key and the code all come from the phone.
        page.clock.install()
        citizen.context.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        page.click("#health-cards button[data-slot=self]")
        page.wait_for_selector("#qr[data-iat]")
        assert page.is_visible("#band") and "码" in page.inner_text("#band")
        read_qr(page.screenshot(path=shots / "health-6-offline.png", full_page=True) and shots / "health-6-offline.png")

        # A day later, still offline: the code is gone from the screen, and the page says why.
        page.clock.set_system_time(expires + 5)
        page.clock.run_for(2000)
        page.locator("#status", has_text="已过期").wait_for()
        assert page.is_hidden("#show") and "已过期" in page.inner_text("#health-cards")
        page.screenshot(path=shots / "health-7-expired.png", full_page=True)
        # Chromium's offline emulation does not cover the service worker: a refresh it passes on can still reach
        # the server a simulated day later and be refused (401, the token expired). A real phone offline sends
        # nothing; what matters here is that the page shows no code and says why.
        unexpected = [p for p in citizen.problems if not ("Failed to load resource" in p and "401" in p)]
        assert unexpected == [], citizen.problems
    finally:
        citizen.close()
