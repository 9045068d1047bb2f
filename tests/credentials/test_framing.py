"""QR framing (prefix, optional zlib, base45): round trips, fuzzing and the decompression bound.

Expected values come from RFC 9285 / RFC 1950 via the ``base45`` and ``zlib`` libraries, never from ``frame``.
"""

from __future__ import annotations

import zlib

import base45
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.errors import FramingError
from credentials.framing import MAX_DECOMPRESSED, frame, unframe
from tests.conftest import examples

FAST = settings(max_examples=examples(200), deadline=None)
REASONS = {"malformed_encoding", "too_large", "unknown_prefix", "unsupported_version", "decompression_failed",
           "counter_code"}  # a counter's own TBC1 code, scanned into a counter
B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def framed(body: bytes) -> str:
    return "TB1:" + base45.b45encode(body).decode("ascii")


def reason_of(text: str) -> str:
    with pytest.raises(FramingError) as info:
        unframe(text)
    return info.value.reason


@FAST
@given(st.binary(max_size=3000).map(lambda b: b"\x82" + b))
def test_round_trip(data: bytes) -> None:
    text = frame(data)
    assert text.startswith("TB1:")
    assert set(text[4:]) <= set(B45_ALPHABET)
    assert unframe(text) == data


def test_compressible_data_is_compressed_and_still_round_trips() -> None:
    data = b"\x82" + b"tongban " * 200
    text = frame(data)
    assert len(text) < len(framed(data)) // 4
    assert base45.b45decode(text[4:])[0] == 0x78
    assert unframe(text) == data


def test_unframe_reads_a_stream_built_independently() -> None:
    data = b"\x82" + bytes(range(256)) * 4
    assert unframe(framed(zlib.compress(data))) == data
    assert unframe(framed(data)) == data


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_framing_error(text: str) -> None:
    try:
        out = unframe(text)
    except FramingError as exc:
        assert exc.reason in REASONS
    else:
        assert isinstance(out, bytes) and out


@FAST
@given(st.text(alphabet=B45_ALPHABET, max_size=300))
def test_arbitrary_base45_text_after_prefix_raises_only_framing_error(body: str) -> None:
    try:
        out = unframe("TB1:" + body)
    except FramingError as exc:
        assert exc.reason in REASONS
    else:
        assert isinstance(out, bytes) and out


@FAST
@given(st.binary(max_size=300))
def test_arbitrary_zlib_looking_bodies_raise_only_framing_error(tail: bytes) -> None:
    try:
        out = unframe(framed(b"\x78" + tail))
    except FramingError as exc:
        assert exc.reason in REASONS
    else:
        assert isinstance(out, bytes)


def test_non_text_is_refused() -> None:
    with pytest.raises(FramingError) as info:
        unframe(b"TB1:AB")  # type: ignore[arg-type]
    assert info.value.reason == "malformed_encoding"


def test_decompression_bomb_is_refused() -> None:
    bomb = zlib.compress(b"\x82" + bytes(MAX_DECOMPRESSED * 16), 9)
    text = framed(bomb)
    assert len(text) < 2000  # small on the wire ...
    assert reason_of(text) == "too_large"  # ... but refused


def test_just_over_the_bound_is_refused_and_at_the_bound_accepted() -> None:
    over = b"\x82" + bytes(MAX_DECOMPRESSED)  # 64 KiB + 1
    assert reason_of(framed(zlib.compress(over, 9))) == "too_large"
    exact = b"\x82" + bytes(MAX_DECOMPRESSED - 1)  # 64 KiB
    assert unframe(framed(zlib.compress(exact, 9))) == exact


def test_overlong_text_is_refused_before_decoding() -> None:
    assert reason_of("TB1:" + "0" * 9000) == "too_large"


@pytest.mark.parametrize("trailer", [b"\x00", b"garbage", zlib.compress(b"\x82second")])
def test_trailing_bytes_after_zlib_stream_are_refused(trailer: bytes) -> None:
    stream = zlib.compress(b"\x82" + b"payload " * 20)
    assert unframe(framed(stream)) == b"\x82" + b"payload " * 20
    assert reason_of(framed(stream + trailer)) == "decompression_failed"


def test_truncated_zlib_stream_is_refused() -> None:
    stream = zlib.compress(b"\x82" + b"payload " * 20)
    assert reason_of(framed(stream[:-3])) == "decompression_failed"


def test_corrupt_zlib_stream_is_refused() -> None:
    stream = bytearray(zlib.compress(b"\x82" + b"payload " * 20))
    stream[-1] ^= 0xFF  # break the Adler-32
    assert reason_of(framed(bytes(stream))) == "decompression_failed"


@pytest.mark.parametrize("text", ["HC1:6BFOXN", "XX1:AB", "ABC", "", "   ", "tb1:AB", "1TB:AB"])
def test_wrong_prefix(text: str) -> None:
    assert reason_of(text) == "unknown_prefix"


@pytest.mark.parametrize("text", ["TB2:AB", "TB:AB", "TB10:AB", "TB1.0:AB", "TBX:AB"])
def test_wrong_version(text: str) -> None:
    assert reason_of(text) == "unsupported_version"


@pytest.mark.parametrize("body", ["GGW", "a", "::", "ZZZ", "\u00e9"])
def test_invalid_base45_is_malformed(body: str) -> None:
    assert reason_of("TB1:" + body) == "malformed_encoding"


def test_empty_body_is_malformed() -> None:
    assert reason_of("TB1:") == "malformed_encoding"
