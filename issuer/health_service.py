"""Health codes as an application service: statuses with an audit trail, codes bound to devices, family
proxies, staff roles and the resumable bulk re-issue.

Every status change, in one transaction: the status row, an audit row, and for each device the citizen's
code is bound to (their own, and each active proxy's), a new code issued and the previous one SUSPENDED
(Token Status List value 2), and every other code of the citizen still valid (found in the issued-code log,
``issuer.proxy_store.health_issued``) suspended too, an ended proxy's revoked; after the commit the touched
status lists are re-signed. A wallet's next fetch returns the new code. Ending a proxy REVOKES (value 1) every
code fetched under it.

Locks (issue 8: an end racing a fetch once left a valid code for 24 h): fetching, ending a proxy and changing
a status all lock the citizen's ``health_status`` row first, then (for a proxy) the grant's row, in that
order; so they run one after the other for one citizen, and whichever comes second sees what the first wrote.

Ports: ``People`` resolves a username (ID number or phone) to a person (the service wires it to the
identity provider's accounts); nothing here imports ``idp``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from credentials import licence_type, parse_credential
from credentials.status_list import INVALID, SUSPENDED, VALID
from issuer import health_store as t
from issuer import proxy_store, store
from issuer.errors import IssuerError, NotAuthorisedError, ValidationError
from issuer.health import (
    HEALTH_CODE,
    HealthPolicy,
    code_claims,
    needs_new_code,
    parse_colour,
    parse_id_number,
    parse_person_ref,
    parse_reason,
    parse_region,
    views_for,
)
from issuer.service import Issuer
from keys import PublicKey

STAFF_ROLES = ("officer", "admin")


class HealthError(IssuerError):
    reason = "health_error"


class UnknownPerson(HealthError):
    reason = "unknown_person"


class ProxyError(HealthError):
    reason = "proxy_error"


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    phone: str | None = None  # their registered mobile number: invitations to it are theirs to answer


class People(Protocol):
    def find(self, username: str) -> Person | None:
        """A registered citizen by resident ID number or mobile phone number, else None."""
        ...


@dataclass(frozen=True)
class HealthStatus:
    id_number: str
    name: str
    colour: str
    reason: str
    region: str
    seq: int
    updated_at: int
    updated_by: str

    def to_json(self) -> dict:
        return {"colour": self.colour, "reason": self.reason, "region": self.region, "name": self.name,
                "updated_at": self.updated_at}


@dataclass(frozen=True)
class AuditEntry:
    at: int
    actor: str
    old_colour: str | None
    new_colour: str
    reason: str

    def to_json(self) -> dict:
        return {"at": self.at, "actor": self.actor, "old_colour": self.old_colour, "new_colour": self.new_colour,
                "reason": self.reason}


@dataclass(frozen=True)
class HealthCode:
    elicence_id: str
    colour: str
    expires_at: int
    views: dict[str, bytes]
    proxy_id: int
    authority_id: str

    def to_json(self, authority_name: str = "") -> dict:
        """The wallet's view: the shape of ``POST /issuer/credential`` plus colour, expiry and proxy."""
        ltype = licence_type(HEALTH_CODE)
        views = {k: base64.urlsafe_b64encode(v).decode().rstrip("=") for k, v in self.views.items()}
        _, full = parse_credential(self.views.get("full") or self.views["proxy-full"])
        summary = {"name": full.claims["name"], "colour": self.colour, "expires_at": self.expires_at,
                   "authority": authority_name, "reason": full.claims.get("reason", ""),
                   "region": full.claims.get("region", "")}
        if "shown_by" in full.claims:
            summary["shown_by"] = full.claims["shown_by"]
        return {
            "credentials": [{"credential": views}], "elicence_id": self.elicence_id, "licence_type": HEALTH_CODE,
            "label": ltype.label, "authority_id": self.authority_id,
            "views": {v.name: {"label": v.label, "claims": list(v.claims)} for v in ltype.views if v.name in views},
            "summary": summary, "colour": self.colour, "expires_at": self.expires_at, "proxy_id": self.proxy_id or None,
        }


@dataclass(frozen=True)
class Proxy:
    id: int
    relative_name: str
    proxy_name: str
    granted_at: int
    granted_via: str
    recorded_by: str
    ended_at: int | None

    def to_json(self) -> dict:
        return {"id": self.id, "relative_name": self.relative_name, "proxy_name": self.proxy_name,
                "granted_at": self.granted_at, "granted_via": self.granted_via, "ended_at": self.ended_at,
                "active": self.ended_at is None}


@dataclass(frozen=True)
class SetResult:
    status: HealthStatus
    reissued: tuple[str, ...]  # new e-licence ids
    suspended: tuple[str, ...]  # the codes they replace


def _b64(views: dict[str, bytes]) -> str:
    return json.dumps({k: base64.b64encode(v).decode() for k, v in views.items()})


def _unb64(text: str) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in json.loads(text).items()}


class HealthDesk:
    def __init__(self, issuer: Issuer, lookup_key: bytes, *, policy: HealthPolicy | None = None,
                 people: People | None = None):
        self.issuer = issuer
        self.engine = issuer.engine
        self.key = lookup_key
        self.policy = policy or HealthPolicy()
        self.people = people

    # -- helpers ------------------------------------------------------------------------------------
    def hash(self, id_number: str) -> str:
        return t.subject_hash(self.key, id_number)

    @property
    def authority(self):  # noqa: ANN201 - issuer.hub.AuthorityConfig
        return self.issuer.hub.owner_of(HEALTH_CODE)

    def person(self, username: str) -> Person:
        found = self.people.find(username) if self.people is not None else None
        if found is None:
            raise UnknownPerson(f"no registered citizen {_mask(username)}")
        return found

    # -- statuses -----------------------------------------------------------------------------------
    def status(self, id_number: str, conn: Connection | None = None, *, lock: bool = False) -> HealthStatus | None:
        """The citizen's current status; with ``lock`` (inside a transaction) the row is locked for update, so
        changes and fetches for one citizen serialise on PostgreSQL (SQLite serialises every writer anyway)."""
        query = select(t.health_status).where(t.health_status.c.subject_hash == self.hash(id_number))
        if lock:
            query = query.with_for_update()
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        if row is None:
            return None
        return HealthStatus(row.id_number, row.name, row.colour, row.reason, row.region, row.seq, row.updated_at,
                            row.updated_by)

    def audit(self, id_number: str) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.health_audit).where(t.health_audit.c.subject_hash == self.hash(id_number))
                                .order_by(t.health_audit.c.id))
            return [AuditEntry(r.at, r.actor, r.old_colour, r.new_colour, r.reason) for r in rows]

    def _ensure_status(self, conn: Connection, id_number: str, name: str, now: int) -> HealthStatus:
        """The citizen's status row, created green on first use (a concurrent creator wins), locked."""
        row = {"subject_hash": self.hash(id_number), "id_number": id_number, "name": name, "colour": "green",
               "reason": parse_reason(""), "region": self.authority.region, "seq": 0, "updated_at": now,
               "updated_by": "system"}
        dialect_insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
        conn.execute(dialect_insert(t.health_status).values(**row).on_conflict_do_nothing(
            index_elements=["subject_hash"]))
        return self.status(id_number, conn, lock=True)

    def set_status(self, id_number: str, colour: str, reason: str | None, *, actor: str, now: int,
                   name: str | None = None, region: str | None = None) -> SetResult:
        """Change one citizen's colour; audited; their bound codes re-issued and the old ones suspended."""
        id_number, colour, reason = parse_id_number(id_number), parse_colour(colour), parse_reason(reason)
        region = parse_region(region) if region is not None else None
        if not isinstance(actor, str) or not actor.strip():
            raise ValidationError("actor", "a status change must name who made it")
        if self.status(id_number) is None and name is None:
            name = self.person(id_number).name
        touched: set[tuple[str, str]] = set()
        reissued, suspended = [], []
        with self.engine.begin() as conn:
            existed = self.status(id_number, conn) is not None
            before = self._ensure_status(conn, id_number, name or "", now)
            conn.execute(update(t.health_status).where(t.health_status.c.subject_hash == self.hash(id_number)).values(
                colour=colour, reason=reason, region=region or before.region, seq=before.seq + 1, updated_at=now,
                updated_by=actor[:200]))
            conn.execute(insert(t.health_audit).values(
                subject_hash=self.hash(id_number), at=now, actor=actor[:200],
                old_colour=before.colour if existed else None,
                new_colour=colour, reason=reason))
            after = self.status(id_number, conn)
            for binding in conn.execute(select(t.health_codes).where(
                    t.health_codes.c.subject_hash == self.hash(id_number))).all():
                new_id, old_id = self._reissue(conn, binding, after, now, touched)
                if new_id:
                    reissued.append(new_id)
                    suspended.append(old_id)
            self._suspend_strays(conn, self.hash(id_number), set(reissued), now, touched)
        self.publish_touched(touched, now)
        return SetResult(after, tuple(reissued), tuple(suspended))

    # -- codes --------------------------------------------------------------------------------------
    def _proxy_row(self, conn: Connection, proxy_id: int):  # noqa: ANN202
        return conn.execute(select(t.health_proxies).where(t.health_proxies.c.id == proxy_id)).first()

    def _reissue(self, conn: Connection, binding, status: HealthStatus, now: int,  # noqa: ANN001
                 touched: set[tuple[str, str]]) -> tuple[str | None, str | None]:
        """Issue a new code to the binding's device, suspend the one it replaces (caller publishes)."""
        shown_by = None
        if binding.proxy_id:
            grant = self._proxy_row(conn, binding.proxy_id)
            if grant is None or grant.ended_at is not None:
                # An ended proxy gets nothing, and a code still bound to it is revoked now (never skipped).
                touched.add(store.mark_status(conn, binding.elicence_id, INVALID))
                conn.execute(t.health_codes.delete().where(t.health_codes.c.id == binding.id))
                return None, None
            shown_by = grant.proxy_name
        device = PublicKey.from_jwk(json.loads(binding.device_jwk))
        issued = self._issue(conn, status, device, shown_by, now, replaces=binding.elicence_id,
                             proxy_id=binding.proxy_id)
        touched.add(store.mark_status(conn, binding.elicence_id, SUSPENDED))
        conn.execute(update(t.health_codes).where(t.health_codes.c.id == binding.id).values(
            elicence_id=issued.elicence_id, views=_b64(issued.views), seq=status.seq, issued_at=now,
            expires_at=issued.expires_at))
        return issued.elicence_id, binding.elicence_id

    def _issue(self, conn: Connection, status: HealthStatus, device: PublicKey, shown_by: str | None, now: int,
               replaces: str | None = None, proxy_id: int = 0):  # noqa: ANN202
        """Sign one code and log it (``health_issued``), so that every code still outstanding can be found."""
        claims = code_claims(name=status.name, id_number=status.id_number, colour=status.colour, reason=status.reason,
                             region=status.region, shown_by=shown_by)
        issued = self.issuer.issue(HEALTH_CODE, claims, device, now=now, views=views_for(shown_by is not None),
                                   lifetime=self.policy.lifetime, conn=conn, replaces=replaces)
        conn.execute(insert(proxy_store.health_issued).values(
            elicence_id=issued.elicence_id, subject_hash=self.hash(status.id_number), proxy_id=proxy_id,
            expires_at=issued.expires_at))
        return issued

    def _outstanding(self, conn: Connection, now: int, *, subject_hash: str | None = None,
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

    def _suspend_strays(self, conn: Connection, subject_hash: str, keep: set[str], now: int,
                        touched: set[tuple[str, str]]) -> None:
        """After a status change re-issued the bound codes (``keep``): every other code of the citizen still
        valid is suspended, one of an ended proxy revoked. Nothing of an older colour stays valid."""
        ended = {r.id for r in conn.execute(select(t.health_proxies.c.id).where(
            t.health_proxies.c.relative_hash == subject_hash, t.health_proxies.c.ended_at.is_not(None)))}
        for elicence_id, proxy_id in self._outstanding(conn, now, subject_hash=subject_hash):
            if elicence_id in keep:
                continue
            if proxy_id in ended:
                touched.add(store.mark_status(conn, elicence_id, INVALID))
            elif store.find_in(conn, elicence_id).status == VALID:
                touched.add(store.mark_status(conn, elicence_id, SUSPENDED))

    @staticmethod
    def status_of(row) -> HealthStatus:  # noqa: ANN001
        return HealthStatus(row.id_number, row.name, row.colour, row.reason, row.region, row.seq, row.updated_at,
                            row.updated_by)

    def lock_subject(self, conn: Connection, subject_hash: str):  # noqa: ANN201
        """Lock one citizen's status row. Every path that issues, suspends or revokes a citizen's codes takes this
        lock first, then (for a proxy) the grant's row: one order, so no deadlock, and a fetch, an end and a
        status change for one citizen run one after the other (SQLite serialises every writer anyway)."""
        return conn.execute(select(t.health_status).where(t.health_status.c.subject_hash == subject_hash)
                            .with_for_update()).first()

    def _lock_grant(self, conn: Connection, proxy_id: int):  # noqa: ANN202
        return conn.execute(select(t.health_proxies).where(t.health_proxies.c.id == proxy_id)
                            .with_for_update()).first()

    def fetch(self, id_number: str, name: str, device: PublicKey, *, now: int, proxy_id: int = 0,
              requester_id_number: str | None = None) -> HealthCode:
        """The current code for ``id_number`` bound to ``device``: the stored one while it is current, else a
        new one (the one it replaces is suspended). With ``proxy_id`` the requester must hold that active proxy
        for the citizen; the code then carries ``shown_by`` and the proxy views."""
        touched: set[tuple[str, str]] = set()
        with self.engine.begin() as conn:
            shown_by = None
            subject = id_number
            if proxy_id:
                grant = self._proxy_row(conn, proxy_id)
                if (grant is None or requester_id_number is None
                        or grant.proxy_hash != self.hash(requester_id_number)):
                    raise ProxyError("no such proxy for you")
                # The relative's row, then the grant's, locked (as end_proxy does): an end either finished before
                # (this sees ended_at) or waits until this code is recorded (and then revokes it).
                relative = self.lock_subject(conn, grant.relative_hash)
                grant = self._lock_grant(conn, proxy_id)
                if relative is None or grant.ended_at is not None:
                    raise ProxyError("this proxy has ended")
                subject, name, shown_by = relative.id_number, relative.name, grant.proxy_name
            status = self._ensure_status(conn, subject, name, now)
            subject_hash = self.hash(subject)
            binding = conn.execute(select(t.health_codes).where(t.health_codes.c.subject_hash == subject_hash,
                                                                t.health_codes.c.proxy_id == proxy_id)).first()
            current_valid = binding is not None and store.find_in(conn, binding.elicence_id).status == VALID
            if binding is not None and not needs_new_code(
                    bound_kid=binding.device_kid, device_kid=device.kid, bound_seq=binding.seq, status_seq=status.seq,
                    current_valid=current_valid, expires_at=binding.expires_at, now=now, policy=self.policy):
                return HealthCode(binding.elicence_id, status.colour, binding.expires_at, _unb64(binding.views),
                                  proxy_id, self.authority.id)
            issued = self._issue(conn, status, device, shown_by, now,
                                 replaces=binding.elicence_id if binding is not None else None, proxy_id=proxy_id)
            values = dict(device_jwk=json.dumps(device.jwk), device_kid=device.kid, elicence_id=issued.elicence_id,
                          views=_b64(issued.views), seq=status.seq, issued_at=now, expires_at=issued.expires_at)
            if binding is None:
                conn.execute(insert(t.health_codes).values(subject_hash=subject_hash, proxy_id=proxy_id, **values))
            else:
                touched.add(store.mark_status(conn, binding.elicence_id, SUSPENDED))
                conn.execute(update(t.health_codes).where(t.health_codes.c.id == binding.id).values(**values))
        self.publish_touched(touched, now)
        return HealthCode(issued.elicence_id, status.colour, issued.expires_at, issued.views, proxy_id,
                          issued.authority_id)

    def publish_touched(self, touched: set[tuple[str, str]], now: int) -> None:
        for authority_id, uri in sorted(touched):
            self.issuer.publish_status_list(authority_id, uri, now=now)

    # -- bulk re-issue, resumable ---------------------------------------------------------------------
    def reissue_plan(self, now: int) -> tuple[int, list[int], bool]:
        """(run id, code ids still to do, resumed?) of the open run, or of a new one over every current code.

        At most one run is open (a UNIQUE slot): two commands started together share it, and the per-code
        checkpoint in ``reissue_one`` gives each code to exactly one of them."""
        for _attempt in range(3):
            with self.engine.begin() as conn:
                run = conn.execute(select(t.health_reissue_runs).where(t.health_reissue_runs.c.open_slot == 1)).first()
                if run is not None:
                    return run.id, self._todo(conn, run.last_id, run.cutoff_id), True
                cutoff = conn.execute(select(func.coalesce(func.max(t.health_codes.c.id), 0))).scalar_one()
                try:
                    with conn.begin_nested():
                        run_id = conn.execute(insert(t.health_reissue_runs).values(
                            started_at=now, cutoff_id=cutoff, last_id=0, done=0, open_slot=1)).inserted_primary_key[0]
                except IntegrityError:
                    continue  # another command opened a run just now: join it
                return run_id, self._todo(conn, 0, cutoff), False
        raise HealthError("could not open or join a re-issue run; try again")

    @staticmethod
    def _todo(conn: Connection, last_id: int, cutoff: int) -> list[int]:
        return [r[0] for r in conn.execute(select(t.health_codes.c.id).where(
            t.health_codes.c.id > last_id, t.health_codes.c.id <= cutoff).order_by(t.health_codes.c.id))]

    def reissue_one(self, run_id: int, code_id: int, now: int, touched: set[tuple[str, str]]) -> str | None:
        """Re-issue one code and advance the checkpoint in the same transaction: done exactly once."""
        with self.engine.begin() as conn:
            run = conn.execute(select(t.health_reissue_runs).where(t.health_reissue_runs.c.id == run_id)
                               .with_for_update()).first()
            if run is None or run.finished_at is not None or code_id <= run.last_id:
                return None  # another process did it
            binding = conn.execute(select(t.health_codes).where(t.health_codes.c.id == code_id)).first()
            new_id = None
            if binding is not None:
                status = conn.execute(select(t.health_status).where(
                    t.health_status.c.subject_hash == binding.subject_hash).with_for_update()).first()
                new_id, _ = self._reissue(conn, binding, HealthStatus(
                    status.id_number, status.name, status.colour, status.reason, status.region, status.seq,
                    status.updated_at, status.updated_by), now, touched)
            conn.execute(update(t.health_reissue_runs).where(t.health_reissue_runs.c.id == run_id).values(
                last_id=code_id, done=t.health_reissue_runs.c.done + 1))
        return new_id

    def finish_run(self, run_id: int, now: int, touched: set[tuple[str, str]]) -> None:
        self.publish_touched(touched, now)
        with self.engine.begin() as conn:
            # the issued-code log need only name codes that could still be shown: expired ones go (daily run)
            conn.execute(proxy_store.health_issued.delete().where(proxy_store.health_issued.c.expires_at <= now))
            conn.execute(update(t.health_reissue_runs).where(t.health_reissue_runs.c.id == run_id,
                                                             t.health_reissue_runs.c.finished_at.is_(None))
                         .values(finished_at=now, open_slot=None))

    def reissue_all(self, now: int, plan: tuple[int, list[int], bool] | None = None,
                    progress: Callable[[int], None] | None = None) -> int:
        """Work through ``plan`` (default: ``reissue_plan(now)``); status lists are re-signed at the end, also
        when a failure stops the run (the next call resumes from the checkpoint)."""
        run_id, ids, _ = plan or self.reissue_plan(now)
        touched: set[tuple[str, str]] = set()
        try:
            for code_id in ids:
                self.reissue_one(run_id, code_id, now, touched)
                if progress:
                    progress(code_id)
        finally:
            self.publish_touched(touched, now)  # what was done is visible to counters even if the run stopped
        self.finish_run(run_id, now, set())
        return len(ids)

    # -- family proxies -------------------------------------------------------------------------------
    def grant_proxy(self, relative: Person, proxy_ref: str, *, via: str, recorded_by: str, now: int) -> Proxy:
        """``relative`` lets the person ``proxy_ref`` (ID number or phone) fetch and show their health code, at
        once: for the counter (``tongban proxies add``, staff saw both in person). Citizens invite instead
        (``issuer.proxy_invitations``): this names the person, so it is no endpoint of theirs."""
        if via not in ("self", "counter"):
            raise ValidationError("granted_via", "must be self or counter")
        kind, value = parse_person_ref(proxy_ref)
        proxy = self.person(value)
        if proxy.id_number == relative.id_number:
            raise ValidationError("proxy", "a citizen cannot be their own proxy")
        with self.engine.begin() as conn:
            status = self._ensure_status(conn, relative.id_number, relative.name, now)
            return self.grant_in(conn, status, proxy, via=via, recorded_by=recorded_by, now=now)

    def grant_in(self, conn: Connection, relative: HealthStatus, proxy: Person, *, via: str, recorded_by: str,
                 now: int) -> Proxy:
        """Inside the caller's transaction, with the relative's status row locked: the active grant of ``proxy``
        for ``relative``, made now unless one exists (idempotent)."""
        rel_hash, proxy_hash = self.hash(relative.id_number), self.hash(proxy.id_number)
        existing = conn.execute(select(t.health_proxies).where(
            t.health_proxies.c.relative_hash == rel_hash, t.health_proxies.c.proxy_hash == proxy_hash,
            t.health_proxies.c.ended_at.is_(None))).first()
        if existing is not None:
            return self._proxy(existing)
        proxy_id = conn.execute(insert(t.health_proxies).values(
            relative_hash=rel_hash, relative_name=relative.name, proxy_hash=proxy_hash, proxy_name=proxy.name,
            granted_at=now, granted_via=via, recorded_by=recorded_by[:200])).inserted_primary_key[0]
        return self._proxy(self._proxy_row(conn, proxy_id))

    def end_proxy(self, proxy_id: int, relative_id_number: str, *, by: str, now: int) -> tuple[Proxy, tuple[str, ...]]:
        """The relative ends a proxy: its code is revoked through the status list; the proxy can fetch no more."""
        touched: set[tuple[str, str]] = set()
        revoked: list[str] = []
        with self.engine.begin() as conn:
            grant = self._proxy_row(conn, proxy_id)
            if grant is None or grant.relative_hash != self.hash(relative_id_number):
                raise ProxyError("no such proxy of yours")
            self.lock_subject(conn, grant.relative_hash)  # the order of fetch: citizen, then grant
            grant = self._lock_grant(conn, proxy_id)
            if grant.ended_at is None:
                conn.execute(update(t.health_proxies).where(t.health_proxies.c.id == proxy_id).values(
                    ended_at=now, ended_by=by[:200]))
            # Every code fetched under this grant, bound or not (also after an earlier end: idempotent).
            codes = {b.elicence_id for b in conn.execute(select(t.health_codes.c.elicence_id).where(
                t.health_codes.c.proxy_id == proxy_id))}
            codes |= {elicence_id for elicence_id, _ in self._outstanding(conn, now, proxy_id=proxy_id)}
            for elicence_id in sorted(codes):
                before = store.find_in(conn, elicence_id).status
                if before != INVALID:  # suspended copies too: revocation is final
                    touched.add(store.mark_status(conn, elicence_id, INVALID))
                if before == VALID:
                    revoked.append(elicence_id)  # the ones that worked until now
            conn.execute(t.health_codes.delete().where(t.health_codes.c.proxy_id == proxy_id))
            grant = self._proxy_row(conn, proxy_id)
        self.publish_touched(touched, now)
        return self._proxy(grant), tuple(revoked)

    def proxies(self, id_number: str) -> dict[str, list[Proxy]]:
        """``granted``: proxies this citizen gave; ``held``: proxies others gave this citizen."""
        h = self.hash(id_number)
        with self.engine.connect() as conn:
            granted = conn.execute(select(t.health_proxies).where(t.health_proxies.c.relative_hash == h)
                                   .order_by(t.health_proxies.c.id)).all()
            held = conn.execute(select(t.health_proxies).where(t.health_proxies.c.proxy_hash == h)
                                .order_by(t.health_proxies.c.id)).all()
        return {"granted": [self._proxy(r) for r in granted], "held": [self._proxy(r) for r in held]}

    @staticmethod
    def _proxy(row) -> Proxy:  # noqa: ANN001
        return Proxy(row.id, row.relative_name, row.proxy_name, row.granted_at, row.granted_via, row.recorded_by,
                     row.ended_at)

    # -- staff ----------------------------------------------------------------------------------------
    def grant_staff(self, id_number: str, authority_id: str, role: str, now: int) -> bool:
        """Idempotent; True when the grant is new or changed the role."""
        id_number = parse_id_number(id_number, "username")
        self.issuer.hub.authority(authority_id)  # must exist
        if role not in STAFF_ROLES:
            raise ValidationError("role", f"must be one of {', '.join(STAFF_ROLES)}")
        h = self.hash(id_number)
        with self.engine.begin() as conn:
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

    def staff_role(self, id_number: str | None, authority_id: str) -> str | None:
        if not id_number:
            return None
        with self.engine.connect() as conn:
            return conn.execute(select(t.authority_staff.c.role).where(
                t.authority_staff.c.subject_hash == self.hash(id_number),
                t.authority_staff.c.authority_id == authority_id)).scalar()

    def staff_role_by_hash(self, subject: str, authority_id: str) -> str | None:
        if not subject:
            return None
        with self.engine.connect() as conn:
            return conn.execute(select(t.authority_staff.c.role).where(
                t.authority_staff.c.subject_hash == subject, t.authority_staff.c.authority_id == authority_id)).scalar()

    def require_health_staff(self, id_number: str | None) -> str:
        """Only staff of the authority that owns health-code may change statuses."""
        role = self.staff_role(id_number, self.authority.id)
        if role is None:
            raise NotAuthorisedError(f"not staff of {self.authority.id}")
        return role


def _mask(username: str) -> str:
    text = str(username)
    return text[:3] + "*" * max(0, len(text) - 7) + text[-4:] if len(text) > 7 else "***"


__all__ = ["AuditEntry", "HealthCode", "HealthDesk", "HealthError", "HealthStatus", "People", "Person", "Proxy",
           "ProxyError", "STAFF_ROLES", "SetResult", "UnknownPerson"]
