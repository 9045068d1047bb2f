"""Token Status List, IETF draft-ietf-oauth-status-list (section numbers as in the -18/-latest revision):
the Status List itself, unsigned.

§4.1 the compressed byte array: ``bits`` in {1, 2, 4, 8}, entries packed from the least significant bit,
ZLIB (RFC 1950) DEFLATE at the highest level; inflating is bounded. §4.2 / §4.3 the Status List as JSON
(base64url ``lst``) or CBOR. §7.1 the status values. Signing lives in ``signing``, verifying in ``verification``.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from credentials.status_list._checks import is_int
from credentials.status_list.errors import StatusListError
from keys import KeysError, b64url, b64url_decode

VALID, INVALID, SUSPENDED = 0, 1, 2  # §7.1
ALLOWED_BITS = (1, 2, 4, 8)  # §4.1 step 1
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024  # 16 MiB: 134 million 1-bit entries
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _bits(bits: Any) -> int:
    if not is_int(bits) or bits not in ALLOWED_BITS:
        raise StatusListError(f"bits must be one of {ALLOWED_BITS}, not {bits!r}")
    return bits


class StatusList:
    """``size`` status entries of ``bits`` bits each, packed as in §4.1 (entry 0 in the low bits of byte 0)."""

    def __init__(self, size: int, bits: int = 1):
        _bits(bits)
        if not is_int(size) or size < 0:
            raise StatusListError(f"size must be a non-negative integer, not {size!r}")
        self.bits, self.size = bits, size
        self._data = bytearray(-(-size * bits // 8))

    @classmethod
    def from_bytes(cls, bits: int, data: bytes) -> StatusList:
        """Wrap an uncompressed byte array; its size is every slot the bytes hold (§4.1 step 2)."""
        if not isinstance(data, bytes | bytearray):
            raise StatusListError("the byte array must be bytes")
        status_list = cls(len(data) * 8 // _bits(bits), bits)
        status_list._data[:] = data
        return status_list

    def as_bytes(self) -> bytes:
        return bytes(self._data)

    def copy(self) -> StatusList:
        twin = StatusList(self.size, self.bits)
        twin._data[:] = self._data
        return twin

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return (self.bits, self.size, self._data) == (other.bits, other.size, other._data)

    def __repr__(self) -> str:
        return f"StatusList(size={self.size}, bits={self.bits})"

    def _locate(self, idx: int) -> tuple[int, int]:
        if not is_int(idx) or not 0 <= idx < self.size:
            # §8.3 step 6: an index outside the list gives no statement; the token must be rejected.
            raise StatusListError(f"index {idx!r} is outside the status list (size {self.size})",
                                  "status_index_out_of_range")
        byte, slot = divmod(idx, 8 // self.bits)
        return byte, slot * self.bits

    def get(self, idx: int) -> int:
        byte, shift = self._locate(idx)
        return (self._data[byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, idx: int, value: int) -> None:
        if not is_int(value) or not 0 <= value < 1 << self.bits:
            raise StatusListError(f"status {value!r} does not fit in {self.bits} bit(s)", "status_value_out_of_range")
        byte, shift = self._locate(idx)
        mask = ((1 << self.bits) - 1) << shift
        self._data[byte] = (self._data[byte] & ~mask) | (value << shift)

    def encode_lst(self) -> bytes:
        """§4.1 step 4: DEFLATE in ZLIB format at the highest compression level."""
        return zlib.compress(bytes(self._data), 9)

    @classmethod
    def decode(cls, bits: int, lst_bytes: bytes, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> StatusList:
        """Inflate a compressed byte array, refusing more than ``max_bytes`` of output, truncation or trailing data."""
        _bits(bits)
        if not isinstance(lst_bytes, bytes | bytearray) or not is_int(max_bytes) or max_bytes < 0:
            raise StatusListError("lst must be bytes and max_bytes a non-negative integer")
        inflater = zlib.decompressobj(zlib.MAX_WBITS)  # ZLIB wrapper only: no raw DEFLATE, no gzip
        try:
            data = inflater.decompress(bytes(lst_bytes), max_bytes + 1)
        except zlib.error as exc:
            raise StatusListError(f"lst is not valid ZLIB/DEFLATE data: {exc}") from exc
        if len(data) > max_bytes:
            raise StatusListError(f"lst inflates to more than {max_bytes} bytes", "status_list_too_large")
        if not inflater.eof:
            raise StatusListError("lst is truncated: the ZLIB stream does not end")
        if inflater.unused_data:
            raise StatusListError("lst has trailing bytes after the ZLIB stream")
        return cls.from_bytes(bits, data)

    def to_json_obj(self) -> dict[str, Any]:
        """§4.2."""
        return {"bits": self.bits, "lst": b64url(self.encode_lst())}

    def to_cbor_obj(self) -> dict[str, Any]:
        """§4.3."""
        return {"bits": self.bits, "lst": self.encode_lst()}

    @classmethod
    def from_json_obj(cls, obj: Any, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> StatusList:
        bits, lst = _status_list_members(obj, str, "a string")
        if not _B64URL.fullmatch(lst) or len(lst) % 4 == 1:
            raise StatusListError("lst is not base64url without padding")
        try:
            raw = b64url_decode(lst)
        except KeysError as exc:
            raise StatusListError("lst is not base64url without padding") from exc
        if b64url(raw) != lst:
            raise StatusListError("lst is not canonical base64url (stray trailing bits)")
        return cls.decode(bits, raw, max_bytes)

    @classmethod
    def from_cbor_obj(cls, obj: Any, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> StatusList:
        bits, lst = _status_list_members(obj, bytes, "a byte string")
        return cls.decode(bits, lst, max_bytes)


def _status_list_members(obj: Any, lst_type: type, lst_name: str) -> tuple[int, Any]:
    if not isinstance(obj, dict):
        raise StatusListError("a Status List must be an object/map")
    bits, lst = _bits(obj.get("bits")), obj.get("lst")
    if type(lst) is not lst_type:
        raise StatusListError(f"lst must be {lst_name}")
    if "aggregation_uri" in obj and not isinstance(obj["aggregation_uri"], str):  # §4.2, §4.3 (§9.2)
        raise StatusListError("aggregation_uri must be a string")
    return bits, lst
