"""Strict CBOR (RFC 8949) decoding for untrusted input: one item, no trailing bytes, bounded size."""

from __future__ import annotations

import io
from typing import Any

import cbor2

from credentials.errors import StructureError

MAX_CBOR_BYTES = 64 * 1024


def loads_strict(data: bytes, what: str = "payload", *, max_bytes: int = MAX_CBOR_BYTES) -> Any:
    if not isinstance(data, bytes | bytearray):
        raise StructureError(f"{what} must be a byte string", "malformed_cbor")
    if len(data) > max_bytes:
        raise StructureError(f"{what} is larger than {max_bytes} bytes", "too_large")
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError, MemoryError,
            IndexError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        raise StructureError(f"{what} is not well-formed CBOR", "malformed_cbor") from exc
    if stream.tell() != len(data):
        raise StructureError(f"{what} has trailing bytes after its CBOR item", "malformed_cbor")
    return value


def dumps(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)
