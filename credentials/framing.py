"""QR framing for compact credentials, in the spirit of the EU DCC (hcert spec §3: prefix, zlib, base45).

``TB1:`` + base45 (RFC 9285) of the presentation bytes, zlib-compressed (RFC 1950) when that makes
them shorter. The two are told apart by the first byte: a zlib stream starts with 0x78, a
presentation (a CBOR array) with 0x82. Base45 stays inside the QR alphanumeric alphabet, so the code
uses the denser alphanumeric mode and survives keyboard-wedge scanners.
Decompression is bounded: more than 64 KiB of output is refused before it is produced.
"""

from __future__ import annotations

import zlib

import base45

from credentials.errors import FramingError

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
    try:
        raw = base45.b45decode(body)
    except (ValueError, TypeError) as exc:
        raise FramingError("the QR text is not valid base45", "malformed_encoding") from exc
    if not raw:
        raise FramingError("the QR code is empty after its prefix", "malformed_encoding")
    return inflate(raw) if raw[0] == _ZLIB_FIRST_BYTE else raw


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
