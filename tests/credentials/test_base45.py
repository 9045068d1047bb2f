"""The table-driven base45 decoder (RFC 9285) agrees with the reference package on every input."""

from __future__ import annotations

import base45
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.errors import FramingError
from credentials.framing import b45decode
from tests.conftest import examples

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@settings(max_examples=examples(500), deadline=None)
@given(st.binary(max_size=600))
def test_decodes_whatever_the_reference_encodes(data: bytes) -> None:
    assert b45decode(base45.b45encode(data).decode()) == data


@settings(max_examples=examples(1000), deadline=None)
@given(st.text(alphabet=ALPHABET + "abcé\x00", max_size=30))
def test_accepts_and_refuses_exactly_what_the_reference_does(text: str) -> None:
    try:
        expected = base45.b45decode(text)
    except (ValueError, TypeError, KeyError):
        expected = None
    if expected is None:
        with pytest.raises(FramingError):
            b45decode(text)
    else:
        assert b45decode(text) == expected


@pytest.mark.parametrize("text", ["GGW", ":::", "A", "ZZZZ", "::"], ids=str)
def test_values_beyond_16_or_8_bits_and_dangling_characters_are_refused(text: str) -> None:
    with pytest.raises(FramingError):
        b45decode(text)
