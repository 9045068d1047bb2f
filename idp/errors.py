"""The identity provider's one exception root; each error carries a stable reason code.

HTTP status and OAuth error mapping happen only in the web layer (the modules ``idp.web`` routes); the CLI
prints ``str(exc)``.
Messages are for people: they say what happened and what to do, in Chinese and English.
"""

from __future__ import annotations


class IdpError(Exception):
    reason = "idp_error"


class InvalidInput(IdpError):
    """A field is malformed (ID number check digit, phone format, empty name...)."""

    reason = "invalid_input"

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class RegistryMismatch(IdpError):
    """The name and ID number pair is not in the population registry."""

    reason = "registry_mismatch"


class RegistryUnavailable(IdpError):
    reason = "registry_unavailable"


class AccountExists(IdpError):
    reason = "account_exists"


class BadCredentials(IdpError):
    reason = "bad_credentials"


class SecondFactorRequired(IdpError):
    reason = "second_factor_required"


class LockedOut(IdpError):
    """Too many failures: the account or the source address is locked for ``retry_after`` seconds."""

    reason = "locked_out"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class UnknownClient(IdpError):
    reason = "unknown_client"
