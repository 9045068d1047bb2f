"""The counter page in a real Chromium: a scanner types a code and presses Enter; the verdict reads right.

Served by ``create_counter_app`` (what ``tongban verifier serve`` runs) on a loopback port. Screenshots at
390x844 (a phone) and 1024x768 (a tablet) go to ``$TONGBAN_SCREENSHOT_DIR`` or a temporary directory.
Skips cleanly without Chromium or the ``playwright`` package (``pip install -e .[browser]``), except in CI.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from service.counter_app import create_counter_app
from tests.conftest import REQUIRE_SERVERS
from tests.counter_world import make_world, run, serving
from tests.dcc_world import DAY, kid_mapping, make_cert, sign_dcc, vaccination
from verifier.dcc_trust import DscStore, import_signers
from wallet.qr import write_png

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
PHONE, TABLET = {"width": 390, "height": 844}, {"width": 1024, "height": 768}


def _need_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "the playwright package is not installed (pip install -e .[browser])"
    else:
        if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
            return sync_playwright
        reason = f"no Chromium at {CHROMIUM}"
    if REQUIRE_SERVERS:
        pytest.fail(reason + " (CI requires it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    directory = Path(os.environ.get("TONGBAN_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("counter-browser"))
    world.eid = world.issue()
    world.revoked = world.issue()
    world.revoke(world.revoked)
    world.cache = world.base / "cache"
    run("verifier", "sync", "--data", str(world.data), "--cache", str(world.cache))
    return world


@pytest.fixture(scope="module")
def counter_url(world):
    with serving(create_counter_app(world.cache, redis_url="")) as url:
        yield url


@pytest.fixture(scope="module")
def playwright():
    sync_playwright = _need_browser()
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield browser
    browser.close()


class Counter:
    """One browser tab on /counter, recording console errors (a CSP violation is one)."""

    def __init__(self, browser, url: str, viewport: dict):
        self.context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url + "/counter")
        # A selector wait, not wait_for_function: evaluating a string predicate is eval, which the CSP forbids.
        self.page.wait_for_selector("#state:has-text('trust list v')")

    def scan(self, text: str) -> None:
        """What a keyboard-wedge scanner does: type into whatever has focus, then Enter."""
        self.page.keyboard.type(text, delay=0)
        with self.page.expect_response(lambda r: r.url.endswith("/counter/api/verify")):
            self.page.keyboard.press("Enter")

    def verdict(self) -> str:
        self.page.wait_for_selector("#verdict:not([hidden])")
        return self.page.inner_text("#verdict")

    def next(self) -> None:
        self.page.click("#next")
        self.page.wait_for_selector("#verdict", state="hidden")

    def shot(self, path: Path, full_page: bool = True) -> None:
        self.page.screenshot(path=str(path), full_page=full_page)

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize(("viewport", "size"), [(PHONE, "390x844"), (TABLET, "1024x768")])
def test_an_eu_dcc_pasted_into_the_field_shows_the_person_and_the_dose(world, counter_url, browser, shots, viewport,
                                                                        size):
    now = int(time.time())
    dsc = make_cert(not_before=now - 30 * DAY, not_after=now + 365 * DAY)
    DscStore(world.cache).save(import_signers(kid_mapping(dsc), now=now)[0], now=now)
    code = sign_dcc(vaccination(), dsc, iat=now - DAY, exp=now + 180 * DAY)
    counter = Counter(browser, counter_url, viewport)
    try:
        page = counter.page
        page.fill("#qr", code)  # pasted, not typed
        with page.expect_response(lambda r: r.url.endswith("/counter/api/verify")):
            page.keyboard.press("Enter")
        text = counter.verdict()
        assert "有效" in text and "VALID" in text and "NOT VALID" not in text
        assert "欧盟数字新冠证书 / EU Digital COVID Certificate · 疫苗接种 / vaccination" in text
        assert "Gabriele Musterfrau-Gößinger" in text and "MUSTERFRAU<GOESSINGER, GABRIELE" in text
        assert "1998-02-26" in text and "2/2" in text and "Comirnaty" in text
        assert "Ministry of Health, Austria (AT)" in text and "秒前出示" not in text
        counter.shot(shots / f"counter-dcc-{size}.png")
        counter.next()
        forged = sign_dcc(vaccination(), dsc, sign_with=make_cert().key, iat=now - DAY, exp=now + 180 * DAY)
        page.fill("#qr", forged)
        with page.expect_response(lambda r: r.url.endswith("/counter/api/verify")):
            page.keyboard.press("Enter")
        text = counter.verdict()
        assert "无效" in text and "EU DCC's signature is invalid" in text and "Musterfrau" not in text
        assert not counter.errors, counter.errors
    finally:
        counter.close()


@pytest.mark.parametrize(("viewport", "size"), [(PHONE, "390x844"), (TABLET, "1024x768")])
def test_scanner_input_valid_then_revoked_then_garbage(world, counter_url, browser, shots, viewport, size):
    counter = Counter(browser, counter_url, viewport)
    try:
        page = counter.page
        assert page.evaluate("document.activeElement.id") == "qr", "the scanner field has the focus on load"
        counter.shot(shots / f"counter-empty-{size}.png")

        counter.scan(world.present(world.eid))
        text = counter.verdict()
        assert "有效" in text and "VALID" in text and "NOT VALID" not in text
        assert "机动车驾驶证 / Driving licence" in text and "张*" in text and "张三" not in text
        assert "北京市公安局公安交通管理局" in text and "秒前出示" in text
        assert page.get_attribute("#verdict", "class") == "verdict valid"
        assert page.input_value("#qr") == "" and page.evaluate("document.activeElement.id") == "qr"
        counter.shot(shots / f"counter-valid-{size}.png")

        counter.scan(world.present(world.revoked))  # straight after: the field kept the focus
        text = counter.verdict()
        assert "无效" in text and "NOT VALID" in text and "吊销" in text and "revoked" in text
        assert "机动车驾驶证 / Driving licence" in text
        counter.shot(shots / f"counter-revoked-{size}.png")

        counter.next()
        page.click("header")  # the clerk touched the screen; a scanner's keystrokes must still land in the field
        assert page.evaluate("document.activeElement.id") != "qr"
        counter.scan(world.present(world.eid))
        assert "VALID" in counter.verdict() and "NOT VALID" not in counter.verdict(), "no keystroke was lost"

        counter.scan("hello")
        text = counter.verdict()
        assert "无效" in text and "这不是通办电子证照二维码" in text and "not a tongban e-licence code" in text
        counter.shot(shots / f"counter-garbage-{size}.png")
        assert counter.errors == [], counter.errors
    finally:
        counter.close()


@pytest.mark.parametrize(("viewport", "size", "colour", "reason", "shown_by", "view", "words"), [
    (PHONE, "390x844", "green", "", "李小四", "proxy-code", ("绿码 · 无异常", "Green · no anomaly")),
    (TABLET, "1024x768", "green", "", None, "code", ("绿码 · 无异常", "Green · no anomaly")),
    (PHONE, "390x844", "red", "14 天内到访高风险地区 / visited a high-risk area", "李小四", "proxy-full",
     ("红码 · 有异常", "禁止通行")),
    (TABLET, "1024x768", "yellow", "待核酸检测结果 / awaiting a test result", None, "full",
     ("黄码 · 需核查", "Check as the rules")),
])
def test_health_code_is_a_full_screen_colour_with_words(world, counter_url, browser, shots, viewport, size, colour,
                                                        reason, shown_by, view, words):
    """A real health code (issuer library → wallet → scanner → counter): its colour fills the screen, with words."""
    eid = world.issue_health_code(colour, reason, shown_by)
    run("verifier", "sync", "--data", str(world.data), "--cache", str(world.cache))
    counter = Counter(browser, counter_url, viewport)
    try:
        counter.scan(world.present(eid, view))
        counter.page.wait_for_selector("#health:not([hidden])")
        assert counter.page.get_attribute("#health", "class") == f"health {colour}"
        text = counter.page.inner_text("#health")
        assert words[0] in text and words[1] in text and "张*" in text and reason in text
        assert ("代为出示" in text and "李*四" in text) if shown_by else "代为出示" not in text
        assert "李小四" not in text and "张三" not in text
        counter.shot(shots / f"counter-health-{colour}-{size}.png", full_page=False)  # what the screen shows
        counter.page.click("#health")
        text = counter.verdict()
        assert counter.page.is_hidden("#health") and "健康码 / Health code" in text and "北京市卫生健康委员会" in text
        assert counter.errors == [], counter.errors
    finally:
        counter.close()


@pytest.mark.smoke  # the everyday tier runs this one of the page's browser tests; the others are slow
def test_camera_frames_are_decoded_server_side(world, counter_url, playwright, tmp_path, shots):
    """Chromium's fake camera plays a picture of the QR code; the page posts frames until one decodes."""
    png = tmp_path / "qr.png"
    write_png(world.present(world.eid, "age"), png)
    from PIL import Image

    with Image.open(png) as qr:
        frame = Image.new("RGB", (640, 480), (235, 235, 235))
        side = 440
        frame.paste(qr.convert("RGB").resize((side, side)), ((640 - side) // 2, (480 - side) // 2))
    video = tmp_path / "camera.mjpeg"
    frame.save(video, "JPEG", quality=90)
    camera_browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        *ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        counter = Counter(camera_browser, counter_url, PHONE)
        counter.page.click("#camera")
        text = counter.verdict()
        assert "有效" in text and "年龄核验 / age check" in text and "已满 18 周岁" in text
        assert counter.page.is_hidden("#camera-box"), "the camera stops once a code is read"
        counter.shot(shots / "counter-camera-390x844.png")
        assert counter.errors == [], counter.errors
    finally:
        camera_browser.close()


def test_no_camera_is_said_in_words_and_points_to_the_picture_upload(world, counter_url, playwright):
    """A machine without a camera (Chromium allows the camera but has none): no raw ``NotFoundError``, words and the
    picture upload instead."""
    no_camera = playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, "--use-fake-ui-for-media-stream"])
    try:
        counter = Counter(no_camera, counter_url, PHONE)
        counter.page.click("#camera")
        counter.page.wait_for_selector("#message:not([hidden])")
        text = counter.page.inner_text("#message")
        assert "Error" not in text and "选择图片" in text and "Choose a picture" in text, text
        assert "没有找到摄像头" in text or "未允许" in text, text
        assert "suggested" in (counter.page.get_attribute("label.file-button", "class") or "")
    finally:
        no_camera.close()


def test_main_app_counter_sync_button(world, browser, shots):
    """`tongban serve` mounts the counter with a Sync button that re-reads the data directory."""
    from dataclasses import replace

    from service.app import create_app
    from service.config import Settings

    with pytest.MonkeyPatch.context() as env:
        env.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
        app = create_app(replace(Settings.from_env(world.data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url="http://127.0.0.1:1"))
    eid = world.issue()
    with serving(app) as url:
        counter = Counter(browser, url, TABLET)
        try:
            counter.scan(world.present(eid))
            assert "NOT VALID" not in counter.verdict()
            world.revoke(eid)
            with counter.page.expect_response(lambda r: r.url.endswith("/counter/api/sync")):
                counter.page.click("#sync")
            counter.page.wait_for_selector("#message:has-text('同步完成')")
            counter.shot(shots / "counter-main-app-synced-1024x768.png")
            counter.page.keyboard.press("Tab")  # focus elsewhere: the scanner's keystrokes are pulled back
            counter.scan(world.present(eid))
            text = counter.verdict()
            assert "NOT VALID" in text and "吊销" in text
            assert counter.errors == [], counter.errors
        finally:
            counter.close()


def test_out_of_date_counter_says_so_and_resyncs_itself_when_it_can(world, browser, tmp_path):
    """Two hours after the last sync the status lists no longer count: the footer says so in red; a counter
    with a source (``verifier serve --from URL``) syncs by itself and the warning goes."""
    import time

    from flask import Flask

    from issuer.publication import publication_blueprint

    cache = tmp_path / "cache"
    shutil.copytree(world.cache, cache)
    later = lambda: time.time() + 2 * 3600  # noqa: E731
    with serving(create_counter_app(cache, redis_url="", clock=later)) as url:
        counter = Counter(browser, url, PHONE)
        try:
            counter.page.wait_for_selector("#state.stale:has-text('已过期')")
        finally:
            counter.close()
    # The hub re-signs its lists as time passes (``tongban serve``'s refresher): a copy of it, two hours later.
    from issuer.cli import issuer_for
    from service.config import Settings

    hub_data = shutil.copytree(world.data, tmp_path / "hub")
    issuer_for(Settings.from_env(hub_data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"})).publish_all(now=int(later()))
    hub = Flask("hub")
    hub.register_blueprint(publication_blueprint(hub_data))
    with serving(hub) as hub_url, serving(create_counter_app(cache, redis_url="", clock=later, source_url=hub_url)) as url:
        counter = Counter(browser, url, PHONE)
        try:
            counter.page.wait_for_selector("#state:not(.stale):has-text('有效至')", timeout=15000)
            counter.scan(world.present(world.eid, now=int(later())))
            assert "NOT VALID" not in counter.verdict()
        finally:
            counter.close()


def test_after_a_failed_sync_the_verdict_says_how_old_its_status_data_is(world, browser, tmp_path, shots):
    """The hub cannot be reached: the page says the sync failed, and each verdict carries the status data's age."""
    import socket

    eid = world.issue_health_code("green", "", None)
    run("verifier", "sync", "--data", str(world.data), "--cache", str(world.cache))
    cache = shutil.copytree(world.cache, tmp_path / "cache")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens there once the socket closes
    with serving(create_counter_app(Path(cache), redis_url="", source_url=gone)) as url:
        counter = Counter(browser, url, PHONE)
        try:
            with counter.page.expect_response(lambda r: r.url.endswith("/counter/api/sync")):
                counter.page.click("#sync")
            counter.page.wait_for_selector("#message:has-text('无法连接证照中心')")
            counter.scan(world.present(eid, "code"))
            counter.page.wait_for_selector("#health:not([hidden])")
            text = counter.page.inner_text("#health")
            assert "绿码 · 无异常" in text and "分钟前更新" in text and "min old" in text
            counter.shot(shots / "counter-health-status-age-390x844.png", full_page=False)
            counter.page.click("#health")
            assert "状态数据" in counter.page.inner_text("#status-age")
            counter.page.wait_for_selector("#state:has-text('last sync failed')")
            # The failed syncs' 502 answers are logged by the browser; nothing else may be (no CSP violation).
            assert [e for e in counter.errors if "502" not in e] == [], counter.errors
        finally:
            counter.close()
