"""Credential Offers with pre-authorized codes (issuer.offers) on a bare SQLite database."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.status_uri import status_name, status_url
from issuer import migrate
from issuer.errors import IssuerError
from issuer.offers import MAX_TX_ATTEMPTS, PRE_AUTHORIZED_GRANT, OfferRefused, Offers
from storage.sql import make_engine
from tests.conftest import examples

NOW = 1_780_000_000
URL = "https://hub.example.cn"


@pytest.fixture(scope="module")
def offers(tmp_path_factory) -> Offers:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('offers') / 'db.sqlite3'}")
    migrate.upgrade(engine)
    return Offers(engine)


def make(offers: Offers, **kw):
    options = {"record_id": "rec-1", "configurations": ["driving-licence-sd-jwt"], "issuer_url": URL,
               "authorization_server": URL + "/issuer", "now": NOW, **kw}
    return offers.create(**options)


def code(offer) -> str:
    return offer.document["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]


def refused(offers: Offers, *args) -> str:
    with pytest.raises(OfferRefused) as exc:
        offers.redeem(*args)
    return exc.value.error


def test_a_code_is_spent_once_and_bound_to_its_record(offers):
    offer = make(offers)
    grant = offers.redeem(code(offer), offer.tx_code, NOW + 1)
    assert grant.record_id == "rec-1" and grant.configurations == ("driving-licence-sd-jwt",)
    assert refused(offers, code(offer), offer.tx_code, NOW + 2) == "invalid_grant"


def test_a_code_expires(offers):
    offer = make(offers, ttl=60)
    assert refused(offers, code(offer), offer.tx_code, NOW + 60) == "invalid_grant"


def test_the_table_keeps_no_code_in_clear_once_fetched(offers):
    offer = make(offers)
    assert offers.fetch(offer.offer_id, NOW + 1) == offer.document
    assert offers.fetch(offer.offer_id, NOW + 2) is None  # once
    from sqlalchemy import select

    from issuer.offers import offers as table

    with offers.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(table))]
    assert code(offer) not in json.dumps(rows) and offer.tx_code not in json.dumps(rows)


def test_fetch_refuses_an_expired_or_unknown_offer(offers):
    offer = make(offers, ttl=60)
    assert offers.fetch(offer.offer_id, NOW + 61) is None
    assert offers.fetch("x" * 32, NOW) is None and offers.fetch(None, NOW) is None


def test_five_wrong_tx_codes_void_the_offer(offers):
    offer = make(offers)
    wrong = f"{(int(offer.tx_code) + 1) % 10**6:06d}"
    for _ in range(MAX_TX_ATTEMPTS):
        assert refused(offers, code(offer), wrong, NOW + 1) == "invalid_grant"
    assert refused(offers, code(offer), offer.tx_code, NOW + 1) == "invalid_grant"


def test_tx_code_presence_is_checked(offers):
    offer = make(offers)
    assert refused(offers, code(offer), None, NOW + 1) == "invalid_request"
    open_offer = make(offers, tx_code=False)
    assert open_offer.tx_code is None and "tx_code" not in open_offer.document["grants"][PRE_AUTHORIZED_GRANT]
    assert refused(offers, code(open_offer), "123456", NOW + 1) == "invalid_request"
    assert offers.redeem(code(open_offer), None, NOW + 1).record_id == "rec-1"


def test_lifetimes_are_bounded(offers):
    for ttl in (0, -5, 59, 7 * 24 * 3600 + 1):
        with pytest.raises(IssuerError):
            make(offers, ttl=ttl)
    with pytest.raises(IssuerError):
        make(offers, configurations=[])


@given(st.one_of(st.none(), st.integers(), st.text(max_size=100)), st.one_of(st.none(), st.integers(), st.text(max_size=30)))
@settings(max_examples=examples(200), deadline=None)
def test_any_token_request_is_refused_cleanly(offers, pre_authorized_code, tx_code):
    with pytest.raises(OfferRefused) as exc:
        offers.redeem(pre_authorized_code, tx_code, NOW)
    assert exc.value.error in ("invalid_grant", "invalid_request")


def test_status_urls_map_to_list_names_and_back():
    assert status_url(URL, "tbsl:bj-traffic/3") == URL + "/status/bj-traffic/3"
    assert status_name(URL, URL + "/status/bj-traffic/3") == "tbsl:bj-traffic/3"
    for other in (URL + "/status/bj-traffic/03", URL + "/status/../x/1", "https://evil.example/status/bj-traffic/3",
                  URL + "/status/bj-traffic/3/extra", None):
        assert status_name(URL, other) is None
