"""PostgreSQL connections: bounded waits and no ping per checkout (storage.postgres, storage.timeouts)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from storage.postgres import connect_args
from storage.sql import make_engine, normalise_url
from storage.timeouts import Timeouts
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.postgres


def _statements(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: seen.append(statement))
    return seen


def _kill_backends(postgres_url: str, engine) -> None:
    with engine.connect() as conn:
        pids = [conn.connection.dbapi_connection.info.backend_pid]
    admin = create_engine(normalise_url(postgres_url))
    with admin.begin() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_no_round_trip_before_a_busy_connection_is_used(postgres_url):
    engine = make_engine(postgres_url, Timeouts(idle_check=60))
    seen = _statements(engine)
    for _ in range(5):
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    engine.dispose()
    assert seen == ["SELECT 1"] * 5  # pool_pre_ping would have pinged before each


def test_an_idle_connection_killed_server_side_is_replaced_transparently(postgres_url):
    engine = make_engine(postgres_url, Timeouts(idle_check=0))  # every checkout after any idleness is checked
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    _kill_backends(postgres_url, engine)
    time.sleep(0.05)
    with engine.connect() as conn:  # the checkout check finds it dead; the pool reconnects; no error reaches us
        assert conn.execute(text("SELECT 2")).scalar() == 2
    engine.dispose()


def test_a_connection_killed_while_busy_fails_once_then_the_pool_recovers(postgres_url):
    engine = make_engine(postgres_url, Timeouts(idle_check=3600))
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    _kill_backends(postgres_url, engine)
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:  # the pool was invalidated: a new connection
        assert conn.execute(text("SELECT 3")).scalar() == 3
    engine.dispose()


def test_the_statement_timeout_is_added_to_the_url_s_own_options():
    args = connect_args("postgresql+psycopg://u@h/db?options=-csearch_path%3Dx", Timeouts(db_statement=1.5))
    assert args["options"] == "-csearch_path=x -c statement_timeout=1500"
    assert args["connect_timeout"] == 2
    assert "options" not in connect_args("postgresql+psycopg://u@h/db", Timeouts())


def test_a_stalled_server_costs_at_most_the_socket_bound(postgres_url):
    proxy = FaultProxy(5432)
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    engine = make_engine(url, Timeouts(db_statement=0.5, db_socket=0.5, db_connect=1))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        proxy.stall()
        started = time.monotonic()
        with pytest.raises(OperationalError, match="no answer from PostgreSQL"), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert time.monotonic() - started < 1.5
        proxy.heal()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 4")).scalar() == 4
    finally:
        engine.dispose()
        proxy.close()


def test_the_server_cancels_a_statement_past_its_timeout(postgres_url):
    engine = make_engine(postgres_url, Timeouts(db_statement=0.2, db_socket=2))
    with pytest.raises(OperationalError, match="statement timeout"), engine.connect() as conn:
        conn.execute(text("SELECT pg_sleep(1)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 5")).scalar() == 5
    engine.dispose()
