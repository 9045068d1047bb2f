"""Operations (issue 10): the schema under one migration history and lock, starting with a store away, 503s with
Retry-After instead of HTML 500s, readiness. Fast cases here; process-level faults in tests/faults."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text

from service.config import ConfigError, Settings
from storage.sql import make_engine, normalise_url
from tests.conftest import copy_template

CLOSED = "127.0.0.1:9"  # discard port: nothing listens, connections are refused at once


def _settings(data, **env):
    base = {"TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_ISSUER_URL": "http://127.0.0.1:1"}
    return Settings.from_env(data, env={**base, **env})


@pytest.fixture
def data(app_template, tmp_path):
    return copy_template(app_template, tmp_path / "data")


@pytest.fixture
def plain_keys(monkeypatch):
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")


# -- one history per table, one lock for all ------------------------------------------------------------
@pytest.fixture
def pg_schema(postgres_url):
    schema = "tb_ops_" + uuid.uuid4().hex[:10]
    admin = create_engine(normalise_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_the_provider_creates_no_other_package_s_tables(pg_schema, tmp_path, plain_keys):
    """Before: Provider.from_settings ran create_all for every package's tables outside any lock (the race)."""
    from idp.provider import Provider

    provider = Provider.from_settings(_settings(tmp_path, DATABASE_URL=pg_schema), load_keys=False)
    tables = set(inspect(provider.engine).get_table_names())
    provider.engine.dispose()
    assert tables and all(name.startswith("idp_") for name in tables), tables


@pytest.mark.slow
def test_concurrent_init_and_migrate_on_a_fresh_schema_all_succeed(pg_schema, tmp_path):
    """Issue 10 item 5: two workers on a fresh schema (6 of 7 starts) or two `tongban init` at once (5 of 8) died
    with UniqueViolation. Two `tongban init` on one data directory and two `tongban migrate`, all at once."""
    import os
    import secrets
    import subprocess
    import sys

    from service import schema

    env = {**os.environ, "DATABASE_URL": pg_schema, "TONGBAN_DEV_PLAINTEXT_KEYS": "1",
           "TONGBAN_ISSUER_SECRET": secrets.token_hex(32), "TONGBAN_IDP_SECRET": secrets.token_hex(32)}
    tongban = os.path.join(os.path.dirname(sys.executable), "tongban")
    commands = [[tongban, "init", "--data", str(tmp_path / "shared")]] * 2 + [[tongban, "migrate", "--data", str(tmp_path)]] * 2
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for command in commands]
    outcomes = [(proc.wait(timeout=300), proc.stderr.read().decode()[-600:]) for proc in procs]
    for proc in procs:
        proc.stderr.close()
    assert [code for code, _ in outcomes] == [0] * len(commands), outcomes
    engine = make_engine(pg_schema)
    assert schema.revisions(engine) == schema.heads()
    engine.dispose()


def test_a_worker_never_migrates_in_production_and_answers_503_until_migrate_ran(data, tmp_path, plain_keys):
    """TONGBAN_MIGRATE_AT_START=0: a schema behind the code is not touched; the worker answers 503 (Retry-After),
    /healthz still 200, and it serves once `tongban migrate` has run."""
    from service import schema
    from service.app import create_app
    from service.deferred import DeferredApp

    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    settings = _settings(data, DATABASE_URL=url, TONGBAN_MIGRATE_AT_START="0")
    now = [0.0]
    app = DeferredApp(lambda: create_app(settings), retry_after=7, retry_every=2, clock=lambda: now[0])
    client = _wsgi_client(app)
    engine = make_engine(url)
    assert inspect(engine).get_table_names() == []  # nothing created by the worker
    answer = client.get("/.well-known/openid-configuration")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "7"
    assert answer.json == {"error": "temporarily_unavailable", "error_description": answer.json["error_description"]}
    assert client.get("/healthz").status_code == 200
    schema.migrate(engine, _issuer_secret(settings))
    assert client.get("/.well-known/openid-configuration").status_code == 503  # not retried within 2 s
    now[0] = 3.0
    assert client.get("/.well-known/openid-configuration").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)  # built: the real probes answer
    app.app.extensions["tongban.idp"].engine.dispose()
    engine.dispose()


def test_a_worker_starts_with_the_database_unreachable(data, plain_keys):
    from service.app import create_app
    from service.deferred import DeferredApp

    settings = _settings(data, DATABASE_URL=f"postgresql://postgres@{CLOSED}/test", TONGBAN_MIGRATE_AT_START="0")
    app = DeferredApp(lambda: create_app(settings), retry_after=3)
    client = _wsgi_client(app)
    for path in ("/token", "/authorize", "/wallet/", "/readyz", "/login"):
        answer = client.get(path)
        assert answer.status_code == 503, path
        assert answer.json["error"] == "temporarily_unavailable"
        assert answer.headers["Retry-After"] == "3"
    assert client.get("/healthz").json == {"status": "alive", "ready": False}


# -- 503 with Retry-After instead of an HTML 500 ---------------------------------------------------------
@pytest.fixture
def redis_down_app(data, plain_keys):
    from service.app import create_app

    app = create_app(_settings(data, REDIS_URL=f"redis://{CLOSED}/0", TONGBAN_RETRY_AFTER="11"))
    clients = app.extensions["tongban.idp"].clients
    if clients.get("ops-test") is None:
        clients.add("ops test", ["http://127.0.0.1:1/cb"], public=True, scopes=["openid"], client_id="ops-test")
    yield app
    app.extensions["tongban.idp"].engine.dispose()


def test_a_redis_outage_is_a_json_503_on_oauth_endpoints(redis_down_app):
    client = redis_down_app.test_client()
    token = client.post("/token", data={"grant_type": "authorization_code", "code": "x", "client_id": "ops-test",
                                        "redirect_uri": "http://127.0.0.1:1/cb", "code_verifier": "v" * 43})
    userinfo = client.get("/userinfo", headers={"Authorization": "Bearer " + "a" * 43})
    for answer in (token, userinfo):
        assert answer.status_code == 503, answer.data[:200]
        assert answer.mimetype == "application/json"
        assert answer.json["error"] == "temporarily_unavailable"
        assert answer.headers["Retry-After"] == "11"
        assert b"Traceback" not in answer.data and b"<html" not in answer.data.lower()
        assert len(answer.headers["X-Request-ID"]) == 32  # service.logs: in every log line of the request too


def test_readiness_names_the_failing_store_and_nothing_more(redis_down_app):
    client = redis_down_app.test_client()
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "11"
    assert answer.json["checks"]["cache"] == "unavailable"
    assert answer.json["checks"]["database"] == "ok"
    assert CLOSED not in answer.get_data(as_text=True)  # no driver message, no host
    assert client.get("/healthz").status_code == 200


def test_an_unexpected_error_is_a_json_500_without_a_traceback(redis_down_app):
    app = redis_down_app

    @app.get("/__boom")
    def _boom():
        raise RuntimeError("secret internals 110101199003071233")

    answer = app.test_client().get("/__boom")
    assert answer.status_code == 500 and answer.json["error"] == "server_error"
    assert b"secret internals" not in answer.data and b"Traceback" not in answer.data


def test_readiness_on_the_embedded_default_wants_the_hub_initialised(data, plain_keys):
    """The template directory was never `tongban init`ed: no trust list for counters, so not ready (the ready case
    runs in tests/faults, after init)."""
    from service.app import create_app

    app = create_app(_settings(data))
    try:
        answer = app.test_client().get("/readyz")
        assert answer.json["checks"]["database"] == "ok" and answer.json["checks"]["cache"] == "ok"
        assert answer.json["checks"]["keys"] == "no_trust_list" and answer.status_code == 503
    finally:
        app.extensions["tongban.idp"].engine.dispose()


# -- settings -------------------------------------------------------------------------------------------
def test_timeout_defaults_are_at_most_two_seconds(tmp_path):
    timeouts = Settings.from_env(tmp_path, env={}).timeouts
    assert max(timeouts.db_connect, timeouts.db_statement, timeouts.db_socket,
               timeouts.redis_connect, timeouts.redis_socket) <= 2


@given(st.text(max_size=12))
def test_a_timeout_setting_is_a_plain_number_in_range_or_refused(value):
    try:
        timeouts = Settings.from_env("/nonexistent", env={"TONGBAN_DB_SOCKET_TIMEOUT": value}).timeouts
    except ConfigError as exc:
        assert "TONGBAN_DB_SOCKET_TIMEOUT" in str(exc)
        return
    if value.strip():
        assert 0.05 <= timeouts.db_socket <= 600
        assert value.strip().replace(".", "", 1).isascii()


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "1e9", "0", "１", "٣", "99999999999999999999"])
def test_odd_timeouts_are_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="TONGBAN_DB_STATEMENT_TIMEOUT"):
        Settings.from_env(tmp_path, env={"TONGBAN_DB_STATEMENT_TIMEOUT": value})


# -- helpers --------------------------------------------------------------------------------------------
def _wsgi_client(app):
    from werkzeug.test import Client

    return Client(app)


def _issuer_secret(settings):
    from issuer.cli import issuer_secret_for

    return issuer_secret_for(settings)
