"""Audit events in SQL. Details never include ID numbers or secrets (callers pass opaque ids only)."""

from __future__ import annotations

import json

from sqlalchemy import Engine, insert, select

from idp import models
from storage import events


class Audit:
    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, kind: str, *, now: int, sub: str | None = None, client_id: str | None = None,
               **detail: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(models.audit_events).values(
                at=now, kind=kind, sub=sub, client_id=client_id,
                detail=json.dumps(detail, ensure_ascii=False) if detail else None,
            ))
        events.emit("idp." + kind, client_id=client_id, at=now)  # metrics (logins by outcome)

    def events(self, sub: str | None = None, limit: int = 50, kinds: tuple[str, ...] | None = None) -> list[dict]:
        q = select(models.audit_events).order_by(models.audit_events.c.id.desc()).limit(limit)
        if sub is not None:
            q = q.where(models.audit_events.c.sub == sub)
        if kinds is not None:
            q = q.where(models.audit_events.c.kind.in_(kinds))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
