"""Errors raised by key management; each carries a stable reason code."""


class KeysError(Exception):
    """Root of every error raised by ``keys``."""

    reason = "keys_error"


class KeyFormatError(KeysError):
    reason = "key_format"


class KeyAtRestError(KeysError):
    """A private key could not be read or written under the at-rest policy."""

    reason = "key_at_rest"


class NoSigningKeyError(KeysError):
    reason = "no_signing_key"


class TrustListError(KeysError):
    """A trust list was refused; ``reason`` says why."""

    reason = "trust_list_invalid"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason:
            self.reason = reason
