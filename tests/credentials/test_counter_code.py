"""The counter's own code (TBC1): round trip, exact bytes, strict parsing, fuzzing."""

from __future__ import annotations

import base45
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.cose import sign1
from credentials.counter_code import (
    CounterCode,
    CounterCodeError,
    check_counter_id,
    make_counter_code,
    parse_counter_code,
)
from credentials.errors import StructureError
from credentials.presentation import credential_digest, parse_presentation_bytes
from tests.conftest import examples
from tests.credentials.test_presentation import CREDENTIAL, HOLDER

FAST = settings(max_examples=examples(300), deadline=None)
COUNTER_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)
CHALLENGE = bytes(range(16))
NOW = 1_790_000_000


def code_of(value: object) -> str:
    return "TBC1:" + base45.b45encode(cbor2.dumps(value, canonical=True)).decode()


@settings(max_examples=examples(100), deadline=None)
@given(COUNTER_IDS, st.binary(min_size=16, max_size=16), st.integers(0, 2**53 - 1))
def test_round_trip(counter_id: str, challenge: bytes, issued_at: int) -> None:
    text = make_counter_code(counter_id, challenge, issued_at)
    assert text.startswith("TBC1:") and len(text) <= 149
    assert set(text[5:]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"), "QR alphanumeric mode"
    assert parse_counter_code(text) == CounterCode(counter_id, challenge, issued_at)
    assert parse_counter_code(f"  {text}\n") == CounterCode(counter_id, challenge, issued_at)  # a scanner's newline


def test_exact_bytes() -> None:
    text = make_counter_code("bj-dc-3", CHALLENGE, NOW)
    raw = base45.b45decode(text[5:])
    assert raw == (b"\xa3" + b"\x01\x67bj-dc-3" + b"\x02\x50" + CHALLENGE + b"\x03\x1a" + NOW.to_bytes(4, "big"))


@pytest.mark.parametrize(("value", "why"), [
    ({1: "c", 2: CHALLENGE}, "no issued-at"),
    ({1: "c", 2: CHALLENGE, 3: NOW, 4: 0}, "an extra key"),
    ({1: "c", 2: CHALLENGE[:15], 3: NOW}, "short challenge"),
    ({1: "c", 2: CHALLENGE + b"\x00", 3: NOW}, "long challenge"),
    ({1: "c", 2: CHALLENGE.hex(), 3: NOW}, "challenge as text"),
    ({1: b"c", 2: CHALLENGE, 3: NOW}, "counter id as bytes"),
    ({1: "", 2: CHALLENGE, 3: NOW}, "empty counter id"),
    ({1: "a" * 65, 2: CHALLENGE, 3: NOW}, "counter id too long"),
    ({1: "柜台", 2: CHALLENGE, 3: NOW}, "counter id outside the alphabet"),
    ({1: "a\u202eb", 2: CHALLENGE, 3: NOW}, "a bidi override in the counter id"),
    ({1: "c", 2: CHALLENGE, 3: -1}, "negative time"),
    ({1: "c", 2: CHALLENGE, 3: 2**53}, "time past 2^53"),
    ({1: "c", 2: CHALLENGE, 3: True}, "boolean time"),
    ({1: "c", 2: CHALLENGE, 3: 1.5}, "float time"),
    ({"1": "c", 2: CHALLENGE, 3: NOW}, "text key"),
    ([1, "c", 2, CHALLENGE, 3, NOW], "an array"),
])
def test_wrong_content_is_refused(value: object, why: str) -> None:
    with pytest.raises(CounterCodeError):
        parse_counter_code(code_of(value))


def test_non_deterministic_cbor_is_refused() -> None:
    good = cbor2.dumps({1: "c", 2: CHALLENGE, 3: NOW}, canonical=True)
    reordered = b"\xa3" + b"\x02\x50" + CHALLENGE + b"\x01\x61c" + b"\x03\x1a" + NOW.to_bytes(4, "big")
    long_head = b"\xa3\x01\x78\x01c" + good[4:]  # text length 1 written in two bytes
    indefinite = b"\xbf" + good[1:] + b"\xff"
    duplicate = b"\xa3\x01\x61c\x01\x61d\x02\x50" + CHALLENGE
    for raw in (reordered, long_head, indefinite, duplicate, good + b"\x00"):
        with pytest.raises(CounterCodeError):
            parse_counter_code("TBC1:" + base45.b45encode(raw).decode())
    assert parse_counter_code("TBC1:" + base45.b45encode(good).decode()).counter_id == "c"


GOOD = make_counter_code("c", CHALLENGE, NOW)


@pytest.mark.parametrize("text", [
    "", "TBC1:", "TBC1", "tbc1:" + GOOD[5:], "TB1:" + GOOD[5:], "TBC2:" + GOOD[5:], "TBC1:" + "0" * 300, "TBC1:ZZZ",
    "TBC1:A", "TBC1:abc", GOOD[:-1], GOOD + "0", GOOD[:5] + " " + GOOD[5:],
])
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(CounterCodeError):
        parse_counter_code(text)


@pytest.mark.parametrize("tail", ["::", "GGW", ":::"])
def test_base45_groups_out_of_range_are_refused(tail: str) -> None:
    # RFC 9285 §4: a 3-character group above 65535 or a 2-character tail above 255 is invalid, not wrapped.
    body = make_counter_code("c", CHALLENGE, NOW)[5:]
    with pytest.raises(CounterCodeError):
        parse_counter_code("TBC1:" + body[: len(body) - len(body) % 3] + tail)


@pytest.mark.parametrize("value", [None, 42, b"TBC1:", ["TBC1:"]])
def test_non_text_is_refused(value: object) -> None:
    with pytest.raises(CounterCodeError):
        parse_counter_code(value)


def test_make_refuses_what_parse_would() -> None:
    for args in (("", CHALLENGE, NOW), ("c", CHALLENGE[:8], NOW), ("c", CHALLENGE, -1), ("a b", CHALLENGE, NOW)):
        with pytest.raises(CounterCodeError):
            make_counter_code(*args)
    assert check_counter_id("Counter.3_b-7") == "Counter.3_b-7"


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_counter_code_errors(text: str) -> None:
    try:
        parse_counter_code(text)
    except CounterCodeError:
        pass


@FAST
@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", max_size=200))
def test_arbitrary_base45_raises_only_counter_code_errors(body: str) -> None:
    try:
        parse_counter_code("TBC1:" + body)
    except CounterCodeError:
        pass


@FAST
@given(st.data())
def test_mutated_codes_raise_only_counter_code_errors(data) -> None:
    raw = bytearray(base45.b45decode(make_counter_code("bj-dc-3", CHALLENGE, NOW)[5:]))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        code = parse_counter_code("TBC1:" + base45.b45encode(bytes(raw)).decode())
    except CounterCodeError:
        pass
    else:  # whatever still parses is a well-formed code, in its one encoding
        text = "TBC1:" + base45.b45encode(bytes(raw)).decode()
        assert make_counter_code(code.counter_id, code.challenge, code.issued_at) == text


def test_nonce_longer_than_64_bytes_is_refused_when_parsed() -> None:
    """An attacker's own holder proof (signed by a device key it holds) with a huge nonce: bounded at parse."""
    for nonce, ok in ((b"x" * 64, True), (b"x" * 65, False)):
        proof = sign1(cbor2.dumps({6: NOW, 10: nonce}), HOLDER, external_aad=credential_digest(CREDENTIAL))
        raw = cbor2.dumps([CREDENTIAL, proof])
        if ok:
            assert parse_presentation_bytes(raw).challenge == nonce
        else:
            with pytest.raises(StructureError):
                parse_presentation_bytes(raw)
