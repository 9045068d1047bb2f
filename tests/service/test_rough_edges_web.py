"""Rough edges of issue 11 at the live service: the consent page names the app by its registered display name, and
the wallet signs in when the service runs on another loopback port than the one it was registered for."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import urlencode

import requests

from service.health import ADMIN_CLIENT_NAME, ADMIN_DISPLAY_NAME
from tests.service.conftest import _Browser
from wallet.web import CLIENT_ID

CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).rstrip(b"=").decode()


def test_the_consent_page_shows_the_admin_apps_display_name(live):
    admin = json.loads((live.data / "admin-client.json").read_text())
    browser = _Browser(live, live.url + "/admin/callback")
    browser.go(live.url + "/authorize?" + urlencode({
        "response_type": "code", "client_id": admin["client_id"], "redirect_uri": live.url + "/admin/callback",
        "scope": "openid profile id_number", "state": "s", "code_challenge": CHALLENGE,
        "code_challenge_method": "S256"}))
    browser.login()
    page = browser.page.text
    assert "授权" in page and "健康码管理后台" in page and "Health-code administration" in page
    assert ADMIN_CLIENT_NAME not in page and ADMIN_DISPLAY_NAME not in page  # shown as 中文 + <span lang=en>


def _authorize(live, redirect_uri: str, client_id: str = CLIENT_ID) -> requests.Response:
    return requests.get(live.url + "/authorize", allow_redirects=False, timeout=10, params={
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid",
        "state": "s", "code_challenge": CHALLENGE, "code_challenge_method": "S256"})


def test_the_wallet_signs_in_on_another_loopback_port(live):
    assert _authorize(live, live.url + "/wallet/").status_code == 302  # as registered: on to the sign-in page
    moved = _authorize(live, "http://127.0.0.1:8011/wallet/")  # `tongban serve --port 8011` after `tongban init`
    assert moved.status_code == 302 and moved.headers["Location"].startswith("/login")
    assert _authorize(live, "http://localhost:8011/wallet/").status_code == 302  # as localhost, for passkeys
    for wrong in ("http://127.0.0.1:8011/evil/", "http://evil.example:8011/wallet/", "https://127.0.0.1:8011/wallet/"):
        refused = _authorize(live, wrong)
        assert refused.status_code == 400 and "Location" not in refused.headers, wrong
