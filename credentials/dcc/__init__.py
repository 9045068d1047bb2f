"""EU Digital COVID Certificates (hcert spec v1.0.5): the HC1 QR payload decoded, without a key or a clock.

``decode(text)`` runs the format steps in order (``qr``: prefix, base45, zlib; ``cose``: COSE_Sign1 and its
headers; ``cwt``: claims; ``schema``: the HCERT) and returns what a verifier decides on. The signature, the
signer's certificate and the times are the verifier's (``verifier.dcc_pipeline``), with keys from ``keys``.
"""

from __future__ import annotations

from dataclasses import dataclass

from credentials.dcc.cose import SUPPORTED_ALGS, DccSign1, parse_cose
from credentials.dcc.cwt import DccClaims, parse_claims
from credentials.dcc.qr import PREFIX, cose_bytes, is_dcc
from credentials.dcc.schema import Hcert, check_hcert


@dataclass(frozen=True)
class DecodedDcc:
    sign1: DccSign1
    claims: DccClaims


def decode(text: str) -> DecodedDcc:
    """``HC1:...`` → the unverified COSE message and its claims (``DccError`` at the first step that fails)."""
    sign1 = parse_cose(cose_bytes(text))
    return DecodedDcc(sign1=sign1, claims=parse_claims(sign1.payload))


__all__ = ["PREFIX", "SUPPORTED_ALGS", "DccClaims", "DccSign1", "DecodedDcc", "Hcert", "check_hcert", "decode",
           "is_dcc", "parse_claims", "parse_cose"]
