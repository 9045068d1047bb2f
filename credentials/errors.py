"""Errors raised while encoding or parsing credentials; ``reason`` is the stable code a verifier reports."""


class CredentialError(Exception):
    """Root of every error raised by ``credentials``."""

    reason = "credential_error"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason:
            self.reason = reason


class FramingError(CredentialError):
    """The QR string's prefix, base45 or compression is wrong."""

    reason = "malformed_encoding"


class StructureError(CredentialError):
    """The CBOR is not a credential or presentation of this format."""

    reason = "malformed_structure"


class ClaimError(CredentialError):
    """A claim value does not fit its schema; the message names the field."""

    reason = "invalid_claim"

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class DccError(CredentialError):
    """An EU DCC (hcert) failed a format step; ``reason`` names the step (``dcc_base45``, ``dcc_schema``, ...)."""

    reason = "dcc_malformed"
