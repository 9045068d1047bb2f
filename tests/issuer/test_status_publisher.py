"""Publication driven by the database (issue 10 item 7, issue 9 P8) and the authority's signed deltas.

A change committed with its dirty mark and then lost to a crash before publication is published by the next
publisher run; a burst of revocations becomes one signature per list per interval; the deltas the hub writes,
applied in order, give exactly the lists it publishes.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import keys
from credentials.status_list import (
    INVALID,
    SUSPENDED,
    FeedState,
    verify_delta,
    verify_status_list_cwt,
)
from credentials.status_uri import feed_files as _feed_files
from issuer import migrate, store
from issuer.cli import init_step
from issuer.hub import Hub
from issuer.service import Issuer
from storage import make_engine, normalise_url

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AUTH = "bj-traffic-police"
NOW = int(time.time()) + 3600  # after the keys the fixture makes come into force


class _Settings:
    def __init__(self, data_dir: Path, url: str):
        self.data_dir, self.database_url = data_dir, url


def _issuer(tmp_path: Path, url: str) -> Issuer:
    init_step(_Settings(tmp_path, url), lambda _msg: None)
    engine = make_engine(url)
    migrate.upgrade(engine)
    return Issuer(Hub(tmp_path), engine)


@pytest.fixture(params=["sqlite", "postgres"])
def issuer(request, tmp_path, monkeypatch):
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    if request.param == "sqlite":
        made = _issuer(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
        yield made
        made.engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        made = _issuer(tmp_path, f"{url}?options=-csearch_path%3D{schema}")
        yield made
        made.engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _issue(issuer: Issuer, count: int, now: int = NOW) -> list:
    claims = json.loads((EXAMPLES / "driving-licence.json").read_text())
    holder = keys.generate().public
    return [issuer.issue("driving-licence", claims, holder, now=now) for _ in range(count)]


def _published(issuer: Issuer, uri: str, now: int):
    raw = (issuer.hub.data_dir / "status" / AUTH / f"{uri.rsplit('/', 1)[1]}.cwt").read_bytes()
    key = issuer.hub.rings.load(AUTH).signer(now).public
    return verify_status_list_cwt(raw, public_key=key, alg=key.alg, now=now + 5, expected_subject=uri, leeway=60)


def test_a_change_lost_to_a_crash_before_publication_is_published_by_the_next_run(issuer):
    licences = _issue(issuer, 3)
    uri = licences[0].status_uri
    # The change commits with its dirty mark; the process dies before it publishes.
    store.set_statuses(issuer.engine, [licences[0].elicence_id], INVALID, now=NOW + 1)
    with issuer.engine.begin() as conn:  # a health-code change inside a larger transaction, same fate
        store.mark_status(conn, licences[1].elicence_id, SUSPENDED)
    assert _published(issuer, uri, NOW + 1).status_list.get(licences[0].status_idx) == 0
    assert len(store.dirty(issuer.engine)) == 1
    issuer.refresh_due(now=NOW + 2)  # the next publisher run (`tongban serve`'s timer, or `status publish`)
    token = _published(issuer, uri, NOW + 2)
    assert token.status_list.get(licences[0].status_idx) == INVALID
    assert token.status_list.get(licences[1].status_idx) == SUSPENDED
    assert token.status_list.get(licences[2].status_idx) == 0
    assert store.dirty(issuer.engine) == {}


def test_marks_committed_after_a_run_read_them_stay_for_the_next(issuer):
    licences = _issue(issuer, 2)
    store.set_statuses(issuer.engine, [licences[0].elicence_id], INVALID, now=NOW)
    seen = store.dirty(issuer.engine)
    store.set_statuses(issuer.engine, [licences[1].elicence_id], INVALID, now=NOW)  # after the run read the marks
    store.clear_dirty(issuer.engine, [mark for ids in seen.values() for mark in ids])
    assert sum(len(ids) for ids in store.dirty(issuer.engine).values()) == 1


def test_a_burst_of_revocations_becomes_one_signature_per_interval(issuer):
    licences = _issue(issuer, 40)
    issuer.background = True  # a background publisher runs: changes within its interval wait for it
    uri = licences[0].status_uri
    before = len(_feed_files(issuer.hub.data_dir / 'status', AUTH))
    for licence in licences[:30]:  # the first is published at once; the list then was signed this second
        issuer.set_status(licence.elicence_id, now=NOW)
    assert len(_feed_files(issuer.hub.data_dir / 'status', AUTH)) == before + 1
    assert _published(issuer, uri, NOW).status_list.get(licences[0].status_idx) == INVALID
    assert issuer.publish_pending(now=NOW) == 0  # within the interval: nothing
    assert issuer.publish_pending(now=NOW + 1) == 1  # the publisher's next run: one list, one signature
    token = _published(issuer, uri, NOW + 1)
    assert [token.status_list.get(lic.status_idx) for lic in licences] == [INVALID] * 30 + [0] * 10
    assert len(_feed_files(issuer.hub.data_dir / 'status', AUTH)) == before + 2
    assert store.dirty(issuer.engine) == {}


def test_the_hubs_deltas_in_order_give_its_lists(issuer):
    licences = _issue(issuer, 6)
    issuer.set_status(licences[0].elicence_id, now=NOW + 1)
    issuer.set_status(licences[1].elicence_id, suspend=True, now=NOW + 2)
    issuer.set_status(licences[1].elicence_id, reinstate=True, now=NOW + 3)
    issuer.refresh_due(now=NOW + 4000)  # a heartbeat (and the lists re-signed)
    issuer.set_status(licences[2].elicence_id, now=NOW + 4001)
    key = issuer.hub.rings.load(AUTH).signer(NOW).public
    chain = [verify_delta(path.read_bytes(), public_key=key, alg=key.alg, authority_id=AUTH, now=NOW + 5000)
             for _, _, path in _feed_files(issuer.hub.data_dir / 'status', AUTH)]
    assert [d.from_iat for d in chain[1:]] == [d.issued_at for d in chain[:-1]]
    state = FeedState(AUTH, 2, chain[0].from_iat).apply_chain(chain) if chain[0].from_iat == 0 else None
    assert state is not None and state.head == chain[-1].issued_at
    published = _published(issuer, licences[0].status_uri, NOW + 4001)
    assert state.lists[1] == published.status_list and state.digests[1] == published.digest
    assert [published.status_list.get(lic.status_idx) for lic in licences] == [INVALID, 0, INVALID, 0, 0, 0]


def test_status_publish_reads_the_registry_not_the_credentials(issuer):
    licences = _issue(issuer, 2)
    assert store.list_uris(issuer.engine, AUTH) == [licences[0].status_uri]
    assert issuer.publish_all(now=NOW + 10) >= 1


def test_many_revocations_in_one_transaction_mark_each_list_once(issuer):
    licences = _issue(issuer, 5)
    issuer.background = True
    assert issuer.set_statuses([lic.elicence_id for lic in licences[:4]], suspend=True, now=NOW + 10) == 4
    assert issuer.set_statuses([licences[0].elicence_id], now=NOW + 10) == 1  # revoked
    assert issuer.set_statuses([licences[0].elicence_id], reinstate=True, now=NOW + 10) == 0  # final
    with pytest.raises(Exception, match="no credential"):
        issuer.set_statuses([licences[4].elicence_id, "nope"], now=NOW + 10)
    issuer.publish_pending(now=NOW + 11)  # the background publisher's next run
    token = _published(issuer, licences[0].status_uri, NOW + 11)
    assert [token.status_list.get(lic.status_idx) for lic in licences] == [INVALID] + [SUSPENDED] * 3 + [0]


def test_a_feed_started_on_a_hub_with_lists_carries_them_as_they_are(issuer):
    """A hub from before the deltas (no feed yet) opens a new list: the other lists join the feed unchanged."""
    import shutil

    licences = _issue(issuer, 2)
    issuer.set_status(licences[0].elicence_id, now=NOW + 1)
    shutil.rmtree(issuer.hub.data_dir / "status" / AUTH / "feed")
    issuer.publish_status_list(AUTH, store.status_uri(AUTH, 2), now=NOW + 2, statuses={}, only_if_missing=True)
    assert _published(issuer, licences[0].status_uri, NOW + 2).status_list.get(licences[0].status_idx) == INVALID
    key = issuer.hub.rings.load(AUTH).signer(NOW).public
    (only,) = [verify_delta(path.read_bytes(), public_key=key, alg=key.alg, authority_id=AUTH, now=NOW + 10)
               for _, _, path in _feed_files(issuer.hub.data_dir / "status", AUTH)]
    state = FeedState(AUTH, 2, 0).apply(only)
    assert sorted(state.lists) == [1, 2] and state.lists[1].get(licences[0].status_idx) == INVALID
