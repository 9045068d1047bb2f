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
