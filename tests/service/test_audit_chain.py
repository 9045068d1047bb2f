"""The tamper-evident audit log (issue 10): a hash chain in SQL, anchors signed by the hub key, retention.

Each attack edits the table as someone with database access would, then checks ``verify`` names the entry."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from sqlalchemy import create_engine, text

from idp import migrate as idp_migrate
from idp.audit import GENESIS, Audit
from keys import KeyRing
from service import audit as chain
from storage import events
from storage.sql import make_engine, normalise_url

NOW = 1_800_000_000


@pytest.fixture
def log(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    idp_migrate.upgrade(engine)
    yield Audit(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def root():
    ring = KeyRing("hub-root")
    ring.rotate(NOW - 10)
    return ring


def _fill(log: Audit, n: int = 6) -> list[int]:
    return [log.record("login", now=NOW + i, sub=f"sub-{i}", client_id="app", n=i) for i in range(n)]


def _sql(log: Audit, statement: str, **params) -> None:
    with log.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_an_untouched_chain_verifies(log):
    ids = _fill(log)
    report = log.verify()
    assert report.ok and report.checked == len(ids) and report.first_id == ids[0] and report.starts_after == GENESIS


def test_a_changed_entry_is_named(log):
    ids = _fill(log)
    _sql(log, "UPDATE idp_audit_events SET sub = 'someone-else' WHERE id = :id", id=ids[3])
    report = log.verify()
    assert report.broken_id == ids[3] and "changed" in report.problem


def test_a_removed_entry_is_named_by_the_one_after_it(log):
    ids = _fill(log)
    _sql(log, "DELETE FROM idp_audit_events WHERE id = :id", id=ids[2])
    assert log.verify().broken_id == ids[3]


def test_an_entry_slipped_in_without_a_digest_is_named(log):
    ids = _fill(log, 3)
    _sql(log, "INSERT INTO idp_audit_events (id, at, kind) VALUES (:id, :at, 'login')", id=ids[-1] + 1, at=NOW)
    _fill(log, 2)
    assert log.verify().broken_id == ids[-1] + 1


def test_reordered_entries_are_named(log):
    ids = _fill(log)
    _sql(log, "UPDATE idp_audit_events SET id = -1 WHERE id = :a", a=ids[1])
    _sql(log, "UPDATE idp_audit_events SET id = :a WHERE id = :b", a=ids[1], b=ids[2])
    _sql(log, "UPDATE idp_audit_events SET id = :b WHERE id = -1", b=ids[2])
    assert log.verify().broken_id == ids[1]


def test_a_removed_beginning_needs_a_prune_record(log, root, tmp_path):
    ids = _fill(log)
    _sql(log, "DELETE FROM idp_audit_events WHERE id <= :id", id=ids[1])
    verdict = chain.verify(log, root.verification_keys(), tmp_path / "anchors.jsonl")
    assert not verdict.ok and f"before {ids[2]}" in verdict.problems[0]


def test_a_rewritten_chain_no_longer_matches_its_anchor(log, root, tmp_path):
    """The attacker recomputes every digest after editing: the chain alone verifies, the anchor does not."""
    anchors = tmp_path / "anchors.jsonl"
    ids = _fill(log)
    chain.anchor(log, root.signer(NOW), anchors, now=NOW + 100)
    assert chain.verify(log, root.verification_keys(), anchors).ok
    rows = list(log.rows())
    prev = GENESIS
    from idp.audit import entry_digest

    for row in rows:
        sub = "forged" if row["id"] == ids[2] else row["sub"]
        digest = entry_digest(prev, at=row["at"], kind=row["kind"], sub=sub, client_id=row["client_id"], detail=row["detail"])
        _sql(log, "UPDATE idp_audit_events SET sub = :sub, prev_digest = :p, digest = :d WHERE id = :id",
             sub=sub, p=prev, d=digest, id=row["id"])
        prev = digest
    assert log.verify().ok  # the chain by itself cannot tell
    verdict = chain.verify(log, root.verification_keys(), anchors)
    assert not verdict.ok and any("rewritten" in p for p in verdict.problems)


def test_an_anchor_signed_by_another_key_is_refused(log, root, tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    _fill(log, 2)
    other = KeyRing("mallory")
    other.rotate(NOW - 10)
    chain.anchor(log, other.signer(NOW), anchors, now=NOW + 1)
    verdict = chain.verify(log, root.verification_keys(), anchors)
    assert not verdict.ok and "not the hub root" in verdict.problems[0]


def test_a_broken_chain_is_not_anchored(log, root, tmp_path):
    ids = _fill(log)
    _sql(log, "UPDATE idp_audit_events SET kind = 'x' WHERE id = :id", id=ids[0])
    with pytest.raises(chain.AuditError, match=f"entry {ids[0]}"):
        chain.anchor(log, root.signer(NOW), tmp_path / "a.jsonl", now=NOW)


def test_pruning_keeps_a_verifiable_chain_from_an_anchor(log, root, tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    old = [log.record("login", now=NOW - 4000 * 86400 + i, sub="s") for i in range(5)]
    chain.anchor(log, root.signer(NOW), anchors, now=NOW - 3999 * 86400)
    recent = _fill(log, 3)
    with pytest.raises(chain.AuditError, match="1095"):
        chain.prune(log, now=NOW, retention_days=30)
    assert chain.prune(log, now=NOW, retention_days=1095) == len(old)
    verdict = chain.verify(log, root.verification_keys(), anchors)
    assert verdict.ok, verdict.problems
    assert log.verify().last_id > recent[-1]  # the prune record is chained too


def _old_anchored_then_recent(log, root, anchors):
    old = [log.record("login", now=NOW - 10 + i, sub="s") for i in range(5)]
    chain.anchor(log, root.signer(NOW), anchors, now=NOW)
    recent = _fill(log, 3)
    assert chain.verify(log, root.verification_keys(), anchors).ok
    return old, recent


def test_a_forged_prune_record_does_not_excuse_deleting_anchored_entries(log, root, tmp_path):
    """Someone who can write the table deletes recent, anchored entries and adds a prune record naming the digest
    the rest now starts after: the cut is at no signed anchor, so it is refused."""
    anchors = tmp_path / "anchors.jsonl"
    old, recent = _old_anchored_then_recent(log, root, anchors)
    start = list(log.rows())
    cut_after = next(row for row in start if row["id"] == recent[0])
    _sql(log, "DELETE FROM idp_audit_events WHERE id < :id", id=recent[1])
    log.record(chain.PRUNE_KIND, now=NOW + 50, upto=recent[0], digest=cut_after["digest"], removed=len(old) + 2)
    verdict = chain.verify(log, root.verification_keys(), anchors)
    assert not verdict.ok and any("prune record at a signed anchor" in p for p in verdict.problems), verdict.problems


def test_a_chain_relinked_from_genesis_after_deleting_its_beginning_is_caught_by_its_anchor(log, root, tmp_path):
    from idp.audit import entry_digest

    anchors = tmp_path / "anchors.jsonl"
    old, _recent = _old_anchored_then_recent(log, root, anchors)
    _sql(log, "DELETE FROM idp_audit_events WHERE id <= :id", id=old[-1])
    prev = GENESIS
    for row in list(log.rows()):  # re-link what is left as if it had always started here
        digest = entry_digest(prev, at=row["at"], kind=row["kind"], sub=row["sub"], client_id=row["client_id"],
                              detail=row["detail"])
        _sql(log, "UPDATE idp_audit_events SET prev_digest = :p, digest = :d WHERE id = :id", p=prev, d=digest,
             id=row["id"])
        prev = digest
    assert log.verify().ok and log.verify().starts_after == GENESIS  # the chain by itself cannot tell
    verdict = chain.verify(log, root.verification_keys(), anchors)
    assert not verdict.ok and any("beginning removed" in p for p in verdict.problems), verdict.problems


@pytest.mark.postgres
def test_concurrent_appends_never_fork_the_chain(postgres_url):
    schema = "tb_audit_" + uuid.uuid4().hex[:10]
    admin = create_engine(normalise_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{postgres_url}?options=-csearch_path%3D{schema}")
    try:
        idp_migrate.upgrade(engine)
        log = Audit(engine)
        barrier = threading.Barrier(8)

        def writer(n: int) -> None:
            barrier.wait()
            for i in range(15):
                log.record("consent", now=NOW, sub=f"w{n}", i=i)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report = log.verify()
        assert report.ok and report.checked == 120
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_the_issuer_s_events_are_chained_when_the_request_ends(app_template, tmp_path):
    from service.app import create_app
    from service.config import Settings
    from tests.conftest import copy_template

    data = copy_template(app_template, tmp_path / "data")
    app = create_app(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}))
    try:
        log = app.extensions["tongban.idp"].audit
        before = log.verify().checked
        with app.test_request_context():
            events.emit("status_change", licence_type="driving-licence", authority="bj-tgb", elicence_id="E1",
                        status="revoked", at=NOW)
            assert log.verify().checked == before  # not before the request (and its transaction) is over
        events.emit("status_change", licence_type="x", authority="y", elicence_id="E2", status="revoked", at=NOW)
        report = log.verify()
        assert report.ok and report.checked == before + 1  # E2 was no request of this app's
        [entry] = log.events(limit=1, kinds=("status_change",))
        assert json.loads(entry["detail"])["elicence_id"] == "E1" and entry["at"] == NOW
    finally:
        app.extensions["tongban.idp"].engine.dispose()


def test_anchors_are_written_when_due_only(log, root, tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    assert chain.anchor_if_due(log, root.signer(NOW), anchors, now=NOW, every=3600) is None  # empty: nothing to sign
    _fill(log, 2)
    assert chain.anchor_if_due(log, root.signer(NOW), anchors, now=NOW, every=3600) is not None
    assert chain.anchor_if_due(log, root.signer(NOW), anchors, now=NOW + 60, every=3600) is None
    assert chain.anchor_if_due(log, root.signer(NOW), anchors, now=NOW + 3601, every=3600) is not None
    assert len(anchors.read_text().splitlines()) == 2


@pytest.mark.slow
def test_tongban_audit_verify_names_the_first_broken_entry(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from service.wiring import main

    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    data = str(tmp_path / "hub")
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--data", data]).exit_code == 0
    assert runner.invoke(main, ["audit", "anchor", "--data", data]).exit_code == 0
    intact = runner.invoke(main, ["audit", "verify", "--data", data])
    assert intact.exit_code == 0 and "intact" in intact.output and "1 anchor" in intact.output
    engine = make_engine(f"sqlite:///{tmp_path / 'hub' / 'tongban.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE idp_audit_events SET client_id = 'forged' WHERE id = 1"))
    engine.dispose()
    broken = runner.invoke(main, ["audit", "verify", "--data", data])
    assert broken.exit_code == 1 and "BROKEN at entry 1" in broken.output
