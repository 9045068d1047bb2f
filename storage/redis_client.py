"""One way to open Redis: bounded waits (``storage.timeouts``) and at most one immediate retry.

redis-py's default retries a failed command three times with exponential backoff: with Redis down a request
waits seconds and then fails anyway, and every thread of the service does the same. Here a command is retried
once, at once, and only when the connection broke (a pooled connection Redis closed at its restart: the retry
runs on a fresh one); a timeout is not retried, it already took the whole bound.
"""

from __future__ import annotations

from typing import Any

from storage.timeouts import Timeouts


def client(url: str, timeouts: Timeouts, **options: Any) -> Any:
    """A ``redis.Redis`` for ``url`` (``redis://``, ``rediss://``, ``unix://``) with ``timeouts``' bounds."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url, socket_connect_timeout=timeouts.redis_connect, socket_timeout=timeouts.redis_socket,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)), health_check_interval=0, **options)


def unavailable_errors() -> tuple[type[Exception], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError)


__all__ = ["client", "unavailable_errors"]
