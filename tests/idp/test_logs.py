"""Resident ID numbers never reach the logs."""

from __future__ import annotations

import logging

import pytest

from idp.cli import DEMO_CITIZEN
from idp.redact import RedactIdNumbers, redact
from tests.idp.conftest import Browser
from tests.idp.test_negatives import authorize_url, get_code

embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)


def test_redact_masks_id_numbers_plain_and_url_encoded():
    assert redact("login_hint=110101199003071233&x=1") == "login_hint=1101**************&x=1"
    assert redact("id 44030419851212456X.") == "id 4403**************."
    assert redact("phone 13800138000, amount 1234567890") == "phone 13800138000, amount 1234567890"
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"GET /authorize?login_hint=%s HTTP/1.1"',
                               ("110101199003071233",), None)
    RedactIdNumbers().filter(record)
    assert "110101199003071233" not in record.getMessage()


def test_install_covers_every_logger(caplog):
    from idp.redact import install
    install()
    install()
    caplog.set_level(logging.INFO)
    logging.getLogger("some.library.deep").info("user %s", "110101199003071233")
    assert caplog.records[-1].getMessage() == "user 1101**************"


@embedded
def test_flows_log_no_id_number(idp, caplog):
    caplog.set_level(logging.DEBUG)
    client = idp.client(scopes=["openid", "profile", "id_number"])
    browser = Browser(idp)
    browser.go(authorize_url(idp, client, login_hint=DEMO_CITIZEN["id_number"]))
    assert f'value="{DEMO_CITIZEN["id_number"]}"' in browser.page.text  # the hint pre-fills the form
    assert DEMO_CITIZEN["id_number"] not in browser.page.url  # but never travels in our own redirects
    browser.login(password="wrong-password-1")
    get_code(idp, browser, client, scope="openid profile id_number")
    browser.go(idp.url + "/register")
    browser.submit("/register", name="王五", id_number="310104199206157893", phone="13900139009",
                   password="long-password-1")
    for record in caplog.records:
        message = record.getMessage()
        assert DEMO_CITIZEN["id_number"] not in message and "310104199206157893" not in message, message
    assert any("/authorize" in r.getMessage() for r in caplog.records)  # request lines were logged, redacted
