"""Staff roles: who may act for which authority (``authority_staff``), by the keyed hash of their ID number.

Only staff of the authority that owns health codes change statuses (``/admin``, ``issuer.health.admin_web``);
``tongban authorities grant`` makes them.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from issuer.errors import NotAuthorisedError, ValidationError
from issuer.health import store as t
from issuer.health.colours import parse_id_number
from issuer.health.context import HealthContext

STAFF_ROLES = ("officer", "admin")


class Staff:
    def __init__(self, ctx: HealthContext):
        self.ctx = ctx

    def grant(self, id_number: str, authority_id: str, role: str, now: int) -> bool:
        """Idempotent; True when the grant is new or changed the role."""
        ctx = self.ctx
        id_number = parse_id_number(id_number, "username")
        ctx.issuer.hub.authority(authority_id)  # must exist
        if role not in STAFF_ROLES:
            raise ValidationError("role", f"must be one of {', '.join(STAFF_ROLES)}")
        h = ctx.hash(id_number)
        with ctx.engine.begin() as conn:
            row = conn.execute(select(t.authority_staff).where(t.authority_staff.c.subject_hash == h,
                                                               t.authority_staff.c.authority_id == authority_id)).first()
            if row is not None and row.role == role:
                return False
            if row is None:
                conn.execute(insert(t.authority_staff).values(subject_hash=h, authority_id=authority_id, role=role,
                                                              granted_at=now))
            else:
                conn.execute(update(t.authority_staff).where(t.authority_staff.c.subject_hash == h,
                                                             t.authority_staff.c.authority_id == authority_id)
                             .values(role=role))
        return True

    def role(self, id_number: str | None, authority_id: str) -> str | None:
        if not id_number:
            return None
        return self.role_by_hash(self.ctx.hash(id_number), authority_id)

    def role_by_hash(self, subject: str, authority_id: str) -> str | None:
        if not subject:
            return None
        with self.ctx.engine.connect() as conn:
            return conn.execute(select(t.authority_staff.c.role).where(
                t.authority_staff.c.subject_hash == subject, t.authority_staff.c.authority_id == authority_id)).scalar()

    def require_health_staff(self, id_number: str | None) -> str:
        """Only staff of the authority that owns health-code may change statuses."""
        authority = self.ctx.authority
        role = self.role(id_number, authority.id)
        if role is None:
            raise NotAuthorisedError(f"not staff of {authority.id}")
        return role


__all__ = ["STAFF_ROLES", "Staff"]
