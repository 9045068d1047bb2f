"""Errors of the SD-JWT code; ``reason`` is the stable code a verifier reports (the message says what is wrong)."""

from __future__ import annotations

from credentials.errors import CredentialError


class SdJwtError(CredentialError):
    """An SD-JWT, a Disclosure or a Key Binding JWT that does not hold. Reasons used:

    ``sd_jwt_malformed`` (framing, JSON, sizes), ``sd_jwt_typ``, ``sd_jwt_alg`` (``none``, an algorithm other than
    the key's), ``sd_jwt_unknown_key``, ``sd_jwt_signature``, ``sd_jwt_digest_alg`` (an ``_sd_alg`` we do not know),
    ``disclosure_malformed``, ``disclosure_unreferenced``, ``disclosure_duplicate`` (a digest or Disclosure seen
    twice), ``disclosure_conflict`` (a disclosed name already present), ``sd_jwt_claims`` (a registered claim
    missing or of the wrong kind), ``sd_jwt_expired``, ``sd_jwt_not_yet_valid``, ``kb_missing``, ``kb_invalid``,
    ``kb_sd_hash``, ``kb_nonce``, ``kb_audience``, ``kb_stale``, ``status_invalid``, ``status_suspended``,
    ``status_unknown``, ``sd_jwt_unsupported_alg`` (an issuer key JOSE cannot carry, e.g. SM2).
    """

    reason = "sd_jwt_malformed"
