"""OpenID4VP 1.0 in a real browser at 390×844: the citizen signs in to the wallet, adds the driving licence (both
formats: the QR one and the SD-JWT VC), opens the demo app, follows its same-device link, sees who asks, why and
which claims (the optional licence number unticked by hand), consents, and the demo app shows exactly name +
vehicle classes + valid_until, verified. Screenshots go to $TONGBAN_SCREENSHOT_DIR (default: the tmp dir)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from credentials.sdjwt import split
from credentials.sdjwt.disclosures import parse_disclosure
from idp.cli import DEMO_CITIZEN
from issuer.cli import records_for

pytestmark = pytest.mark.browser


def test_share_the_driving_licence_with_the_demo_app(live, chromium, shots):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("dialog", lambda dialog: problems.append(f"pop-up: {dialog.message}"))
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.url.endswith("/response") else None)

    page.goto(live.url + "/wallet/")
    page.wait_for_selector("body[data-ready='1']")
    page.click("#add")
    page.wait_for_url("**/login**")
    page.fill("input[name=username]", DEMO_CITIZEN["id_number"])
    page.fill("input[name=password]", DEMO_CITIZEN["password"])
    page.click("form[action='/login'] button[type=submit]")
    page.click("button[name=decision][value=allow]")
    page.wait_for_selector("#record-list button[data-record]")
    page.click(".record:has-text('机动车驾驶证') button")
    page.wait_for_selector("#qr[data-view=driving]")  # the QR format shows at once
    held = page.evaluate("""async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open("tongban-wallet"); r.onsuccess = () => ok(r.result); });
        const all = await new Promise((ok) => { const r = db.transaction("credentials").objectStore("credentials").getAll();
                                                r.onsuccess = () => ok(r.result); });
        return all.map((c) => ({ type: c.licence_type, sd: typeof c.sd_jwt === "string" ? c.sd_jwt : null }));
    }""")
    [licence] = [c for c in held if c["type"] == "driving-licence"]
    assert licence["sd"] and licence["sd"].count("~") >= 10  # both formats on the phone

    # The demo app asks; the citizen uses the wallet on this phone (same-device).
    page.goto(live.url + "/demo-app/")
    page.wait_for_selector("body[data-ready='1']")
    assert page.is_visible("#qr")
    page.screenshot(path=shots / "oid4vp-1-demo-app.png", full_page=True)
    page.click("#same-device")
    page.wait_for_url("**/wallet/**")
    page.wait_for_selector("#share-request:not([hidden])")
    assert "通办演示应用" in page.inner_text("#share-who")
    assert "准驾车型" in page.inner_text("#share-why")
    labels = page.inner_text("#share-credentials")
    for words in ("姓名", "准驾车型", "有效期至", "证号", "张三", "C1"):
        assert words in labels, words
    assert "身份号码" not in labels  # the ID number claim is not asked for (the licence number, optional, is the same digits)
    boxes = {b.get_attribute("data-claim"): b for b in page.query_selector_all("#share-credentials input[type=checkbox]")}
    assert set(boxes) == {"name", "classes", "until", "number"}
    assert all(boxes[c].is_disabled() and boxes[c].is_checked() for c in ("name", "classes", "until"))
    assert boxes["number"].is_enabled() and boxes["number"].is_checked()
    page.screenshot(path=shots / "oid4vp-2-consent.png", full_page=True)
    page.click("label[for='share-0-number']")  # untick the optional licence number
    assert not boxes["number"].is_checked()
    page.screenshot(path=shots / "oid4vp-3-unticked.png", full_page=True)
    page.click("#share-accept")

    page.wait_for_url("**/demo-app/**")
    page.wait_for_selector("#result[data-verified='1']")
    page.screenshot(path=shots / "oid4vp-4-verified.png", full_page=True)
    shown = {dd.get_attribute("data-claim"): dd.inner_text() for dd in page.query_selector_all("#claims dd")}
    [record] = [r for r in records_for(live.settings).held_by(DEMO_CITIZEN["id_number"])
                if r.licence_type == "driving-licence"]
    assert shown == {"name": "张三", "vehicle_classes": "、".join(record.claims["vehicle_classes"]),
                     "valid_until": str(record.claims["valid_until"])}
    assert "已核验" in page.inner_text("#verdict")
    # What left the phone: one presentation whose Disclosures are exactly the three claims (and the two array
    # elements of vehicle_classes), not the unticked licence number (the ID number's digits) nor anything else.
    [posted] = [s for s in sent if "vp_token" in s]
    [presentation] = json.loads(parse_qs(posted)["vp_token"][0])["driving_licence"]
    disclosed = [parse_disclosure(d).name for d in split(presentation).disclosures]
    assert {n for n in disclosed if n} == {"name", "vehicle_classes", "valid_until"}
    assert DEMO_CITIZEN["id_number"] not in json.dumps([parse_disclosure(d).value for d in split(presentation).disclosures])
    assert not problems, problems
    context.close()
