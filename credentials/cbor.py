"""Deterministic CBOR (RFC 8949 §4.2) for everything tongban signs and everything a verifier parses.

Untrusted input is accepted only in its one deterministic encoding: a value is decoded, encoded again
the deterministic way, and the two byte strings must be equal. That single comparison refuses, as
``malformed_cbor``, every encoding a signature does not pin down: heads longer than needed
(§4.2.1 "preferred serialization"), indefinite lengths, map keys out of order, duplicate map keys
(§5.6: a verifier that kept the first value would read a different licence than one keeping the last),
bignums for values that fit a plain integer, and tags such as value sharing (28/29) that only
re-encode to something else. It matters because replay identities and digests are taken over bytes:
with one encoding per value, no re-encoding of a captured code can make it look new.

Map keys (where the format fixes their order: everything of tongban's own) are ordered as cbor2's
``canonical`` mode writes them (RFC 7049 §3.9: shorter encoded key first, then bytewise). For the maps
of this format -- all keys of one major type -- that is the same order as RFC 8949 §4.2.1's bytewise
order, which the browser wallet's encoder uses.

Every integer is bounded at parse time: CBOR's own range (−2^64 ≤ n < 2^64); a bignum (tags 2/3)
beyond it is refused, so no later step (arithmetic, ``str()``, JSON) sees a 20,000-digit number. Only a
bignum can exceed that range, and its head is the byte 0xc2 or 0xc3 followed by a byte string's head
(0x40-0x5f; a longer tag head is not deterministic and refused anyway): input without that pair cannot hold
one, so the walk over every decoded integer runs only where it can find something (the byte alone turns up in
two of five random 64-byte signatures, the pair in one of twenty). The nesting bound is checked on every input,
by a walk that descends into containers only (a fifth of the cost of visiting every item, which was a sixth of
a whole verification).
Times get a tighter bound where they are read (``check_time``).
"""

from __future__ import annotations

import io
import re
import threading
from typing import Any

import cbor2

from credentials.errors import StructureError

MAX_CBOR_BYTES = 64 * 1024
MAX_DEPTH = 16  # the deepest structure this format has is 6 levels
INT_LIMIT = 2**64  # CBOR major types 0 and 1 carry at most 64-bit arguments (RFC 8949 §3.1)
TIME_LIMIT = 2**53  # times are integers 0 <= t < 2^53 (exact in a JavaScript number, RFC 8392 NumericDate)
_DECODE_ERRORS = (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError, MemoryError,
                  IndexError, KeyError, AttributeError, UnicodeDecodeError, LookupError)


def dumps(value: Any, *, ordered: bool = True) -> bytes:
    """The one deterministic encoding of ``value`` (dates as RFC 8943 tag 100, days since 1970).

    ``ordered=False`` keeps each map's own key order, for formats that do not fix one (the Token Status
    List draft's CWT claims, whose examples are written in the draft's order).
    """
    buffer, encoder = _encoder(ordered)
    buffer.seek(0)
    buffer.truncate()
    encoder.encode(value)
    return buffer.getvalue()


_local = threading.local()


def _encoder(ordered: bool) -> tuple[io.BytesIO, cbor2.CBOREncoder]:
    """One encoder per thread and mode: ``cbor2.dumps`` builds a stream and an encoder per call, which costs
    several times the encoding of a credential's small items (issuance encodes four per view)."""
    pair = getattr(_local, "ordered" if ordered else "unordered", None)
    if pair is None:
        buffer = io.BytesIO()
        pair = (buffer, cbor2.CBOREncoder(buffer, canonical=ordered, datetime_as_timestamp=True))
        setattr(_local, "ordered" if ordered else "unordered", pair)
    return pair


def loads_strict(data: bytes, what: str = "payload", *, max_bytes: int = MAX_CBOR_BYTES, ordered: bool = True) -> Any:
    """Decode one deterministic CBOR item (no trailing bytes, bounded size, depth and integers).

    ``ordered=False`` (formats that fix no key order) still refuses long heads, indefinite lengths and
    duplicate keys; it only accepts map keys in any order.
    """
    if not isinstance(data, bytes | bytearray):
        raise StructureError(f"{what} must be a byte string", "malformed_cbor")
    data = bytes(data)
    if len(data) > max_bytes:
        raise StructureError(f"{what} is larger than {max_bytes} bytes", "too_large")
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except _DECODE_ERRORS as exc:
        raise StructureError(f"{what} is not well-formed CBOR", "malformed_cbor") from exc
    if stream.tell() != len(data):
        raise StructureError(f"{what} has trailing bytes after its CBOR item", "malformed_cbor")
    if not _within_depth(value, MAX_DEPTH):  # always: the nesting limit holds for every input
        raise StructureError(f"{what} is nested deeper than {MAX_DEPTH} levels", "malformed_cbor")
    if _BIGNUM_HEAD.search(data):  # only a bignum can hold an integer outside CBOR's own range
        check_bounds(value, what)
    try:
        canonical = dumps(value, ordered=ordered)
    except (cbor2.CBOREncodeError, ValueError, TypeError, OverflowError) as exc:
        raise StructureError(f"{what} holds a value this format does not use", "malformed_cbor") from exc
    if canonical != data:
        raise StructureError(
            f"{what} is not deterministic CBOR (RFC 8949 §4.2.1: shortest lengths, definite lengths, "
            "ordered and unique map keys)", "malformed_cbor")
    return value


_BIGNUM_HEAD = re.compile(rb"[\xc2\xc3][\x40-\x5f]")
_CONTAINERS = frozenset({list, tuple, dict, set, frozenset, cbor2.FrozenDict, cbor2.CBORTag})


def _within_depth(item: Any, budget: int) -> bool:
    """Whether ``item`` (a container at depth ``MAX_DEPTH - budget``) holds nothing deeper than ``MAX_DEPTH``; the
    same bound as ``check_bounds``, visiting containers only. Recursion is bounded by the budget (≤ 17 frames)."""
    kind = type(item)
    if kind not in _CONTAINERS:
        return True
    if kind is cbor2.CBORTag:
        inner = item.value
        return budget > 0 and (type(inner) not in _CONTAINERS or _within_depth(inner, budget - 1))
    children = (*item.keys(), *item.values()) if kind is dict or kind is cbor2.FrozenDict else item
    if not children:
        return True
    if budget == 0:
        return False
    return all(type(child) not in _CONTAINERS or _within_depth(child, budget - 1) for child in children)


def check_bounds(value: Any, what: str) -> None:
    """Walk the decoded value without recursion: bounded depth, integers within CBOR's 64-bit range."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise StructureError(f"{what} is nested deeper than {MAX_DEPTH} levels", "malformed_cbor")
        if isinstance(item, int) and not isinstance(item, bool):
            if not -INT_LIMIT <= item < INT_LIMIT:
                raise StructureError(f"{what} holds an integer outside CBOR's 64-bit range", "malformed_cbor")
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, cbor2.CBORTag):
            stack.append((item.value, depth + 1))


def check_time(value: Any, name: str) -> int:
    """An integer time 0 <= t < 2^53, or a ``StructureError`` naming the claim (``malformed_structure``)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < TIME_LIMIT:
        raise StructureError(f"{name} must be an integer time between 0 and 2^53", "malformed_structure")
    return value
