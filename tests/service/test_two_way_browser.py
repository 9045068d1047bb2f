"""Two-way counters end to end in Chromium: the counter page shows its code → the wallet scans it → the
counter verifies the wallet's code; another counter refuses it (``audience_mismatch``).

The wallet reads the counter's code twice, both ways a phone can: with the camera (Chromium's fake camera
plays a Y4M video made from a screenshot of the counter page) and "从图片识别 / from a picture" (the same
screenshot as a file). Linux Chromium has no BarcodeDetector, so both go through the vendored jsQR decoder.
The wallet's QR is read back from a screenshot with zxing-cpp and typed into the counter page as a scanner does.
Screenshots go to $TONGBAN_SCREENSHOT_DIR (default: the test's tmp directory).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import keys
from credentials import parse_presentation
from credentials.counter_code import parse_counter_code
from idp.cli import DEMO_CITIZEN
from service.counter_app import create_counter_app
from tests.counter_world import serving
from tests.service.conftest import ARGS, CHROMIUM
from verifier.cache import DirectorySource, VerifierCache
from verifier.image import read_qr

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def counters(live, tmp_path_factory):
    """Two two-way counters, each with its own cache synced from the live hub, on loopback ports."""
    with serving(_counter(live, tmp_path_factory, "bj-dongcheng-3")) as a, \
            serving(_counter(live, tmp_path_factory, "bj-dongcheng-4")) as b:
        yield a, b


def _counter(live, tmp_path_factory, counter_id: str):
    import time

    cache = VerifierCache(tmp_path_factory.mktemp(counter_id))
    source = DirectorySource(live.data)
    cache.sync(source, now=int(time.time()), root=keys.PublicKey.from_jwk(source.root_key()))
    return create_counter_app(cache.directory, redis_url="", two_way=True, counter_id=counter_id)


def until(condition, timeout: float = 15.0):
    """Poll ``condition`` (no in-page predicate: the pages' CSP forbids eval) until it returns something truthy."""
    import time

    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return result


def write_y4m(picture: Path, path: Path, size: tuple[int, int] = (640, 480)) -> None:
    """A one-frame YUV4MPEG2 (4:2:0) video of ``picture`` centred on white: Chromium's fake camera loops it."""
    width, height = size
    frame = Image.new("RGB", size, "white")
    image = Image.open(picture).convert("RGB")
    image.thumbnail((height - 40, height - 40))
    frame.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        out.write(b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes())


class CounterPage:
    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url + "/counter")
        self.page.wait_for_selector("#counter-code[data-code]")

    @property
    def code(self) -> str:
        return self.page.get_attribute("#counter-code", "data-code")

    def code_picture(self, path: Path) -> Path:
        self.page.locator("#counter-qr").screenshot(path=str(path))
        return path

    def scan(self, text: str) -> str:
        """A keyboard-wedge scanner types the wallet's code and presses Enter; returns the verdict text."""
        self.page.click("#qr")
        self.page.keyboard.type(text, delay=0)
        with self.page.expect_response(lambda r: r.url.endswith("/counter/api/verify")) as response:
            self.page.keyboard.press("Enter")
        self.page.wait_for_selector("#verdict:not([hidden])")
        self.result = response.value.json()
        return self.page.inner_text("#verdict")


def wallet_with_licence(browser, live, problems: list[str]):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    context.grant_permissions(["camera"], origin=live.url)
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico") else None)
    page.goto(live.url + "/wallet/")
    page.wait_for_selector("body[data-ready='1']")
    page.click("#add")
    page.wait_for_url("**/login**")
    page.fill("input[name=username]", DEMO_CITIZEN["id_number"])
    page.fill("input[name=password]", DEMO_CITIZEN["password"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("button[name=decision][value=allow]")
    page.click("button[name=decision][value=allow]")
    page.wait_for_selector("#record-list button[data-record]")
    page.click(".record:has-text('机动车驾驶证') button")
    page.wait_for_selector("#qr[data-view=driving]")
    return context, page


def test_counter_code_scanned_by_the_wallet_then_verified_here_and_refused_next_door(
        live, counters, playwright, shots):
    here_url, next_door_url = counters
    plain = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    here, next_door = CounterPage(plain, here_url), CounterPage(plain, next_door_url)
    here.page.screenshot(path=str(shots / "two-way-1-counter.png"), full_page=True)
    first_code = here.code
    picture = here.code_picture(shots / "two-way-counter-code.png")
    assert read_qr(picture) == first_code, "the counter page's QR reads back as its code"
    video = shots / "two-way-counter-code.y4m"
    write_y4m(picture, video)

    # -- the wallet's camera (a fake one playing the counter's code) -----------------------------------------
    camera = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        *ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    problems: list[str] = []
    try:
        context, wallet = wallet_with_licence(camera, live, problems)
        assert wallet.get_attribute("#qr", "data-audience") == "" and wallet.is_hidden("#bound")
        assert not wallet.evaluate("'BarcodeDetector' in window"), "this test exercises the vendored decoder"
        wallet.click("#scan-counter")
        wallet.wait_for_selector("#qr[data-audience='bj-dongcheng-3']", timeout=20_000)
        assert wallet.is_hidden("#scan-box"), "the camera closes once the code is read"
        assert "For counter bj-dongcheng-3 only" in wallet.inner_text("#bound"), "it says which counter it is for"
        wallet.click("#show button.back")  # the phone's own record says where the licence was shown
        assert "bj-dongcheng-3" in wallet.inner_text("#history")
        wallet.click("#cards button.card")
        wallet.wait_for_selector("#qr[data-audience='bj-dongcheng-3']")
        # The camera goes off when the holder leaves the QR screen with it on (a blank camera this time, so that
        # it stays on until then: the fake one would read the counter's code again at once).
        wallet.evaluate("""() => {
            const canvas = Object.assign(document.createElement("canvas"), { width: 64, height: 64 });
            canvas.getContext("2d").fillRect(0, 0, 64, 64);
            window.blankCamera = canvas.captureStream(5);
            navigator.mediaDevices.getUserMedia = async () => window.blankCamera;
        }""")
        wallet.click("#scan-counter")
        wallet.wait_for_selector("#scan-box:not([hidden])")
        wallet.click("#show button.back")
        until(lambda: wallet.evaluate("document.getElementById('scan-video').srcObject === null && "
                                      "window.blankCamera.getVideoTracks()[0].readyState === 'ended'"))
        wallet.click("#cards button.card")
        wallet.wait_for_selector("#qr[data-audience='bj-dongcheng-3']")
        shot = shots / "two-way-2-wallet-bound.png"
        wallet.screenshot(path=str(shot), full_page=True)
        verdict = here.scan(read_qr(shot))
        assert here.result["valid"] is True, here.result
        assert "有效" in verdict
        # Answered: the counter shows a new code at once (the next person cannot reuse this challenge).
        until(lambda: here.code != first_code)
        here.page.screenshot(path=str(shots / "two-way-3-counter-valid.png"), full_page=True)

        # -- from a picture: the counter's new code, shown next door -------------------------------------------
        second = here.code_picture(shots / "two-way-counter-code-2.png")
        challenge = parse_counter_code(read_qr(second)).challenge
        wallet.set_input_files("#scan-picture", str(second))
        shot = shots / "two-way-4-wallet-rebound.png"

        def wallet_answers_the_new_challenge() -> str | None:
            wallet.screenshot(path=str(shot), full_page=True)
            text = read_qr(shot)
            return text if parse_presentation(text).challenge == challenge else None

        text = until(wallet_answers_the_new_challenge)
        assert parse_presentation(text).audience == "bj-dongcheng-3"
        verdict = next_door.scan(text)
        assert next_door.result["valid"] is False and next_door.result["reasons"] == ["audience_mismatch"]
        assert "其他柜台" in verdict
        next_door.page.screenshot(path=str(shots / "two-way-5-next-door-refuses.png"), full_page=True)
        here.page.click("#next")
        assert here.scan(text) and here.result["valid"] is True, here.result  # the counter it was made for

        # A picture with no counter code in it (the wallet's own QR) is reported, not bound.
        wallet.set_input_files("#scan-picture", str(shot))
        wallet.wait_for_selector("#scan-status.error:not([hidden])")
        assert "没有找到柜台码" in wallet.inner_text("#scan-status")
        context.close()
    finally:
        camera.close()
        plain.close()
    assert problems == [] and here.errors == [] and next_door.errors == []
