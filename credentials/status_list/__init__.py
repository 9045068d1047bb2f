"""Token Status List, IETF draft-ietf-oauth-status-list (section numbers as in the -18/-latest revision).

One module per job: ``encoding`` the §4 list (bit array, JSON and CBOR forms, §7.1 values), ``claims``
what the §5 token forms share, ``signing`` §5.1 JWT and §5.2 CWT tokens, ``verification`` §8.3 (and
``peek_times``), ``reference`` the Referenced Token's §6 ``status`` claim. tongban's extension for national
scale: ``delta`` (signed deltas and list digests; the format), ``changes`` (their change sets), ``feed``
(an authority's lists as one state the deltas move forward). COSE_Sign1 stays in
``credentials.cose``. Verifying fixes the algorithm and key and takes ``now`` from the caller; every
refusal is a ``StatusListError`` whose ``reason`` is a stable code.
"""

from credentials.status_list.changes import ChangeError
from credentials.status_list.claims import CWT_TYP, JWT_TYP, MAX_TOKEN_BYTES, StatusListToken, list_digest
from credentials.status_list.delta import DELTA_TYP, DeltaError, DeltaToken, sign_delta, state_root, verify_delta
from credentials.status_list.encoding import (
    ALLOWED_BITS,
    INVALID,
    MAX_DECOMPRESSED_BYTES,
    SUSPENDED,
    VALID,
    StatusList,
)
from credentials.status_list.errors import StatusListError
from credentials.status_list.feed import FeedState, from_snapshot, next_delta
from credentials.status_list.reference import parse_status_reference, status_reference
from credentials.status_list.signing import sign_status_list_cwt, sign_status_list_jwt
from credentials.status_list.verification import (
    peek_list,
    peek_times,
    verify_status_list_cwt,
    verify_status_list_jwt,
)

__all__ = [
    "ALLOWED_BITS", "CWT_TYP", "ChangeError", "DELTA_TYP", "DeltaError", "DeltaToken", "FeedState", "INVALID",
    "JWT_TYP", "MAX_DECOMPRESSED_BYTES", "MAX_TOKEN_BYTES", "SUSPENDED", "StatusList", "StatusListError",
    "StatusListToken", "VALID", "from_snapshot", "list_digest", "next_delta", "parse_status_reference", "peek_list",
    "peek_times", "sign_delta", "sign_status_list_cwt", "sign_status_list_jwt", "state_root", "status_reference",
    "verify_delta", "verify_status_list_cwt", "verify_status_list_jwt",
]
