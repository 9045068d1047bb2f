"""Schema migrations for the idp tables with Alembic (``idp/migrations``), run at start-up.

A database whose idp tables were made by ``create_all`` (another package's start-up may run it first: the
tables share one ``MetaData``) already matches the current models, so it is stamped at head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

from storage.errors import StorageUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the idp tables to the newest revision (idempotent; safe to call on every start)."""
    from sqlalchemy.exc import OperationalError

    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # gunicorn workers start together: one migrates at a time
                conn.execute(text("SELECT pg_advisory_xact_lock(7243001)"))
            tables = set(inspect(conn).get_table_names())
            config = _config(conn)
            if "idp_accounts" in tables and "idp_alembic_version" not in tables:
                command.stamp(config, "head")  # made by create_all from the current models
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the database: {exc.orig}") from exc
