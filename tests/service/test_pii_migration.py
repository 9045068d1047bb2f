"""A database the older code made, personal data in clear, is sealed when the service starts on it, and then
everything still works: look-ups, licences re-issued from the registers, health codes re-issued, the /admin page.

The older database is built with the older code's table definitions (``tests.issuer.old_schema``) and filled
with what a service run left (the at-rest scenario), opened back into the clear columns."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text

from issuer import pii_migrate
from storage import make_engine, normalise_url
from tests.conftest import POSTGRES_URL, need_server
from tests.issuer.old_schema import copy_as_old
from tests.service.test_health_web import CITIZENS, admin_browser, admin_form, auth, token_for
from tests.service.test_pii_at_rest import (
    REASONS,
    clear_text_in,
    exercise,
    issue_from_records,
    reads_back,
    run_the_service,
    stop,
)


@pytest.fixture(params=["sqlite", "postgres"])
def two_databases(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'current.sqlite3'}", f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    need_server("PostgreSQL", "127.0.0.1", 5432)
    schemas = ["tbmig_" + uuid.uuid4().hex[:12] for _ in range(2)]
    admin = create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield tuple(f"{POSTGRES_URL}?options=-csearch_path%3D{s}" for s in schemas)
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.mark.slow  # the service and the CLI in their own processes, on both databases
def test_an_older_database_is_sealed_at_start_up_and_still_works(two_databases, tmp_path, monkeypatch):
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    monkeypatch.delenv("TONGBAN_ISSUER_SECRET", raising=False)
    current, old = two_databases
    data = tmp_path / "data"
    svc = run_the_service(data, current, tmp_path)
    try:
        exercise(svc)
        vault = svc.app.extensions["tongban.issuer"].vault
        source, target = make_engine(current), make_engine(old)
        counts = copy_as_old(source, vault, target)
        source.dispose()
        target.dispose()
    finally:
        stop(svc)
    assert counts["issuer_credentials"] >= 4 and counts["health_proxies"] == 1 and counts["issuer_records"] == 5
    before = clear_text_in(old)
    assert "张三 in issuer_credentials.claims" in before and f"{REASONS[1]} in health_audit.reason" in before

    svc = run_the_service(data, old, tmp_path, commands=False)  # create_app's start-up seals it
    try:
        found = clear_text_in(old)
        assert found == [], "\n".join(found)
        reads_back(svc)
        # licences re-issued from the registers (each replaces, and revokes, the one issued before)
        held = requests.get(svc.url + "/issuer/records", headers=auth(token_for(svc, "zhang")), timeout=5).json()
        assert {r["licence_type"] for r in held["records"]} == {"driving-licence", "resident-id"}
        assert len(issue_from_records(svc, "zhang")) == 2
        # a status change re-issues the codes bound to devices (the citizen's own and the proxy's)
        result = svc.desk().set_status(CITIZENS["zhang"][1], "yellow", "复核", actor="test", now=int(time.time()))
        assert len(result.reissued) == 2 and result.status.name == "张三"
        assert svc.desk().reissue_all(int(time.time())) == 2  # every current code
        # the /admin page shows the sealed status and audit trail
        browser = admin_browser(svc, "officer")
        browser.go(svc.url + "/admin/search", "POST",
                   {**admin_form(browser, "/admin/search"), "id_number": CITIZENS["zhang"][1]})
        assert browser.page.status_code == 200 and REASONS[1] in browser.page.text and "复核" in browser.page.text
        found = clear_text_in(old)
        assert found == [], "\n".join(found)
        # a second start-up finds the work done
        engine = make_engine(old)
        with engine.connect() as conn:
            assert pii_migrate.seal_pass(conn, vault) == 0
        engine.dispose()
    finally:
        stop(svc)
