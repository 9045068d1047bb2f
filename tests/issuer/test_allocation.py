"""Status-index allocation under concurrent issuers: unique, never reused, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

import keys
from issuer import migrate, store
from issuer.cli import init_step
from issuer.hub import Hub
from issuer.service import Issuer
from storage import make_engine, normalise_url

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
THREADS, PER_THREAD = 6, 8


class _Settings:
    def __init__(self, data_dir: Path, url: str):
        self.data_dir, self.database_url = data_dir, url


def _issue_concurrently(issuer: Issuer) -> list:
    claims = json.loads((EXAMPLES / "driving-licence.json").read_text())
    holder = keys.generate().public

    def work(_: int) -> list:
        return [issuer.issue("driving-licence", claims, holder, now=int(time.time())) for _ in range(PER_THREAD)]

    with ThreadPoolExecutor(THREADS) as pool:
        return [licence for batch in pool.map(work, range(THREADS)) for licence in batch]


def _assert_unique(issued: list, engine) -> None:
    entries = [(i.status_uri, i.status_idx) for i in issued]
    assert len(set(entries)) == len(entries) == THREADS * PER_THREAD
    assert sorted(idx for _, idx in entries) == list(range(THREADS * PER_THREAD))  # dense: nothing skipped or reused
    assert len({i.elicence_id for i in issued}) == len(issued)
    with engine.connect() as conn:
        rows = conn.execute(select(store.issued.c.status_idx)).all()
    assert len(rows) == len(issued)


def _world(tmp_path: Path, url: str) -> Issuer:
    init_step(_Settings(tmp_path, url), lambda _msg: None)
    engine = make_engine(url)
    migrate.upgrade(engine)  # what start-up does
    return Issuer(Hub(tmp_path), engine)


def test_concurrent_allocation_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    issuer = _world(tmp_path, url)
    _assert_unique(_issue_concurrently(issuer), issuer.engine)


@pytest.mark.postgres
def test_concurrent_allocation_postgres(tmp_path, postgres_url):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{postgres_url}?options=-csearch_path%3D{schema}"
        issuer = _world(tmp_path, url)
        assert issuer.engine.dialect.name == "postgresql"
        _assert_unique(_issue_concurrently(issuer), issuer.engine)
        issuer.engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_failed_issuance_allocates_nothing(tmp_path):
    issuer = _world(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    claims = json.loads((EXAMPLES / "driving-licence.json").read_text())
    holder = keys.generate().public
    first = issuer.issue("driving-licence", claims, holder, now=int(time.time()))
    with pytest.raises(Exception, match="vehicle_classes"):
        issuer.issue("driving-licence", {**claims, "vehicle_classes": ["Z9"]}, holder, now=int(time.time()))
    second = issuer.issue("driving-licence", claims, holder, now=int(time.time()))
    assert second.status_idx == first.status_idx + 1
