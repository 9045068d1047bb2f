"""Pairwise subject identifiers (OIDC Core §8.1): apps on different hosts cannot join their data on ``sub``."""

from __future__ import annotations

import jwt as pyjwt
import pytest
import requests

from idp.cli import DEMO_CITIZEN
from idp.errors import InvalidInput
from tests.idp.conftest import Browser, query
from tests.idp.test_negatives import authorize_url

embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)


def sign_in(idp, browser: Browser, client: dict, redirect: str) -> dict:
    out = browser.go(authorize_url(idp, client, redirect_uri=redirect))
    if out is None and 'name="password"' in browser.page.text:
        out = browser.login()
    if out is None:
        out = browser.submit("/consent", decision="allow")
    data = {"grant_type": "authorization_code", "code": query(out)["code"], "redirect_uri": redirect,
            "code_verifier": "v" * 50}
    tokens = requests.post(idp.url + "/token", data=data, auth=(client["client_id"], client["client_secret"])).json()
    tokens["claims"] = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})
    return tokens


def test_each_sector_sees_its_own_stable_sub(idp, receiver):
    shebao = idp.client(name="社保", redirect_uris=["http://127.0.0.1:9/cb"], backchannel_logout_uri=receiver.url)
    gjj = idp.client(name="公积金", redirect_uris=["http://localhost:9/cb"])
    shebao_app2 = idp.client(name="社保小程序", redirect_uris=["http://127.0.0.1:9/other"])  # same host: same sector
    assert shebao["subject_type"] == "pairwise"
    browser = Browser(idp)
    a = sign_in(idp, browser, shebao, "http://127.0.0.1:9/cb")
    b = sign_in(idp, browser, gjj, "http://localhost:9/cb")
    a2 = sign_in(idp, browser, shebao_app2, "http://127.0.0.1:9/other")
    local = idp.provider.accounts.find(DEMO_CITIZEN["id_number"]).sub
    assert a["claims"]["sub"] != b["claims"]["sub"]
    assert local not in (a["claims"]["sub"], b["claims"]["sub"])
    assert a2["claims"]["sub"] == a["claims"]["sub"]
    assert sign_in(idp, Browser(idp), shebao, "http://127.0.0.1:9/cb")["claims"]["sub"] == a["claims"]["sub"]  # stable

    # UserInfo and introspection agree with the ID token, for each client
    for client, tokens in ((shebao, a), (gjj, b)):
        info = requests.get(idp.url + "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}).json()
        assert info["sub"] == tokens["claims"]["sub"]
        seen = requests.post(idp.url + "/introspect", data={"token": tokens["access_token"]},
                             auth=(client["client_id"], client["client_secret"])).json()
        assert seen["sub"] == tokens["claims"]["sub"]

    # id_token_hint carries the pairwise sub and still recognises the session
    out = browser.go(authorize_url(idp, shebao, prompt="none", id_token_hint=a["id_token"]))
    assert "code" in query(out)

    # back-channel logout names the citizen by the client's own sub
    browser.go(idp.url + "/logout?" + requests.compat.urlencode({"id_token_hint": a["id_token"]}))
    assert [pyjwt.decode(t, options={"verify_signature": False})["sub"] for t in receiver.tokens] == [a["claims"]["sub"]]


@embedded
def test_first_party_clients_see_the_public_sub(idp):
    wallet = idp.client(name="钱包", subject_type="public")
    tokens = sign_in(idp, Browser(idp), wallet, "http://127.0.0.1:9/cb")
    assert tokens["claims"]["sub"] == idp.provider.accounts.find(DEMO_CITIZEN["id_number"]).sub


@embedded
def test_a_pairwise_client_has_one_sector(idp):
    with pytest.raises(InvalidInput, match="share one host"):
        idp.client(redirect_uris=["https://a.example.gov.cn/cb", "https://b.example.gov.cn/cb"])
    both = idp.client(redirect_uris=["https://a.example.gov.cn/cb", "https://b.example.gov.cn/cb"], subject_type="public")
    assert both["subject_type"] == "public"
