"""Refresh-token rotation in SQL: one transaction, written completely before it commits (RFC 9700 §4.14.2).

A refresh is one transaction: claim the presented token, insert its successor and keep the response (sealed,
``Secrets.seal_for``) on the claimed row; store the new access token in the ephemeral store; then commit. If
anything fails before the commit nothing happened and the client may simply retry; if the response is lost
after it, the retry finds the sealed response and gets the same pair (``idp.rotation.decide``).

On PostgreSQL the claim, the insert and the read of the family are one statement (data-modifying CTEs), so a
rotation is three round trips: BEGIN, the statement, COMMIT. The claim is ``UPDATE ... WHERE used = false``:
of two concurrent uses one wins; the other waits for the winner's commit, claims nothing and reads again
(``Outcome.RACE``): an identical retry gets the same pair, anything else is reuse. On SQLite (the embedded
default, one writer at a time under ``BEGIN IMMEDIATE``) the same steps are separate statements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, insert, select, text, update

from idp import models
from idp.errors import ScopeNotGranted, TokenRefused
from idp.grants import Grants, digest, new_token
from idp.rotation import Attempt, Outcome, RotationPolicy, Stored, claimable, decide

if TYPE_CHECKING:
    from idp.secrets import Secrets

# One statement on PostgreSQL: read the token with its family and its successor's state, claim it if every
# condition holds, insert the successor for a claimed token, return what was read and whether it was claimed.
_PG_ROTATE = text("""
WITH old AS (
    SELECT rt.token_hash, rt.family_id, rt.used, rt.expires_at, rt.rotated_at, rt.request_digest, rt.reply,
           s.used AS successor_used, f.client_id, f.sub, f.scope, f.sid, f.revoked_at,
           f.created_at AS family_created, f.dpop_jkt
    FROM idp_refresh_tokens rt
    JOIN idp_token_families f ON f.family_id = rt.family_id
    LEFT JOIN idp_refresh_tokens s ON s.token_hash = rt.successor_hash
    WHERE rt.token_hash = :hash
), claimed AS (
    UPDATE idp_refresh_tokens rt
    SET used = true, rotated_at = :now, successor_hash = :new_hash, request_digest = :digest, reply = :reply
    FROM old
    WHERE rt.token_hash = old.token_hash AND rt.used = false AND old.expires_at > :now
      AND old.revoked_at IS NULL AND old.client_id = :client_id AND old.family_created > :oldest
      AND (old.dpop_jkt IS NULL OR old.dpop_jkt = :jkt)
    RETURNING rt.token_hash
), fresh AS (
    INSERT INTO idp_refresh_tokens (token_hash, family_id, created_at, expires_at, used)
    SELECT :new_hash, old.family_id, :now, LEAST(:now + :ttl, old.family_created + :lifetime), false
    FROM old JOIN claimed ON true
)
SELECT old.*, EXISTS (SELECT 1 FROM claimed) AS claimed FROM old
""")


@dataclass(frozen=True)
class Rotated:
    """The answer to a refresh: a new pair (``Outcome.ROTATE``) or the pair of the rotation a retry repeats."""

    access_token: str
    refresh_token: str
    scope: str
    expires_in: int
    family_id: str
    sub: str
    sid: str | None
    outcome: Outcome


def _stored(row) -> Stored | None:
    if row is None:
        return None
    return Stored(row.family_id, bool(row.used), row.expires_at, row.rotated_at, row.request_digest, row.reply,
                  None if row.successor_used is None else bool(row.successor_used), row.client_id, row.sub,
                  row.scope, row.sid, row.revoked_at, row.family_created, row.dpop_jkt)


def granted_scope(requested: str | None, original: str) -> str:
    """RFC 6749 §6: the requested scope, which must lie within the original grant; the original when omitted."""
    if not requested:
        return original
    wanted = list(dict.fromkeys(requested.split()))
    if not wanted or not set(wanted) <= set(original.split()):
        raise ScopeNotGranted("the requested scope exceeds what was granted")
    return " ".join(wanted)


class RefreshTokens:
    def __init__(self, engine: Engine, grants: Grants, secrets_: Secrets, policy: RotationPolicy, access_ttl: int):
        self.engine, self.grants, self.secrets, self.policy = engine, grants, secrets_, policy
        self.access_ttl = access_ttl

    def rotate(self, value: str, attempt: Attempt) -> Rotated:
        """Rotate the refresh token ``value`` for ``attempt``; raise ``TokenRefused`` or ``ScopeNotGranted``."""
        if not isinstance(value, str) or not value or len(value) > 512:
            raise TokenRefused("unknown refresh token")
        access, refresh = new_token(), new_token()
        reply = self.secrets.seal_for(value, json.dumps({"a": access, "r": refresh}, separators=(",", ":")))
        old_hash, now = digest(value), attempt.now
        with self.engine.begin() as conn:
            row, claimed = self._claim(conn, old_hash, digest(refresh), reply, attempt)
            outcome = decide(row, claimed, attempt, self.policy)
            if outcome is Outcome.RACE:  # the winner has committed (our claim waited for it): read its result
                row = self._read(conn, old_hash)
                outcome = decide(row, False, attempt, self.policy)
            if outcome is Outcome.ROTATE:
                scope = granted_scope(attempt.scope, row.scope)  # raises: the transaction rolls back
                return self._answer(access, refresh, scope, row, attempt, now, outcome)
            if outcome is Outcome.REPLAY:
                pair = self.secrets.open_for(value, row.reply)
                if pair is not None:
                    kept = json.loads(pair)
                    return self._answer(kept["a"], kept["r"], granted_scope(attempt.scope, row.scope), row, attempt,
                                        row.rotated_at, outcome)
                outcome = Outcome.REUSE  # a reply this token does not open is no retry of ours
        if outcome is Outcome.REUSE:
            self.grants.revoke_family(row.family_id, "refresh_reuse", now)
            raise TokenRefused("refresh token already used: its family is revoked", "refresh_reuse")
        raise TokenRefused("unknown, expired or revoked refresh token")

    def _answer(self, access: str, refresh: str, scope: str, row: Stored, attempt: Attempt, issued_at: int,
                outcome: Outcome) -> Rotated:
        """Store the access token (before the caller's commit) and build the answer."""
        expires_in = self.access_ttl - (attempt.now - issued_at)
        self.grants.put_access(access, family_id=row.family_id, client_id=row.client_id, sub=row.sub, scope=scope,
                               sid=row.sid, issued_at=issued_at, expires_in=max(1, expires_in), jkt=attempt.jkt)
        return Rotated(access, refresh, scope, expires_in, row.family_id, row.sub, row.sid, outcome)

    def _claim(self, conn: Connection, old_hash: str, new_hash: str, reply: str,
               attempt: Attempt) -> tuple[Stored | None, bool]:
        values = {"hash": old_hash, "new_hash": new_hash, "now": attempt.now, "digest": attempt.digest,
                  "reply": reply, "client_id": attempt.client_id, "jkt": attempt.jkt,
                  "oldest": self.policy.oldest_family(attempt.now), "ttl": self.policy.token_ttl,
                  "lifetime": self.policy.family_lifetime}
        if conn.dialect.name == "postgresql":
            row = conn.execute(_PG_ROTATE, values).first()
            return _stored(row), bool(row is not None and row.claimed)
        stored = self._read(conn, old_hash)
        if stored is None or not claimable(stored, attempt, self.policy):
            return stored, False
        rt = models.refresh_tokens
        won = conn.execute(update(rt).where(rt.c.token_hash == old_hash, rt.c.used.is_(False)).values(
            used=True, rotated_at=attempt.now, successor_hash=new_hash, request_digest=attempt.digest, reply=reply,
        )).rowcount == 1
        if won:
            conn.execute(insert(rt).values(token_hash=new_hash, family_id=stored.family_id, created_at=attempt.now,
                                           expires_at=self.policy.expiry(attempt.now, stored.family_created),
                                           used=False))
        return stored, won

    @staticmethod
    def _read(conn: Connection, old_hash: str) -> Stored | None:
        rt, fam = models.refresh_tokens, models.token_families
        successor = rt.alias("successor")
        row = conn.execute(
            select(rt.c.family_id, rt.c.used, rt.c.expires_at, rt.c.rotated_at, rt.c.request_digest, rt.c.reply,
                   successor.c.used.label("successor_used"), fam.c.client_id, fam.c.sub, fam.c.scope, fam.c.sid,
                   fam.c.revoked_at, fam.c.created_at.label("family_created"), fam.c.dpop_jkt)
            .join(fam, fam.c.family_id == rt.c.family_id)
            .outerjoin(successor, successor.c.token_hash == rt.c.successor_hash)
            .where(rt.c.token_hash == old_hash)
        ).first()
        return _stored(row)
