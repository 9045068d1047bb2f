"""Alembic migrations build exactly the idp tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from idp import migrate, models
from storage.sql import make_engine, metadata, normalise_url


def _idp_only(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and not name.startswith("idp_")) and name != "idp_alembic_version"


def _diff(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _idp_only})
        return compare_metadata(ctx, metadata)


def test_sqlite_upgrade_matches_models_and_is_idempotent(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert _diff(engine) == []
    assert {t for t in inspect(engine).get_table_names() if t.startswith("idp_")} >= {
        t.name for t in metadata.sorted_tables if t.name.startswith("idp_")}
    engine.dispose()


def test_database_made_by_create_all_is_stamped(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t.name.startswith("idp_")])
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from idp_alembic_version")).scalar() == "0008_passkeys"
    engine.dispose()


def test_upgrade_from_first_revision_adds_dpop_column(tmp_path):
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'v1.sqlite3'}")
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0001_idp_initial")
    assert "dpop_jkt" not in {c["name"] for c in inspect(engine).get_columns("idp_token_families")}
    migrate.upgrade(engine)
    assert "dpop_jkt" in {c["name"] for c in inspect(engine).get_columns("idp_token_families")}
    assert _diff(engine) == []
    engine.dispose()


def test_upgrade_from_second_revision_adds_id_token_alg_column(tmp_path):
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'v2.sqlite3'}")
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0002_dpop_binding")
        conn.execute(text("insert into idp_clients (client_id, name, auth_method, redirect_uris, "
                          "post_logout_redirect_uris, scopes, created_at) values ('old', 'old', 'none', "
                          "'[\"http://127.0.0.1/cb\"]', '[]', 'openid', 0)"))
    assert "id_token_alg" not in {c["name"] for c in inspect(engine).get_columns("idp_clients")}
    migrate.upgrade(engine)
    assert "id_token_alg" in {c["name"] for c in inspect(engine).get_columns("idp_clients")}
    assert _diff(engine) == []
    from idp.clients import Clients

    assert Clients(engine).get("old").id_token_signed_response_alg == "ES256"  # a client from before: ES256
    engine.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_matches_models(postgres_url):
    schema = "tb_mig_" + uuid.uuid4().hex[:10]
    admin = create_engine(normalise_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(normalise_url(postgres_url), connect_args={"options": f"-csearch_path={schema}"})
    try:
        import threading
        errors = []
        barrier = threading.Barrier(4)

        def run():
            barrier.wait()
            try:
                migrate.upgrade(engine)
            except Exception as exc:
                errors.append(exc)

        # gunicorn workers starting together; without the advisory lock they deadlock on the catalog
        threads = [threading.Thread(target=run, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "concurrent migrations did not finish"
        assert errors == []
        assert _diff(engine) == []
        assert models.accounts.name in inspect(engine).get_table_names()
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
