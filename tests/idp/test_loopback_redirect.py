"""RFC 8252 §7.3 for tongban's own public client: a loopback redirect URI on any port (``tongban serve --port N``
after ``tongban init``), nothing else relaxed: another host, scheme, path or query, user info, a fragment, another
client kind. The loopback names (127.0.0.1, ::1, localhost) count as one: passkeys need ``localhost``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.clients import Client, same_but_loopback_port

WALLET = "http://127.0.0.1:8000/wallet/"


def client(*, first_party: bool = True, auth: str = "none", uris: tuple[str, ...] = (WALLET,)) -> Client:
    return Client("w", "wallet", None, auth, uris, (), ("openid",), first_party=first_party)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8011/wallet/", "http://127.0.0.1:1/wallet/", WALLET,
                                 "http://localhost:8011/wallet/", "http://[::1]:8011/wallet/"])
def test_the_wallet_may_come_back_on_any_loopback_port(uri):
    assert client().check_redirect_uri(uri)


@pytest.mark.parametrize("uri", [
    "http://localhost.evil.example:8011/wallet/",  # not loopback
    "http://127.0.0.2:8011/wallet/",  # loopback range, but not a name the wallet is served under
    "https://127.0.0.1:8011/wallet/",  # another scheme
    "http://127.0.0.1:8011/wallet/x",  # another path
    "http://127.0.0.1:8011/wallet/?a=1",  # a query
    "http://127.0.0.1:8011/wallet/#f",
    "http://127.0.0.1:8011@evil.example/wallet/",  # user info: the host is evil.example
    "http://127.0.0.1@evil.example:8011/wallet/",
    "http://127.0.0.1/wallet/",  # no port at all is not "any port"
    "http://127.0.0.1:99999/wallet/",  # out of range
    "http://127.0.0.1:80a/wallet/",
    "http://evil.example:8000/wallet/",
])
def test_nothing_else_is_relaxed(uri):
    assert not client().check_redirect_uri(uri)


def test_only_for_a_first_party_public_client():
    uri = "http://127.0.0.1:8011/wallet/"
    assert not client(first_party=False).check_redirect_uri(uri)
    assert not client(auth="client_secret_basic").check_redirect_uri(uri)
    assert not client(uris=("https://wallet.example.cn/wallet/",)).check_redirect_uri(
        "https://wallet.example.cn:8443/wallet/")  # not loopback: exact match only


@given(st.text(max_size=80))
def test_any_string_is_answered_without_an_exception(uri):
    assert client().check_redirect_uri(uri) in (True, False)
    assert same_but_loopback_port(uri, WALLET) in (True, False)
