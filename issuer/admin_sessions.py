"""``/admin`` sign-ins kept on the server, so that signing out (or the IdP's back-channel logout) ends them.

The browser holds only an opaque random session id (256 bits, cookie ``tb_admin``); the table keeps its
SHA-256, never the id itself, so a copy of the table gives no working cookie (OWASP Session Management
Cheat Sheet: "Session ID Properties", "Session Expiration"). A session ends

* on sign-out (the row is deleted: a copied cookie stops working at once),
* on the IdP's back-channel logout of its SSO session (``idp_sid``) or of the person (``sub``)
  (OIDC Back-Channel Logout 1.0 §2.7),
* after ``IDLE_TIMEOUT`` without a request, and ``ABSOLUTE_TIMEOUT`` after sign-in whatever happens.

A new id is made at every sign-in and the browser's previous one deleted (no session fixation). The time is
always passed in (``now``), so tests drive the timeouts with a clock of their own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, String, Table, Text, delete, insert, or_, select, update

from keys import new_csrf_token
from storage.sql import metadata

IDLE_TIMEOUT = 30 * 60  # a staff page left alone this long asks for sign-in again
ABSOLUTE_TIMEOUT = 8 * 3600  # one working day, however active
MAX_ID_LENGTH = 64

admin_sessions = Table(
    "admin_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the cookie's session id
    Column("sub", String(200), nullable=False, index=True),  # the IdP subject (public: staff are matched by it)
    Column("idp_sid", String(64), nullable=False, index=True),  # the IdP SSO session it was signed in through
    Column("name", Text, nullable=False),  # the staff member's name, sealed (issuer.pii) like every name here
    Column("subject_hash", String(64), nullable=False),  # keyed hash of the ID number: the staff-role look-up
    Column("id_token", Text, nullable=False),  # for id_token_hint at sign-out (RP-Initiated Logout 1.0 §2)
    Column("csrf", String(64), nullable=False),  # the synchroniser token of this session's forms
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class AdminSession:
    sub: str
    idp_sid: str
    name: str
    subject: str
    id_token: str
    csrf: str
    created_at: int
    last_seen: int


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _where(id_hash: str) -> str:
    return f"admin_sessions\x00name\x00{id_hash}"  # the sealed name opens only in its own row


class AdminSessions:
    def __init__(self, engine: Engine, vault: Any, *, idle: int = IDLE_TIMEOUT, absolute: int = ABSOLUTE_TIMEOUT):
        self.engine, self.vault, self.idle, self.absolute = engine, vault, idle, absolute

    def _row(self, row) -> AdminSession:  # a SQLAlchemy Row
        return AdminSession(row.sub, row.idp_sid, self.vault.open(row.name, where=_where(row.id_hash)),
                            row.subject_hash, row.id_token, row.csrf, row.created_at, row.last_seen)

    def create(self, *, sub: str, idp_sid: str, name: str, subject: str, id_token: str, now: int) -> str:
        """A new session; returns the id for the cookie (shown once, stored only as its digest)."""
        session_id = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(delete(admin_sessions).where(or_(admin_sessions.c.created_at <= now - self.absolute,
                                                          admin_sessions.c.last_seen <= now - self.idle)))
            conn.execute(insert(admin_sessions).values(
                id_hash=_digest(session_id), sub=sub[:200], idp_sid=idp_sid[:64],
                name=self.vault.seal(name[:200], where=_where(_digest(session_id))),
                subject_hash=subject[:64], id_token=id_token, csrf=new_csrf_token(), created_at=now,
                last_seen=now))
        return session_id

    def get(self, session_id: object, now: int) -> AdminSession | None:
        """The live session of a cookie value (its idle clock restarted), else None; an expired one is deleted."""
        if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_ID_LENGTH:
            return None
        key = _digest(session_id)
        with self.engine.begin() as conn:
            row = conn.execute(select(admin_sessions).where(admin_sessions.c.id_hash == key)).first()
            if row is None:
                return None
            if not (row.created_at <= now < row.created_at + self.absolute and now < row.last_seen + self.idle):
                conn.execute(delete(admin_sessions).where(admin_sessions.c.id_hash == key))
                return None
            conn.execute(update(admin_sessions).where(admin_sessions.c.id_hash == key).values(last_seen=now))
        return self._row(row)

    def end(self, session_id: object) -> AdminSession | None:
        """Sign-out: delete the session; returns what it was (for the IdP's id_token_hint)."""
        if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_ID_LENGTH:
            return None
        key = _digest(session_id)
        with self.engine.begin() as conn:
            row = conn.execute(select(admin_sessions).where(admin_sessions.c.id_hash == key)).first()
            conn.execute(delete(admin_sessions).where(admin_sessions.c.id_hash == key))
        return self._row(row) if row is not None else None

    def end_idp(self, *, sid: str | None, sub: str | None) -> int:
        """Back-channel logout (§2.7): with ``sid`` the sessions signed in through that SSO session (and, with
        ``sub`` too, of that subject); with ``sub`` alone every session of that subject. Returns how many."""
        if not sid and not sub:
            return 0
        query = delete(admin_sessions)
        if sid:
            query = query.where(admin_sessions.c.idp_sid == sid)
        if sub:
            query = query.where(admin_sessions.c.sub == sub)
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount


__all__ = ["ABSOLUTE_TIMEOUT", "IDLE_TIMEOUT", "AdminSession", "AdminSessions", "admin_sessions"]
