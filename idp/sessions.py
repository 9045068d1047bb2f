"""SSO sessions in the ephemeral store: one sign-in serves every client until it ends or expires.

The browser holds only a random session id (cookie); the record holds the subject, when and how they
authenticated (``auth_time``, ``acr``, ``amr``: OIDC Core §2) and which clients it has signed in to,
for back-channel logout (OIDC Back-Channel Logout §2).
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
        sids = [s.sid for s in self.of(sub)][-19:]  # an account keeps at most 20 sessions listed
        self.store.put(f"usess:{sub}", json.dumps([*sids, session.sid]), self.ttl)
        return session

    def of(self, sub: str) -> list[SsoSession]:
        """The account's live sessions, oldest first (for the account page)."""
        raw = self.store.get(f"usess:{sub}")
        sessions = [self.get(sid) for sid in (json.loads(raw) if raw else [])]
        return [s for s in sessions if s is not None and s.sub == sub]

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
        return SsoSession(**json.loads(raw)) if raw else None
