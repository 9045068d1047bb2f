"""Family proxies: a citizen lets a family member fetch and show their health code; ending a proxy REVOKES
(Token Status List value 1) every code fetched under it.

Grants recorded at a counter (``grant``: ``tongban proxies add``, staff saw both in person) are one-sided;
citizens invite instead (``issuer.health.invitations``, which makes its grant through ``grant_in``).
Ending takes the locks in the order of a fetch (the citizen's status row, then the grant's row,
``issuer.health.context``), so no fetch outlives the end.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from credentials.status_list import INVALID, VALID
from issuer import store
from issuer.errors import ValidationError
from issuer.health import store as t
from issuer.health.codes import Codes
from issuer.health.colours import parse_person_ref
from issuer.health.context import HealthContext, Touched
from issuer.health.errors import ProxyError
from issuer.health.models import HealthStatus, Person, Proxy


class Proxies:
    def __init__(self, ctx: HealthContext):
        self.ctx = ctx

    def grant(self, relative: Person, proxy_ref: str, *, via: str, recorded_by: str, now: int) -> Proxy:
        """``relative`` lets the person ``proxy_ref`` (ID number or phone) fetch and show their health code, at
        once: for the counter (``tongban proxies add``, staff saw both in person). Citizens invite instead
        (``issuer.health.invitations``): this names the person, so it is no endpoint of theirs."""
        if via not in ("self", "counter"):
            raise ValidationError("granted_via", "must be self or counter")
        _kind, value = parse_person_ref(proxy_ref)
        proxy = self.ctx.person(value)
        if proxy.id_number == relative.id_number:
            raise ValidationError("proxy", "a citizen cannot be their own proxy")
        with self.ctx.engine.begin() as conn:
            status = self.ctx.ensure_status(conn, relative.id_number, relative.name, now)
            return self.grant_in(conn, status, proxy, via=via, recorded_by=recorded_by, now=now)

    def grant_in(self, conn: Connection, relative: HealthStatus, proxy: Person, *, via: str, recorded_by: str,
                 now: int) -> Proxy:
        """Inside the caller's transaction, with the relative's status row locked: the active grant of ``proxy``
        for ``relative``, made now unless one exists (idempotent)."""
        ctx = self.ctx
        rel_hash, proxy_hash = ctx.hash(relative.id_number), ctx.hash(proxy.id_number)
        existing = conn.execute(select(t.health_proxies).where(
            t.health_proxies.c.relative_hash == rel_hash, t.health_proxies.c.proxy_hash == proxy_hash,
            t.health_proxies.c.ended_at.is_(None))).first()
        if existing is not None:
            return self.of_row(existing)
        pair = {"relative_hash": rel_hash, "proxy_hash": proxy_hash}
        proxy_id = conn.execute(insert(t.health_proxies).values(
            **pair, **t.NAMES.seal(ctx.vault, pair, {"relative_name": relative.name, "proxy_name": proxy.name}),
            granted_at=now, granted_via=via, recorded_by=recorded_by[:200])).inserted_primary_key[0]
        return self.of_row(ctx.proxy_row(conn, proxy_id))

    def end(self, proxy_id: int, relative_id_number: str, *, by: str, now: int) -> tuple[Proxy, tuple[str, ...]]:
        """The relative ends a proxy: its code is revoked through the status list; the proxy can fetch no more."""
        ctx = self.ctx
        touched: Touched = set()
        revoked: list[str] = []
        with ctx.engine.begin() as conn:
            grant = ctx.proxy_row(conn, proxy_id)
            if grant is None or grant.relative_hash != ctx.hash(relative_id_number):
                raise ProxyError("no such proxy of yours")
            ctx.lock_subject(conn, grant.relative_hash)  # the order of fetch: citizen, then grant
            grant = ctx.lock_grant(conn, proxy_id)
            if grant.ended_at is None:
                conn.execute(update(t.health_proxies).where(t.health_proxies.c.id == proxy_id).values(
                    ended_at=now, ended_by=by[:200]))
            # Every code fetched under this grant, bound or not (also after an earlier end: idempotent).
            codes = {b.elicence_id for b in conn.execute(select(t.health_codes.c.elicence_id).where(
                t.health_codes.c.proxy_id == proxy_id))}
            codes |= {elicence_id for elicence_id, _ in Codes.outstanding(conn, now, proxy_id=proxy_id)}
            for elicence_id in sorted(codes):
                before = store.find_in(conn, elicence_id).status
                if before != INVALID:  # suspended copies too: revocation is final
                    touched.add(store.mark_status(conn, elicence_id, INVALID))
                if before == VALID:
                    revoked.append(elicence_id)  # the ones that worked until now
            conn.execute(t.health_codes.delete().where(t.health_codes.c.proxy_id == proxy_id))
            grant = ctx.proxy_row(conn, proxy_id)
        ctx.publish_touched(touched, now)
        return self.of_row(grant), tuple(revoked)

    def of(self, id_number: str) -> dict[str, list[Proxy]]:
        """``granted``: proxies this citizen gave; ``held``: proxies others gave this citizen."""
        h = self.ctx.hash(id_number)
        with self.ctx.engine.connect() as conn:
            granted = conn.execute(select(t.health_proxies).where(t.health_proxies.c.relative_hash == h)
                                   .order_by(t.health_proxies.c.id)).all()
            held = conn.execute(select(t.health_proxies).where(t.health_proxies.c.proxy_hash == h)
                                .order_by(t.health_proxies.c.id)).all()
        return {"granted": [self.of_row(r) for r in granted], "held": [self.of_row(r) for r in held]}

    def of_row(self, row) -> Proxy:  # a health_proxies row
        names = t.NAMES.open(self.ctx.vault, row._mapping)
        return Proxy(row.id, names["relative_name"], names["proxy_name"], row.granted_at, row.granted_via,
                     row.recorded_by, row.ended_at)


__all__ = ["Proxies"]
