"""Seal the personal data that rows made before revision 0007 keep in clear (``idp.models``): account names and
phone numbers, and the registry's names (which become keyed hashes).

A data migration after the schema ones, because it needs the IdP secret: ``service.schema.migrate`` runs it
(``tongban migrate``, and every start in the embedded default), and so does a CLI command that migrates on its
own. In batches, each its own transaction, so a large table is sealed without one long lock and an interrupted
run resumes where it stopped; the partial indexes of 0007 find the remaining rows, so a finished database costs
one index probe. Two runs at once are harmless: each row's update is complete by itself.
"""

from __future__ import annotations

from sqlalchemy import Engine, or_, select, update

from idp import models
from idp.accounts import phone_hash
from idp.registry import name_hash
from idp.secrets import Secrets

BATCH = 500


def seal_clear_rows(engine: Engine, secrets_: Secrets, batch: int = BATCH) -> int:
    """Seal every account and registry row still in clear; returns how many rows were sealed."""
    return _accounts(engine, secrets_, batch) + _registry(engine, secrets_, batch)


def _accounts(engine: Engine, secrets_: Secrets, batch: int) -> int:
    table, sealed = models.accounts, 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(select(table.c.sub, table.c.name, table.c.phone)
                                .where(or_(table.c.name.is_not(None), table.c.phone.is_not(None))).limit(batch)).all()
            for row in rows:
                values: dict = {"name": None, "phone": None}
                if row.name is not None:
                    values["name_enc"] = secrets_.encrypt(row.name)
                if row.phone is not None:
                    values.update(phone_enc=secrets_.encrypt(row.phone), phone_hash=phone_hash(secrets_, row.phone))
                conn.execute(update(table).where(table.c.sub == row.sub).values(**values))
        sealed += len(rows)
        if len(rows) < batch:
            return sealed


def _registry(engine: Engine, secrets_: Secrets, batch: int) -> int:
    table, sealed = models.registry_people, 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(select(table.c.id_hash, table.c.name).where(table.c.name.is_not(None)).limit(batch)).all()
            for row in rows:
                conn.execute(update(table).where(table.c.id_hash == row.id_hash)
                             .values(name=None, name_hash=name_hash(secrets_, row.name)))
        sealed += len(rows)
        if len(rows) < batch:
            return sealed
