"""Markup under a strict Content-Security-Policy (issue 12): no inline styles anywhere, so the CSP needs no
``'unsafe-inline'`` for styles; English words marked ``lang="en"``; the admin colour radios grouped in a fieldset.

The browser tests (tests/service/*_browser.py) record console errors, where Chromium reports a CSP violation;
these tests make the rule itself visible in the files and in the pages as served.
"""

from __future__ import annotations

import hashlib
import re
from base64 import urlsafe_b64encode
from pathlib import Path

import pytest
import requests

from service.headers import CSP

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("idp", "issuer", "verifier", "wallet")
TEMPLATES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("templates/**/*.html"))
SCRIPTS = sorted(p for package in PACKAGES for p in (ROOT / package).glob("static/*.js"))
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
# A script that writes a style attribute (blocked by the CSP) rather than a class or the CSSOM (allowed).
SCRIPT_STYLE = re.compile(r"""setAttribute\(\s*["']style|\bstyle\s*:\s*["']|cssText|insertAdjacentHTML|innerHTML""")


def test_there_are_templates_and_scripts_to_check():
    assert len(TEMPLATES) >= 10 and len(SCRIPTS) >= 10


def test_the_csp_allows_no_inline_style():
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP and "default-src 'self'" in CSP


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_template_has_an_inline_style(template):
    assert not INLINE_STYLE.search(template.read_text(encoding="utf-8"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_script_writes_an_inline_style(script):
    assert not SCRIPT_STYLE.search(script.read_text(encoding="utf-8"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_english_spans_say_they_are_english(template):
    """Screen readers read 中文 and English each in its own voice (WCAG 2.1 SC 3.1.2, language of parts)."""
    text = template.read_text(encoding="utf-8")
    untagged = [tag for tag in re.findall(r"<[a-z]+\b[^>]*\bclass=\"en\b[^\"]*\"[^>]*>", text) if 'lang="en"' not in tag]
    assert not untagged


def test_the_admin_colour_radios_are_one_group_with_a_legend():
    text = (ROOT / "issuer" / "health" / "templates" / "admin" / "page.html").read_text(encoding="utf-8")
    group = re.search(r"<fieldset\b[^>]*>\s*<legend>(.*?)</legend>(.*?)</fieldset>", text, re.DOTALL)
    assert group and "颜色" in group.group(1) and 'type="radio" name="colour"' in group.group(2)


def _served(live) -> dict[str, requests.Response]:
    verifier = "v" * 43
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    login = requests.get(live.url + "/authorize", timeout=5, params={
        "response_type": "code", "client_id": "tongban-wallet", "redirect_uri": live.url + "/wallet/",
        "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
    pages = {path: requests.get(live.url + path, timeout=5) for path in ("/wallet/", "/counter", "/admin/")}
    return {**pages, "login": login}


def test_served_pages_have_no_inline_style_and_a_strict_csp(live):
    for name, response in _served(live).items():
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html"), name
        assert not INLINE_STYLE.search(response.text), name
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"], name
        assert 'lang="en"' in response.text, name
    css = requests.get(live.url + "/admin/static/admin.css", timeout=5)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
