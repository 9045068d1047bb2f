"""keys.csrf: the synchroniser tokens both web front ends (the IdP's pages, /admin) put into their forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys import csrf_token_matches, new_csrf_token


def test_a_new_token_is_random_url_safe_and_matches_itself():
    token = new_csrf_token()
    assert len(token) == 32 and token != new_csrf_token()
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert csrf_token_matches(token, token)


@pytest.mark.parametrize("sent", ["", "x", "令牌", None, 7, ["t"], b"t"])
def test_anything_else_is_a_mismatch_not_an_error(sent):
    assert not csrf_token_matches(sent, new_csrf_token())


@pytest.mark.parametrize("expected", [None, ""])
def test_a_session_without_a_token_accepts_nothing(expected):
    assert not csrf_token_matches("", expected)
    assert not csrf_token_matches("t", expected)


@given(st.text(max_size=40), st.text(min_size=1, max_size=40))
def test_matches_exactly_when_equal(sent, expected):
    assert csrf_token_matches(sent, expected) == (sent == expected)
