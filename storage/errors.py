"""Errors raised by storage adapters."""


class StorageError(Exception):
    reason = "storage_error"


class StorageUnavailable(StorageError):
    """A configured server (PostgreSQL, Redis) cannot be reached."""

    reason = "storage_unavailable"
