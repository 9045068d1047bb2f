"""The one error of the Token Status List code (draft-ietf-oauth-status-list); ``reason`` is a stable code."""

from __future__ import annotations

from credentials.errors import CredentialError


class StatusListError(CredentialError):
    """A Status List, Status List Token or status reference was refused; ``reason`` says which check."""

    reason = "status_list_malformed"
