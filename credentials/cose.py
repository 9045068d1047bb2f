"""COSE_Sign1 (RFC 9052 §4.2), the one parser and signer for every COSE message tongban reads or writes.

The algorithm is fixed by the key, never by the message. Untrusted bytes are parsed strictly here
(deterministic CBOR, tag 18, four members of the right types, only the header labels a role allows);
the Sig_structure (§4.4) is built from the parsed protected header and payload with the project's
deterministic CBOR encoder, and ``keys`` makes and checks the signature (r||s for ES256, RFC 9053 §2.1).
No COSE library runs in production: the one the project used (pycose) is unmaintained and called a
private method for this; it remains a test dependency, as the independent implementation our messages
must verify in (tests/credentials/test_cose_interop.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2

from credentials.cbor import dumps, loads_strict
from credentials.errors import StructureError
from keys import PrivateKey, PublicKey

# RFC 9053 §2.1, §2.2. SM2 (SM2 signature with SM3, GB/T 32918.2, GM/T 0009's default user id, r || s) has no
# IANA COSE algorithm: -65537 is the first value of the private-use range (integers below -65536, RFC 9052
# §11.1), so only a verifier whose trust list names an SM2 key accepts it. It costs 4 bytes of protected header
# over ES256's -7 in a QR credential; the 64-byte signature is the same size as ES256's.
COSE_ALG = {"ES256": -7, "EdDSA": -8, "SM2": -65537}
SIGN1_TAG = 18
HDR_ALG, HDR_KID, HDR_TYP = 1, 4, 16  # RFC 9052 §3.1; typ: RFC 9596

# Where a role's kid may appear (RFC 9052 §3.1 allows either bucket; a format may fix one):
KID_ANYWHERE = "anywhere"  # foreign formats (the EU DCC puts it in either)
KID_UNPROTECTED = "unprotected"  # tongban credentials: protected {alg}, unprotected exactly {kid}
NO_KID = "none"  # holder proofs: protected {alg}, unprotected empty (the key comes from the credential's cnf)


@dataclass(frozen=True)
class Sign1:
    """A parsed, not yet verified, COSE_Sign1; ``protected`` is the header's serialized (signed) form."""

    raw: bytes
    alg: int
    kid: bytes | None
    payload: bytes
    protected: bytes = b""
    signature: bytes = b""
    headers: dict[int, Any] | None = None  # the protected header, decoded


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """RFC 9052 §4.4: ``["Signature1", body_protected, external_aad, payload]``, the bytes that are signed."""
    return dumps(["Signature1", protected, external_aad, payload])


_ALG_ONLY = {alg: dumps({HDR_ALG: value}) for alg, value in COSE_ALG.items()}  # the protected header of most roles


def sign1(payload: bytes, key: PrivateKey, *, kid: bytes | None = None, external_aad: bytes = b"",
          protected_extra: dict[int, Any] | None = None, ordered: bool = True) -> bytes:
    """A tagged COSE_Sign1 over ``payload``: protected ``{alg (, extra)}``, unprotected ``{kid}`` when given."""
    if protected_extra:
        protected = dumps({HDR_ALG: COSE_ALG[key.alg], **protected_extra}, ordered=ordered)
    else:
        protected = _ALG_ONLY[key.alg]
    signature = key.sign(sig_structure(protected, payload, external_aad))
    return dumps(cbor2.CBORTag(SIGN1_TAG, [protected, {HDR_KID: kid} if kid else {}, payload, signature]))


def parse_sign1(raw: bytes, what: str, *, kid: str = KID_ANYWHERE, extra_protected: frozenset[int] = frozenset(),
                max_bytes: int | None = None, ordered: bool = True) -> Sign1:
    """Parse a tagged COSE_Sign1 strictly; ``kid`` fixes where this role's key id may be.

    The unprotected header is not signed (RFC 9052 §4.4): anything in it is a way to change a message's
    bytes without its key. So tongban's own roles allow exactly what they need there and nothing else;
    ``extra_protected`` names the further protected labels a role understands (e.g. ``typ``). Everything
    else, ``crit`` and counter signatures included, is refused, never ignored.
    """
    limits = {} if max_bytes is None else {"max_bytes": max_bytes}
    value = loads_strict(raw, what, **limits)
    if not isinstance(value, cbor2.CBORTag) or value.tag != SIGN1_TAG:
        raise StructureError(f"{what} is not a tagged COSE_Sign1", "malformed_structure")
    parts = value.value
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise StructureError(f"{what} must have four members", "malformed_structure")
    protected_raw, unprotected, payload, signature = parts
    if not (isinstance(protected_raw, bytes) and isinstance(unprotected, dict) and isinstance(payload, bytes)
            and isinstance(signature, bytes)):
        raise StructureError(f"{what} members have the wrong types", "malformed_structure")
    if protected_raw == b"\xa0":  # RFC 9052 §3: an empty protected header is the empty byte string
        raise StructureError(f"{what} protected header: an empty map must be sent as h''", "malformed_cbor")
    protected = loads_strict(protected_raw, f"{what} protected header", ordered=ordered) if protected_raw else {}
    known = {HDR_ALG, HDR_KID} | extra_protected
    if not isinstance(protected, dict) or set(protected) - known:
        raise StructureError(f"{what} protected header may hold only {sorted(known)}", "malformed_structure")
    if set(unprotected) - {HDR_KID} or (HDR_KID in protected and HDR_KID in unprotected):
        raise StructureError(f"{what} unprotected header may hold only kid, once", "malformed_structure")
    if kid != KID_ANYWHERE and (set(protected) - extra_protected != {HDR_ALG}
                                or set(unprotected) != ({HDR_KID} if kid == KID_UNPROTECTED else set())):
        where = "only its kid" if kid == KID_UNPROTECTED else "nothing"
        raise StructureError(f"{what}: the protected header holds only alg, the unprotected header {where}",
                             "malformed_structure")
    alg, key_id = protected.get(HDR_ALG), protected.get(HDR_KID, unprotected.get(HDR_KID))
    if not isinstance(alg, int) or isinstance(alg, bool) or (key_id is not None and not isinstance(key_id, bytes)):
        raise StructureError(f"{what} header values have the wrong types", "malformed_structure")
    return Sign1(raw=raw, alg=alg, kid=key_id, payload=payload, protected=protected_raw, signature=signature,
                 headers=protected)


def algorithm_matches(message: Sign1, key: PublicKey) -> bool:
    """The message's declared algorithm is the key's own (the key decides; a mismatch is its own refusal)."""
    return message.alg == COSE_ALG.get(key.alg)


def verify_sign1(message: Sign1, key: PublicKey, *, external_aad: bytes = b"") -> bool:
    """True only if ``key``'s own algorithm produced the signature (no algorithm confusion)."""
    if not algorithm_matches(message, key):
        return False
    return key.verify(message.signature, sig_structure(message.protected, message.payload, external_aad))
