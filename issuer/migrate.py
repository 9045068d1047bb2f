"""Schema migrations for the issuer's tables with Alembic (``issuer/migrations``, version table
``issuer_alembic_version``), run at start-up (``service.app``, ``issuer.cli.engine_for``) and by
``tongban migrate``.

Before this, the tables were made by ``create_all`` and newer columns added at start-up by ad-hoc
``ALTER TABLE`` (``after_create`` listeners): a schema change reached an existing database only through
hand-written code. Now every change is a revision. A database from before (issuer tables, no version table) is
brought to the baseline once — missing tables created, the columns older code did not record added, as the
listeners did — then stamped at the baseline revision (which matches the models of that day) and upgraded.
When another package's ``create_all`` made the issuer tables first (they share one ``MetaData``; today
``idp.provider`` still runs one), they match the current models: such a database is stamped at head instead,
so that a later revision's change is not applied twice.

Personal data sealing of older rows is a data migration, run after this one (``issuer.pii_migrate``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from storage.errors import StorageUnavailable
from storage.sql import add_missing_columns, metadata

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "issuer_alembic_version"
BASELINE = "0001_issuer_initial"  # the tables as create_all made them when migrations began
LOCK_ID = 7243003  # idp.migrate holds 7243001, issuer.pii_migrate 7243002

# The columns databases made before them lack (what the start-up ALTER TABLEs added before migrations), and
# the one index: brought in once, before stamping such a database at the baseline.
_LEGACY_COLUMNS = {
    "issuer_credentials": {"signed_kid": "VARCHAR(64)", "needs_reissue_at": "BIGINT", "claims_enc": "TEXT"},
    "issuer_records": {"holder_hash": "VARCHAR(64)", "data_enc": "TEXT"},
    "health_status": {"person_enc": "TEXT", "reason_enc": "TEXT"},
    "health_audit": {"reason_enc": "TEXT"},
    "health_codes": {"views_enc": "TEXT"},
    "health_proxies": {"names_enc": "TEXT"},
}
_LEGACY_INDEXES = ("CREATE UNIQUE INDEX IF NOT EXISTS uq_issuer_record_holder_hash "
                   "ON issuer_records (licence_type, holder_hash)",)


def issuer_tables() -> dict:
    """The issuer's tables on the shared metadata (name → Table), the modules that define them imported."""
    from issuer import admin_sessions, offers, pii, records, store  # noqa: F401 - each registers its tables
    from issuer.health import proxy_store  # noqa: F401
    from issuer.health import store as health_store  # noqa: F401

    return {name: table for name, table in metadata.tables.items() if _is_issuers(name)}


def _is_issuers(name: str) -> bool:
    return (name.startswith(("issuer_", "health_")) or name in ("authority_staff", "admin_sessions")) \
        and name != VERSION_TABLE


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _to_baseline(conn: Connection) -> None:
    """A database from before migrations: the tables and columns of the baseline revision, as create_all and the
    start-up ALTERs made them (idempotent)."""
    metadata.create_all(conn, tables=list(issuer_tables().values()))
    for table, columns in _LEGACY_COLUMNS.items():
        add_missing_columns(conn, table, columns)
    for statement in _LEGACY_INDEXES:
        conn.execute(text(statement))


def _matches_models(conn: Connection) -> bool:
    """Every issuer table present and as the current models declare it (no Alembic difference)."""
    ours = issuer_tables()

    def include(obj, name, type_, reflected, compare_to) -> bool:
        return not (type_ == "table" and name not in ours)

    return not compare_metadata(MigrationContext.configure(conn, opts={"include_object": include}), metadata)


def upgrade(engine: Engine) -> None:
    """Bring the issuer's tables to the newest revision (idempotent; safe to call on every start)."""
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # gunicorn workers start together: one migrates at a time
                conn.execute(text(f"SELECT pg_advisory_xact_lock({LOCK_ID})"))
            tables = set(inspect(conn).get_table_names())
            config = _config(conn)
            if VERSION_TABLE not in tables and any(_is_issuers(name) for name in tables):
                if _matches_models(conn):  # another package's create_all made them from today's models
                    command.stamp(config, "head")
                else:  # made before migrations began
                    _to_baseline(conn)
                    command.stamp(config, BASELINE)
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the database: {exc.orig}") from exc


def current(engine: Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608 - a constant


__all__ = ["BASELINE", "VERSION_TABLE", "current", "issuer_tables", "upgrade"]
