"""COSE_Sign1 (RFC 9052 §4.2) through pycose, with the algorithm fixed by the key, never by the message.

Untrusted bytes are first parsed strictly here (tag 18, four members of the right types, known
header labels) so that pycose only ever sees a well-formed structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2
from pycose.algorithms import EdDSA, Es256
from pycose.headers import KID, Algorithm
from pycose.messages import Sign1Message

from credentials.cbor import loads_strict
from credentials.errors import StructureError
from keys import PrivateKey, PublicKey

COSE_ALG = {"ES256": -7, "EdDSA": -8}  # RFC 9053 §2.1, §2.2
_PYCOSE_ALG = {"ES256": Es256, "EdDSA": EdDSA}
_SIGN1_TAG = 18
_HDR_ALG, _HDR_KID = 1, 4


@dataclass(frozen=True)
class Sign1:
    """A parsed, not yet verified, COSE_Sign1; ``protected`` is the header's serialized (signed) form."""

    raw: bytes
    alg: int
    kid: bytes | None
    payload: bytes
    protected: bytes = b""


# Where a role's kid may appear (RFC 9052 §3.1 allows either bucket; a format may fix one):
KID_ANYWHERE = "anywhere"  # foreign formats (the EU DCC puts it in either)
KID_UNPROTECTED = "unprotected"  # tongban credentials: protected {alg}, unprotected exactly {kid}
NO_KID = "none"  # holder proofs: protected {alg}, unprotected empty (the key comes from the credential's cnf)


def sign1(payload: bytes, key: PrivateKey, *, kid: bytes | None = None, external_aad: bytes = b"") -> bytes:
    """pycose builds the Sig_structure (RFC 9052 §4.4) and the message; ``keys`` makes the signature.

    pycose's own ES256 path runs the pure-Python ``ecdsa`` package (slow, not side-channel hardened),
    so the signature itself comes from ``cryptography`` through ``keys.PrivateKey.sign``, which returns
    the fixed-width r||s form COSE requires (RFC 9053 §2.1).
    """
    message = Sign1Message(
        phdr={Algorithm: _PYCOSE_ALG[key.alg]}, uhdr={KID: kid} if kid else {}, payload=payload,
        external_aad=external_aad,
    )
    message.signature = key.sign(message._create_sig_structure())  # noqa: SLF001 - pycose's Sig_structure builder
    return message.encode(tag=True, sign=False)


def parse_sign1(raw: bytes, what: str, *, kid: str = KID_ANYWHERE) -> Sign1:
    """Parse a tagged COSE_Sign1 strictly; ``kid`` fixes where this role's key id may be.

    The unprotected header is not signed (RFC 9052 §4.4): anything in it is a way to change a message's
    bytes without its key. So tongban's own roles allow exactly what they need there and nothing else.
    """
    value = loads_strict(raw, what)
    if not isinstance(value, cbor2.CBORTag) or value.tag != _SIGN1_TAG:
        raise StructureError(f"{what} is not a tagged COSE_Sign1", "malformed_structure")
    parts = value.value
    if not isinstance(parts, list) or len(parts) != 4:
        raise StructureError(f"{what} must have four members", "malformed_structure")
    protected_raw, unprotected, payload, signature = parts
    if not (isinstance(protected_raw, bytes) and isinstance(unprotected, dict) and isinstance(payload, bytes)
            and isinstance(signature, bytes)):
        raise StructureError(f"{what} members have the wrong types", "malformed_structure")
    if protected_raw == b"\xa0":  # RFC 9052 §3: an empty protected header is the empty byte string
        raise StructureError(f"{what} protected header: an empty map must be sent as h''", "malformed_cbor")
    protected = loads_strict(protected_raw, f"{what} protected header") if protected_raw else {}
    # Only alg and kid are understood; anything else (crit, counter signatures, ...) is refused, not ignored.
    if not isinstance(protected, dict) or set(protected) - {_HDR_ALG, _HDR_KID}:
        raise StructureError(f"{what} protected header may hold only alg and kid", "malformed_structure")
    if set(unprotected) - {_HDR_KID} or (_HDR_KID in protected and _HDR_KID in unprotected):
        raise StructureError(f"{what} unprotected header may hold only kid, once", "malformed_structure")
    if kid != KID_ANYWHERE and (set(protected) != {_HDR_ALG}
                                or set(unprotected) != ({_HDR_KID} if kid == KID_UNPROTECTED else set())):
        where = "only its kid" if kid == KID_UNPROTECTED else "nothing"
        raise StructureError(f"{what}: the protected header holds only alg, the unprotected header {where}",
                             "malformed_structure")
    alg, key_id = protected.get(_HDR_ALG), protected.get(_HDR_KID, unprotected.get(_HDR_KID))
    if not isinstance(alg, int) or isinstance(alg, bool) or (key_id is not None and not isinstance(key_id, bytes)):
        raise StructureError(f"{what} header values have the wrong types", "malformed_structure")
    return Sign1(raw=raw, alg=alg, kid=key_id, payload=payload, protected=protected_raw)


def algorithm_matches(message: Sign1, key: PublicKey) -> bool:
    """The message's declared algorithm is the key's own (the key decides; a mismatch is its own refusal)."""
    return message.alg == COSE_ALG.get(key.alg)


def verify_sign1(message: Sign1, key: PublicKey, *, external_aad: bytes = b"") -> bool:
    """True only if ``key``'s own algorithm produced the signature (no algorithm confusion)."""
    if not algorithm_matches(message, key):
        return False
    try:
        decoded: Any = Sign1Message.decode(message.raw)
        decoded.external_aad = external_aad
        to_be_signed = decoded._create_sig_structure()  # noqa: SLF001 - pycose's Sig_structure builder
    except Exception:  # noqa: BLE001 - pycose raises many types on odd input; all mean "invalid"
        return False
    return key.verify(decoded.signature, to_be_signed)
