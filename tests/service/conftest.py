"""A whole tongban service on a loopback port, on a data directory set up by every ``tongban init`` step."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import socket
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urljoin

import pytest
import requests
from werkzeug.serving import make_server

import service.wiring  # noqa: F401 - fills INIT_STEPS
from idp.cli import DEMO_CITIZEN
from service.app import create_app
from service.cli import INIT_STEPS
from service.config import Settings
from tests.conftest import REQUIRE_SERVERS
from tests.idp.conftest import Browser, query
from wallet.web import CLIENT_ID, REDIRECT_PATH

# -- a real browser: Debian's Chromium driven by Playwright (no downloaded browser) ---------------------------
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


@pytest.fixture(scope="module")
def playwright():
    """Playwright itself (for tests that launch Chromium with their own flags, e.g. a fake camera). Skips without
    Chromium or Playwright on a laptop; in CI (TONGBAN_REQUIRE_SERVERS=1) that is a failure."""
    missing = None if Path(CHROMIUM).exists() else f"no Chromium at {CHROMIUM}"
    try:
        from playwright import sync_api
    except ImportError:
        missing = missing or "playwright is not installed: pip install -e '.[browser]'"
    if missing:
        if REQUIRE_SERVERS:
            pytest.fail(missing + " (CI requires it)")
        pytest.skip(missing)
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(playwright):
    """Debian's Chromium, launched once per module."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield browser
    browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: $TONGBAN_SCREENSHOT_DIR to keep them and look, else the test's tmp dir."""
    folder = Path(os.environ.get("TONGBAN_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Live:
    url: str
    data: Path
    app: object
    settings: Settings


class _Browser(Browser):
    """The IdP tests' scripted browser, stopping at the wallet's redirect URI (which is on the same origin)."""

    def __init__(self, live: Live, redirect_uri: str):
        super().__init__(SimpleNamespace(url=live.url))
        self.redirect_uri = redirect_uri

    def go(self, url: str, method: str = "GET", data: dict | None = None) -> str | None:
        resp = self.http.request(method, url, data=data, allow_redirects=False, timeout=10)
        while resp.is_redirect:
            target = urljoin(resp.url, resp.headers["Location"])
            if target.startswith(self.redirect_uri) or not target.startswith(self.idp.url):
                self.page = resp
                return target
            resp = self.http.get(target, allow_redirects=False, timeout=10)
        self.page = resp
        return None


def _serve(tmp_path_factory, host: str):
    patch = pytest.MonkeyPatch()
    patch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    data = tmp_path_factory.mktemp("live")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = replace(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url=f"http://{host}:{port}")
    for step in INIT_STEPS:
        step(settings, lambda _line: None)
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.01), daemon=True)
    thread.start()
    yield Live(settings.issuer_url, data, app, settings)
    server.shutdown()
    patch.undo()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    yield from _serve(tmp_path_factory, "127.0.0.1")


@pytest.fixture(scope="module")
def live_localhost(tmp_path_factory):
    """The service as http://localhost:PORT: WebAuthn needs a domain as RP id (browsers refuse an IP address)."""
    yield from _serve(tmp_path_factory, "localhost")


def sign_in(live: Live, *, client_id: str = CLIENT_ID, redirect_uri: str | None = None,
            scope: str = "openid profile licences", username: str = DEMO_CITIZEN["id_number"],
            password: str = DEMO_CITIZEN["password"]) -> dict:
    """Authorization code + PKCE as the wallet does it, through login and consent; returns the token response."""
    redirect_uri = redirect_uri or live.url + REDIRECT_PATH
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(12)
    browser = _Browser(live, redirect_uri)
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
              "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
    target = browser.go(live.url + "/authorize?" + urlencode(params))
    if target is None:
        target = browser.login(username, password)
    if target is None:
        target = browser.submit("/consent", decision="allow")
    answer = query(target)
    assert answer.get("state") == state, answer
    response = requests.post(live.url + "/token", data={
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": redirect_uri,
        "client_id": client_id, "code_verifier": verifier}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()
