"""Replay caches: remember each presentation's holder proof for its freshness window.

``MemoryReplayCache`` for a long-running counter process; ``SqliteReplayCache`` for the
command line, where every ``tongban verify`` is a new process sharing the cache directory.
Both implement ``verifier.ports.ReplayCache``.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


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


class SqliteReplayCache:
    def __init__(self, path: Path):
        self.path = path

    def first_seen(self, key: bytes, *, now: int, ttl: int) -> bool:
        with sqlite3.connect(self.path, timeout=10) as db:
            db.execute("CREATE TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)")
            db.execute("DELETE FROM seen WHERE expires_at <= ?", (now,))
            inserted = db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, now + ttl)).rowcount
        return inserted == 1
