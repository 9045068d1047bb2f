"""The identity provider's sign-in pages in a real browser at 390x844, in elderly mode (长辈模式).

The citizen turns elderly mode on in the wallet and taps "add": the IdP's login, consent and registration pages
come up in elderly mode too (the wallet's localStorage setting, same origin), with their own toggle. Every piece of
text is >= 18px, every button, text field and tick box's label >= 60px tall; no console errors (a CSP violation is
one), no pop-ups. Screenshots go to $TONGBAN_SCREENSHOT_DIR (default: the test's tmp directory).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import pytest

from idp.cli import DEMO_CITIZEN

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}
pytestmark = pytest.mark.browser

# The smallest font size of any element with text of its own, and the shortest tap target, on the page: as
# [px, what] pairs. Tick boxes are tapped through their label, so the label is what is measured.
MEASURE = """() => {
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden"; };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.name ? "[" + el.name + "]" : "")
    + " " + (el.textContent || el.value || "").trim().slice(0, 30);
  const text = [], taps = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!visible(el)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (own) text.push([parseFloat(getComputedStyle(el).fontSize), name(el)]);
  }
  for (const el of document.querySelectorAll("button, input:not([type=hidden]), select, textarea, .links a")) {
    const target = el.type === "checkbox" ? el.closest("label") : el;
    if (!visible(target)) continue;
    taps.push([target.getBoundingClientRect().height, name(el)]);
    if (el.matches("input[type=text], input[type=password], input[type=tel]"))
      text.push([parseFloat(getComputedStyle(el).fontSize), name(el)]);
  }
  return {text, taps, overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth};
}"""


def check_elderly(page, where: str) -> None:
    assert page.evaluate("document.documentElement.classList.contains('elderly')"), where
    assert page.is_checked("#elderly"), where
    found = page.evaluate(MEASURE)
    small = [t for t in found["text"] if t[0] < 18]
    short = [t for t in found["taps"] if t[0] < 60]
    assert not small, f"{where}: text under 18px: {small}"
    assert not short, f"{where}: tap targets under 60px: {short}"
    assert found["taps"], where
    assert found["overflow"] <= 0, f"{where}: scrolls sideways by {found['overflow']}px"


def test_elderly_mode_carries_over_to_the_sign_in_pages(live, chromium, shots):
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # (The wrong password below is answered 401, which Chromium logs as a failed load: that one is expected.)
    page.on("console", lambda msg: problems.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error" and not ("status of 401" in msg.text and msg.location.get("url", "").endswith("/login"))
            else None)
    page.on("dialog", lambda dialog: problems.append(f"pop-up: {dialog.message}"))

    # In the wallet: elderly mode on, then add a licence → the IdP's login page.
    page.goto(live.url + "/wallet/")
    page.wait_for_selector("body[data-ready='1']")
    page.check("#elderly")
    page.click("#add")
    page.wait_for_url("**/login**")
    page.wait_for_load_state("load")
    check_elderly(page, "login")
    page.screenshot(path=shots / "idp-1-login-elderly.png", full_page=True)

    # Its own toggle: off is the normal (smaller) page and is remembered for the wallet too; on again.
    page.uncheck("#elderly")
    assert page.evaluate("localStorage.getItem('tb.elderly')") == "0"
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "16px"
    page.screenshot(path=shots / "idp-2-login-normal.png", full_page=True)
    page.check("#elderly")
    assert page.evaluate("localStorage.getItem('tb.elderly')") == "1"

    # A wrong password: the error message is large too.
    page.fill("input[name=username]", DEMO_CITIZEN["id_number"])
    page.fill("input[name=password]", "not-the-password")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("p.error")
    check_elderly(page, "login error")
    page.screenshot(path=shots / "idp-3-login-error.png", full_page=True)

    # The registration page (the link under the form), then back to sign in properly.
    login_url = live.url + "/login?" + urlencode({"ia": page.input_value("input[name=ia]")})
    page.click("a[href^='/register']")
    page.wait_for_selector("input[name=id_number]")
    check_elderly(page, "register")
    page.screenshot(path=shots / "idp-4-register.png", full_page=True)
    page.goto(login_url)
    page.fill("input[name=username]", DEMO_CITIZEN["id_number"])
    page.fill("input[name=password]", DEMO_CITIZEN["password"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("button[name=decision][value=allow]")
    check_elderly(page, "consent")
    assert page.locator("input[name=csrf_token]").count() == 1
    page.screenshot(path=shots / "idp-5-consent.png", full_page=True)
    page.click("button[name=decision][value=allow]")
    page.wait_for_selector("#record-list button[data-record]")
    assert page.evaluate("document.documentElement.classList.contains('elderly')")
    assert not problems, problems
    context.close()


@pytest.mark.smoke  # the everyday tier runs this one of the page's browser tests; the others are slow
def test_consent_with_the_separate_id_number_tick_box(live, chromium, shots):
    """A client that also asks for the ID number: the PIPL art. 29 tick box is a large target too."""
    provider = live.app.extensions["tongban.idp"]
    redirect_uri = live.url + "/elderly-test/cb"
    client = provider.clients.add("社保查询 / Social insurance", [redirect_uri], public=True,
                                  scopes=["openid", "profile", "id_number"])
    challenge = base64.urlsafe_b64encode(hashlib.sha256(secrets.token_bytes(32)).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": redirect_uri,
              "scope": "openid profile id_number", "state": "s", "code_challenge": challenge,
              "code_challenge_method": "S256"}
    context = chromium.new_context(**PHONE)
    context.add_init_script("localStorage.setItem('tb.elderly', '1')")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: problems.append(f"pop-up: {dialog.message}"))
    page.goto(live.url + "/authorize?" + urlencode(params))
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", DEMO_CITIZEN["id_number"])
    page.fill("input[name=password]", DEMO_CITIZEN["password"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("input[name=consent_id_number]")
    check_elderly(page, "consent with id_number")
    page.screenshot(path=shots / "idp-6-consent-id-number.png", full_page=True)
    page.click("fieldset label.check")  # tapping the words ticks the box
    assert page.is_checked("input[name=consent_id_number]")
    assert not problems, problems
    context.close()
