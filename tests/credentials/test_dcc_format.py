"""credentials.dcc: every format step refuses malformed input with a DccError and a specific reason, never a traceback."""

from __future__ import annotations

import zlib

import base45
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.dcc import check_hcert, is_dcc, parse_claims, parse_cose
from credentials.dcc.qr import cose_bytes, unprefix
from credentials.errors import DccError
from tests.conftest import examples
from tests.dcc_world import pcr_entry, vaccination

STEP_REASONS = {"dcc_prefix", "dcc_unsupported_version", "dcc_base45", "dcc_not_compressed", "decompression_failed",
                "too_large"}
CBOR_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**64, 2**64 - 1) | st.text(max_size=12) | st.binary(max_size=12)
    | st.floats(allow_nan=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.integers(-300, 10) | st.text(max_size=4), inner,
                                                                 max_size=4),
    max_leaves=25)


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_cose_bytes_or_a_step_refusal(text):
    try:
        cose_bytes(text)
    except DccError as exc:
        assert exc.reason in STEP_REASONS


@settings(max_examples=examples(200), deadline=None)
@given(st.binary(max_size=2000))
def test_any_compressed_bytes_round_trip_through_the_qr_steps(data):
    assert cose_bytes("HC1:" + base45.b45encode(zlib.compress(data)).decode()) == data


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=300) | CBOR_VALUES.map(cbor2.dumps))
def test_any_bytes_are_a_cose_message_or_dcc_cose_or_cbor(data):
    try:
        parse_cose(data)
    except DccError as exc:
        assert exc.reason in ("dcc_cose", "dcc_cbor", "too_large")


@settings(max_examples=examples(300), deadline=None)
@given(CBOR_VALUES)
def test_any_payload_is_claims_or_a_specific_refusal(value):
    payload = cbor2.dumps({1: "AT", 4: 2, 6: 1, -260: {1: value}}) if not isinstance(value, dict) else cbor2.dumps(value)
    try:
        claims = parse_claims(payload)
    except DccError as exc:
        assert exc.reason in ("dcc_cwt", "dcc_cbor", "dcc_schema")
    else:
        try:
            check_hcert(claims.hcert)
        except DccError as exc:
            assert exc.reason == "dcc_schema"


@settings(max_examples=examples(300), deadline=None)
@given(st.dictionaries(st.sampled_from(["ver", "nam", "dob", "v", "t", "r", "x"]), CBOR_VALUES, max_size=6))
def test_any_certificate_map_is_valid_or_dcc_schema(doc):
    try:
        check_hcert(doc)
    except DccError as exc:
        assert exc.reason == "dcc_schema" and str(exc).startswith("health certificate")


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d["v"][0].pop("mp"), "v[0].mp"),
    (lambda d: d["nam"].update(fnt="Müller"), "nam.fnt"),
    (lambda d: d["v"][0].update(sd=True), "v[0].sd"),
    (lambda d: d["v"][0].update(dt="18.06.2021"), "v[0].dt"),
    (lambda d: d.update(t=[pcr_entry()]), "v/t/r"),
    (lambda d: d.update(dob=19980226), "dob"),
])
def test_schema_errors_name_their_field(mutate, field):
    doc = vaccination()
    mutate(doc)
    with pytest.raises(DccError, match=field.replace("[", r"\[").replace("]", r"\]")):
        check_hcert(doc)


def test_times_must_be_numeric_dates_in_range():
    for exp in (-1, 2**53, "2026", True, float("inf")):
        with pytest.raises(DccError) as caught:
            parse_claims(cbor2.dumps({1: "AT", 4: exp, 6: 1, -260: {1: vaccination()}}))
        assert caught.value.reason == "dcc_cwt"
    assert parse_claims(cbor2.dumps({1: "AT", 4: 10.9, 6: 1, -260: {1: vaccination()}})).expires_at == 10


def test_routing_prefixes():
    assert is_dcc("HC1:ABC") and is_dcc(" HC2:ABC") and not is_dcc("TB1:ABC") and not is_dcc("HCX:") and not is_dcc("")
    with pytest.raises(DccError) as caught:
        unprefix("hc1:ABC")
    assert caught.value.reason == "dcc_prefix"
