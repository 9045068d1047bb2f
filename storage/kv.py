"""Ephemeral key-value store: the narrow contract every adapter honours (cf. node-oidc-provider's adapter).

``put / get / consume / delete`` with a TTL in seconds, plus ``incr`` for rate-limit counters.
``consume`` is an atomic get-and-delete: of any number of racing callers, exactly one sees the value
(authorization codes are single-use, RFC 6749 §4.1.2). Values are ``str``. The memory adapter is the
embedded default; ``REDIS_URL`` selects Redis. Time is injectable in the memory adapter only for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from storage.errors import StorageUnavailable
from storage.timeouts import BATCH, Timeouts


class KeyValueStore(Protocol):
    def put(self, key: str, value: str, ttl: int) -> None: ...
    def get(self, key: str) -> str | None: ...
    def consume(self, key: str) -> str | None: ...
    def delete(self, key: str) -> None: ...
    def incr(self, key: str, ttl: int) -> int: ...
    def ttl(self, key: str) -> int | None: ...
    # Atomically replace the value of an EXISTING key (a new TTL), returning the previous one; a missing key stays
    # missing and gives None. Of racing callers exactly one sees the original value (cf. ``consume``).
    def replace(self, key: str, value: str, ttl: int) -> str | None: ...
    # Sets (an index of keys, e.g. an account's sessions): adding and removing one member never rewrites the
    # others, so concurrent writers cannot lose each other's members. ``add_member`` (re)starts the set's TTL.
    def add_member(self, key: str, member: str, ttl: int) -> None: ...
    def remove_member(self, key: str, member: str) -> None: ...
    def members(self, key: str) -> set[str]: ...


class MemoryStore:
    """In-process store (one process only): a dict guarded by a lock, expiry checked on read."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._data: dict[str, tuple[str, float]] = {}
        self._sets: dict[str, tuple[set[str], float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def _live(self, key: str) -> tuple[str, float] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._data[key]
            return None
        return item

    def put(self, key: str, value: str, ttl: int) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        with self._lock:
            self._data[key] = (value, self._clock() + ttl)

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._live(key)
            return item[0] if item else None

    def consume(self, key: str) -> str | None:
        with self._lock:
            item = self._live(key)
            if item is None:
                return None
            del self._data[key]
            return item[0]

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def incr(self, key: str, ttl: int) -> int:
        """Increment a counter; the TTL starts with the first increment (a fixed window)."""
        with self._lock:
            item = self._live(key)
            if item is None:
                self._data[key] = ("1", self._clock() + ttl)
                return 1
            value = int(item[0]) + 1
            self._data[key] = (str(value), item[1])
            return value

    def ttl(self, key: str) -> int | None:
        with self._lock:
            item = self._live(key)
            return None if item is None else max(1, int(item[1] - self._clock() + 0.999))

    def replace(self, key: str, value: str, ttl: int) -> str | None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        with self._lock:
            item = self._live(key)
            if item is None:
                return None
            self._data[key] = (value, self._clock() + ttl)
            return item[0]

    def _live_set(self, key: str) -> set[str]:
        item = self._sets.get(key)
        if item is None or item[1] <= self._clock():
            self._sets.pop(key, None)
            return set()
        return item[0]

    def add_member(self, key: str, member: str, ttl: int) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        with self._lock:
            self._sets[key] = (self._live_set(key) | {member}, self._clock() + ttl)

    def remove_member(self, key: str, member: str) -> None:
        with self._lock:
            self._live_set(key).discard(member)

    def members(self, key: str) -> set[str]:
        with self._lock:
            return set(self._live_set(key))


class RedisStore:
    """Redis adapter: SET EX, GETDEL (atomic, Redis >= 6.2), INCR + EXPIRE NX in one transaction."""

    def __init__(self, url: str, prefix: str = "tb:", timeouts: Timeouts = BATCH):
        from storage import redis_client

        self._redis = redis_client.client(url, timeouts, decode_responses=True)
        self._prefix = prefix
        self._errors = redis_client.unavailable_errors()

    def _call(self, fn: Callable, *args):  # thin wrapper
        try:
            return fn(*args)
        except self._errors as exc:
            raise StorageUnavailable(f"cannot reach Redis: {exc}") from exc

    def put(self, key: str, value: str, ttl: int) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._call(self._redis.set, self._prefix + key, value, ttl)

    def get(self, key: str) -> str | None:
        return self._call(self._redis.get, self._prefix + key)

    def consume(self, key: str) -> str | None:
        return self._call(self._redis.getdel, self._prefix + key)

    def delete(self, key: str) -> None:
        self._call(self._redis.delete, self._prefix + key)

    def incr(self, key: str, ttl: int) -> int:
        def run() -> int:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(self._prefix + key)
            pipe.expire(self._prefix + key, ttl, nx=True)
            return int(pipe.execute()[0])

        return self._call(run)

    def ttl(self, key: str) -> int | None:
        value = self._call(self._redis.ttl, self._prefix + key)
        return value if value and value > 0 else None

    def replace(self, key: str, value: str, ttl: int) -> str | None:
        """SET key value XX GET EX ttl (Redis >= 6.2): one atomic command."""
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        return self._call(lambda: self._redis.set(self._prefix + key, value, ex=ttl, xx=True, get=True))

    def add_member(self, key: str, member: str, ttl: int) -> None:
        """SADD and EXPIRE in one round trip (MULTI/EXEC)."""
        if ttl <= 0:
            raise ValueError("ttl must be positive")

        def run() -> None:
            pipe = self._redis.pipeline(transaction=True)
            pipe.sadd(self._prefix + key, member)
            pipe.expire(self._prefix + key, ttl)
            pipe.execute()

        self._call(run)

    def remove_member(self, key: str, member: str) -> None:
        self._call(self._redis.srem, self._prefix + key, member)

    def members(self, key: str) -> set[str]:
        return set(self._call(self._redis.smembers, self._prefix + key))

    def memory_usage(self, key: str) -> int:
        """Bytes Redis uses for one key (MEMORY USAGE), for the benchmark."""
        return int(self._call(self._redis.memory_usage, self._prefix + key) or 0)


def make_store(url: str = "", timeouts: Timeouts = BATCH) -> KeyValueStore:
    """The memory store for an empty URL, Redis for ``redis://``, ``rediss://``, Sentinel and Cluster URLs
    (``storage.redis_client``), bounded by ``timeouts``."""
    from storage.redis_client import SCHEMES

    if not url:
        return MemoryStore()
    if url.startswith(SCHEMES):
        return RedisStore(url, timeouts=timeouts)
    raise StorageUnavailable(f"unsupported REDIS_URL scheme: {url.split(':', 1)[0]!r}")
