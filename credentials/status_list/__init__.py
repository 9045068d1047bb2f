"""Token Status List, IETF draft-ietf-oauth-status-list (section numbers as in the -18/-latest revision).

One module per job: ``encoding`` the §4 list (bit array, JSON and CBOR forms, §7.1 values), ``claims``
what the §5 token forms share, ``signing`` §5.1 JWT and §5.2 CWT tokens, ``verification`` §8.3 (and
``peek_times``), ``reference`` the Referenced Token's §6 ``status`` claim. COSE_Sign1 stays in
``credentials.cose``. Verifying fixes the algorithm and key and takes ``now`` from the caller; every
refusal is a ``StatusListError`` whose ``reason`` is a stable code.
"""

from credentials.status_list.claims import CWT_TYP, JWT_TYP, MAX_TOKEN_BYTES, StatusListToken
from credentials.status_list.encoding import (
    ALLOWED_BITS,
    INVALID,
    MAX_DECOMPRESSED_BYTES,
    SUSPENDED,
    VALID,
    StatusList,
)
from credentials.status_list.errors import StatusListError
from credentials.status_list.reference import parse_status_reference, status_reference
from credentials.status_list.signing import sign_status_list_cwt, sign_status_list_jwt
from credentials.status_list.verification import peek_times, verify_status_list_cwt, verify_status_list_jwt

__all__ = [
    "ALLOWED_BITS", "CWT_TYP", "INVALID", "JWT_TYP", "MAX_DECOMPRESSED_BYTES", "MAX_TOKEN_BYTES", "SUSPENDED",
    "VALID", "StatusList", "StatusListError", "StatusListToken", "parse_status_reference", "peek_times",
    "sign_status_list_cwt", "sign_status_list_jwt", "status_reference", "verify_status_list_cwt",
    "verify_status_list_jwt",
]
