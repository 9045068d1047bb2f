"""Which process runs the background jobs: a PostgreSQL advisory lock elects one, among every worker of every instance.

Background work (re-signing status lists before they go stale, signing audit anchors) must run somewhere and is
wasteful — or, for a publisher, racy — when it runs everywhere at once. ``Leadership`` holds a session advisory
lock (``pg_try_advisory_lock``) on one dedicated connection: the process that got it leads until that connection
ends. If the leader dies, PostgreSQL releases the lock with its session, and another process takes it at its next
``held()`` check (every few seconds). A leader whose connection broke (a PostgreSQL restart) notices at its next
check — its ``SELECT 1`` fails — and competes again like everyone else; for that moment two may both believe
they lead, which the jobs tolerate (each list is re-signed under its own lock; a duplicate anchor is harmless).

SQLite (the embedded default) has one process: it always leads.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

log = logging.getLogger("tongban.leader")

LOCK_ID = 7243020  # service.schema 7243000, idp.audit 7243010


class Leadership:
    def __init__(self, engine: Engine, lock_id: int = LOCK_ID):
        self.engine = engine
        self.lock_id = lock_id
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def held(self) -> bool:
        """True when this process leads now (acquiring the lock if it is free)."""
        if self.engine.dialect.name != "postgresql":
            return True
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    self._conn.commit()
                    return True
                except Exception:  # the session (and the lock with it) is gone
                    log.warning("lost the leadership connection", extra={"event": "leader_lost"})
                    self._drop()
            try:
                conn = self.engine.connect()
            except Exception:
                return False
            try:
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": self.lock_id}).scalar())
                conn.commit()
            except Exception:
                conn.close()
                return False
            if not got:
                conn.close()
                return False
            self._conn = conn
            log.info("leading the background jobs", extra={"event": "leader_elected"})
            return True

    def release(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):  # gone anyway: PostgreSQL released it with the session
                    self._conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": self.lock_id})
                    self._conn.commit()
                self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken
                conn.invalidate()  # never back into the pool: a pooled connection must not carry the lock
                conn.close()


__all__ = ["LOCK_ID", "Leadership"]
