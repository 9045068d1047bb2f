"""Bulk issuance (``Issuer.issue_many``) and the sharded status-index allocator, on SQLite and PostgreSQL.

Attacks on the allocator written as tests: concurrent batches on one shard and on many, batches that cross a
list's end, a pre-shard database whose old lists must never be handed out again, a batch with one bad request,
a key rotated by another process while this one holds a cached signer.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text

import keys
from credentials import parse_credential
from credentials.elicence_id import parse_id
from issuer import migrate, store
from issuer.cli import init_step
from issuer.errors import ValidationError
from issuer.hub import Hub
from issuer.service import Issuer, IssueRequest
from storage import make_engine, normalise_url

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CLAIMS = json.loads((EXAMPLES / "driving-licence.json").read_text())


class _Settings:
    def __init__(self, data_dir: Path, url: str):
        self.data_dir, self.database_url = data_dir, url


@pytest.fixture(params=["sqlite", "postgres"])
def world(request, tmp_path):
    if request.param == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path / 'db.sqlite3'}", None
    else:
        base = request.getfixturevalue("postgres_url")
        schema = f"tim_{uuid.uuid4().hex[:12]}"
        admin = create_engine(normalise_url(base))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}?options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    init_step(_Settings(tmp_path, url), lambda _msg: None)
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield Issuer(Hub(tmp_path), engine)
    engine.dispose()
    if cleanup:
        cleanup()


def _requests(n: int) -> list[IssueRequest]:
    holder = keys.generate().public
    return [IssueRequest(CLAIMS, holder) for _ in range(n)]


def test_batch_is_signed_recorded_and_dense(world):
    now = int(time.time())
    issued = world.issue_many("driving-licence", _requests(25), now=now)
    assert [i.status_idx for i in issued] == list(range(25))
    assert len({i.elicence_id for i in issued}) == 25
    serials = [parse_id(i.elicence_id)[2] for i in issued]
    assert serials == list(range(serials[0], serials[0] + 25))
    key = world.hub.rings.load("bj-traffic-police").signer(now).public
    for licence in issued:
        for raw in licence.views.values():
            message, body = parse_credential(raw)
            assert key.verify(message.signature, _sig(message)) and body.status_idx == licence.status_idx
    with world.engine.connect() as conn:
        assert conn.execute(select(store.issued.c.status_idx)).all() == [(i,) for i in range(25)]
    assert world.issue("driving-licence", CLAIMS, keys.generate().public, now=now).status_idx == 25


def _sig(message) -> bytes:
    from credentials.cose import sig_structure
    return sig_structure(message.protected, message.payload)


def test_one_bad_request_fails_the_batch_before_allocation(world):
    now = int(time.time())
    bad = [*_requests(3), IssueRequest({**CLAIMS, "vehicle_classes": ["Z9"]}, keys.generate().public)]
    with pytest.raises(ValidationError, match="vehicle_classes"):
        world.issue_many("driving-licence", bad, now=now)
    assert world.issue_many("driving-licence", _requests(2), now=now)[0].status_idx == 0
    with world.engine.connect() as conn:
        assert len(conn.execute(select(store.issued)).all()) == 2


def test_replaces_keeps_the_serial_with_the_next_version(world):
    now = int(time.time())
    first = world.issue_many("driving-licence", _requests(3), now=now)
    holder = keys.generate().public
    again = world.issue_many("driving-licence", [IssueRequest(CLAIMS, holder, f.elicence_id) for f in first]
                             + [IssueRequest(CLAIMS, holder)], now=now)
    for old, new in zip(first, again, strict=False):
        assert parse_id(new.elicence_id)[2:] == (parse_id(old.elicence_id)[2], 2)
    assert parse_id(again[3].elicence_id)[2] == parse_id(first[2].elicence_id)[2] + 1


def test_concurrent_batches_on_shared_and_own_shards_never_share_an_entry(world):
    now = int(time.time())

    def work(i: int) -> list:
        return [licence for _ in range(3)
                for licence in world.issue_many("driving-licence", _requests(7), now=now, shard=i % 3)]

    with ThreadPoolExecutor(6) as pool:
        issued = [licence for batch in pool.map(work, range(6)) for licence in batch]
    entries = [(i.status_uri, i.status_idx) for i in issued]
    assert len(set(entries)) == len(entries) == 6 * 3 * 7
    by_list: dict[str, list[int]] = {}
    for uri, idx in entries:
        by_list.setdefault(uri, []).append(idx)
    assert len(by_list) == 3  # one list per shard, each dense from 0
    assert all(sorted(v) == list(range(len(v))) for v in by_list.values())
    assert set(store.list_uris(world.engine, "bj-traffic-police")) == set(by_list)


def test_full_lists_open_new_ones_without_overlap(world):
    """A batch crossing a list's end, one ending exactly on it, and two shards filling lists in turn."""
    taken: list[tuple[str, int]] = []
    with world.engine.begin() as conn:
        for count, shard in ((3, 0), (5, 0), (4, 1), (2, 0), (8, 1), (1, 0), (4, 0), (1, 0)):
            taken += store.allocate_statuses(conn, "bj-traffic-police", "driving-licence", count, shard=shard,
                                             capacity=4)
    assert len(taken) == len(set(taken)) == 28
    lists: dict[str, list[int]] = {}
    for uri, idx in taken:
        lists.setdefault(uri, []).append(idx)
    assert all(sorted(v) == list(range(4)) for v in lists.values())  # every list filled exactly once
    assert sorted(int(u.rsplit("/", 1)[1]) for u in lists) == list(range(1, 8))


def test_pre_shard_counter_lists_are_never_reused(world):
    with world.engine.begin() as conn:  # an older database: 131,073 indexes taken, so lists 1 and 2 are in use
        conn.execute(insert(store.counters).values(name="status:bj-traffic-police", next_value=store.LIST_CAPACITY + 1))
    licence = world.issue("driving-licence", CLAIMS, keys.generate().public, now=int(time.time()))
    assert (licence.status_uri, licence.status_idx) == ("tbsl:bj-traffic-police/3", 0)


def test_shard_out_of_range_is_refused(world):
    with world.engine.begin() as conn, pytest.raises(store.IssuerError, match="shard"):
        store.allocate_statuses(conn, "bj-traffic-police", "driving-licence", 1, shard=-1)


def test_cached_signer_follows_a_rotation_by_another_process(world, tmp_path):
    now = int(time.time())
    before = world.issue("driving-licence", CLAIMS, keys.generate().public, now=now)
    new_kid = Hub(tmp_path).rotate("bj-traffic-police", now)  # another Hub: as `tongban keys rotate` would
    after = world.issue("driving-licence", CLAIMS, keys.generate().public, now=now)
    with world.engine.connect() as conn:
        kids = dict(conn.execute(select(store.issued.c.elicence_id, store.issued.c.signed_kid)).all())
    assert kids[after.elicence_id] == new_kid != kids[before.elicence_id]
