"""Errors of the online (OpenID4VP) verifier; ``reason`` is the stable code an app and the log see."""

from __future__ import annotations

from verifier.errors import VerifierError


class OnlineError(VerifierError):
    """A request, a query or a response that does not hold. Reasons used:

    ``dcql_invalid`` (a DCQL query we cannot run), ``request_invalid``, ``request_not_found``, ``request_expired``,
    ``response_already_received`` (a second answer to one request), ``state_mismatch``, ``vp_token_malformed``,
    ``vp_token_replayed``, ``credential_missing`` (a DCQL credential id not answered, or an id not asked for),
    ``vct_not_requested``, ``claims_not_requested`` (a Disclosure beyond the query), ``claim_missing`` (no claim
    set of the query is satisfied), ``claim_value`` (a value outside the query's ``values``), ``trust_unavailable``,
    ``status_unknown``, ``revoked``, ``suspended``, ``status_reference_invalid``, and every ``SdJwtError`` reason
    (``kb_nonce``, ``kb_audience``, ``kb_stale``, ``kb_invalid``, ``sd_jwt_signature``, ...).
    """

    reason = "request_invalid"
