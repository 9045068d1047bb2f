"""Family proxies by two-sided consent: the citizen invites a family member by number, the family member accepts.

Issue 8, item 3: a one-sided grant by phone or ID number answered with the owner's real name (and 404 for an
unknown number), so any signed-in citizen could learn who owns a number. Here

* ``invite`` answers the same for every well-formed number, registered or not: an opaque random id. Nobody is
  looked up: the row is keyed by a keyed hash of the number, and whoever holds that phone or ID number finds
  it when they open their wallet (also someone who registers later), so the answer and its timing cannot
  depend on the number's owner;
* the invitee finds the invitation in their own wallet (``received``) with the inviter's masked name (张*) and
  what accepting allows, and accepts or declines; only then does the inviter learn the name (``sent``);
* accepting makes the grant (``granted_via: self``) in the same transaction, the invitation's row locked, so
  two accepts make one grant and an accept cannot cross a withdrawal;
* a pending invitation expires after 7 days (``issuer.health.colours.INVITATION_LIFETIME``); rows go 30 days later.

Rate limits (per account and per address) are the web layer's (``issuer.health.web``). Grants recorded at a
counter (``tongban proxies add``, ``granted_via: counter``) stay one-sided: staff checked both people in person.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from issuer.errors import ValidationError
from issuer.health import proxy_store as p
from issuer.health import store as t
from issuer.health.colours import (
    INVITATION_LIFETIME,
    invitation_status,
    mask_name,
    mask_ref,
    parse_answer,
    parse_person_ref,
    what_accepting_allows,
)
from issuer.health.errors import InvitationClosed, InvitationExpired, InvitationNotFound
from issuer.health.models import Person, Proxy
from issuer.health.service import HealthDesk

PURGE_AFTER = 30 * 24 * 3600  # an invitation's row is deleted this long after it expired
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{24}", re.ASCII)
LIST_LIMIT = 50


# The columns issuer.pii needs to open a grant's names and a status row's person (issuer.health.store).
_GRANT_NAME_COLUMNS = ("relative_hash", "proxy_hash", "names_enc", "relative_name", "proxy_name")
_PERSON_COLUMNS = ("subject_hash", "person_enc", "id_number", "name")

@dataclass(frozen=True)
class SentInvitation:
    """The inviter's view: to whom (the number, masked), the status; the name only once accepted."""

    id: str
    to: str
    status: str
    created_at: int
    expires_at: int
    decided_at: int | None
    name: str | None
    proxy_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "to": self.to, "status": self.status, "created_at": self.created_at,
                "expires_at": self.expires_at, "decided_at": self.decided_at, "name": self.name,
                "proxy_id": self.proxy_id}


@dataclass(frozen=True)
class ReceivedInvitation:
    """The invitee's view: the inviter's masked name and, in plain words, what accepting allows."""

    id: str
    inviter: str
    status: str
    created_at: int
    expires_at: int
    allows: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "inviter": self.inviter, "status": self.status, "created_at": self.created_at,
                "expires_at": self.expires_at, "allows": self.allows}


class ProxyInvitations:
    def __init__(self, desk: HealthDesk):
        self.desk = desk
        self.engine = desk.engine

    def _mine(self, me: Person) -> list[str]:
        """The invitee keys of a signed-in citizen: their ID number's and their phone's."""
        keys = [p.invitee_key(self.desk.key, "id_number", me.id_number)]
        if me.phone:
            keys.append(p.invitee_key(self.desk.key, "phone", me.phone))
        return keys

    # -- the inviter -------------------------------------------------------------------------------------
    def invite(self, inviter: Person, to: Any, *, recorded_by: str, now: int,
               admit: Callable[[], None] | None = None) -> str:
        """Invite whoever ``to`` (phone or ID number) names; the opaque id, the same shape whoever that is.
        ``admit`` (the web layer's rate limit) runs once the number is known to be well-formed and not the
        inviter's own, before anything is written: refusals do not count."""
        kind, value = parse_person_ref(to, "to")
        if value in (inviter.id_number, inviter.phone):  # compared with the caller's own numbers only
            raise ValidationError("to", "this is your own number: invite a family member")
        if admit is not None:
            admit()
        invitee = p.invitee_key(self.desk.key, kind, value)
        public_id = secrets.token_urlsafe(18)
        with self.engine.begin() as conn:
            self.desk.ctx.ensure_status(conn, inviter.id_number, inviter.name, now)  # the name shown when accepted
            conn.execute(delete(p.health_invitations).where(p.health_invitations.c.expires_at < now - PURGE_AFTER))
            conn.execute(insert(p.health_invitations).values(
                public_id=public_id, inviter_hash=self.desk.hash(inviter.id_number), recorded_by=recorded_by[:200],
                invitee_hash=invitee, invitee_hint=mask_ref(kind, value), created_at=now,
                expires_at=now + INVITATION_LIFETIME, state="pending"))
        return public_id

    def sent(self, id_number: str, now: int) -> list[SentInvitation]:
        inv, grants = p.health_invitations, t.health_proxies
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(inv, *(grants.c[c].label(f"grant_{c}") for c in _GRANT_NAME_COLUMNS))
                .outerjoin(grants, grants.c.id == inv.c.proxy_id)
                .where(inv.c.inviter_hash == self.desk.hash(id_number), inv.c.state != "withdrawn")
                .order_by(inv.c.id.desc()).limit(LIST_LIMIT)).all()
        return [self._sent(r, now) for r in rows]

    def _sent(self, row, now: int) -> SentInvitation:
        status = invitation_status(row.state, row.expires_at, now)
        accepted = status == "accepted" and row.grant_relative_hash is not None
        name = None
        if accepted:  # the invitee's name, sealed in the grant (issuer.pii): opened only once they accepted
            grant = {c: row._mapping[f"grant_{c}"] for c in _GRANT_NAME_COLUMNS}
            name = t.NAMES.open(self.desk.vault, grant)["proxy_name"]
        return SentInvitation(row.public_id, row.invitee_hint, status, row.created_at, row.expires_at,
                              row.decided_at, name, row.proxy_id if accepted else None)

    def withdraw(self, public_id: Any, id_number: str, now: int) -> SentInvitation:
        """The inviter takes back a pending (or expired) invitation; idempotent; an answered one is closed."""
        with self.engine.begin() as conn:
            row = self._locked(conn, public_id)
            if row is None or row.inviter_hash != self.desk.hash(id_number):
                raise InvitationNotFound("no such invitation of yours")
            if row.state in ("accepted", "declined"):
                raise InvitationClosed(f"this invitation was already {row.state}; end the proxy in the list instead")
            if row.state == "pending":
                conn.execute(update(p.health_invitations).where(p.health_invitations.c.id == row.id)
                             .values(state="withdrawn", decided_at=now))
            row = self._locked(conn, public_id)
        return SentInvitation(row.public_id, row.invitee_hint, "withdrawn", row.created_at, row.expires_at,
                              row.decided_at, None, None)

    # -- the invitee -------------------------------------------------------------------------------------
    def received(self, me: Person, now: int) -> list[ReceivedInvitation]:
        """Pending invitations to this citizen's numbers (expired, answered and withdrawn ones are not shown)."""
        inv, status = p.health_invitations, t.health_status
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(inv, *(status.c[c].label(f"inviter_{c}") for c in _PERSON_COLUMNS))
                .join(status, status.c.subject_hash == inv.c.inviter_hash)
                .where(inv.c.invitee_hash.in_(self._mine(me)), inv.c.inviter_hash != self.desk.hash(me.id_number),
                       inv.c.state == "pending", inv.c.expires_at > now)
                .order_by(inv.c.id.desc()).limit(LIST_LIMIT)).all()
        return [self._received(r.public_id, self._inviter_name(r), "pending", r.created_at, r.expires_at) for r in rows]

    def _inviter_name(self, row) -> str:  # a row with the inviter's status columns
        person = {c: row._mapping[f"inviter_{c}"] for c in _PERSON_COLUMNS}
        return t.PERSON.open(self.desk.vault, person)["name"]

    @staticmethod
    def _received(public_id: str, name: str, status: str, created_at: int, expires_at: int) -> ReceivedInvitation:
        masked = mask_name(name)
        return ReceivedInvitation(public_id, masked, status, created_at, expires_at, what_accepting_allows(masked))

    def answer(self, public_id: Any, invitee: Person, answer: Any, now: int) -> tuple[ReceivedInvitation, Proxy | None]:
        """Accept (the grant is made: the inviter's code, shown by the invitee) or decline. Only the invitee may;
        giving the same answer again returns the same result; a different one, or one after expiry, is refused."""
        answer = parse_answer(answer)
        with self.engine.begin() as conn:
            row = self._locked(conn, public_id)
            if (row is None or row.invitee_hash not in self._mine(invitee)
                    or row.inviter_hash == self.desk.hash(invitee.id_number)):
                raise InvitationNotFound("no such invitation for you")
            if row.state != "pending" and row.state != answer:
                raise InvitationClosed(f"this invitation was already {row.state}")
            if row.state == "pending" and row.expires_at <= now:
                raise InvitationExpired("this invitation has expired; ask for a new one")
            relative = self.desk.lock_subject(conn, row.inviter_hash)  # the order of fetch and end: citizen first
            if relative is None:
                raise InvitationNotFound("no such invitation for you")
            grant = None
            if answer == "accepted":
                if row.state == "accepted":
                    grant = self.desk.grants.of_row(self.desk.ctx.proxy_row(conn, row.proxy_id))
                else:
                    grant = self.desk.grant_in(conn, self.desk.status_of(relative), invitee, via="self",
                                               recorded_by=row.recorded_by, now=now)
            if row.state == "pending":
                conn.execute(update(p.health_invitations).where(p.health_invitations.c.id == row.id).values(
                    state=answer, decided_at=now, proxy_id=grant.id if grant else None))
        name = self.desk.status_of(relative).name  # opened (issuer.pii): the status row keeps the name sealed
        return self._received(row.public_id, name, answer, row.created_at, row.expires_at), grant

    @staticmethod
    def _locked(conn: Connection, public_id: Any):
        if not isinstance(public_id, str) or not ID_PATTERN.fullmatch(public_id):
            return None
        return conn.execute(select(p.health_invitations).where(p.health_invitations.c.public_id == public_id)
                            .with_for_update()).first()


__all__ = ["InvitationClosed", "InvitationExpired", "InvitationNotFound", "ProxyInvitations", "ReceivedInvitation",
           "SentInvitation"]
