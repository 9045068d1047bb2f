"""A citizen sees, and can take away, which app received which personal information when (PIPL art. 45)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.idp.conftest import Browser
from tests.idp.test_negatives import get_code

embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)


def test_the_account_page_lists_each_disclosure_and_exports_it(idp):
    shebao = idp.client(name="社保查询", scopes=["openid", "profile", "phone"])
    gjj = idp.client(name="公积金", scopes=["openid", "profile"])
    browser = Browser(idp)
    get_code(idp, browser, shebao, scope="openid profile phone")
    get_code(idp, browser, gjj, scope="openid")
    browser.go(idp.url + "/account")
    page = browser.page.text
    assert "社保查询" in page and "公积金" in page and "手机号码" in page
    exported = browser.http.get(idp.url + "/account/disclosures.json", timeout=5)
    assert exported.headers["Content-Disposition"].startswith("attachment")
    assert exported.headers["Cache-Control"] == "no-store"
    record = json.loads(exported.text)["disclosures"]
    assert [(d["app"], d["scopes"]) for d in record] == [("公积金", ["openid"]), ("社保查询", ["openid", "profile", "phone"])]
    assert record[1]["claims"] == ["sub", "name", "phone_number", "phone_number_verified"]


@embedded
def test_the_record_is_only_the_signed_in_citizens(idp):
    response = requests.get(idp.url + "/account/disclosures.json", allow_redirects=False, timeout=5)
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
