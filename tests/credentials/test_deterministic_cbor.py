"""Deterministic CBOR (RFC 8949 §4.2.1) at every parse: one encoding per value, or ``malformed_cbor``."""

from __future__ import annotations

import datetime as dt

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keys
from credentials.cbor import dumps, loads_strict
from credentials.cose import parse_sign1, sign1
from credentials.credential import CredentialBody, encode_payload, sign_credential
from credentials.errors import StructureError
from credentials.framing import unframe
from credentials.presentation import make_presentation, parse_presentation_bytes
from tests.conftest import examples
from tests.credentials.cbor_variants import encode, presentation_tree

NOW = 1_790_000_000
ISSUER, HOLDER = keys.generate(), keys.generate()
BODY = CredentialBody(
    licence_type="driving-licence", view="driving",
    claims={"name": "张三", "vehicle_classes": ["C1", "C2"], "valid_from": dt.date(2020, 5, 1),
            "valid_until": dt.date(2030, 5, 1)},
    serial=1234, version=1, issued_at=NOW - 86400, expires_at=NOW + 86400 * 30, holder_key=HOLDER.public,
    status_idx=42, status_uri="tbsl:bj-traffic-police/1",
)
CREDENTIAL = sign_credential(BODY, ISSUER)
PRESENTATION = unframe(make_presentation(CREDENTIAL, HOLDER, now=NOW, challenge=b"counter-7"))


def refused_as(data: bytes, reason: str = "malformed_cbor") -> None:
    with pytest.raises(StructureError) as caught:
        loads_strict(data)
    assert caught.value.reason == reason, caught.value


@pytest.mark.parametrize("hex_bytes", [
    "1805",  # 5 with a one-byte argument
    "190005",  # ... two bytes
    "3800",  # -1 with a one-byte argument
    "9f0102ff",  # indefinite-length array
    "bf0102ff",  # indefinite-length map
    "5f41014102ff",  # byte string in chunks
    "7f6161ff",  # text string in chunks
    "5801ff",  # a one-byte string with a one-byte length
    "a201010102",  # the key 1 twice
    "a2020101 01".replace(" ", ""),  # keys out of order (2 before 1)
    "c24105",  # a bignum for 5
    "fb3ff0000000000000",  # 1.0 as a double (the half-precision f93c00 is shortest)
    "d81c8101",  # value sharing (tag 28)
    "d903ec6a323032302d30352d3031",  # a date as RFC 3339 text (tag 1004) where this format writes tag 100
], ids=lambda h: h)
def test_non_deterministic_encodings_are_malformed_cbor(hex_bytes: str) -> None:
    refused_as(bytes.fromhex(hex_bytes))


@pytest.mark.parametrize("value", [0, 23, 24, 2**64 - 1, -(2**64), b"", "张三", [1, [2]], {1: 2, -1: 3, "a": 4},
                                   dt.date(2020, 5, 1), cbor2.CBORTag(18, [b"", {}, b"", b""])])
def test_the_deterministic_encoding_is_accepted(value) -> None:
    assert loads_strict(dumps(value)) == value


@pytest.mark.parametrize("number", [2**64, 2**20000, -(2**64) - 1], ids=["2^64", "2^20000", "-2^64-1"])
def test_integers_beyond_64_bits_are_refused_at_parse(number: int) -> None:
    """A bignum is the only way to write them; refusing it here means no later step sees such a number."""
    refused_as(cbor2.dumps(number))
    refused_as(cbor2.dumps([{6: number}]))


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    refused_as(b"\x81" * 5000 + b"\x00")
    refused_as(b"\xc2" + b"\x81" * 40 + b"\x00")  # where the integer walk runs, it bounds the depth too


@pytest.mark.parametrize("levels", [17, 20, 60])
def test_small_inputs_nested_too_deep_are_refused_too(levels: int) -> None:
    """The nesting limit holds for every input, not only large ones or ones with a bignum (a fast path once
    skipped the walk for those and let 20 levels through)."""
    refused_as(b"\x81" * levels + b"\x00")


def test_the_deepest_allowed_nesting_is_accepted() -> None:
    assert loads_strict(b"\x81" * 16 + b"\x00") == [[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]


def test_an_empty_protected_header_must_be_the_empty_byte_string() -> None:
    """RFC 9052 §3: h'' and h'a0' both mean "no protected header"; only h'' is accepted."""
    good = cbor2.dumps(cbor2.CBORTag(18, [b"", {4: b"k"}, b"\xa0", b"s"]))
    with pytest.raises(StructureError) as caught:  # h'' passes the encoding check, then lacks an algorithm
        parse_sign1(good, "x")
    assert caught.value.reason == "malformed_structure"
    bad = cbor2.dumps(cbor2.CBORTag(18, [b"\xa0", {4: b"k"}, b"\xa0", b"s"]))
    with pytest.raises(StructureError) as caught:
        parse_sign1(bad, "x")
    assert caught.value.reason == "malformed_cbor"


def test_a_signed_map_with_a_key_twice_never_parses() -> None:
    """Signed by the issuer itself: a verifier keeping the first value would read another name than one keeping
    the last. Both orders are refused before the signature is even looked at."""
    cwt = cbor2.loads(encode_payload(BODY))
    claims = cwt[-65537][4]
    for first, second in (("张三", "李四"), ("李四", "张三")):
        entries = {**claims, 1: first}
        doubled = (bytes([0xA0 + len(entries) + 1]) + b"".join(dumps(k) + dumps(v) for k, v in entries.items())
                   + dumps(1) + dumps(second))
        cwt[-65537][4] = "SENTINEL"
        payload = dumps(cwt).replace(dumps("SENTINEL"), doubled)
        assert cbor2.loads(payload)[-65537][4][1] == second  # cbor2 keeps the last: the attack is real
        signed = sign1(payload, ISSUER, kid=ISSUER.public.short_kid)
        with pytest.raises(StructureError) as caught:
            parse_presentation_bytes(cbor2.dumps([signed, cbor2.loads(PRESENTATION)[1]]))
        assert caught.value.reason == "malformed_cbor"


# -- every re-encoding of a valid presentation ------------------------------------------------------------

@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_every_re_encoding_is_refused_or_is_the_same_identity(data) -> None:
    """Hypothesis chooses, at every head, string, array and map of the presentation -- inside the credential,
    its headers and payload, and the holder proof -- how to write it. Anything but the one deterministic
    encoding is ``malformed_cbor``; that one parses to the same replay identity."""
    original = parse_presentation_bytes(PRESENTATION)

    def choose(name: str, options: int) -> int:
        return data.draw(st.integers(0, options - 1), label=name)

    variant = encode(presentation_tree(PRESENTATION), choose)
    if variant == PRESENTATION:
        assert parse_presentation_bytes(variant).replay_identity == original.replay_identity
        return
    with pytest.raises(StructureError) as caught:
        parse_presentation_bytes(variant)
    assert caught.value.reason == "malformed_cbor", caught.value


def test_the_variant_writer_reproduces_the_canonical_bytes() -> None:
    """The property above is only meaningful if the writer's canonical choice is the real encoding."""
    assert encode(presentation_tree(PRESENTATION)) == PRESENTATION


CBOR_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.binary(max_size=8) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.integers(-30, 30) | st.text(max_size=2), inner,
                                                                 max_size=3),
    max_leaves=10,
)


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=40) | st.builds(cbor2.dumps, CBOR_VALUES))
def test_loads_strict_returns_only_values_whose_encoding_is_the_input(data: bytes) -> None:
    try:
        value = loads_strict(data)
    except StructureError as exc:
        assert exc.reason in ("malformed_cbor", "too_large")
    else:
        assert dumps(value) == data


_nested = st.recursive(
    st.integers(-(2**63), 2**63) | st.binary(max_size=4) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.integers(0, 30), inner, max_size=3)
    | st.builds(lambda v: cbor2.CBORTag(1000, v), inner),
    max_leaves=60)


@given(_nested, st.integers(0, 20))
@settings(max_examples=examples(300))
def test_the_container_walk_bounds_depth_exactly_as_the_full_walk(value, extra_levels: int) -> None:
    """``_within_depth`` (every input) and ``check_bounds`` (inputs with a bignum head) agree on every structure."""
    from credentials.cbor import MAX_DEPTH, _within_depth, check_bounds

    for _ in range(extra_levels):
        value = [value]
    try:
        check_bounds(value, "x")
        full = True
    except StructureError:
        full = False
    assert _within_depth(value, MAX_DEPTH) is full
    try:
        loads_strict(dumps(value))
        parsed = True
    except StructureError as exc:
        parsed = False
        assert "nested deeper" in str(exc) or "64-bit" in str(exc)
    assert parsed is full
