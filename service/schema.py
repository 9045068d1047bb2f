"""The database schema, all packages together: migrate once under one lock, or check it is current.

Every table belongs to exactly one Alembic history: the identity provider's (``idp/migrations``, version table
``idp_alembic_version``) or the issuer's (``issuer/migrations``, ``issuer_alembic_version``); the personal-data
sealing passes (``issuer.pii_migrate``, ``idp.pii_seal``) are data migrations after them. Nothing calls
``MetaData.create_all`` any more: it ran outside every lock, so two processes on a fresh schema raced to create
the same tables and one died with ``UniqueViolation``.

``migrate`` runs the three in order under one PostgreSQL session advisory lock (``LOCK_ID``): any number of
``tongban migrate`` / ``tongban init`` / starting workers queue on it, the first does the work, the others find
it done. In production (``TONGBAN_MIGRATE_AT_START=0``) only ``tongban migrate`` (the container's entry point)
changes the schema; workers call ``require_current`` and a worker finding the schema behind its code answers 503
until the migration has run, instead of migrating from inside a worker (which, during a database outage, killed
the gunicorn master).
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from storage.errors import StorageUnavailable

LOCK_ID = 7243000  # the packages' own locks: idp.migrate 7243001, issuer.pii_migrate 7243002, issuer.migrate 7243003


class SchemaBehind(StorageUnavailable):
    """The database schema is older than this code; ``tongban migrate`` brings it forward."""

    reason = "schema_behind"


def _histories() -> dict[str, tuple[Path, str]]:
    """Each history: its scripts and its version table."""
    from idp import migrate as idp_migrate
    from issuer import migrate as issuer_migrate

    return {"idp": (idp_migrate.MIGRATIONS, "idp_alembic_version"),
            "issuer": (issuer_migrate.MIGRATIONS, issuer_migrate.VERSION_TABLE)}


def heads() -> dict[str, str]:
    """The newest revision of each history, from the scripts this code ships."""
    found = {}
    for name, (scripts, _) in _histories().items():
        config = Config()
        config.set_main_option("script_location", str(scripts))
        found[name] = ScriptDirectory.from_config(config).get_current_head()
    return found


def revisions(engine: Engine) -> dict[str, str | None]:
    """The revision the database is at, per history (None where it was never migrated)."""
    try:
        with engine.connect() as conn:
            return {name: MigrationContext.configure(conn, opts={"version_table": table}).get_current_revision()
                    for name, (_, table) in _histories().items()}
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the database: {exc.orig}") from exc


def require_current(engine: Engine) -> None:
    """``SchemaBehind`` unless every history is at the head this code expects."""
    wanted, have = heads(), revisions(engine)
    behind = [f"{name} at {have[name] or 'nothing'}, needs {head}" for name, head in wanted.items() if have[name] != head]
    if behind:
        raise SchemaBehind("database schema is behind this version (" + "; ".join(behind) + "): run `tongban migrate`")


def migrate(engine: Engine, issuer_secret: bytes, idp_secrets=None) -> dict[str, str | None]:  # idp.secrets.Secrets
    """Every history to its head and the sealing passes (the issuer's; the IdP's when ``idp_secrets`` is given), under
    one lock; returns the revisions reached."""
    from idp import migrate as idp_migrate
    from issuer import migrate as issuer_migrate
    from issuer import pii_migrate

    try:
        with engine.connect() as lock:
            postgres = lock.dialect.name == "postgresql"
            if postgres:  # a session lock, held across the migrations' own transactions
                lock.execute(text(f"SELECT pg_advisory_lock({LOCK_ID})"))
                lock.commit()
            try:
                idp_migrate.upgrade(engine)
                issuer_migrate.upgrade(engine)
                pii_migrate.upgrade(engine, issuer_secret)
                if idp_secrets is not None:
                    from idp.pii_seal import seal_clear_rows

                    seal_clear_rows(engine, idp_secrets)
            finally:
                if postgres:
                    lock.rollback()
                    lock.execute(text(f"SELECT pg_advisory_unlock({LOCK_ID})"))
                    lock.commit()
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the database: {exc.orig}") from exc
    return revisions(engine)


__all__ = ["LOCK_ID", "SchemaBehind", "heads", "migrate", "require_current", "revisions"]
