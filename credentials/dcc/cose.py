"""The DCC's COSE_Sign1 (hcert spec v1.0.5 §3.2, RFC 9052 §4.2), read leniently but bounded.

A DCC is foreign: it was encoded by some other country's software, so deterministic CBOR is not asked for
(tongban's own codes are refused otherwise, ``credentials.cbor``), only well-formed, single-item, at most
64 KiB and 16 levels deep, integers in CBOR's range. Tags: a CWT tag (61) may wrap the message, and the
COSE_Sign1 tag (18) may be present or not (hcert §3.2: "tagged or untagged"). The signature is checked over
the protected header's bytes exactly as received (RFC 9052 §4.4), whatever their encoding.

Headers (hcert §3.2.1): the kid is read from the protected header, and from the unprotected header only
when the protected one has none. The protected header is under the signature; the unprotected one is not,
so anyone holding a code can rewrite it. Were the unprotected kid to win, a copier could point the verifier
at another signer of their choice (one with a broader key usage, one not yet withdrawn) without touching a
signed byte; the spec's order (protected first) makes the signed kid the one that counts. ``alg`` is read
the same way, but it decides nothing: the signer's key allows exactly one algorithm (ES256 on P-256, PS256
on RSA), so a rewritten unprotected ``alg`` can only make the check fail. ``crit`` (label 2) is refused,
since this verifier understands no critical extension; other labels (content type 3, ...) are ignored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import cbor2

from credentials.cbor import MAX_CBOR_BYTES, check_bounds
from credentials.cose import HDR_ALG, HDR_KID, SIGN1_TAG, sig_structure
from credentials.errors import DccError, StructureError

CWT_TAG = 61  # RFC 8392 §6
HDR_CRIT = 2
SUPPORTED_ALGS = {-7: "ES256", -37: "PS256"}  # hcert §3.2.2: ES256 primary, PS256 secondary; nothing else
_DECODE_ERRORS = (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError, MemoryError,
                  IndexError, KeyError, AttributeError, UnicodeDecodeError, LookupError)


@dataclass(frozen=True)
class DccSign1:
    """A parsed, unverified DCC COSE_Sign1; ``protected`` is the header's bytes as signed."""

    alg: int | None
    kid: bytes | None
    protected: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected, self.payload)


def loads_foreign(data: bytes, what: str) -> Any:
    """One well-formed CBOR item, any encoding, bounded in size, depth and integers (``malformed_cbor``)."""
    if len(data) > MAX_CBOR_BYTES:
        raise DccError(f"{what} is larger than {MAX_CBOR_BYTES} bytes", "too_large")
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except _DECODE_ERRORS as exc:
        raise DccError(f"{what} is not well-formed CBOR", "dcc_cbor") from exc
    if stream.tell() != len(data):
        raise DccError(f"{what} has trailing bytes after its CBOR item", "dcc_cbor")
    try:
        check_bounds(value, what)
    except StructureError as exc:
        raise DccError(str(exc), "dcc_cbor") from exc
    return value


def parse_cose(raw: bytes) -> DccSign1:
    """The COSE_Sign1 inside an HC1 payload; ``DccError`` (``dcc_cose``) for anything else."""
    value = loads_foreign(raw, "the DCC's COSE message")
    if isinstance(value, cbor2.CBORTag) and value.tag == CWT_TAG:
        value = value.value
    if isinstance(value, cbor2.CBORTag):
        if value.tag != SIGN1_TAG:
            raise DccError(f"the DCC is tagged {value.tag}, not as a COSE_Sign1 (18)", "dcc_cose")
        value = value.value
    if not isinstance(value, list) or len(value) != 4:
        raise DccError("the DCC is not a COSE_Sign1 (an array of four members)", "dcc_cose")
    protected_raw, unprotected, payload, signature = value
    if not (isinstance(protected_raw, bytes) and isinstance(unprotected, dict) and isinstance(payload, bytes)
            and isinstance(signature, bytes)):
        raise DccError("the DCC's COSE_Sign1 members have the wrong types", "dcc_cose")
    protected = loads_foreign(protected_raw, "the DCC's protected header") if protected_raw else {}
    if not isinstance(protected, dict):
        raise DccError("the DCC's protected header is not a map", "dcc_cose")
    if HDR_CRIT in protected or HDR_CRIT in unprotected:
        raise DccError("the DCC names critical header parameters this verifier does not understand", "dcc_cose")
    alg = protected.get(HDR_ALG, unprotected.get(HDR_ALG))
    kid = protected[HDR_KID] if HDR_KID in protected else unprotected.get(HDR_KID)
    if (alg is not None and (not isinstance(alg, int) or isinstance(alg, bool))) or (
            kid is not None and not isinstance(kid, bytes)):
        raise DccError("the DCC's alg or kid header has the wrong type", "dcc_cose")
    return DccSign1(alg=alg, kid=kid, protected=protected_raw, payload=payload, signature=signature)
