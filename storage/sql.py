"""SQL engine and the one ``MetaData`` every package registers its tables on.

SQLite in the data directory is the embedded default; ``DATABASE_URL`` (``postgresql://...``)
switches to PostgreSQL through psycopg 3. Packages declare their tables on ``metadata``;
``create_all`` builds them (Alembic migrations take over where the service runs them).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from keys.layout import Layout
from storage.errors import StorageUnavailable
from storage.timeouts import BATCH, Timeouts

metadata = MetaData()


def normalise_url(url: str) -> str:
    """Accept the common ``postgresql://`` / ``postgres://`` forms and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{Layout(data_dir).database.resolve()}"


def private_sqlite_file(url: str) -> None:
    """The SQLite file holds accounts and registers: create it 0600 (its directory 0700 when made here) and take
    group and other bits off an existing one, before SQLite opens it. SQLite gives its ``-wal`` and ``-shm``
    files the database file's permissions, so they follow."""
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    if not url.startswith("sqlite:///") or not path or path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    if not file.parent.exists():
        file.parent.mkdir(parents=True, mode=0o700)
    os.close(os.open(file, os.O_RDWR | os.O_CREAT, 0o600))
    mode = file.stat().st_mode & 0o777
    if mode & 0o077:
        file.chmod(mode & 0o700)


def make_engine(url: str, timeouts: Timeouts = BATCH) -> Engine:
    """An engine for ``url``; PostgreSQL connections bounded by ``timeouts`` (``storage.postgres``): the web
    service passes its configured bounds, batch commands the default (a connect bound only)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # DB-API objects
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA foreign_keys=ON")
            # Let BEGIN IMMEDIATE come from SQLAlchemy's own transaction handling.
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    from storage import postgres

    engine = create_engine(url, pool_size=10, max_overflow=20, pool_timeout=max(1.0, timeouts.db_connect),
                           connect_args=postgres.connect_args(url, timeouts))
    return postgres.install(engine, timeouts)


def add_missing_columns(connection: Connection, table: str, columns: dict[str, str]) -> None:
    """``create_all`` leaves an existing table alone: add the nullable ``columns`` (name → SQL type) newer code
    records to a table an older version made. Call it from a ``metadata`` ``after_create`` listener."""
    if not inspect(connection).has_table(table):
        return
    present = {c["name"] for c in inspect(connection).get_columns(table)}
    for name, sql_type in columns.items():
        if name not in present:
            # PostgreSQL: IF NOT EXISTS lets two processes start at once; SQLite's BEGIN IMMEDIATE serialises them.
            guard = "IF NOT EXISTS " if connection.dialect.name == "postgresql" else ""
            connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {guard}{name} {sql_type}"))


def create_all(engine: Engine) -> None:
    try:
        metadata.create_all(engine)
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the database: {exc.orig}") from exc
