"""The desk: one citizen's colour changed, with an audit trail, within the health authority's region.

Every status change, in one transaction: the status row, an audit row, and for each device the citizen's
code is bound to (their own, and each active proxy's), a new code issued and the previous one SUSPENDED
(Token Status List value 2), and every other code of the citizen still valid (found in the issued-code log)
suspended too, an ended proxy's revoked; after the commit the touched status lists are re-signed. A wallet's
next fetch returns the new code.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from issuer.errors import ValidationError
from issuer.health import store as t
from issuer.health.codes import Codes
from issuer.health.colours import parse_colour_and_reason, parse_id_number, parse_region, registered_region
from issuer.health.context import HealthContext, Touched
from issuer.health.models import AuditEntry, HealthStatus, SetResult


class StatusDesk:
    def __init__(self, ctx: HealthContext, codes: Codes):
        self.ctx = ctx
        self.codes = codes

    def status(self, id_number: str) -> HealthStatus | None:
        return self.ctx.status(id_number)

    def audit(self, id_number: str) -> list[AuditEntry]:
        ctx = self.ctx
        with ctx.engine.connect() as conn:
            rows = conn.execute(select(t.health_audit).where(t.health_audit.c.subject_hash == ctx.hash(id_number))
                                .order_by(t.health_audit.c.id))
            return [AuditEntry(r.at, r.actor, r.old_colour, r.new_colour, t.AUDIT_REASON.open(ctx.vault, r._mapping))
                    for r in rows]

    def set_status(self, id_number: str, colour: str, reason: str | None, *, actor: str, now: int,
                   name: str | None = None, region: str | None = None, operator: bool = False) -> SetResult:
        """Change one citizen's colour; audited; their bound codes re-issued and the old ones suspended.

        Yellow and red need a reason (``colours.parse_colour_and_reason``). The change is scoped to the region of
        the authority that owns health codes: the citizen's ID-number address code, their status row's region
        and a new ``region`` must all lie within it, else ``OutOfScope`` and nothing changes. Only an operator's
        deliberate override (``operator=True``: ``tongban health set --operator``) is not scoped."""
        ctx = self.ctx
        id_number = parse_id_number(id_number)
        colour, reason = parse_colour_and_reason(colour, reason)
        region = parse_region(region) if region is not None else None
        if not isinstance(actor, str) or not actor.strip():
            raise ValidationError("actor", "a status change must name who made it")
        ctx.check_scope(operator, registered_region(id_number), region)
        if ctx.status(id_number) is None and name is None:
            name = ctx.person(id_number).name
        touched: Touched = set()
        reissued, suspended = [], []
        with ctx.engine.begin() as conn:
            existed = ctx.status(id_number, conn) is not None
            before = ctx.ensure_status(conn, id_number, name or "", now)
            ctx.check_scope(operator, before.region)  # the row is locked: no change can move it meanwhile
            key = {"subject_hash": ctx.hash(id_number)}
            conn.execute(update(t.health_status).where(t.health_status.c.subject_hash == ctx.hash(id_number)).values(
                colour=colour, region=region or before.region, seq=before.seq + 1, updated_at=now,
                updated_by=actor[:200], **t.STATUS_REASON.seal(ctx.vault, key, reason)))
            conn.execute(insert(t.health_audit).values(
                subject_hash=ctx.hash(id_number), at=now, actor=actor[:200],
                old_colour=before.colour if existed else None,
                new_colour=colour, **t.AUDIT_REASON.seal(ctx.vault, {**key, "at": now}, reason)))
            after = ctx.status(id_number, conn)
            for binding in conn.execute(select(t.health_codes).where(
                    t.health_codes.c.subject_hash == ctx.hash(id_number))).all():
                new_id, old_id = self.codes.reissue(conn, binding, after, now, touched)
                if new_id:
                    reissued.append(new_id)
                    suspended.append(old_id)
            self.codes.suspend_strays(conn, ctx.hash(id_number), set(reissued), now, touched)
        ctx.publish_touched(touched, now)
        return SetResult(after, tuple(reissued), tuple(suspended))

    def require_in_scope(self, id_number: str) -> None:
        """``OutOfScope`` unless the citizen lies within the health authority's region: their ID-number address
        code and, when they have one, their status row's region (what ``set_status`` checks before a change)."""
        current = self.ctx.status(id_number)
        self.ctx.check_scope(False, registered_region(id_number), current.region if current is not None else None)


__all__ = ["StatusDesk"]
