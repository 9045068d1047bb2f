"""Errors raised by storage adapters, and the driver errors that mean "a store cannot be reached"."""

from __future__ import annotations


class StorageError(Exception):
    reason = "storage_error"


class StorageUnavailable(StorageError):
    """A configured server (PostgreSQL, Redis) cannot be reached, or did not answer in time."""

    reason = "storage_unavailable"


def unavailable_errors() -> tuple[type[Exception], ...]:
    """Every exception that means a store is unreachable or too slow, whichever layer raised it: ours, SQLAlchemy's
    (a refused or dropped connection, a statement or socket timeout, a pool with no free connection) and redis-py's
    (used directly by the verifier's replay cache). The web edge answers all of them 503 (``service.errors``)."""
    from sqlalchemy import exc as sa

    from storage.redis_client import unavailable_errors as redis_errors

    return (StorageUnavailable, sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError,
            *redis_errors())
