"""Background jobs run by one elected process (issue 10: advisory-lock leader election, `tongban worker`)."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from service.leader import Leadership
from service.worker import Job, tick
from storage.sql import make_engine, normalise_url


class Fixed:
    def __init__(self, leads: bool):
        self.leads = leads

    def held(self) -> bool:
        return self.leads


def test_only_the_leader_runs_jobs_and_each_when_due():
    runs: list[str] = []
    now = [0.0]

    def boom():
        raise RuntimeError("job broke")

    jobs = [Job("a", 10, lambda: runs.append("a")), Job("boom", 10, boom), Job("b", 30, lambda: runs.append("b"))]
    assert tick(Fixed(False), jobs, clock=lambda: now[0]) == []
    assert tick(Fixed(True), jobs, clock=lambda: now[0]) == ["a", "b"]  # the failing job does not stop the others
    now[0] = 5
    assert tick(Fixed(True), jobs, clock=lambda: now[0]) == []
    now[0] = 12
    assert tick(Fixed(True), jobs, clock=lambda: now[0]) == ["a"]


def test_sqlite_always_leads(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert Leadership(engine).held()
    engine.dispose()


@pytest.fixture
def two_engines(postgres_url):
    lock_id = 7_000_000 + uuid.uuid4().int % 1_000_000  # a lock of this test's own (the database is shared)
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    yield engines, lock_id
    for engine in engines:
        engine.dispose()


def test_one_leader_among_processes_and_a_successor_when_it_goes(two_engines, postgres_url):
    (one, two), lock_id = two_engines
    first, second = Leadership(one, lock_id), Leadership(two, lock_id)
    assert first.held() and not second.held()
    assert first.held() and not second.held()  # still leading: no flapping
    first.release()
    assert second.held() and not first.held()
    # the leader's session is killed (a crashed process, a network cut): the lock goes with it
    admin = create_engine(normalise_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                          "AND objid = :id AND granted"), {"id": lock_id})
    # pg_terminate_backend only signals: wait until the backend has gone and its lock with it
    for _ in range(100):
        with admin.connect() as conn:
            if not conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :id "
                                     "AND granted"), {"id": lock_id}).scalar():
                break
        time.sleep(0.05)
    admin.dispose()
    assert first.held()  # a successor takes the lock at its next check
    assert not second.held()  # and the old leader learns at its next check that it no longer leads
    first.release()
