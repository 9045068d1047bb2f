"""The changes a status delta carries (tongban's extension to draft-ietf-oauth-status-list; format in ``delta``).

An authority's lists, ordered by list number, are laid end to end into one *position space*: list ``n`` starts
where the lists before it end (``Layout``). A change set is a byte string of unsigned LEB128 varints, one per
changed entry in increasing position order: ``(gap << bits) | value``, where ``gap`` is the distance from the
previous changed position minus one (from position 0 for the first). Random changes among 100 M entries cost
about 3 bytes each this way (a per-list map would cost 4-5), which is what keeps a day of changes under 1 MB.

Parsing is strict: minimal varints only (so one change set has one encoding), positions inside the layout,
values that fit ``bits``, no trailing partial varint, and a bounded count. Pure: no I/O, no clock.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from credentials.status_list.encoding import StatusList
from credentials.status_list.errors import StatusListError

MAX_VARINT_BYTES = 9  # 63 bits: positions are < 2^40 in any layout we accept, shifted by at most 8 bits
MAX_CHANGE_BYTES = 8 * 1024 * 1024  # a delta larger than this is better sent as full lists


class ChangeError(StatusListError):
    reason = "status_delta_malformed"


@dataclass(frozen=True)
class Layout:
    """List numbers in order with their sizes; ``locate`` maps a position to (list number, index)."""

    list_nos: tuple[int, ...]
    sizes: tuple[int, ...]

    @classmethod
    def of(cls, sizes: dict[int, int]) -> Layout:
        ordered = sorted(sizes)
        return cls(tuple(ordered), tuple(sizes[n] for n in ordered))

    @cached_property
    def starts(self) -> list[int]:
        out, total = [], 0
        for size in self.sizes:
            out.append(total)
            total += size
        return out

    @cached_property
    def total(self) -> int:
        return sum(self.sizes)

    @cached_property
    def _at(self) -> dict[int, int]:
        return {n: at for at, n in enumerate(self.list_nos)}

    def position(self, list_no: int, idx: int) -> int:
        at = self._at.get(list_no)
        if at is None or not 0 <= idx < self.sizes[at]:
            raise ChangeError(f"index {idx} is outside list {list_no}")
        return self.starts[at] + idx


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _varints(data: bytes) -> Iterator[int]:
    value = shift = length = 0
    for byte in data:
        length += 1
        if length > MAX_VARINT_BYTES:
            raise ChangeError("a varint in the change set is too long")
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte == 0 and length > 1:  # 0x80 0x00 is 0 written long: one value, one encoding
                raise ChangeError("the change set has a varint that is not minimal")
            yield value
            value = shift = length = 0
    if length:
        raise ChangeError("the change set ends inside a varint")


def encode_changes(changes: Iterable[tuple[int, int, int]], layout: Layout, bits: int) -> bytes:
    """``(list number, index, new value)`` triples → the varint stream (sorted, duplicates refused)."""
    positions = sorted((layout.position(n, idx), value) for n, idx, value in changes)
    out, previous = bytearray(), -1
    for pos, value in positions:
        if pos == previous:
            raise ChangeError(f"position {pos} changes twice")
        if not 0 <= value < 1 << bits:
            raise ChangeError(f"status {value} does not fit in {bits} bit(s)")
        out += _varint(((pos - previous - 1) << bits) | value)
        previous = pos
    return bytes(out)


def decode_changes(data: bytes, layout: Layout, bits: int) -> list[tuple[int, int, int]]:
    """The varint stream → ``(list number, index, new value)`` triples, in position order."""
    if not isinstance(data, bytes) or len(data) > MAX_CHANGE_BYTES:
        raise ChangeError("the change set must be a byte string of at most 8 MiB")
    starts, total, mask = layout.starts, layout.total, (1 << bits) - 1
    out, previous = [], -1
    for record in _varints(data):
        pos = previous + 1 + (record >> bits)
        if pos >= total:
            raise ChangeError(f"a change at position {pos} lies beyond the lists ({total} entries)")
        at = bisect.bisect_right(starts, pos) - 1
        out.append((layout.list_nos[at], pos - starts[at], record & mask))
        previous = pos
    return out


def diff(old: StatusList | None, new: StatusList) -> list[tuple[int, int]]:
    """``(index, new value)`` for every entry where ``new`` differs from ``old`` (all non-zero ones when None).

    Compares 256-byte blocks first: a list of 131,072 entries with a handful of changes costs microseconds.
    """
    if old is not None and (old.bits, old.size) != (new.bits, new.size):
        raise ChangeError("a list changed its size or bits: lists are fixed when first signed")
    before = old.as_bytes() if old is not None else bytes(len(new.as_bytes()))
    after = new.as_bytes()
    per_byte, out = 8 // new.bits, []
    for block in range(0, len(after), 256):
        if before[block:block + 256] == after[block:block + 256]:
            continue
        for byte in range(block, min(block + 256, len(after))):
            if before[byte] != after[byte]:
                for slot in range(per_byte):
                    idx = byte * per_byte + slot
                    if idx < new.size and (old is None or old.get(idx) != new.get(idx)):
                        if old is not None or new.get(idx):
                            out.append((idx, new.get(idx)))
    return out
