"""QR framing for compact credentials, in the spirit of the EU DCC (hcert spec §3: prefix, zlib, base45).

``TB1:`` + base45 (RFC 9285) of the presentation bytes, zlib-compressed (RFC 1950) when that makes
them shorter. The two are told apart by the first byte: a zlib stream starts with 0x78, a
presentation (a CBOR array) with 0x82. Base45 stays inside the QR alphanumeric alphabet, so the code
uses the denser alphanumeric mode and survives keyboard-wedge scanners.
Decompression is bounded: more than 64 KiB of output is refused before it is produced.
"""

from __future__ import annotations

import struct
import zlib

import base45

from credentials.errors import FramingError

_B45_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUES = bytes.maketrans(_B45_ALPHABET, bytes(range(45)))

SCHEME = "TB"
VERSION = "1"
PREFIX = f"{SCHEME}{VERSION}:"
MAX_DECOMPRESSED = 64 * 1024
MAX_FRAMED_CHARS = 8 * 1024  # far beyond any QR version; refuse before decoding
_ZLIB_FIRST_BYTE = 0x78


def frame(data: bytes) -> str:
    compressed = zlib.compress(data, 9)
    body = compressed if len(compressed) < len(data) else data
    return PREFIX + base45.b45encode(body).decode("ascii")


def unframe(text: str) -> bytes:
    """Undo ``frame``; raise ``FramingError`` with a reason code for every way it can be wrong."""
    if not isinstance(text, str):
        raise FramingError("QR payload must be text", "malformed_encoding")
    text = text.strip()
    if len(text) > MAX_FRAMED_CHARS:
        raise FramingError("QR payload is too long to be a tongban code", "too_large")
    head, sep, body = text.partition(":")
    if not sep or not head.startswith(SCHEME):
        raise FramingError("not a tongban code: expected the prefix TB1:", "unknown_prefix")
    if head == "TBC1":  # credentials.counter_code: what a two-way counter shows, scanned back by mistake
        raise FramingError("this is a counter's own code (TBC1:), for the wallet to scan, not a licence", "counter_code")
    if head != f"{SCHEME}{VERSION}":
        raise FramingError(f"unsupported format version {head[len(SCHEME):]!r}: this verifier reads TB1", "unsupported_version")
    raw = b45decode(body)
    if not raw:
        raise FramingError("the QR code is empty after its prefix", "malformed_encoding")
    return inflate(raw) if raw[0] == _ZLIB_FIRST_BYTE else raw


def b45decode(text: str) -> bytes:
    """RFC 9285 §4.2, table-driven: a 45-entry translation table and one pass over the triples.

    The ``base45`` package decodes character by character in Python (about a sixth of a verification); this
    is the same arithmetic on whole arrays. Refused as RFC 9285 §6 requires: characters outside the alphabet,
    a dangling single character, and triples or pairs whose value does not fit 16 or 8 bits.
    """
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise FramingError("the QR text is not valid base45", "malformed_encoding") from exc
    if data.translate(None, _B45_ALPHABET) or len(data) % 3 == 1:
        raise FramingError("the QR text is not valid base45", "malformed_encoding")
    values = data.translate(_B45_VALUES)
    full = len(values) - len(values) % 3
    triples = iter(values[:full])
    words = [c + d * 45 + e * 2025 for c, d, e in zip(triples, triples, triples, strict=True)]
    if words and max(words) > 0xFFFF:
        raise FramingError("the QR text is not valid base45", "malformed_encoding")
    out = struct.pack(f">{len(words)}H", *words)
    if full < len(values):
        last = values[full] + values[full + 1] * 45
        if last > 0xFF:
            raise FramingError("the QR text is not valid base45", "malformed_encoding")
        out += bytes([last])
    return out


def inflate(raw: bytes) -> bytes:
    """zlib (RFC 1950) decompression that refuses more than 64 KiB of output before producing it."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_DECOMPRESSED)
        if inflater.unconsumed_tail:
            raise FramingError(f"decompressed payload exceeds {MAX_DECOMPRESSED} bytes", "too_large")
        out += inflater.flush()
    except zlib.error as exc:
        raise FramingError("the compressed payload is corrupt", "decompression_failed") from exc
    if not inflater.eof or inflater.unused_data:
        raise FramingError("the compressed payload is truncated or has trailing bytes", "decompression_failed")
    if len(out) > MAX_DECOMPRESSED:
        raise FramingError(f"decompressed payload exceeds {MAX_DECOMPRESSED} bytes", "too_large")
    return out
