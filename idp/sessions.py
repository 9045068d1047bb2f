"""SSO sessions in the ephemeral store: one sign-in serves every client until it ends or expires.

The browser holds only a random session id (cookie); the record holds the subject, when and how they
authenticated (``auth_time``, ``acr``, ``amr``: OIDC Core §2) and which clients it has signed in to,
for back-channel logout (OIDC Back-Channel Logout §2).

Each account's sessions are indexed in a set (``sessidx:<sub>``, ``KeyValueStore.add_member``): a sign-in
adds its id and an ending removes it, so concurrent sign-ins never overwrite each other's entries, and a
sign-in does not read the account's other sessions. Ids whose session expired are dropped when the index is
read. (The older JSON list under ``usess:<sub>`` is no longer read and expires by itself.)
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field

from storage.kv import KeyValueStore

SESSION_TTL = 8 * 3600


@dataclass
class SsoSession:
    sid: str
    sub: str
    auth_time: int
    acr: str
    amr: list[str]
    clients: list[str] = field(default_factory=list)


class Sessions:
    def __init__(self, store: KeyValueStore, ttl: int = SESSION_TTL):
        self.store, self.ttl = store, ttl

    def create(self, sub: str, auth_time: int, acr: str, amr: list[str]) -> SsoSession:
        session = SsoSession(secrets.token_urlsafe(24), sub, auth_time, acr, amr)
        self.save(session)
        self.store.add_member(f"sessidx:{sub}", session.sid, self.ttl)
        return session

    def of(self, sub: str) -> list[SsoSession]:
        """The account's live sessions, oldest sign-in first (for the account page); forgets ended ones."""
        found = []
        for sid in self.store.members(f"sessidx:{sub}"):
            session = self.get(sid)
            if session is None or session.sub != sub:
                self.store.remove_member(f"sessidx:{sub}", sid)
            else:
                found.append(session)
        return sorted(found, key=lambda s: (s.auth_time, s.sid))

    def save(self, session: SsoSession) -> None:
        self.store.put(f"sess:{session.sid}", json.dumps(asdict(session), separators=(",", ":")), self.ttl)

    def get(self, sid: object) -> SsoSession | None:
        if not isinstance(sid, str) or not sid or len(sid) > 64:
            return None
        raw = self.store.get(f"sess:{sid}")
        return SsoSession(**json.loads(raw)) if raw else None

    def add_client(self, session: SsoSession, client_id: str) -> None:
        if client_id not in session.clients:
            session.clients.append(client_id)
            self.save(session)

    def end(self, sid: str) -> SsoSession | None:
        raw = self.store.consume(f"sess:{sid}")
        if not raw:
            return None
        session = SsoSession(**json.loads(raw))
        self.store.remove_member(f"sessidx:{session.sub}", sid)
        return session
