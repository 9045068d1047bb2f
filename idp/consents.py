"""Consent, remembered per client and per scope (PIPL art. 14: informed, specific; art. 15: withdrawable)."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select

from idp import models

# Each claim set in plain Chinese with English beside it, for the consent and account pages.
SCOPE_TEXT = {
    "openid": ("您的用户标识（不含个人信息）", "a stable identifier for you (no personal data)"),
    "profile": ("姓名", "your name"),
    "phone": ("手机号码", "your mobile phone number"),
    "id_number": ("居民身份证号码（敏感个人信息）", "your resident ID number (sensitive personal information)"),
    "licences": ("将您持有的证照发放到本机钱包", "issue the licences you hold to this phone's wallet"),
    # Not a scope: what a counter received when the citizen let it fetch a licence (免证办, idp.disclosures).
    "licence_fetch": ("经您授权，柜台调取了证照全部信息（含照片）",
                      "with your authorisation, a counter fetched the whole licence (with portrait)"),
}


class Consents:
    def __init__(self, engine: Engine):
        self.engine = engine

    def granted(self, sub: str, client_id: str) -> set[str]:
        c = models.consents.c
        with self.engine.connect() as conn:
            return set(conn.execute(select(c.scope).where(c.sub == sub, c.client_id == client_id)).scalars())

    def grant(self, sub: str, client_id: str, scopes: list[str], now: int) -> None:
        have = self.granted(sub, client_id)
        new = [s for s in dict.fromkeys(scopes) if s not in have]
        if new:
            with self.engine.begin() as conn:
                conn.execute(insert(models.consents),
                             [{"sub": sub, "client_id": client_id, "scope": s, "granted_at": now} for s in new])

    def withdraw(self, sub: str, client_id: str, scope: str | None = None) -> int:
        c = models.consents.c
        q = delete(models.consents).where(c.sub == sub, c.client_id == client_id)
        if scope is not None:
            q = q.where(c.scope == scope)
        with self.engine.begin() as conn:
            return conn.execute(q).rowcount

    def list(self, sub: str) -> list[dict]:
        c, cl = models.consents.c, models.clients.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.client_id, c.scope, c.granted_at, cl.name)
                                .join(models.clients, cl.client_id == c.client_id)
                                .where(c.sub == sub).order_by(cl.name, c.scope))
            return [dict(r._mapping) for r in rows]
