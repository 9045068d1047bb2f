"""Token Status List, IETF draft-ietf-oauth-status-list (section numbers as in the -18/-latest revision).

§4.1 the compressed byte array: ``bits`` in {1, 2, 4, 8}, entries packed from the least significant bit,
ZLIB (RFC 1950) DEFLATE at the highest level; inflating is bounded. §4.2 / §4.3 the Status List as JSON
(base64url ``lst``) or CBOR. §5.1 the Status List Token as a JWT, §5.2 as a CWT (COSE_Sign1_Tagged through
``credentials.cose``, never the CWT tag 61). §6.2 / §6.3 the Referenced Token's ``status`` claim. §7.1 the status values.

Verifying fixes the algorithm and key (never taken from the token) and takes ``now`` from the caller
(§8.3 step 4c): nothing here reads the clock or the network. Every refusal is a ``StatusListError``
whose ``reason`` is a stable code.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from dataclasses import dataclass
from typing import Any

import cbor2
import jwt

from credentials.cbor import loads_strict
from credentials.cose import COSE_ALG, parse_sign1, sig_structure, sign1
from credentials.errors import CredentialError, StructureError
from keys import PrivateKey, PublicKey

VALID, INVALID, SUSPENDED = 0, 1, 2  # §7.1
ALLOWED_BITS = (1, 2, 4, 8)  # §4.1 step 1
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024  # 16 MiB: 134 million 1-bit entries
MAX_TOKEN_BYTES = 16 * 1024 * 1024  # a signed token is never larger than the list it carries, compressed
JWT_TYP = "statuslist+jwt"  # §5.1
CWT_TYP = "application/statuslist+cwt"  # §5.2
# Asymmetric algorithms only (§11.6 allows MACs; a counter verifying offline must not share a secret).
_ALGS: dict[str, tuple[str, int]] = {name: (name, COSE_ALG[name]) for name in ("ES256", "EdDSA")}  # RFC 9053 §2.1-2.2
_HDR_ALG, _HDR_KID, _HDR_TYP = 1, 4, 16
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]*")  # RFC 3986 §3: a scheme, no whitespace


class StatusListError(CredentialError):
    """A Status List, Status List Token or status reference was refused; ``reason`` says which check."""

    reason = "status_list_malformed"


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bits(bits: Any) -> int:
    if not _int(bits) or bits not in ALLOWED_BITS:
        raise StatusListError(f"bits must be one of {ALLOWED_BITS}, not {bits!r}")
    return bits


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class StatusList:
    """``size`` status entries of ``bits`` bits each, packed as in §4.1 (entry 0 in the low bits of byte 0)."""

    def __init__(self, size: int, bits: int = 1):
        _bits(bits)
        if not _int(size) or size < 0:
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

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return (self.bits, self.size, self._data) == (other.bits, other.size, other._data)

    def __repr__(self) -> str:
        return f"StatusList(size={self.size}, bits={self.bits})"

    def _locate(self, idx: int) -> tuple[int, int]:
        if not _int(idx) or not 0 <= idx < self.size:
            # §8.3 step 6: an index outside the list gives no statement; the token must be rejected.
            raise StatusListError(f"index {idx!r} is outside the status list (size {self.size})",
                                  "status_index_out_of_range")
        byte, slot = divmod(idx, 8 // self.bits)
        return byte, slot * self.bits

    def get(self, idx: int) -> int:
        byte, shift = self._locate(idx)
        return (self._data[byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, idx: int, value: int) -> None:
        if not _int(value) or not 0 <= value < 1 << self.bits:
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
        if not isinstance(lst_bytes, bytes | bytearray) or not _int(max_bytes) or max_bytes < 0:
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
        return {"bits": self.bits, "lst": _b64url(self.encode_lst())}

    def to_cbor_obj(self) -> dict[str, Any]:
        """§4.3."""
        return {"bits": self.bits, "lst": self.encode_lst()}

    @classmethod
    def from_json_obj(cls, obj: Any, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> StatusList:
        bits, lst = _status_list_members(obj, str, "a string")
        if not _B64URL.fullmatch(lst) or len(lst) % 4 == 1:
            raise StatusListError("lst is not base64url without padding")
        raw = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
        if _b64url(raw) != lst:
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


@dataclass(frozen=True)
class StatusListToken:
    """A verified Status List Token (§5): its subject (the list's URI), times and the list."""

    subject: str
    issued_at: int
    expires_at: int | None
    ttl: int | None
    status_list: StatusList


def _alg(alg: Any) -> tuple[Any, int]:
    if not isinstance(alg, str) or alg not in _ALGS:
        raise StatusListError(f"algorithm {alg!r} is not allowed: use one of {', '.join(_ALGS)}", "status_list_alg")
    return _ALGS[alg]


_JWT_NAMES = ("sub", "iat", "exp", "ttl", "status_list", "nbf")  # §5.1, RFC 7519 §4.1
_CWT_NAMES = (2, 6, 4, 65534, 65533, 5)  # §5.2, RFC 8392 §3.1; 65534 ttl and 65533 status_list from the draft


def _claims(sub: Any, iat: Any, exp: Any, ttl: Any) -> None:
    if not isinstance(sub, str) or not _URI.fullmatch(sub):
        raise StatusListError("the subject must be the list's URI")
    if not _int(iat) or iat < 0:
        raise StatusListError("iat must be a non-negative integer NumericDate")
    if exp is not None and (not _int(exp) or exp <= iat):
        raise StatusListError("exp must be an integer NumericDate after iat")
    if ttl is not None and (not _int(ttl) or ttl <= 0):
        raise StatusListError("ttl must be a positive integer (§5.1)")


def _claim_set(names: tuple, status_list: Any, sub: str, iat: int, exp: int | None, ttl: int | None) -> dict:
    _claims(sub, iat, exp, ttl)
    values = (sub, iat, exp, ttl, status_list)  # the order of the draft's examples
    return {name: value for name, value in zip(names, values, strict=False) if value is not None}


def _token(claims: Any, names: tuple, parse: Any, *, now: Any, leeway: Any, expected_subject: str | None,
           require_exp: bool, max_bytes: int) -> StatusListToken:
    """The claim checks shared by §5.1 and §5.2 against the caller's clock (§8.3 step 4), then the list."""
    if not isinstance(claims, dict):
        raise StatusListError("the token's claims must be a map")
    if not _int(now) or not _int(leeway) or leeway < 0:
        raise StatusListError("now and leeway must be integers (seconds)")
    sub, iat, exp, ttl, status_list, nbf = (claims.get(name) for name in names)
    _claims(sub, iat, exp, ttl)
    if exp is None and require_exp:
        raise StatusListError("the Status List Token has no expiry", "status_list_expired")
    if expected_subject is not None and sub != expected_subject:
        raise StatusListError("the token's subject is not the URI the reference points to", "status_list_subject")
    if exp is not None and now - leeway >= exp:
        raise StatusListError(f"the Status List Token expired at {exp}", "status_list_expired")
    if iat > now + leeway or (nbf is not None and (not _int(nbf) or nbf > now + leeway)):
        raise StatusListError("the Status List Token is not valid yet", "status_list_not_yet_valid")
    return StatusListToken(subject=sub, issued_at=iat, expires_at=exp, ttl=ttl, status_list=parse(status_list, max_bytes))


def sign_status_list_jwt(status_list: StatusList, *, subject_uri: str, issued_at: int, expires_at: int | None,
                         ttl: int | None, signing_key: Any, kid: str, alg: str) -> str:
    """§5.1: a JWS compact serialisation signed with ``signing_key`` (a ``keys.PrivateKey``)."""
    _alg(alg)
    claims = _claim_set(_JWT_NAMES, status_list.to_json_obj(), subject_uri, issued_at, expires_at, ttl)
    try:
        crypto_key = _checked_key(signing_key, alg, PrivateKey).crypto_key()
        return jwt.encode(claims, crypto_key, algorithm=alg, headers={"typ": JWT_TYP, "kid": kid})
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise StatusListError(f"cannot sign with this key as {alg}: {exc}", "status_list_key") from exc


def verify_status_list_jwt(token: Any, *, public_key: Any, alg: str, now: int, expected_subject: str | None = None,
                           leeway: int = 0, require_exp: bool = True,
                           max_bytes: int = MAX_DECOMPRESSED_BYTES) -> StatusListToken:
    """§5.1 and §8.3: signature under the caller's ``alg`` and key, ``typ``, claims, times, then the list."""
    _alg(alg)
    if not isinstance(token, str):
        raise StatusListError("a JWT must be a string")
    try:
        header = jwt.get_unverified_header(token)
        # RFC 8725 §3.11; RFC 7515 §4.1.9 lets "application/" be left out and compares case-insensitively.
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower().removeprefix("application/") != JWT_TYP:
            raise StatusListError(f"JWT typ must be {JWT_TYP}, not {typ!r}", "status_list_typ")
        # Only the JWS layer from PyJWT: its claim validation would read the clock; ours uses `now`.
        crypto_key = _checked_key(public_key, alg, PublicKey).crypto_key()
        payload = jwt.PyJWS().decode_complete(token, crypto_key, algorithms=[alg])["payload"]
        claims = json.loads(payload)
    except jwt.InvalidSignatureError as exc:
        raise StatusListError("the Status List Token's signature does not verify", "status_list_signature") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise StatusListError(f"the token is not signed with the expected {alg}", "status_list_alg") from exc
    except (jwt.PyJWTError, TypeError, ValueError, RecursionError) as exc:
        raise StatusListError(f"the Status List Token is not a valid JWT: {exc}") from exc
    if isinstance(claims, dict) and "aud" in claims:  # RFC 7519 §4.1.3: no audience is expected here
        raise StatusListError("the Status List Token is addressed to an audience")
    return _token(claims, _JWT_NAMES, StatusList.from_json_obj, now=now, leeway=leeway,
                  expected_subject=expected_subject, require_exp=require_exp, max_bytes=max_bytes)


def _checked_key(key: Any, alg: str, kind: type) -> Any:
    """Keys come from the ``keys`` package, so signatures are made by ``cryptography`` there, never here."""
    if not isinstance(key, kind):
        raise StatusListError(f"the key must be a keys.{kind.__name__}", "status_list_key")
    if key.alg != alg:
        raise StatusListError(f"the key is for {key.alg}, not the expected {alg}", "status_list_alg")
    return key


def sign_status_list_cwt(status_list: StatusList, *, subject_uri: str, issued_at: int, expires_at: int | None,
                         ttl: int | None, signing_key: Any, kid: str | bytes, alg: str) -> bytes:
    """§5.2: a COSE_Sign1_Tagged CWT (``credentials.cose``), typ in the protected header, claims in the draft's order."""
    _alg(alg)
    claims = _claim_set(_CWT_NAMES, status_list.to_cbor_obj(), subject_uri, issued_at, expires_at, ttl)
    key = _checked_key(signing_key, alg, PrivateKey)
    return sign1(cbor2.dumps(claims), key, kid=kid.encode() if isinstance(kid, str) else kid,
                 protected_extra={_HDR_TYP: CWT_TYP})


def _cbor_loads(data: bytes, what: str) -> Any:
    """``credentials.cbor.loads_strict`` (one item, no trailing bytes), failing as a StatusListError."""
    try:
        return loads_strict(data, what, max_bytes=MAX_TOKEN_BYTES, ordered=False)
    except StructureError as exc:
        raise StatusListError(str(exc)) from exc


def verify_status_list_cwt(token: Any, *, public_key: Any, alg: str, now: int, expected_subject: str | None = None,
                           leeway: int = 0, require_exp: bool = True,
                           max_bytes: int = MAX_DECOMPRESSED_BYTES) -> StatusListToken:
    """§5.2 and §8.3, through the project's one COSE_Sign1 parser (``credentials.cose``): strict structure first,
    then alg and typ, then the signature with the caller's key."""
    _, alg_id = _alg(alg)
    if not isinstance(token, bytes | bytearray):
        raise StatusListError("a CWT must be bytes")
    token = bytes(token)
    if token[:2] == b"\xd8\x3d":  # the head of tag 61
        raise StatusListError("§5.2: a Status List Token must not carry the CWT tag 61")
    try:
        # Only the labels §5.2 needs (and a kid): nothing critical, nothing this parser would not check.
        message = parse_sign1(token, "the Status List Token", extra_protected=frozenset({_HDR_TYP}),
                              max_bytes=MAX_TOKEN_BYTES, ordered=False)
    except StructureError as exc:
        raise StatusListError(f"§5.2: {exc}") from exc
    if message.alg != alg_id:
        raise StatusListError(f"the token is not signed with the expected {alg}", "status_list_alg")
    if message.headers.get(_HDR_TYP) != CWT_TYP:
        raise StatusListError(f"CWT typ must be {CWT_TYP}", "status_list_typ")
    # The unprotected header is not signed (RFC 9052 §4.4) and not needed here.
    signed = sig_structure(message.protected, message.payload)
    if not _checked_key(public_key, alg, PublicKey).verify(message.signature, signed):
        raise StatusListError("the Status List Token's signature does not verify", "status_list_signature")
    payload_raw = message.payload
    return _token(_cbor_loads(payload_raw, "the CWT claims"), _CWT_NAMES, StatusList.from_cbor_obj, now=now,
                  leeway=leeway, expected_subject=expected_subject, require_exp=require_exp, max_bytes=max_bytes)


def peek_times(token: Any) -> tuple[int, int | None, int | None] | None:
    """``(iat, exp, ttl)`` of a Status List Token CWT, read **without verifying** it; None when unreadable.

    For the publisher looking at its own file (is it due for re-signing? which ``iat`` did it last sign?)
    and for HTTP cache headers. Never a reason to trust a list: counters verify (``verify_status_list_cwt``).
    """
    try:
        outer = _cbor_loads(bytes(token), "the Status List Token")
        payload = outer.value[2] if isinstance(outer, cbor2.CBORTag) and isinstance(outer.value, list) else None
        claims = _cbor_loads(payload, "the CWT claims") if isinstance(payload, bytes) else None
        if not isinstance(claims, dict):
            return None
        iat, exp, ttl = (claims.get(name) for name in (6, 4, 65534))
        _claims("x:", iat, exp, ttl)
    except (StatusListError, IndexError, TypeError, ValueError):
        return None
    return iat, exp, ttl


def status_reference(idx: int, uri: str) -> dict[str, Any]:
    """§6.2 / §6.3: the value of a Referenced Token's ``status`` claim (JWT "status", CWT 65535)."""
    claim = {"status_list": {"idx": idx, "uri": uri}}
    parse_status_reference(claim)
    return claim


def parse_status_reference(obj: Any) -> tuple[int, str]:
    """§8.3 step 1: the ``status`` claim must hold a ``status_list`` with a non-negative ``idx`` and a URI."""
    if not isinstance(obj, dict) or not isinstance(obj.get("status_list"), dict):
        raise StatusListError("the status claim must be a map holding a status_list map", "status_reference")
    idx, uri = obj["status_list"].get("idx"), obj["status_list"].get("uri")
    if not _int(idx) or idx < 0:
        raise StatusListError("status_list idx must be a non-negative integer", "status_reference")
    if not isinstance(uri, str) or not _URI.fullmatch(uri):
        raise StatusListError("status_list uri must be a URI (RFC 3986)", "status_reference")
    return idx, uri
