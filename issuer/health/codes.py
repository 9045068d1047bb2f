"""Health codes bound to devices: fetch the current code, sign a new one, re-issue a bound one, and find every
code of a citizen or a grant still outstanding.

A code is bound to one device key per holder (``health_codes``: the citizen's own, ``proxy_id`` 0, and one per
proxy grant). Every code ever signed is logged (``issuer.health.proxy_store.health_issued``), so that a status
change can suspend, and the end of a proxy revoke, every code still valid, also one whose binding was lost.
Status values are Token Status List's (draft-ietf-oauth-status-list §7.1): SUSPENDED (2) for a code replaced by
a newer one, INVALID (1, revoked) for a code of an ended proxy. The caller re-signs the touched lists.
"""

from __future__ import annotations

import base64
import json

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from credentials.status_list import INVALID, SUSPENDED, VALID
from issuer import store
from issuer.health import proxy_store
from issuer.health import store as t
from issuer.health.colours import HEALTH_CODE, code_claims, needs_new_code, views_for
from issuer.health.context import HealthContext, Touched
from issuer.health.errors import HealthError, ProxyError
from issuer.health.models import HealthCode, HealthStatus
from issuer.service import IssueRequest
from keys import PublicKey


def _b64(views: dict[str, bytes]) -> str:
    return json.dumps({k: base64.b64encode(v).decode() for k, v in views.items()})


def _unb64(text: str) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in json.loads(text).items()}


class Codes:
    def __init__(self, ctx: HealthContext):
        self.ctx = ctx

    def fetch(self, id_number: str, name: str, device: PublicKey, *, now: int, proxy_id: int = 0,
              requester_id_number: str | None = None) -> HealthCode:
        """The current code for ``id_number`` bound to ``device``: the stored one while it is current, else a
        new one (the one it replaces is suspended). With ``proxy_id`` the requester must hold that active proxy
        for the citizen; the code then carries ``shown_by`` and the proxy views."""
        ctx = self.ctx
        touched: Touched = set()
        with ctx.engine.begin() as conn:
            shown_by = None
            subject = id_number
            if proxy_id:
                grant = ctx.proxy_row(conn, proxy_id)
                if (grant is None or requester_id_number is None
                        or grant.proxy_hash != ctx.hash(requester_id_number)):
                    raise ProxyError("no such proxy for you")
                # The relative's row, then the grant's, locked (as end_proxy does): an end either finished before
                # (this sees ended_at) or waits until this code is recorded (and then revokes it).
                relative = ctx.lock_subject(conn, grant.relative_hash)
                grant = ctx.lock_grant(conn, proxy_id)
                if relative is None or grant.ended_at is not None:
                    raise ProxyError("this proxy has ended")
                person = t.PERSON.open(ctx.vault, relative._mapping)
                subject, name = person["id_number"], person["name"]
                shown_by = t.NAMES.open(ctx.vault, grant._mapping)["proxy_name"]
            status = ctx.ensure_status(conn, subject, name, now)
            subject_hash = ctx.hash(subject)
            binding = conn.execute(select(t.health_codes).where(t.health_codes.c.subject_hash == subject_hash,
                                                                t.health_codes.c.proxy_id == proxy_id)).first()
            current_valid = binding is not None and store.find_in(conn, binding.elicence_id).status == VALID
            if binding is not None and not needs_new_code(
                    bound_kid=binding.device_kid, device_kid=device.kid, bound_seq=binding.seq, status_seq=status.seq,
                    current_valid=current_valid, expires_at=binding.expires_at, now=now, policy=ctx.policy):
                return HealthCode(binding.elicence_id, status.colour, binding.expires_at,
                                  _unb64(t.VIEWS.open(ctx.vault, binding._mapping)), proxy_id, ctx.authority.id)
            issued = self.issue(conn, status, device, shown_by, now,
                                replaces=binding.elicence_id if binding is not None else None, proxy_id=proxy_id)
            values = dict(device_jwk=json.dumps(device.jwk), device_kid=device.kid, elicence_id=issued.elicence_id,
                          seq=status.seq, issued_at=now, expires_at=issued.expires_at,
                          **t.VIEWS.seal(ctx.vault, {"subject_hash": subject_hash, "proxy_id": proxy_id},
                                         _b64(issued.views)))
            if binding is None:
                conn.execute(insert(t.health_codes).values(subject_hash=subject_hash, proxy_id=proxy_id, **values))
            else:
                touched.add(store.mark_status(conn, binding.elicence_id, SUSPENDED))
                conn.execute(update(t.health_codes).where(t.health_codes.c.id == binding.id).values(**values))
        ctx.publish_touched(touched, now)
        return HealthCode(issued.elicence_id, status.colour, issued.expires_at, issued.views, proxy_id,
                          issued.authority_id)

    def issue(self, conn: Connection, status: HealthStatus, device: PublicKey, shown_by: str | None, now: int,
              replaces: str | None = None, proxy_id: int = 0):  # issuer.service.IssuedLicence
        """Sign one code and log it (``health_issued``), so that every code still outstanding can be found."""
        ctx = self.ctx
        claims = code_claims(name=status.name, id_number=status.id_number, colour=status.colour, reason=status.reason,
                             region=status.region, shown_by=shown_by)
        issued = ctx.issuer.issue(HEALTH_CODE, claims, device, now=now, views=views_for(shown_by is not None),
                                  lifetime=ctx.policy.lifetime, conn=conn, replaces=replaces)
        conn.execute(insert(proxy_store.health_issued).values(
            elicence_id=issued.elicence_id, subject_hash=ctx.hash(status.id_number), proxy_id=proxy_id,
            expires_at=issued.expires_at))
        return issued

    def reissue(self, conn: Connection, binding, status: HealthStatus, now: int,  # a health_codes row
                touched: Touched) -> tuple[str | None, str | None]:
        """Issue a new code to the binding's device, suspend the one it replaces (caller publishes)."""
        ctx = self.ctx
        shown_by = None
        if binding.proxy_id:
            grant = ctx.proxy_row(conn, binding.proxy_id)
            if grant is None or grant.ended_at is not None:
                # An ended proxy gets nothing, and a code still bound to it is revoked now (never skipped).
                touched.add(store.mark_status(conn, binding.elicence_id, INVALID))
                conn.execute(t.health_codes.delete().where(t.health_codes.c.id == binding.id))
                return None, None
            shown_by = t.NAMES.open(ctx.vault, grant._mapping)["proxy_name"]
        device = PublicKey.from_jwk(json.loads(binding.device_jwk))
        issued = self.issue(conn, status, device, shown_by, now, replaces=binding.elicence_id,
                            proxy_id=binding.proxy_id)
        touched.add(store.mark_status(conn, binding.elicence_id, SUSPENDED))
        conn.execute(update(t.health_codes).where(t.health_codes.c.id == binding.id).values(
            elicence_id=issued.elicence_id, seq=status.seq, issued_at=now, expires_at=issued.expires_at,
            **t.VIEWS.seal(ctx.vault, binding._mapping, _b64(issued.views))))
        return issued.elicence_id, binding.elicence_id

    def reissue_many(self, conn: Connection, bindings: list, statuses: dict[str, HealthStatus], now: int,
                     touched: Touched, *, shard: int = 0) -> list[str]:
        """``reissue`` for a batch of bindings whose citizens' status rows the caller locked (``statuses`` by
        subject hash): one ``Issuer.issue_many`` per kind of holder (own code, proxy), one insert into the log,
        one suspension of the codes replaced, one update of the bindings. Returns the new e-licence ids."""
        ctx = self.ctx
        grants = {}
        if any(b.proxy_id for b in bindings):
            wanted = sorted({b.proxy_id for b in bindings if b.proxy_id})
            grants = {g.id: g for g in conn.execute(select(t.health_proxies).where(t.health_proxies.c.id.in_(wanted)))}
        groups: dict[bool, list] = {False: [], True: []}
        for binding in bindings:
            status = statuses.get(binding.subject_hash)
            if status is None:
                raise HealthError("a health code is bound to a citizen with no status row; run the re-issue again")
            shown_by = None
            if binding.proxy_id:
                grant = grants.get(binding.proxy_id)
                if grant is None or grant.ended_at is not None:  # as in ``reissue``: revoked, never skipped
                    touched.add(store.mark_status(conn, binding.elicence_id, INVALID))
                    conn.execute(t.health_codes.delete().where(t.health_codes.c.id == binding.id))
                    continue
                shown_by = t.NAMES.open(ctx.vault, grant._mapping)["proxy_name"]
            claims = code_claims(name=status.name, id_number=status.id_number, colour=status.colour,
                                 reason=status.reason, region=status.region, shown_by=shown_by)
            device = PublicKey.from_jwk(json.loads(binding.device_jwk))
            groups[shown_by is not None].append((binding, status, IssueRequest(claims, device, binding.elicence_id)))
        new_ids: list[str] = []
        for proxy, group in groups.items():
            if not group:
                continue
            issued = ctx.issuer.issue_many(HEALTH_CODE, [request for _, _, request in group], now=now,
                                           views=views_for(proxy), lifetime=ctx.policy.lifetime, conn=conn, shard=shard)
            conn.execute(insert(proxy_store.health_issued), [
                {"elicence_id": new.elicence_id, "subject_hash": binding.subject_hash, "proxy_id": binding.proxy_id,
                 "expires_at": new.expires_at} for (binding, _, _), new in zip(group, issued, strict=True)])
            touched |= store.mark_statuses(conn, [binding.elicence_id for binding, _, _ in group], SUSPENDED)
            conn.execute(update(t.health_codes).where(t.health_codes.c.id == bindparam("binding_id")), [
                {"binding_id": binding.id, "elicence_id": new.elicence_id, "seq": status.seq, "issued_at": now,
                 "expires_at": new.expires_at, **t.VIEWS.seal(ctx.vault, binding._mapping, _b64(new.views))}
                for (binding, status, _), new in zip(group, issued, strict=True)])
            new_ids.extend(new.elicence_id for new in issued)
        return new_ids

    @staticmethod
    def outstanding(conn: Connection, now: int, *, subject_hash: str | None = None,
                    proxy_id: int | None = None) -> list[tuple[str, int]]:
        """(e-licence id, proxy id) of every logged code not revoked and not expired, of one citizen or one grant."""
        log, issued = proxy_store.health_issued, store.issued
        query = (select(log.c.elicence_id, log.c.proxy_id)
                 .join(issued, issued.c.elicence_id == log.c.elicence_id)
                 .where(log.c.expires_at > now, issued.c.status != INVALID))
        if subject_hash is not None:
            query = query.where(log.c.subject_hash == subject_hash)
        if proxy_id is not None:
            query = query.where(log.c.proxy_id == proxy_id)
        return [(r.elicence_id, r.proxy_id) for r in conn.execute(query.order_by(log.c.elicence_id))]

    def suspend_strays(self, conn: Connection, subject_hash: str, keep: set[str], now: int, touched: Touched) -> None:
        """After a status change re-issued the bound codes (``keep``): every other code of the citizen still
        valid is suspended, one of an ended proxy revoked. Nothing of an older colour stays valid."""
        ended = {r.id for r in conn.execute(select(t.health_proxies.c.id).where(
            t.health_proxies.c.relative_hash == subject_hash, t.health_proxies.c.ended_at.is_not(None)))}
        for elicence_id, proxy_id in self.outstanding(conn, now, subject_hash=subject_hash):
            if elicence_id in keep:
                continue
            if proxy_id in ended:
                touched.add(store.mark_status(conn, elicence_id, INVALID))
            elif store.find_in(conn, elicence_id).status == VALID:
                touched.add(store.mark_status(conn, elicence_id, SUSPENDED))


__all__ = ["Codes"]
