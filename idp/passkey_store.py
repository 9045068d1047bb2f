"""The passkeys table (``models.passkeys``): what a registration leaves for later assertions to be checked against.

One row per credential, keyed by its id (base64url), owned by an account ``sub`` (deleted with it). The name the
citizen gives a passkey ("我的手机") is personal data: sealed with ``idp.secrets`` like the account's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from idp import models
from idp.errors import IdpError, PasskeyRefused
from idp.secrets import Secrets

_T = models.passkeys


@dataclass(frozen=True)
class Passkey:
    credential_id: str  # base64url, as navigator.credentials returns it
    sub: str
    public_key: str  # base64url of the COSE_Key
    sign_count: int
    transports: tuple[str, ...]
    name: str
    created_at: int
    last_used_at: int | None


class PasskeyStore:
    def __init__(self, engine: Engine, secrets_: Secrets):
        self.engine, self.secrets = engine, secrets_

    def _passkey(self, r) -> Passkey:
        try:
            name = self.secrets.decrypt(r.name_enc)
        except IdpError:  # sealed under a secret since replaced: the passkey still works, its name is lost
            name = "通行密钥 / passkey"
        return Passkey(r.credential_id, r.sub, r.public_key, int(r.sign_count), tuple(r.transports.split()), name,
                       r.created_at, r.last_used_at)

    def add(self, *, credential_id: str, sub: str, public_key: str, sign_count: int, transports: list[str],
            name: str, now: int) -> Passkey:
        row = {"credential_id": credential_id, "sub": sub, "public_key": public_key, "sign_count": sign_count,
               "transports": " ".join(transports), "name_enc": self.secrets.encrypt(name), "created_at": now,
               "last_used_at": None}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_T).values(**row))
        except IntegrityError as exc:  # the same authenticator credential twice (excludeCredentials not honoured)
            raise PasskeyRefused("这个通行密钥已经添加过。 / This passkey is already registered.",
                                 "passkey_exists") from exc
        return self.get(credential_id)

    def get(self, credential_id: str) -> Passkey | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(_T).where(_T.c.credential_id == credential_id)).first()
        return self._passkey(r) if r is not None else None

    def of(self, sub: str) -> list[Passkey]:
        """The account's passkeys, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(_T).where(_T.c.sub == sub).order_by(_T.c.created_at, _T.c.credential_id))
            return [self._passkey(r) for r in rows]

    def count(self, sub: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(_T).where(_T.c.sub == sub)).scalar_one()

    def used(self, credential_id: str, previous: int, sign_count: int, now: int) -> bool:
        """Record a verified use: the new counter, when. Compare-and-set on the counter it was checked against, so
        two assertions racing with the same counter value (a clone used at the same moment) cannot both pass."""
        with self.engine.begin() as conn:
            done = conn.execute(update(_T).where(_T.c.credential_id == credential_id, _T.c.sign_count == previous)
                                .values(sign_count=sign_count, last_used_at=now)).rowcount
        return bool(done)

    def remove(self, sub: str, credential_id: str) -> bool:
        """Delete one of ``sub``'s passkeys (never another account's); whether there was one."""
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(_T).where(_T.c.sub == sub, _T.c.credential_id == credential_id))
                        .rowcount)
