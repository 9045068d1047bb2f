"""The provider driven by openid-client (npm, OpenID Certified RP library): discovery, PAR, code + PKCE,
ID token and iss validation, userinfo, refresh rotation and reuse detection, RP-initiated logout.

Needs Node and ``npm ci`` in tests/idp/js (.ci/run does it); skips on a machine without them, fails in CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVERS
from tests.idp.conftest import Browser

JS = Path(__file__).parent / "js"
REDIRECT = "http://127.0.0.1:9/cb"
BYE = "http://127.0.0.1:9/bye"


def node(step: str, payload: dict) -> dict:
    result = subprocess.run(["node", str(JS / "rp.mjs"), step, json.dumps(payload)], capture_output=True, text=True,
                            timeout=60, cwd=JS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def openid_client():
    if shutil.which("node") is None or not (JS / "node_modules" / "openid-client").exists():
        message = "openid-client is not installed: run `npm ci` in tests/idp/js"
        if REQUIRE_SERVERS:
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)


@pytest.mark.slow
@pytest.mark.parametrize("par", [False, True])
def test_openid_client_full_flow(idp, openid_client, par):
    client = idp.client(post_logout_redirect_uris=[BYE])
    base = {"issuer": idp.url, "client_id": client["client_id"], "client_secret": client["client_secret"],
            "redirect_uri": REDIRECT, "post_logout_redirect_uri": BYE, "par": par}
    started = node("start", base)
    browser = Browser(idp)
    browser.go(started["url"])
    browser.login()
    callback = browser.submit("/consent", decision="allow")
    assert callback.startswith(REDIRECT)
    done = node("finish", {**base, **started, "callback": callback})
    assert done["claims"]["iss"] == idp.url and done["claims"]["acr"] == "real-name"
    assert done["userinfo"]["name"] == "张三" and done["userinfo"]["sub"] == done["claims"]["sub"]
    assert done["refreshed"] and done["rotated"]
    assert done["retrySame"]  # a retry of a lost answer gets the same pair
    assert done["reuse"] == "invalid_grant"  # a used token, once its successor was used: refused, family revoked
    out = browser.go(done["logout"])
    assert out == BYE + "?state=bye"
    assert browser.go(idp.url + "/account") is None and 'name="password"' in browser.page.text  # signed out
