"""Errors raised by the wallet."""


class WalletError(Exception):
    reason = "wallet_error"


class NoSuchCredentialError(WalletError):
    reason = "no_such_credential"


class DisclosureError(WalletError):
    """The requested claims are not exactly one of the credential's views."""

    reason = "no_matching_view"
