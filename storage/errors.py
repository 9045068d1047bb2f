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

    return (StorageUnavailable, sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError,
            *redis_unavailable_errors())


def redis_unavailable_errors() -> tuple[type[Exception], ...]:
    """redis-py's errors for a Redis that cannot be reached (``storage.redis_client`` hands them out)."""
    import redis
    from redis.exceptions import ClusterDownError

    # Sentinel's MasterNotFoundError is a ConnectionError; a cluster without a quorum answers CLUSTERDOWN.
    return (redis.ConnectionError, redis.TimeoutError, ClusterDownError)
