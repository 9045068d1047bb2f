"""Audit events in SQL, as a hash chain: an entry removed, changed, reordered or inserted afterwards shows.

Details never include ID numbers or secrets (callers pass opaque ids only).

Each entry stores ``prev_digest`` (the digest of the entry before it; ``GENESIS`` for the first) and ``digest`` =
SHA-256 over ``prev_digest`` and the entry's canonical JSON (its time, kind, subject, client and detail; sorted
keys, no spaces). Appends are serialised — on PostgreSQL by a transaction advisory lock, on SQLite by its single
writer (``BEGIN IMMEDIATE``) — so concurrent writers, in any number of processes, never fork the chain. ``verify``
walks the chain in id order and names the first entry that does not fit. Whoever can rewrite the whole table can
recompute every digest; periodic **anchors** (``service.audit``: the newest digest signed with the hub key, kept
in the chain and outside it) make that detectable too.

Every event is also emitted (``storage.events``): metrics count sign-ins by outcome.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import Connection

from idp import models
from storage import events

GENESIS = "0" * 64
LOCK_ID = 7243010  # service.schema 7243000, idp.migrate 7243001, issuer.pii_migrate 7243002, issuer.migrate 7243003
_T = models.audit_events


def entry_digest(prev: str, *, at: int, kind: str, sub: str | None, client_id: str | None, detail: str | None) -> str:
    """The chain's link: SHA-256 of the previous digest and this entry's canonical JSON."""
    body = json.dumps({"at": at, "kind": kind, "sub": sub, "client_id": client_id, "detail": detail},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(prev.encode() + b"\n" + body.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """What ``verify`` found. ``broken_id`` names the first entry that does not fit (None: the chain holds)."""

    checked: int
    legacy: int  # entries from before the chain began (NULL digests)
    first_id: int | None
    last_id: int | None
    last_digest: str
    starts_after: str  # GENESIS, or the digest the oldest kept entry follows (older entries pruned)
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


class Audit:
    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, kind: str, *, now: int, sub: str | None = None, client_id: str | None = None,
               **detail: object) -> int:
        """Append one entry; returns its id."""
        text_detail = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None
        with self.engine.begin() as conn:
            new_id = self.append(conn, kind, now=now, sub=sub, client_id=client_id, detail=text_detail)
        events.emit("idp." + kind, client_id=client_id, at=now)  # metrics (logins by outcome)
        return new_id

    @staticmethod
    def append(conn: Connection, kind: str, *, now: int, sub: str | None, client_id: str | None,
               detail: str | None) -> int:
        """Append inside the caller's transaction (the lock is held until it ends)."""
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT pg_advisory_xact_lock({LOCK_ID})"))
        prev = conn.execute(select(_T.c.digest).where(_T.c.digest.is_not(None)).order_by(_T.c.id.desc()).limit(1)
                            ).scalar() or GENESIS
        digest = entry_digest(prev, at=now, kind=kind, sub=sub, client_id=client_id, detail=detail)
        return conn.execute(insert(_T).values(at=now, kind=kind, sub=sub, client_id=client_id, detail=detail,
                                              prev_digest=prev, digest=digest)).inserted_primary_key[0]

    def events(self, sub: str | None = None, limit: int = 50, kinds: tuple[str, ...] | None = None) -> list[dict]:
        q = select(_T).order_by(_T.c.id.desc()).limit(limit)
        if sub is not None:
            q = q.where(_T.c.sub == sub)
        if kinds is not None:
            q = q.where(_T.c.kind.in_(kinds))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def rows(self, batch: int = 1000) -> Iterator[dict]:
        """Every entry in id order, read in batches."""
        last = 0
        with self.engine.connect() as conn:
            while True:
                page = conn.execute(select(_T).where(_T.c.id > last).order_by(_T.c.id).limit(batch)).all()
                yield from (dict(r._mapping) for r in page)
                if len(page) < batch:
                    return
                last = page[-1].id

    def digest_of(self, entry_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(_T.c.digest).where(_T.c.id == entry_id)).scalar()

    def verify(self) -> ChainReport:
        """Walk the chain; the first entry whose link or digest does not fit is named."""
        checked = legacy = 0
        first_id = last_id = None
        prev = starts_after = ""
        for row in self.rows():
            if row["digest"] is None:
                if checked:  # a NULL after the chain began: an entry written around it
                    return ChainReport(checked, legacy, first_id, last_id, prev, starts_after, row["id"],
                                       "entry without a digest inside the chain")
                legacy += 1
                continue
            if not checked:
                first_id, starts_after, prev = row["id"], row["prev_digest"] or "", row["prev_digest"] or ""
            if row["prev_digest"] != prev:
                return ChainReport(checked, legacy, first_id, last_id, prev, starts_after, row["id"],
                                   "does not follow the entry before it (one removed, inserted or reordered)")
            expected = entry_digest(prev, at=row["at"], kind=row["kind"], sub=row["sub"], client_id=row["client_id"],
                                    detail=row["detail"])
            if row["digest"] != expected:
                return ChainReport(checked, legacy, first_id, last_id, prev, starts_after, row["id"],
                                   "content does not match its digest (changed after it was written)")
            prev, last_id, checked = row["digest"], row["id"], checked + 1
        return ChainReport(checked, legacy, first_id, last_id, prev or GENESIS, starts_after or GENESIS)


__all__ = ["GENESIS", "Audit", "ChainReport", "entry_digest"]
