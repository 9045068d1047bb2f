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


class TokenRefused(IdpError):
    """A refresh token that gives nothing: unknown, expired, revoked, another client's, bound to another DPoP key,
    or (``reason`` ``refresh_reuse``) used before, which revoked its family (RFC 9700 §4.14.2). The token
    endpoint answers ``invalid_grant`` (RFC 6749 §5.2)."""

    reason = "invalid_grant"

    def __init__(self, message: str, reason: str = "invalid_grant"):
        super().__init__(message)
        self.reason = reason


class ScopeNotGranted(IdpError):
    """A refresh asked for a scope its grant never had (RFC 6749 §6): ``invalid_scope``."""

    reason = "invalid_scope"


class IdpSuiteMismatch(IdpError):
    """The stored accounts were sealed under another cryptographic suite than the hub's (``idp.secrets``)."""

    reason = "idp_suite_mismatch"


class PasskeyRefused(IdpError):
    """A WebAuthn ceremony that gives nothing (``idp.passkeys``); ``reason`` says which check refused it. The
    citizen reads the message; the precise cause from the library goes to the log only."""

    reason = "passkey_refused"

    def __init__(self, message: str, reason: str = "passkey_refused"):
        super().__init__(message)
        self.reason = reason
