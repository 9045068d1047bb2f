"""Issue 8, item 6: a relying party's login_hint (often an ID number) never sits in Redis in the clear."""

from __future__ import annotations

import pytest
import requests

from idp.cli import DEMO_CITIZEN
from tests.idp.conftest import Browser, query
from tests.idp.test_negatives import REDIRECT, authorize_url, challenge, exchange

servers = pytest.mark.parametrize("idp", ["servers"], indirect=True)
ID_NUMBER = DEMO_CITIZEN["id_number"]


def everything_in_redis(store) -> str:
    """Every key and every value under the test's prefix, as one text to search."""
    r, out = store._redis, []
    for key in r.scan_iter(store._prefix + "*"):
        out.append(key)
        kind = r.type(key)
        if kind == "string":
            out.append(r.get(key) or "")
        elif kind == "hash":
            out.extend(f"{k}={v}" for k, v in r.hgetall(key).items())
        elif kind in ("list", "set", "zset"):
            out.extend(map(str, r.lrange(key, 0, -1) if kind == "list" else
                           r.smembers(key) if kind == "set" else r.zrange(key, 0, -1)))
    return "\n".join(out)


@servers
def test_no_raw_id_number_in_redis_after_a_login_with_login_hint(idp):
    client = idp.client()
    browser = Browser(idp)
    browser.go(authorize_url(idp, client, login_hint=ID_NUMBER))
    assert f'value="{ID_NUMBER}"' in browser.page.text  # the login page still pre-fills it
    stored = everything_in_redis(idp.provider.store)
    assert "ia:" in stored and ID_NUMBER not in stored  # the attack: read the interaction from Redis
    out = browser.login()
    if out is None:
        out = browser.submit("/consent", decision="allow")
    assert exchange(idp, client, query(out)["code"]).status_code == 200
    assert ID_NUMBER not in everything_in_redis(idp.provider.store)


@servers
def test_no_raw_id_number_in_redis_from_a_pushed_request(idp):
    """RFC 9126: the pushed parameters wait in Redis too; the hint among them is sealed."""
    client = idp.client()
    data = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT, "scope": "openid",
            "state": "s", "code_challenge": challenge("v" * 50), "code_challenge_method": "S256",
            "login_hint": ID_NUMBER}
    pushed = requests.post(idp.url + "/par", data=data, auth=(client["client_id"], client["client_secret"]), timeout=5)
    assert pushed.status_code == 201, pushed.text
    assert ID_NUMBER not in everything_in_redis(idp.provider.store)
    browser = Browser(idp)
    browser.go(authorize_url(idp, client, None, response_type=None, redirect_uri=None, scope=None, state=None,
                             nonce=None, request_uri=pushed.json()["request_uri"]))
    assert f'value="{ID_NUMBER}"' in browser.page.text
    assert ID_NUMBER not in everything_in_redis(idp.provider.store)
