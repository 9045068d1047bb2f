"""The compact QR credential: a CWT (RFC 8392) in a COSE_Sign1 signed by the issuing authority.

Selective disclosure by **per-purpose views issued together**, not salted digests. Salted digests
(SD-CWT, ISO 18013-5 mdoc) put a 32-byte digest per claim into every presentation, disclosed or not,
plus a 16-byte salt per disclosed claim: for an 11-claim driving licence that is ~350 bytes of digests
before any data, which alone overflows QR version 13-M (322 bytes in base45). A view carries only the
claims it discloses, so the "age" view is a few bytes of claims. The issuer signs every view of a
licence at once (``full``, plus one per counter purpose, see ``credentials.catalogue``), all with the
same status-list entry, so revoking the licence revokes every view. The cost: the holder picks among
the issuer's views, not arbitrary subsets; the verifier checks that the view's claims are exactly the
set the catalogue defines for it.

CWT claims used (RFC 8392 §3.1, RFC 8747 §3.1), format 2 (what the issuer signs):
  6 iat, 4 exp, 5 nbf, 8 cnf {1: COSE_Key},
  -65537 (private use) [type code, view code, serial, version, claims, status list number, status index].
No ``iss``: the 8-byte kid names the key, and the trust list names the authority that owns it. For the same
reason the status reference is two integers, not the draft's ``status`` claim (65535, draft-ietf-oauth-status-list
§6.3: ``{"status_list": {"idx", "uri"}}``, 56 bytes): the list is ``tbsl:<the signing key's authority>/<number>``,
so a credential can only ever point into its own authority's lists. ``claims`` is ``{claim key: value}``, or
that map deflated with a preset dictionary, without the claims derivable from the ID number beside them
(``credentials.compact``, which gives the measured savings). Dates are RFC 8943 tag 100 (days since
1970-01-01): 5 bytes instead of 13. Together: the full ES256 driving-licence presentation shrinks from 463 to
317 bytes (QR version 17 → 13 at ECC M), the age view from 304 to 254 bytes (13 → 12).

Format 1 (until this release: the ``status`` claim 65535 and a five-member licence claim, claims in full) is
still read, so licences already in wallets keep working; both are signed by the issuer and say the same
things, so accepting both weakens nothing. The issuer signs only format 2; format 1 can be dropped once
every format-1 credential has expired or been refreshed (health codes within a day).
The COSE ``alg`` is the authority key's suite: -7 ES256, -8 EdDSA, or -65537 for SM2 with SM3 (GB/T 32918.2;
a private-use COSE algorithm value, another registry than the claim label above, see ``credentials.cose``).
A verifier takes the algorithm from the trust list's key, never from this header, and refuses a mismatch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import cbor2

from credentials.catalogue import BOOL, DATE, TEXT, TEXT_LIST, LicenceType, View, licence_type, licence_type_by_code
from credentials.cbor import TIME_LIMIT, check_time, dumps, loads_strict
from credentials.compact import deflate, inflate, not_before_from, omit_derived, restore_derived
from credentials.cose import KID_UNPROTECTED, Sign1, parse_sign1, sign1
from credentials.errors import ClaimError, StructureError
from credentials.status_list import StatusListError, parse_status_reference, status_reference
from credentials.status_uri import format_status_uri, parse_status_uri
from keys import KeyFormatError, PrivateKey, PublicKey

CWT_IAT, CWT_EXP, CWT_NBF, CWT_CNF, CWT_STATUS = 6, 4, 5, 8, 65535
CNF_COSE_KEY = 1
TONGBAN_CLAIM = -65537
_EPOCH = dt.date(1970, 1, 1)
_ALLOWED_KEYS = {CWT_IAT, CWT_EXP, CWT_NBF, CWT_CNF, CWT_STATUS, TONGBAN_CLAIM}
MAX_LIST_NO = 999_999_999  # tbsl:<authority>/<n>: n has at most nine digits (credentials.status_uri)


@dataclass(frozen=True)
class CredentialBody:
    licence_type: str
    view: str
    claims: dict[str, Any]
    serial: int
    version: int
    issued_at: int
    expires_at: int
    holder_key: PublicKey
    status_idx: int
    status_uri: str | None  # format 1 carries it; format 2 carries the list number only (``status_list``)
    not_before: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    status_list: int | None = None

    def status_uri_for(self, authority_id: str) -> str:
        """The status list this credential points into, once its signer's authority is known."""
        return self.status_uri if self.status_uri is not None else format_status_uri(authority_id, self.status_list)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _encode_value(kind: str, name: str, value: Any) -> Any:
    if kind == DATE:
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise ClaimError(name, "must be a date")
        return cbor2.CBORTag(100, (value - _EPOCH).days)
    if kind == TEXT_LIST:
        if not (isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)):
            raise ClaimError(name, "must be a list of text")
        return list(value)
    if kind == BOOL and not isinstance(value, bool):
        raise ClaimError(name, "must be true or false")
    if kind == TEXT and not isinstance(value, str):
        raise ClaimError(name, "must be text")
    return value


def _decode_value(kind: str, name: str, value: Any) -> Any:
    ok = {
        DATE: isinstance(value, dt.date) and not isinstance(value, dt.datetime),
        TEXT_LIST: isinstance(value, list) and all(isinstance(v, str) for v in value),
        BOOL: isinstance(value, bool),
        TEXT: isinstance(value, str),
    }[kind]
    if not ok:
        raise StructureError(f"claim {name} has the wrong type for a {kind}", "malformed_structure")
    return value


def view_of(ltype: LicenceType, view_name: str) -> View:
    view = ltype.view(view_name)
    if view is None:
        names = ", ".join(v.name for v in ltype.views)
        raise ClaimError("view", f"{ltype.name} has no view {view_name!r}; it has {names}")
    return view


def encode_payload(body: CredentialBody) -> bytes:
    ltype = licence_type(body.licence_type)
    if ltype is None:
        raise ClaimError("licence_type", f"unknown licence type {body.licence_type!r}")
    view = view_of(ltype, body.view)
    if set(body.claims) != set(view.claims):
        raise ClaimError("claims", f"view {view.name} discloses exactly {', '.join(view.claims)}")
    parsed = parse_status_uri(body.status_uri) if body.status_uri is not None else None
    list_no = parsed[1] if parsed else body.status_list
    if not (_is_int(list_no) and 1 <= list_no <= MAX_LIST_NO and _is_int(body.status_idx)
            and 0 <= body.status_idx < TIME_LIMIT):
        raise ClaimError("status", "needs a tongban status list (tbsl:<authority>/<n>) and an index")
    sent = omit_derived(body.claims)
    claims = {}
    for name in view.claims:
        if name in sent:
            spec = ltype.claim(name)
            claims[spec.key] = _encode_value(spec.kind, name, sent[name])
    packed = dumps(claims)
    squeezed = deflate(packed)
    payload: dict[int, Any] = {
        CWT_IAT: body.issued_at,
        CWT_EXP: body.expires_at,
        CWT_CNF: {CNF_COSE_KEY: _cose_key(body.holder_key)},
        TONGBAN_CLAIM: [ltype.code, view.code, body.serial, body.version,
                        squeezed if len(squeezed) < len(packed) else claims, list_no, body.status_idx],
    }
    if body.not_before is not None and body.not_before != not_before_from(body.claims):
        payload[CWT_NBF] = body.not_before
    return dumps(payload)


_COSE_KEYS: dict[tuple, dict[int, Any]] = {}  # holder keys by their JWK members: every view carries one


def _cose_key(key: PublicKey) -> dict[int, Any]:
    """``key.to_cose_key()``, remembered by the JWK members it is made from (not by a kid someone could set)."""
    members = (key.jwk.get("kty"), key.jwk.get("crv"), key.jwk.get("x"), key.jwk.get("y"))
    found = _COSE_KEYS.get(members)
    if found is None:
        if len(_COSE_KEYS) >= 4096:
            _COSE_KEYS.clear()
        found = _COSE_KEYS[members] = key.to_cose_key()
    return dict(found)


def sign_credential(body: CredentialBody, key: PrivateKey) -> bytes:
    return sign1(encode_payload(body), key, kid=key.public.short_kid)


def parse_credential(raw: bytes) -> tuple[Sign1, CredentialBody]:
    """Parse (without verifying) a credential; raise ``StructureError`` on anything malformed."""
    message = parse_sign1(raw, "credential", kid=KID_UNPROTECTED)
    return message, decode_payload(message.payload)


def decode_payload(payload: bytes) -> CredentialBody:
    cwt = loads_strict(payload, "credential claims")
    if not isinstance(cwt, dict) or not {CWT_IAT, CWT_EXP, CWT_CNF, TONGBAN_CLAIM} <= set(cwt):
        raise StructureError("credential claims lack iat, exp, cnf or the licence claim", "malformed_structure")
    if set(cwt) - _ALLOWED_KEYS:
        raise StructureError("credential has claims this format does not define", "malformed_structure")
    iat, exp = check_time(cwt[CWT_IAT], "iat"), check_time(cwt[CWT_EXP], "exp")
    nbf = check_time(cwt[CWT_NBF], "nbf") if CWT_NBF in cwt else None
    holder_key = _decode_cnf(cwt[CWT_CNF])
    inner = cwt[TONGBAN_CLAIM]
    format1 = CWT_STATUS in cwt
    size = 5 if format1 else 7
    if not (isinstance(inner, list) and len(inner) == size and all(_is_int(v) for v in inner[:4] + inner[5:])
            and isinstance(inner[4], dict | bytes)):
        raise StructureError("the licence claim must be [type, view, serial, version, claims, status list, index]",
                             "malformed_structure")
    type_code, view_code, serial, version, wire_claims = inner[:5]
    if not (0 <= serial < TIME_LIMIT and 0 <= version < TIME_LIMIT):
        raise StructureError("serial and version must be integers between 0 and 2^53", "malformed_structure")
    if format1:
        if not isinstance(wire_claims, dict):
            raise StructureError("format 1 carries its claims as a map", "malformed_structure")
        status_idx, status_uri = _decode_status(cwt[CWT_STATUS])
        list_no = None
    else:
        status_uri, (list_no, status_idx) = None, inner[5:]
        if not (1 <= list_no <= MAX_LIST_NO and 0 <= status_idx < TIME_LIMIT):
            raise StructureError("status list number or index out of range", "malformed_structure")
        if isinstance(wire_claims, bytes):
            wire_claims = loads_strict(inflate(wire_claims), "credential claims")
            if not isinstance(wire_claims, dict):
                raise StructureError("the compressed claims must be a map", "malformed_structure")
    ltype = licence_type_by_code(type_code)
    if ltype is None:
        raise StructureError(f"unknown licence type code {type_code}", "unknown_licence_type")
    view = ltype.view_by_code(view_code)
    if view is None:
        raise StructureError(f"{ltype.name} has no view code {view_code}", "disclosure_mismatch")
    claims = {}
    for key, value in wire_claims.items():
        spec = ltype.claim_by_key(key) if _is_int(key) else None
        if spec is None:
            raise StructureError(f"unknown claim key {key!r} for {ltype.name}", "disclosure_mismatch")
        claims[spec.name] = _decode_value(spec.kind, spec.name, value)
    if not format1:
        claims = restore_derived(claims, view.claims)
        derived_nbf = not_before_from(claims)
        if nbf is not None and nbf == derived_nbf:
            raise StructureError("nbf is sent although it is derived from valid_from", "malformed_structure")
        nbf = derived_nbf if nbf is None else nbf
    return CredentialBody(
        licence_type=ltype.name, view=view.name, claims=claims, serial=serial, version=version, issued_at=iat,
        expires_at=exp, holder_key=holder_key, status_idx=status_idx, status_uri=status_uri, not_before=nbf,
        status_list=list_no,
    )


def check_view(body: CredentialBody) -> None:
    """The disclosed claims must be exactly the set the catalogue defines for the view (no more, no less)."""
    view = licence_type(body.licence_type).view(body.view)
    if set(body.claims) != set(view.claims):
        raise StructureError(f"view {view.name} must disclose exactly {', '.join(view.claims)}", "disclosure_mismatch")


def _decode_cnf(cnf: Any) -> PublicKey:
    if not isinstance(cnf, dict) or set(cnf) != {CNF_COSE_KEY}:
        raise StructureError("cnf must hold exactly one COSE_Key", "malformed_structure")
    try:
        return PublicKey.from_cose_key(cnf[CNF_COSE_KEY])
    except KeyFormatError as exc:
        raise StructureError(f"holder key: {exc}", "malformed_structure") from exc


def _decode_status(status: Any) -> tuple[int, str]:
    """The draft's reference (§6.3), and nothing else: this format defines no other status members."""
    try:
        idx, uri = parse_status_reference(status)
    except StatusListError as exc:
        raise StructureError(f"status: {exc}", "malformed_structure") from exc
    if status != status_reference(idx, uri):
        raise StructureError("status may hold only status_list {idx, uri}", "malformed_structure")
    return idx, uri
