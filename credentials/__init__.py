"""Pure format code shared by issuer, wallet and verifier: no I/O, no clock, no global keys."""

from credentials.catalogue import AGE_OVER_18, LICENCE_TYPES, LicenceType, View, licence_type
from credentials.cose import verify_sign1
from credentials.credential import CredentialBody, encode_payload, parse_credential, sign_credential
from credentials.errors import ClaimError, CredentialError, FramingError, StructureError
from credentials.framing import PREFIX, frame, unframe
from credentials.presentation import Presentation, credential_digest, make_presentation, parse_presentation

__all__ = [
    "AGE_OVER_18", "LICENCE_TYPES", "PREFIX", "ClaimError", "CredentialBody", "CredentialError", "FramingError",
    "LicenceType", "Presentation", "StructureError", "View", "credential_digest", "encode_payload", "frame",
    "licence_type", "make_presentation", "parse_credential", "parse_presentation", "sign_credential", "unframe",
    "verify_sign1",
]
