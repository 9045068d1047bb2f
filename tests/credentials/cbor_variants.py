"""An attacker's CBOR writer: the same values, written every way RFC 8949 allows but §4.2.1 forbids.

``encode(tree, choose)`` writes a value tree; at every head, string, array and map ``choose`` decides
how (hypothesis draws it in the property tests, a fixed choice in the unit tests):

  - ``width``: the argument in its shortest form, or widened to 1, 2, 4 or 8 bytes;
  - ``indefinite``: arrays, maps and strings with an indefinite length (strings in chunks);
  - ``order``: map entries in canonical order or permuted;
  - ``duplicate``: a map entry written twice (same key, the same or another value).

``Embedded(value)`` is a byte string that holds CBOR (a COSE protected header, a payload, a
credential inside a presentation): it is written with the same choices, so deviations reach inside.
``Tag`` keeps tags as they are on the wire (dates are tag 100 over an integer).
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2

_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Embedded:
    value: Any


@dataclass(frozen=True)
class Tag:
    tag: int
    value: Any


Choose = Callable[[str, int], int]  # (decision name, number of options) -> option index


def canonical(_name: str, _options: int) -> int:
    return 0


def _head(major: int, arg: int, choose: Choose) -> bytes:
    widths = [w for w in (0, 1, 2, 4, 8) if _fits(arg, w)]
    width = widths[choose("width", len(widths))]
    if width == 0:
        return bytes([major << 5 | arg])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([major << 5 | info]) + arg.to_bytes(width, "big")


def _fits(arg: int, width: int) -> bool:
    return arg < 24 if width == 0 else arg < 256 ** width


def _string(major: int, data: bytes, choose: Choose) -> bytes:
    if len(data) > 1 and choose("indefinite", 2):
        cut = 1 + choose("chunk", len(data) - 1)
        parts = [data[:cut], data[cut:]]
        if major == 3:  # a text chunk must itself be valid UTF-8: cut on a character boundary
            text = data.decode()
            at = len(text[: max(1, len(text) // 2)].encode())
            parts = [data[:at], data[at:]]
        return bytes([major << 5 | 31]) + b"".join(_head(major, len(p), choose) + p for p in parts) + b"\xff"
    return _head(major, len(data), choose) + data


def encode(value: Any, choose: Choose = canonical) -> bytes:
    if isinstance(value, bool) or value is None:
        return cbor2.dumps(value)
    if isinstance(value, int):
        return _head(0, value, choose) if value >= 0 else _head(1, -1 - value, choose)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, Embedded):
        return _string(2, encode(value.value, choose), choose)
    if isinstance(value, bytes):
        return _string(2, value, choose)
    if isinstance(value, str):
        return _string(3, value.encode(), choose)
    if isinstance(value, dt.date):
        return _head(6, 100, choose) + encode((value - _EPOCH).days, choose)
    if isinstance(value, Tag):
        return _head(6, value.tag, choose) + encode(value.value, choose)
    if isinstance(value, list | tuple):
        items = [encode(v, choose) for v in value]
        if choose("indefinite", 2):
            return b"\x9f" + b"".join(items) + b"\xff"
        return _head(4, len(items), choose) + b"".join(items)
    if isinstance(value, dict):
        entries = sorted(((encode(k, canonical), k, v) for k, v in value.items()), key=lambda e: (len(e[0]), e[0]))
        if len(entries) > 1:
            shift = choose("order", len(entries))
            entries = entries[shift:] + entries[:shift]
        pairs = [encode(k, choose) + encode(v, choose) for _, k, v in entries]
        if entries and choose("duplicate", 2):
            _, key, val = entries[choose("which", len(entries))]
            pairs.append(encode(key, choose) + encode(val if choose("same", 2) else "other", choose))
        if choose("indefinite", 2):
            return b"\xbf" + b"".join(pairs) + b"\xff"
        return _head(5, len(pairs), choose) + b"".join(pairs)
    raise TypeError(f"cannot write {type(value).__name__}")


def _sign1_tree(raw: bytes) -> Tag:
    tagged = cbor2.loads(raw)
    protected, unprotected, payload, signature = tagged.value
    return Tag(18, [Embedded(cbor2.loads(protected)), unprotected, Embedded(cbor2.loads(payload)), signature])


def presentation_tree(raw: bytes) -> list:
    """The value tree of a presentation's bytes, with every embedded CBOR byte string opened."""
    credential, proof = cbor2.loads(raw)
    return [Embedded(_sign1_tree(credential)), Embedded(_sign1_tree(proof))]


def with_unprotected(raw_presentation: bytes, which: int, member: dict) -> bytes:
    """The presentation with ``member`` added to the unprotected header of its credential (0) or proof (1)."""
    tree = presentation_tree(raw_presentation)
    sign1 = tree[which].value
    sign1.value[1] = {**sign1.value[1], **member}
    return encode(tree)
