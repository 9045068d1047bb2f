"""PostgreSQL connections with bounded waits and a pool without a ping per checkout (``storage.timeouts``).

* ``connect_timeout`` and ``statement_timeout`` go to libpq in the connection's ``options``, appended to any the
  URL already carries (tests pin a ``search_path`` there), so they cost no round trip.
* The client-side answer bound: psycopg 3 waits for the server in ``Connection.wait`` with no deadline by default.
  ``BoundedConnection`` passes one; when it expires the connection is closed (its protocol state is unknown)
  and an ``OperationalError`` raised, which SQLAlchemy recognises as a disconnect (``connection.closed``) and
  answers by invalidating the pool.
* Checkout: a connection idle in the pool longer than ``idle_check`` seconds is checked with one empty
  statement first; if it is dead, ``DisconnectionError`` makes the pool retry with a fresh connection (the
  request never sees it). Busy connections are handed out with no round trip.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from storage.timeouts import Timeouts


class BoundedConnection(psycopg.Connection):
    """A psycopg connection that waits at most ``answer_timeout`` seconds for the server."""

    answer_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:  # psycopg's signature
        bound = timeout if timeout is not None else self.answer_timeout
        try:
            return super().wait(gen, interval=interval, timeout=bound)
        except pg_errors.OperationalError as exc:
            if type(exc).__name__ != "_WaitTimeout":
                raise
            self.pgconn.finish()  # mid-protocol: nothing more can be read from it safely
            raise psycopg.OperationalError(f"no answer from PostgreSQL within {bound:g} s (connection closed)") from None


def connect_args(url: str, timeouts: Timeouts) -> dict[str, Any]:
    """libpq parameters: the connect timeout and the URL's ``options`` plus ``statement_timeout``."""
    args: dict[str, Any] = {"connect_timeout": max(1, round(timeouts.db_connect))}
    if timeouts.db_statement is not None:
        options = make_url(url).query.get("options", "")
        if isinstance(options, tuple):
            options = " ".join(options)
        millis = max(1, int(timeouts.db_statement * 1000))
        args["options"] = f"{options} -c statement_timeout={millis}".strip()
    return args


def install(engine: Engine, timeouts: Timeouts, clock: Any = time.monotonic) -> Engine:
    """The bounded connection class and the idle-only checkout check on ``engine``'s pool."""

    @event.listens_for(engine, "do_connect")
    def _bounded(dialect, conn_rec, cargs, cparams):  # SQLAlchemy's event signature
        connection = BoundedConnection.connect(*cargs, **cparams)
        connection.answer_timeout = timeouts.db_socket
        return connection

    @event.listens_for(engine, "checkin")
    def _stamp(dbapi_conn, record):
        record.info["tongban_idle_since"] = clock()

    @event.listens_for(engine, "checkout")
    def _check_if_idle(dbapi_conn, record, proxy):
        since = record.info.get("tongban_idle_since")
        if since is None or clock() - since < timeouts.idle_check:
            return
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute(";")
            dbapi_conn.rollback()
        except psycopg.Error as exc:
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc  # the pool retries

    return engine


__all__ = ["BoundedConnection", "connect_args", "install"]
