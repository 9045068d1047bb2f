"""The issuer's tables under Alembic (``issuer/migrations``): a new database, one made by ``create_all``, one made
before migrations by older code (columns missing), several workers at once, and ``tongban migrate``."""

from __future__ import annotations

import threading
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from issuer import migrate
from storage.sql import make_engine, metadata, normalise_url
from tests.issuer.old_schema import OLD

OURS = set(migrate.issuer_tables())


def _ours(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and (name not in OURS or name == migrate.VERSION_TABLE))


def _diff(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"include_object": _ours}), metadata)


def _head() -> str:
    return ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()


def test_the_issuer_tables_are_known():
    assert {"issuer_credentials", "issuer_records", "health_status", "health_invitations", "authority_staff",
            "admin_sessions", "issuer_pii_keys"} <= OURS
    assert not any(name.startswith("idp_") for name in OURS)


def test_a_new_database_matches_the_models_and_upgrade_is_idempotent(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert migrate.current(engine) is None
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current(engine) == _head()
    assert _diff(engine) == []
    assert OURS <= set(inspect(engine).get_table_names())
    assert not any(t.startswith("idp_") for t in inspect(engine).get_table_names())  # the idp's are idp.migrate's
    engine.dispose()


def test_a_database_made_by_create_all_from_todays_models_is_stamped_at_head(tmp_path, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'create_all.sqlite3'}")
    metadata.create_all(engine, tables=list(migrate.issuer_tables().values()))
    monkeypatch.setattr(migrate, "_to_baseline", lambda _conn: pytest.fail("not a database from before migrations"))
    migrate.upgrade(engine)
    assert migrate.current(engine) == _head()
    assert _diff(engine) == []
    engine.dispose()


def test_a_database_from_before_migrations_gets_its_missing_columns_and_tables(tmp_path, monkeypatch):
    """Older code's layout (no sealed columns, no health invitations, no pii keys, no /admin sessions): brought to
    the baseline, stamped, upgraded; what the start-up ALTER TABLEs did before, done once."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    OLD.create_all(engine)
    assert "claims_enc" not in {c["name"] for c in inspect(engine).get_columns("issuer_credentials")}
    calls = []
    real = migrate._to_baseline
    monkeypatch.setattr(migrate, "_to_baseline", lambda conn: calls.append(1) or real(conn))
    migrate.upgrade(engine)
    assert calls == [1]  # brought to the baseline, stamped there
    assert migrate.current(engine) == _head()
    assert _diff(engine) == []
    assert {"signed_kid", "needs_reissue_at", "claims_enc"} <= {
        c["name"] for c in inspect(engine).get_columns("issuer_credentials")}
    assert "uq_issuer_record_holder_hash" in {i["name"] for i in inspect(engine).get_indexes("issuer_records")}
    engine.dispose()


def test_tongban_migrate_runs_the_idp_and_issuer_migrations(tmp_path, monkeypatch):
    from service.wiring import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    for _ in range(2):
        result = CliRunner().invoke(main, ["migrate", "--data", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert f"issuer schema at {_head()}" in result.output
    engine = make_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {"idp_alembic_version", migrate.VERSION_TABLE, "idp_accounts"} | OURS <= tables
    engine.dispose()


@pytest.mark.postgres
def test_postgres_workers_starting_together_migrate_once(postgres_url):
    schema = "tb_imig_" + uuid.uuid4().hex[:10]
    admin = create_engine(normalise_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(normalise_url(postgres_url), connect_args={"options": f"-csearch_path={schema}"})
    try:
        errors: list[Exception] = []
        barrier = threading.Barrier(4)

        def run() -> None:
            barrier.wait()
            try:
                migrate.upgrade(engine)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, daemon=True) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "concurrent migrations did not finish"
        assert errors == []
        assert _diff(engine) == []
        assert migrate.current(engine) == _head()
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
