"""Counter profiles and 免证办 in a real Chromium at 390×844 (issue 11).

* One code (the driving licence's full view, ID number and address inside) scanned at three counters: the
  entrance shows 张* and no ID number, the licence check 张三 and 110101********1233 and no address, the
  identity counter everything.
* 免证办: the citizen signs in to the wallet, adds the licence, taps 授权调取; the code on the screen (read from a
  screenshot) goes into the counter page of the same service (profile identity, registered as counter-a): the
  verdict is valid and shows the fetched licence with the portrait; the same code again is refused
  (``replayed``), and the phone's next code (same authorisation) is valid but fetches nothing (used once).
"""

from __future__ import annotations

import pytest

from idp.cli import DEMO_CITIZEN
from service.counter_app import create_counter_app
from tests.counter_world import make_world, run, serving
from tests.service.fetch_world import start
from verifier.image import read_qr

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico") else None)
    return problems


def scan(page, text: str) -> str:
    page.fill("#qr", text)
    with page.expect_response(lambda r: r.url.endswith("/counter/api/verify")):
        page.press("#qr", "Enter")
    page.wait_for_selector("#verdict:not([hidden])")
    return page.inner_text("#verdict")


@pytest.fixture(scope="module")
def profile_world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("profiles"))
    world.eid = world.issue()
    world.cache = world.base / "cache"
    run("verifier", "sync", "--data", str(world.data), "--cache", str(world.cache))
    return world


@pytest.mark.parametrize(("profile", "shown", "hidden"), [
    # (the claims of examples/driving-licence.json)
    ("entrance", ["张*", "场所入口", "有效期至"], ["张三", "110101", "北京市朝阳区", "C1"]),
    ("licence", ["张三", "110101********1233", "C1", "证照核验"], ["110101199003071233", "北京市朝阳区建国路"]),
    ("identity", ["张三", "110101199003071233", "北京市朝阳区建国路88号", "身份核验"], ["********"]),
])
def test_each_profile_shows_what_its_clerk_compares_and_nothing_more(profile_world, chromium, shots, profile, shown,
                                                                     hidden):
    with serving(create_counter_app(profile_world.cache, profile_name=profile)) as url:
        context = chromium.new_context(**PHONE)
        page = context.new_page()
        problems = watch(page)
        page.goto(url + "/counter")
        page.wait_for_selector("#state:has-text('trust list v')")
        assert page.get_attribute("#profile", "data-profile") == profile
        text = scan(page, profile_world.present(profile_world.eid, disclose="full"))
        page.screenshot(path=shots / f"profile-{profile}.png", full_page=True)
        page_text = page.inner_text("body")
        assert "有效" in text and "无效" not in text, text
        for words in shown:
            assert words in page_text, (profile, words)
        for words in hidden:
            assert words not in text, (profile, words)
        # What the page received is what it shows: nothing more is in the API's answer either.
        assert problems == []
        context.close()


@pytest.fixture(scope="module")
def fetch_world(tmp_path_factory):
    live, server = start(tmp_path_factory.mktemp("fetch-browser"), profile="identity")
    yield live
    server.shutdown()


def test_the_wallet_authorises_the_counter_fetches_once_with_the_portrait(fetch_world, chromium, shots):
    live = fetch_world
    context = chromium.new_context(**PHONE)
    wallet = context.new_page()
    problems = watch(wallet)
    wallet.goto(live.url + "/wallet/")
    wallet.wait_for_selector("body[data-ready='1']")
    wallet.click("#add")
    wallet.wait_for_url("**/login**")
    wallet.fill("input[name=username]", DEMO_CITIZEN["id_number"])
    wallet.fill("input[name=password]", DEMO_CITIZEN["password"])
    wallet.click("form[action='/login'] button[type=submit]")
    wallet.click("button[name=decision][value=allow]")
    wallet.wait_for_selector("#record-list button[data-record]")
    wallet.click(".record:has-text('机动车驾驶证') button")
    wallet.wait_for_selector("#qr[data-view=driving]")
    assert wallet.is_visible("#fetch-grant") and wallet.is_hidden("#fetch-note")

    wallet.click("#fetch-grant")
    wallet.wait_for_selector("#qr[data-fetch='1']")
    assert "仅限一次" in wallet.inner_text("#fetch-note") and wallet.get_attribute("#fetch-grant", "aria-pressed") == "true"
    shot = shots / "fetch-1-wallet.png"
    wallet.screenshot(path=shot, full_page=True)
    code = read_qr(shot)

    clerk = context.new_page()
    clerk_problems = watch(clerk)
    clerk.goto(live.url + "/counter")
    clerk.wait_for_selector("#state:has-text('trust list v')")
    assert "可调取证照" in clerk.inner_text("#profile") and "居民身份证" in clerk.inner_text("#profile")
    verdict = scan(clerk, code)
    assert "有效" in verdict and "无效" not in verdict, verdict
    clerk.wait_for_selector("#fetched:not([hidden]) #portrait:not([hidden])")
    fetched = clerk.inner_text("#fetched")
    assert "张三" in fetched and DEMO_CITIZEN["id_number"] in fetched and "C1" in fetched
    size = clerk.evaluate("() => { const i = document.getElementById('portrait'); "
                          "return [i.naturalWidth, i.naturalHeight, i.complete]; }")
    assert size[0] > 0 and size[1] > size[0] and size[2], size
    clerk.screenshot(path=shots / "fetch-2-counter.png", full_page=True)

    # The same code again: the offline verdict refuses it (a screenshot), and nothing is fetched.
    clerk.click("#next")
    verdict = scan(clerk, code)
    assert "无效" in verdict and clerk.is_hidden("#fetched"), verdict
    clerk.screenshot(path=shots / "fetch-3-again.png", full_page=True)

    # The phone's next code (a new one, the same authorisation inside): valid, but the fetch was used once.
    before = wallet.get_attribute("#qr", "data-iat")
    wallet.wait_for_timeout(1100)
    wallet.click("#presets button[data-view=full]")
    wallet.wait_for_function("(b) => document.getElementById('qr').dataset.iat !== b", arg=before, timeout=15_000)
    assert wallet.get_attribute("#qr", "data-fetch") == "1"
    wallet.screenshot(path=shots / "fetch-4-wallet-next.png", full_page=True)
    clerk.click("#next")
    verdict = scan(clerk, read_qr(shots / "fetch-4-wallet-next.png"))
    clerk.wait_for_selector("#fetched-error:not([hidden])")
    assert "有效" in verdict and "已被使用" in clerk.inner_text("#fetched-error") and clerk.is_hidden("#portrait")
    clerk.screenshot(path=shots / "fetch-5-used.png", full_page=True)
    assert problems == [] and clerk_problems == []
    context.close()
