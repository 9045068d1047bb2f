"""Token state: authorization codes and access tokens (ephemeral), refresh-token families (durable).

* Codes are single-use: consuming one swaps it atomically for a ``used:`` marker; a second use finds it and revokes the
  family issued from the code (RFC 6749 §4.1.2, RFC 9700 §4.5).
* Refresh tokens rotate; presenting a used one revokes its whole family (RFC 9700 §4.14.2): ``idp.refresh_tokens``
  and its rules, ``idp.rotation``.
* Access tokens are opaque, kept in the ephemeral store with their lifetime, and die with their family.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, TokenMixin
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from idp import models
from idp.audit import Audit
from idp.errors import TokenRefused
from idp.rotation import RotationPolicy
from storage.kv import KeyValueStore

CODE_TTL = 60
ACCESS_TTL = 900
# A used code's marker only has to outlive the code itself: after CODE_TTL a replayed code finds nothing and
# gets nothing anyway. Twice the code's life covers a replay at the last moment plus clock differences between
# instances, and keeps the store small (a day's markers at 500 exchanges/s were ~7 GB of Redis).
USED_CODE_TTL = 2 * CODE_TTL
REUSED_MARKER = "code-reused:"  # + family id: a code presented again before its first exchange committed
USED_MARKER = "used:"  # what a consumed code's key holds: the family it opened (a code's JSON starts with "{")

# A code exchange on PostgreSQL: the family and its first refresh token in one statement (three round trips
# with BEGIN and COMMIT instead of four).
_PG_OPEN_FAMILY = text("""
WITH family AS (
    INSERT INTO idp_token_families (family_id, sub, client_id, scope, sid, auth_time, acr, amr, created_at, dpop_jkt)
    VALUES (:family_id, :sub, :client_id, :scope, :sid, :auth_time, :acr, :amr, :created_at, :dpop_jkt)
    RETURNING family_id
)
INSERT INTO idp_refresh_tokens (token_hash, family_id, created_at, expires_at, used)
SELECT :rt_token_hash, family.family_id, :rt_created_at, :rt_expires_at, :rt_used FROM family
""")


@dataclass(frozen=True)
class ClientView:
    """The citizen as one client sees them: the local ``sub`` and the client whose view it is (OIDC Core §8)."""

    sub: str
    client_id: str


def new_token(*_args: object, **_kwargs: object) -> str:
    """An access or refresh token: 256 random bits, base64url (RFC 6749 §10.10; one ``urandom`` call, where
    Authlib's default draws each character separately). Takes and ignores Authlib's generator arguments."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Code(AuthorizationCodeMixin):
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    auth_time: int
    sid: str
    acr: str | None = None
    amr: list[str] = field(default_factory=list)
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    family_id: str = ""

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return self.amr


@dataclass
class Token(TokenMixin):
    """An access or refresh token as Authlib's endpoints see it."""

    kind: str  # "access_token" | "refresh_token"
    family_id: str
    client_id: str
    sub: str
    scope: str
    expires_at: int
    issued_at: int
    sid: str | None = None
    revoked: bool = False
    client: object = None
    token_hash: str | None = None
    jkt: str | None = None  # DPoP key thumbprint the token is bound to (RFC 9449 §6)

    def check_client(self, client) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_at - self.issued_at

    def is_expired(self) -> bool:
        import time

        return self.expires_at <= int(time.time())

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> ClientView:
        return ClientView(self.sub, self.client_id)  # the token's citizen, as its client sees them (OIDC Core §8)

    def get_client(self):
        return self.client


class Grants:
    def __init__(self, engine: Engine, store: KeyValueStore, audit: Audit, *,
                 policy: RotationPolicy | None = None):
        """``policy``: refresh tokens' idle lifetime and the family lifetime, the same rules rotation uses."""
        self.engine, self.store, self.audit = engine, store, audit
        self.policy = policy or RotationPolicy()

    # -- authorization codes ------------------------------------------------------------------
    def save_code(self, value: str, code: Code) -> None:
        self.store.put(f"code:{digest(value)}", json.dumps(asdict(code)), CODE_TTL)

    def consume_code(self, value: str, now: int) -> Code | None:
        """The code, once: one atomic command swaps it for a ``used:<family>`` marker (``KeyValueStore.replace``),
        so the code and its marker are never both absent; a code presented again finds the marker and revokes
        the family it opened (RFC 6749 §4.1.2)."""
        key = f"code:{digest(value)}"
        family_id = secrets.token_urlsafe(16)
        raw = self.store.replace(key, USED_MARKER + family_id, USED_CODE_TTL)
        if raw is None:
            return None
        if raw.startswith(USED_MARKER):
            self.store.put(key, raw, USED_CODE_TTL)  # keep pointing at the family the code really opened
            family = raw[len(USED_MARKER):]
            # The first exchange may still be running, its family not yet written: say so first, then revoke.
            # open_family looks for this mark after its commit, so one of the two always sees the other.
            self.store.put(REUSED_MARKER + family, "1", USED_CODE_TTL)
            self.revoke_family(family, "code_reuse", now)
            return None
        code = Code(**json.loads(raw))
        code.family_id = family_id
        return code

    # -- families -----------------------------------------------------------------------------
    def family_live(self, family_id: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(select(models.token_families.c.revoked_at)
                               .where(models.token_families.c.family_id == family_id)).first()
        return row is not None and row.revoked_at is None

    def revoke_family(self, family_id: str, reason: str, now: int) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(update(models.token_families)
                                  .where(models.token_families.c.family_id == family_id,
                                         models.token_families.c.revoked_at.is_(None))
                                  .values(revoked_at=now, revoked_reason=reason))
        if result.rowcount:
            self.audit.record("family_revoked", now=now, family=family_id, reason=reason)

    def revoke_session_families(self, sid: str, now: int) -> None:
        with self.engine.connect() as conn:
            ids = conn.execute(select(models.token_families.c.family_id).where(
                models.token_families.c.sid == sid, models.token_families.c.revoked_at.is_(None))).scalars().all()
        for family_id in ids:
            self.revoke_family(family_id, "logout", now)

    def revoke_client_families(self, sub: str, client_id: str, now: int) -> None:
        with self.engine.connect() as conn:
            ids = conn.execute(select(models.token_families.c.family_id).where(
                models.token_families.c.sub == sub, models.token_families.c.client_id == client_id,
                models.token_families.c.revoked_at.is_(None))).scalars().all()
        for family_id in ids:
            self.revoke_family(family_id, "consent_withdrawn", now)

    # -- tokens -------------------------------------------------------------------------------
    def open_family(self, token: dict, code: Code, *, now: int, jkt: str | None = None,
                    bind_family: bool = False) -> None:
        """Record the tokens of a code exchange: the family, its first refresh token and the access token, all
        written before the one commit (on PostgreSQL one statement: BEGIN, INSERT, COMMIT). The family row
        references the account, so a code for an account deleted meanwhile raises ``TokenRefused``."""
        family = {"family_id": code.family_id, "sub": code.sub, "client_id": code.client_id, "scope": code.scope,
                  "sid": code.sid, "auth_time": code.auth_time, "acr": code.acr, "amr": " ".join(code.amr),
                  "created_at": now, "dpop_jkt": jkt if bind_family else None}
        first = {"token_hash": digest(token["refresh_token"]), "family_id": code.family_id, "created_at": now,
                 "expires_at": self.policy.expiry(now, now), "used": False}
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(_PG_OPEN_FAMILY, {**family, **{f"rt_{k}": v for k, v in first.items()}})
                else:
                    conn.execute(insert(models.token_families).values(**family))
                    conn.execute(insert(models.refresh_tokens).values(**first))
                self.put_access(token["access_token"], family_id=code.family_id, client_id=code.client_id,
                                sub=code.sub, scope=token.get("scope", ""), sid=code.sid, issued_at=now,
                                expires_in=int(token["expires_in"]), jkt=jkt)
        except IntegrityError as exc:
            raise TokenRefused("the account this code was issued for no longer exists") from exc
        if self.store.get(REUSED_MARKER + code.family_id) is not None:  # reused while this exchange ran
            self.revoke_family(code.family_id, "code_reuse", now)
            raise TokenRefused("the authorization code was used twice: its tokens are revoked")

    def put_access(self, value: str, *, family_id: str, client_id: str, sub: str, scope: str, sid: str | None,
                   issued_at: int, expires_in: int, jkt: str | None) -> None:
        """Keep an access token (by its hash) for its lifetime; putting the same one again is harmless."""
        record = {"kind": "access_token", "family_id": family_id, "client_id": client_id, "sub": sub, "scope": scope,
                  "expires_at": issued_at + expires_in, "issued_at": issued_at, "sid": sid, "jkt": jkt}
        self.store.put(f"at:{digest(value)}", json.dumps(record, separators=(",", ":")), expires_in)

    def access_token(self, value: object) -> Token | None:
        if not isinstance(value, str) or not value or len(value) > 512:
            return None
        raw = self.store.get(f"at:{digest(value)}")
        if raw is None:
            return None
        token = Token(**json.loads(raw))
        token.revoked = not self.family_live(token.family_id)
        return token

    # -- counter tokens (client credentials, idp.client_credentials) ----------------------------------
    def put_counter_token(self, value: str, *, client_id: str, expires_in: int) -> None:
        """A counter's access token: no citizen, no family; kept apart from the citizens' (``cct:``)."""
        self.store.put(f"cct:{digest(value)}", json.dumps({"client_id": client_id}), expires_in)

    def counter_token(self, value: object) -> str | None:
        """The counter client a live counter token was issued to, else None."""
        if not isinstance(value, str) or not value or len(value) > 512:
            return None
        raw = self.store.get(f"cct:{digest(value)}")
        return json.loads(raw)["client_id"] if raw is not None else None

    def revoke_access_token(self, value: str) -> None:
        self.store.delete(f"at:{digest(value)}")

    def refresh_token(self, value: object, *, now: int) -> Token | None:
        """Look a refresh token up for introspection and revocation (RFC 7662, RFC 7009); rotation is
        ``idp.refresh_tokens``. A used, expired or revoked token is returned as revoked."""
        if not isinstance(value, str) or not value or len(value) > 512:
            return None
        rt, fam = models.refresh_tokens, models.token_families
        with self.engine.connect() as conn:
            row = conn.execute(select(rt.c.family_id, rt.c.used, rt.c.created_at, rt.c.expires_at,
                                      fam.c.client_id, fam.c.sub, fam.c.scope, fam.c.sid, fam.c.revoked_at,
                                      fam.c.dpop_jkt, fam.c.created_at.label("family_created"))
                               .join(fam, fam.c.family_id == rt.c.family_id)
                               .where(rt.c.token_hash == digest(value))).first()
        if row is None:
            return None
        ended = row.revoked_at is not None or row.used or row.expires_at <= now
        ended = ended or row.family_created <= self.policy.oldest_family(now)
        return Token("refresh_token", row.family_id, row.client_id, row.sub, row.scope, row.expires_at,
                     row.created_at, row.sid, revoked=ended, token_hash=digest(value), jkt=row.dpop_jkt)

    def revoke_refresh_token(self, value: str, now: int) -> None:
        """RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of its grant."""
        token = self.refresh_token(value, now=now)
        if token:
            self.revoke_family(token.family_id, "revoked_by_client", now)
