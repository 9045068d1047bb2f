"""The token endpoint's SQL budget on PostgreSQL (issue 9 P4): a code exchange and a refresh are each one
transaction of at most three round trips (BEGIN, one statement, COMMIT), client and account look-ups cached.

Counted with SQLAlchemy's engine events on the real engine: every statement sent, and every BEGIN, COMMIT and
ROLLBACK (psycopg sends each as a round trip of its own)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.idp.conftest import Browser
from tests.idp.test_negatives import exchange, get_code, refresh

servers = pytest.mark.parametrize("idp", ["servers"], indirect=True)


@contextmanager
def round_trips(engine):
    """Yield a list that ends up holding one entry per round trip the engine made meanwhile."""
    seen: list[str] = []

    def on_begin(conn):
        seen.append("BEGIN")

    def on_commit(conn):
        seen.append("COMMIT")

    def on_rollback(conn):
        seen.append("ROLLBACK")

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.split(None, 1)[0].upper())

    hooks = [("begin", on_begin), ("commit", on_commit), ("rollback", on_rollback),
             ("before_cursor_execute", on_execute)]
    for name, fn in hooks:
        event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in hooks:
            event.remove(engine, name, fn)


@servers
def test_code_exchange_and_refresh_take_three_round_trips(idp):
    client, browser = idp.client(), Browser(idp)
    warm = exchange(idp, client, get_code(idp, browser, client)).json()  # the client is now cached
    assert refresh(idp, client, warm["refresh_token"]).status_code == 200
    code = get_code(idp, browser, client)
    with round_trips(idp.provider.engine) as seen:
        tokens = exchange(idp, client, code)
    assert tokens.status_code == 200 and tokens.json()["id_token"]
    assert seen == ["BEGIN", "WITH", "COMMIT"], seen
    with round_trips(idp.provider.engine) as seen:
        rotated = refresh(idp, client, tokens.json()["refresh_token"])
    assert rotated.status_code == 200
    assert seen == ["BEGIN", "WITH", "COMMIT"], seen


@servers
def test_a_retry_costs_no_more_than_one_extra_read(idp):
    client, browser = idp.client(), Browser(idp)
    tokens = exchange(idp, client, get_code(idp, browser, client)).json()
    refresh(idp, client, tokens["refresh_token"])
    with round_trips(idp.provider.engine) as seen:
        assert refresh(idp, client, tokens["refresh_token"]).status_code == 200
    assert seen == ["BEGIN", "WITH", "COMMIT"], seen  # the statement itself read what the retry needs
