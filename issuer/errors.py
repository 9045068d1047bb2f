"""Errors raised by the issuer; messages name the field or the record a user has to fix."""


class IssuerError(Exception):
    reason = "issuer_error"


class ValidationError(IssuerError):
    """Claims failed validation; nothing was issued."""

    reason = "invalid_claims"

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class NotAuthorisedError(IssuerError):
    reason = "issuer_not_authorised"


class UnknownCredentialError(IssuerError):
    reason = "unknown_credential"


class KeyProofRefused(IssuerError):
    """An OpenID4VCI key proof (§8.2.1.1) that does not hold; ``error`` is §8.3.1.2's code for the answer."""

    reason = "invalid_proof"

    def __init__(self, message: str, *, error: str = "invalid_proof"):
        super().__init__(message)
        self.error = error
