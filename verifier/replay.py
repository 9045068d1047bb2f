"""Replay caches: remember each presentation's holder proof for its freshness window.

``MemoryReplayCache`` for a long-running counter process; ``RedisReplayCache`` when several counter
processes (or machines) share one Redis (``REDIS_URL``); ``SqliteReplayCache`` for the command line,
where every ``tongban verify`` is a new process sharing the cache directory. All implement
``verifier.ports.ReplayCache``.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from verifier.errors import VerifierError


class MemoryReplayCache:
    def __init__(self) -> None:
        self._seen: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def first_seen(self, key: bytes, *, now: int, ttl: int) -> bool:
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: exp for k, exp in self._seen.items() if exp > now}
            expiry = self._seen.get(key)
            if expiry is not None and expiry > now:
                return False
            self._seen[key] = now + ttl
            return True


class RedisReplayCache:
    """``SET key 1 NX EX ttl``: atomic across processes; Redis expires the entries itself.

    Redis keeps its own clock, so ``now`` is not used (the pipeline's ``now`` only chooses the ttl).
    A Redis that cannot be reached raises ``VerifierError``, which the pipeline turns into an
    invalid decision: a counter must not accept a possibly replayed code because its cache is down.
    """

    def __init__(self, url: str, prefix: str = "tb:replay:"):
        from storage import redis_client
        from storage.timeouts import BATCH

        self._redis = redis_client.client(url, BATCH)  # 2 s bounds; one server, Sentinel or Cluster, as the URL says
        self._prefix = prefix.encode()
        self._errors = redis_client.unavailable_errors()

    def first_seen(self, key: bytes, *, now: int, ttl: int) -> bool:
        try:
            return bool(self._redis.set(self._prefix + key.hex().encode(), b"1", nx=True, ex=max(1, ttl)))
        except self._errors as exc:
            raise VerifierError(f"cannot reach the replay cache (Redis): {exc}", "replay_cache_unavailable") from exc


class SqliteReplayCache:
    def __init__(self, path: Path):
        self.path = path

    def first_seen(self, key: bytes, *, now: int, ttl: int) -> bool:
        with sqlite3.connect(self.path, timeout=10) as db:
            db.execute("CREATE TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)")
            db.execute("DELETE FROM seen WHERE expires_at <= ?", (now,))
            inserted = db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, now + ttl)).rowcount
        return inserted == 1
