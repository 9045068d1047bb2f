"""The web wallet in a real browser (Chromium through Playwright), phone-sized, against a live service.

sign in as the demo citizen → add the driving licence → QR on screen → screenshot → zxing-cpp decodes it →
the offline verifier (cache synced from the data directory) says valid, and "stale" once the 60 s window is
over → with the browser offline the page still refreshes to a new QR that verifies. Then elderly mode, and a
reload with the network off (the service worker's cache) that still shows a verifiable QR.
Screenshots go to $TONGBAN_SCREENSHOT_DIR (default: the test's tmp directory).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import keys
from idp.cli import DEMO_CITIZEN
from verifier.cache import DirectorySource, VerifierCache
from verifier.image import read_qr
from verifier.pipeline import verify
from verifier.replay import MemoryReplayCache

pytestmark = pytest.mark.browser


def decide(live, cache_dir: Path, qr_text: str, now: int):
    cache = VerifierCache(cache_dir)
    source = DirectorySource(live.data)
    cache.sync(source, now=now, root=None if cache.root() else keys.PublicKey.from_jwk(source.root_key()))
    return verify(qr_text, trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(), now=now)


@pytest.mark.smoke  # the everyday tier runs this one of the page's browser tests; the others are slow
def test_sign_in_add_show_verify_offline(live, chromium, shots, tmp_path):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # (The IdP's own pages have no favicon; that 404 is not the wallet's.)
    # A refused DPoP proof (400/401) is logged by the browser too: the fast-forward below puts the page's clock 31 s
    # ahead of the server's, past the 30 s a proof's iat may be ahead (idp/dpop.py SKEW); the wallet learns the
    # offset from the refusal and tries again (session.js), which the end of the test checks (still signed in).
    refused = tuple(f"Failed to load resource: the server responded with a status of {n} " for n in (400, 401))
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico")
            and not msg.text.startswith(refused) else None)
    page.on("dialog", lambda dialog: problems.append(f"pop-up: {dialog.message}"))
    page.clock.install()  # the page's clock runs as usual, and the test can move it on (the 30 s refresh below)

    page.goto(live.url + "/wallet/")
    page.wait_for_selector("body[data-ready='1']")
    page.screenshot(path=shots / "1-empty.png", full_page=True)
    page.click("#add")
    page.wait_for_url("**/login**")
    page.fill("input[name=username]", DEMO_CITIZEN["id_number"])
    page.fill("input[name=password]", DEMO_CITIZEN["password"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("button[name=decision][value=allow]")
    page.screenshot(path=shots / "2-consent.png", full_page=True)
    page.click("button[name=decision][value=allow]")
    page.wait_for_selector("#record-list button[data-record]")
    page.screenshot(path=shots / "3-records.png", full_page=True)
    assert DEMO_CITIZEN["id_number"] not in page.content()

    page.click(".record:has-text('机动车驾驶证') button")
    page.wait_for_selector("#qr[data-view=driving]")
    assert page.get_attribute("#presets button[aria-pressed=true]", "data-view") == "driving"
    assert page.locator("#disclosed li").count() == 4 and not page.is_visible("#full-warning")
    assert page.evaluate("""async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open("tongban-wallet"); r.onsuccess = () => ok(r.result); });
        const key = await new Promise((ok) => { const r = db.transaction("keys").objectStore("keys").get("device");
                                                r.onsuccess = () => ok(r.result); });
        return key.privateKey.extractable === false && key.privateKey.algorithm.namedCurve === "P-256";
    }""")
    shot = shots / "4-qr.png"
    page.screenshot(path=shot, full_page=True)
    text = read_qr(shot)
    now = int(page.get_attribute("#qr", "data-iat"))
    decision = decide(live, tmp_path / "cache", text, now)
    assert decision.valid, decision
    assert decision.view == "driving" and set(decision.claims) == {"name", "vehicle_classes", "valid_from", "valid_until"}
    later = decide(live, tmp_path / "cache", text, now + 61)
    assert not later.valid and later.reasons == ("stale",)

    # The age preset: one claim, shown in the list and in the code.
    page.click("#presets button[data-view=age]")
    page.wait_for_selector("#qr[data-view=age]")
    assert page.locator("#disclosed li").count() == 1
    shot = shots / "5-age.png"
    page.screenshot(path=shot, full_page=True)
    decision = decide(live, tmp_path / "cache", read_qr(shot), int(time.time()))
    assert decision.valid and decision.claims == {"age_over_18": True}

    # The full view is the biggest code; it must still read from a phone-sized screen.
    page.click("#presets button[data-view=full]")
    page.wait_for_selector("#qr[data-view=full]")
    assert page.locator("#disclosed li").count() == 11
    assert page.is_visible("#full-warning")
    shot = shots / "5b-full.png"
    page.screenshot(path=shot, full_page=True)
    decision = decide(live, tmp_path / "cache", read_qr(shot), int(page.get_attribute("#qr", "data-iat")))
    assert decision.valid and decision.claims["id_number"] == DEMO_CITIZEN["id_number"]

    # Offline: the page keeps making fresh codes from the stored credential and the device key.
    page.click("#presets button[data-view=driving]")
    page.wait_for_selector("#qr[data-view=driving]")
    context.set_offline(True)
    before = page.get_attribute("#qr", "data-iat")
    page.clock.fast_forward("00:31")  # the refresh interval (presenting.js REFRESH_SECONDS) passes
    page.wait_for_function("(before) => document.getElementById('qr').dataset.iat !== before", arg=before,
                           timeout=15_000)
    shot = shots / "6-offline-refreshed.png"
    page.screenshot(path=shot, full_page=True)
    refreshed = int(page.get_attribute("#qr", "data-iat"))
    assert refreshed >= int(before) + 30
    decision = decide(live, tmp_path / "cache", read_qr(shot), refreshed)
    assert decision.valid, decision

    # Elderly mode: larger text and tap targets, remembered across loads.
    context.set_offline(False)
    page.click("label[for=elderly]")
    page.wait_for_selector("html.elderly")
    page.screenshot(path=shots / "7-elderly-qr.png", full_page=True)
    # (the page's clock is 31 s ahead of this process's since the fast-forward: decide at the code's own time)
    decision = decide(live, tmp_path / "cache", read_qr(shots / "7-elderly-qr.png"),
                      int(page.get_attribute("#qr", "data-iat")))
    assert decision.valid, decision
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate("document.documentElement.classList.contains('elderly')")
    page.wait_for_selector("body[data-notice-checked='1']")  # the opening's licence check went through (notice.js)
    assert page.get_attribute("#session-box", "data-state") == "signed-in"
    sizes = page.evaluate("""() => {
        const visible = [...document.querySelectorAll('button, label, li, p, span')]
            .filter((e) => e.offsetParent && e.textContent.trim());
        return {
            font: Math.min(...visible.map((e) => parseFloat(getComputedStyle(e).fontSize))),
            tap: Math.min(...[...document.querySelectorAll('button, label.toggle')].filter((e) => e.offsetParent)
                                .map((e) => e.getBoundingClientRect().height)),
        };
    }""")
    assert sizes["font"] >= 18 and sizes["tap"] >= 60, sizes
    page.screenshot(path=shots / "8-elderly-home.png", full_page=True)
    assert page.locator("#history li").count() >= 3  # driving, age, driving
    # The citizen's own copy of what this phone showed (PIPL art. 45), as a file.
    with page.expect_download() as download:
        page.click("#history-export")
    exported = json.loads(Path(download.value.path()).read_text())
    assert [item["view"] for item in exported["shown"]][:4] == ["driving", "age", "full", "driving"]
    assert all(item["claims"] and item["at"] for item in exported["shown"])

    # Offline from the start: the service worker serves the page, IndexedDB the licence and the key.
    assert page.evaluate("async () => Boolean(await navigator.serviceWorker.ready)")
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.click("#cards button.card")
    page.wait_for_selector("#qr[data-iat]")
    shot = shots / "9-offline-reload.png"
    page.screenshot(path=shot, full_page=True)
    decision = decide(live, tmp_path / "cache", read_qr(shot), int(page.get_attribute("#qr", "data-iat")))
    assert decision.valid, decision
    assert problems == []
    context.close()
