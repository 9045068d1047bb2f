"""Seal the personal data older code kept in clear, and re-seal it under a new data key: the start-up pass.

``upgrade`` runs at every start-up (``tongban`` commands, ``create_app``): it checks the issuer secret against
the database's key versions (``issuer_secret_mismatch`` when it is another secret), and while the newest
version is not marked done it walks every sealed column of ``SEALED_COLUMNS`` in primary-key order, in batches
of ``BATCH`` rows, one transaction each. A row still in clear (or sealed under an older version) gets its
sealed value, its look-up hashes and emptied clear columns in one ``UPDATE ... WHERE`` the sealed column is
still what was read, so a row that changed meanwhile is left to its writer and nothing is sealed twice.

- idempotent: sealed rows are skipped; once every row is done the version is marked (``sealed_at``) and later
  start-ups only check the secret;
- resumable: each batch commits, a pass cut short leaves the version unmarked and the next start-up goes on;
- several workers at once: on PostgreSQL they queue on a session advisory lock (as ``idp.migrate`` does), so
  one seals and the others find the work done; on SQLite writers take turns anyway (``BEGIN IMMEDIATE``) and
  the guarded updates make a second pass a no-op.

``rotate`` adds a data-key version and runs the same pass, re-sealing every row under it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from issuer import records, store
from issuer.health import store as health_store
from issuer.pii import SealedColumn, Vault, add_version, open_vault_in, pii_keys, version_of
from keys.suites import Suite
from storage.errors import StorageUnavailable

LOCK_ID = 7243002  # idp.migrate holds 7243001
BATCH = 500
SEALED_COLUMNS: tuple[SealedColumn, ...] = (store.CLAIMS, records.DATA, *health_store.SEALED)


def _locked(engine: Engine, work: Callable[[Connection], Vault]) -> Vault:
    try:
        with engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:  # a session lock: held across the pass's many transactions
                conn.execute(text(f"SELECT pg_advisory_lock({LOCK_ID})"))
                conn.commit()
            try:
                return work(conn)
            finally:
                if postgres:
                    conn.rollback()
                    conn.execute(text(f"SELECT pg_advisory_unlock({LOCK_ID})"))
                    conn.commit()
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the database: {exc.orig}") from exc


def seal_pass(conn: Connection, vault: Vault, *, batch: int = BATCH) -> int:
    """Seal every row not yet sealed under ``vault.version``; returns how many rows were written."""
    written = 0
    for sealed in SEALED_COLUMNS:
        table = sealed.table
        [key] = table.primary_key.columns
        last = None
        while True:
            with conn.begin():
                query = select(table).order_by(key).limit(batch)
                rows = conn.execute(query if last is None else query.where(key > last)).all()
                for row in rows:
                    values = row._mapping
                    token = values[sealed.column]
                    if token is not None and version_of(token) == vault.version:
                        continue
                    column = table.c[sealed.column]
                    still = column.is_(None) if token is None else column == token
                    result = conn.execute(update(table).where(key == values[key.name], still)
                                          .values(sealed.seal(vault, values, sealed.open(vault, values))))
                    written += result.rowcount
            if len(rows) < batch:
                break
            last = rows[-1]._mapping[key.name]
    return written


def _finish(conn: Connection, master: bytes, *, force: bool, batch: int, suite: Suite | None = None) -> Vault:
    with conn.begin():
        vault = open_vault_in(conn, master, suite)
        done = conn.execute(select(pii_keys.c.sealed_at).where(pii_keys.c.version == vault.version)).scalar()
    if done is None or force:
        seal_pass(conn, vault, batch=batch)
        with conn.begin():
            conn.execute(update(pii_keys).where(pii_keys.c.version == vault.version).values(sealed_at=int(time.time())))
    return vault


def upgrade(engine: Engine, master: bytes, *, force: bool = False, batch: int = BATCH, suite: Suite | None = None) -> Vault:
    """Check the secret, seal what is still in clear; returns the vault new values are sealed with. ``suite``:
    the hub's (``keys.suites``), recorded on a new database and checked against an existing one."""
    return _locked(engine, lambda conn: _finish(conn, master, force=force, batch=batch, suite=suite))


def rotate(engine: Engine, master: bytes, *, now: int, batch: int = BATCH) -> Vault:
    """Add the next data-key version and re-seal every row under it (resumable: ``upgrade`` goes on)."""

    def work(conn: Connection) -> Vault:
        with conn.begin():
            current = open_vault_in(conn, master)
            add_version(conn, master, current.version + 1, now, current.suite)
        return _finish(conn, master, force=True, batch=batch)

    return _locked(engine, work)


__all__ = ["BATCH", "SEALED_COLUMNS", "rotate", "seal_pass", "upgrade"]
