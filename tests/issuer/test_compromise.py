"""A compromised authority key: out of the next trust list at once, its credentials marked for re-issue.

Runs on SQLite and, where a server is reachable, on PostgreSQL (a throw-away schema), through the real hub,
issuer and counter cache; the attacker holds the compromised key file and keeps signing with it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    inspect,
    select,
    text,
)

import credentials
import keys
from credentials import make_presentation
from credentials.credential import sign_credential
from issuer import migrate, store
from issuer.compromise import compromise_key
from issuer.hub import ROOT_OWNER
from keys import KeyFormatError
from storage import make_engine, normalise_url
from tests.issuer.test_allocation import _world
from verifier.cache import DirectorySource, VerifierCache
from verifier.pipeline import verify
from verifier.replay import MemoryReplayCache

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POLICE = "bj-traffic-police"
CLAIMS = json.loads((EXAMPLES / "driving-licence.json").read_text())


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    postgres_url = request.getfixturevalue("postgres_url")
    schema = f"tk_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def make_issuer(tmp_path):
    """The hub and issuer ``tongban init`` makes, on ``url``; their engines are closed after the test."""
    made = []

    def make(url: str | None = None):
        made.append(_world(tmp_path, url or f"sqlite:///{tmp_path / 'db.sqlite3'}"))
        return made[-1]

    yield make
    for issuer in made:
        issuer.engine.dispose()


def _counter(data: Path, now: int) -> VerifierCache:
    cache = VerifierCache(data / f"counter-{uuid.uuid4().hex[:6]}")
    cache.sync(DirectorySource(data), now=now, root=keys.PublicKey.from_jwk(DirectorySource(data).root_key()))
    return cache


def _forged(stolen: keys.PrivateKey, holder: keys.PrivateKey, now: int) -> bytes:
    """A driving licence the attacker signs today with the stolen key file."""
    body = credentials.CredentialBody(
        "driving-licence", "driving", {"name": "张三", "vehicle_classes": ["A1"], "valid_from": dt.date(2020, 1, 1),
                                       "valid_until": dt.date(2040, 1, 1)},
        999, 1, now, now + 10**6, holder.public, 7, f"tbsl:{POLICE}/1")
    return sign_credential(body, stolen)


def _check(cache: VerifierCache, view: bytes, holder: keys.PrivateKey, now: int):
    qr = make_presentation(view, holder, now=now, challenge=uuid.uuid4().bytes)
    return verify(qr, trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(), now=now)


def test_compromise_withdraws_the_key_and_marks_what_it_signed(tmp_path, url, make_issuer):
    issuer = make_issuer(url)
    now = int(time.time())
    holder = keys.generate()
    old = issuer.hub.rings.load(POLICE).signer(now)
    signed = [issuer.issue("driving-licence", CLAIMS, holder.public, now=now) for _ in range(3)]
    revoked = issuer.issue("driving-licence", CLAIMS, holder.public, now=now)
    issuer.set_status(revoked.elicence_id, now=now)
    other_authority = issuer.issue("resident-id", json.loads((EXAMPLES / "resident-id.json").read_text()),
                                   holder.public, now=now)
    with issuer.engine.connect() as conn:
        kids = set(conn.execute(select(store.issued.c.signed_kid)).scalars())
    assert old.public.kid in kids  # the issuer records which key signed each credential

    counter = _counter(tmp_path, now)
    assert _check(counter, signed[0].views["driving"], holder, now).valid
    version_before = counter.trust_list(now).version

    result = compromise_key(issuer, POLICE, old.public.short_kid.hex(), now=now + 1, actor="test")
    assert result.kid == old.public.kid and result.new_signer not in (None, old.public.kid)
    assert result.marked == 3 and result.trust_list_version == version_before + 1

    # The next sync: version bumped, key gone (named compromised), every credential it signed refused.
    counter.sync(DirectorySource(tmp_path), now=now + 2)
    trust = counter.trust_list(now + 2)
    assert trust.version == version_before + 1 and trust.find_key(old.public.short_kid) is None
    decision = _check(counter, signed[1].views["driving"], holder, now + 2)
    assert not decision.valid and decision.reasons == ("key_compromised",)
    # The attacker's fresh signature with the stolen key file: refused the same way.
    assert _check(counter, _forged(old.private, holder, now + 2), holder, now + 2).reasons == ("key_compromised",)

    # The authority's status lists were re-signed by the new key, so the counter still reads them.
    assert counter.lookup(signed[0].status_uri, signed[0].status_idx, now + 2).value == 0
    # A new licence from the new signer verifies.
    fresh = issuer.issue("driving-licence", CLAIMS, holder.public, now=now + 2)
    assert _check(counter, fresh.views["driving"], holder, now + 2).valid
    assert _check(counter, other_authority.views[next(iter(other_authority.views))], holder, now + 2).valid

    listed = store.needing_reissue(issuer.engine, now=now + 2)
    assert sorted(r.elicence_id for r in listed) == sorted(s.elicence_id for s in signed)
    assert {r.signed_kid for r in listed} == {old.public.kid} and {r.needs_reissue_at for r in listed} == {now + 1}
    assert store.needing_reissue(issuer.engine, authority_id="bj-public-security", now=now + 2) == []

    # The private key is gone from the ring file; compromising again marks nothing new and keeps the signer.
    ring_file = json.loads((tmp_path / "keys" / f"{POLICE}.json").read_text())
    entry = next(e for e in ring_file["keys"] if e["kid"] == old.public.kid)
    assert entry["pem"] is None and entry["compromised_at"] == now + 1
    again = compromise_key(issuer, POLICE, old.public.kid, now=now + 5, actor="test")
    assert again.marked == 0 and again.needing_reissue == 3 and again.new_signer is None
    assert issuer.hub.rings.load(POLICE).signer(now + 5).public.kid == result.new_signer
    events = [json.loads(line) for line in (tmp_path / "key-events.jsonl").read_text().splitlines()]
    assert [e for e in events if e["event"] == "compromise"] == [
        {"event": "compromise", "owner": POLICE, "kid": old.public.kid, "at": now + 1, "actor": "test",
         "new_kid": result.new_signer}]


def test_a_retired_key_compromised_later_keeps_the_current_signer(tmp_path, make_issuer):
    issuer = make_issuer()
    now = int(time.time())
    holder = keys.generate()
    old = issuer.hub.rings.load(POLICE).signer(now)
    before = issuer.issue("driving-licence", CLAIMS, holder.public, now=now)
    issuer.hub.rotate(POLICE, now + 10)
    current = issuer.hub.rings.load(POLICE).signer(now + 10)
    after = issuer.issue("driving-licence", CLAIMS, holder.public, now=now + 10)
    result = compromise_key(issuer, POLICE, old.public.kid, now=now + 20, actor="test")
    assert result.new_signer is None and result.marked == 1
    assert issuer.hub.rings.load(POLICE).signer(now + 20).public == current.public
    assert [r.elicence_id for r in store.needing_reissue(issuer.engine, now=now + 20)] == [before.elicence_id]
    counter = _counter(tmp_path, now + 20)
    assert _check(counter, after.views["driving"], holder, now + 20).valid
    assert _check(counter, before.views["driving"], holder, now + 20).reasons == ("key_compromised",)


@pytest.mark.parametrize(("authority", "kid"), [("nobody", "00" * 8), (POLICE, "00" * 8), (POLICE, "x"),
                                                 (ROOT_OWNER, "00" * 8)])
def test_unknown_authority_or_kid_or_the_root_is_refused(tmp_path, authority, kid, make_issuer):
    issuer = make_issuer()
    if authority == ROOT_OWNER:
        kid = issuer.hub.rings.load(ROOT_OWNER).signer(int(time.time())).public.kid
    version = json.loads((tmp_path / "hub.json").read_text())["trust_list_version"]
    with pytest.raises(KeyFormatError):
        compromise_key(issuer, authority, kid, now=int(time.time()), actor="test")
    assert json.loads((tmp_path / "hub.json").read_text())["trust_list_version"] == version  # nothing published


def test_an_older_database_gets_the_new_columns_and_its_rows_are_marked_by_time(tmp_path, url, make_issuer):
    """A database made before the issuer recorded signing keys: the columns are added, old rows judged by date."""
    engine = make_engine(url)
    Table(  # issuer_credentials as the issuer made it before it kept the signing key
        "issuer_credentials", MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("elicence_id", String(120), nullable=False, unique=True),
        Column("licence_type", String(40), nullable=False), Column("authority_id", String(80), nullable=False),
        Column("holder_kid", String(64), nullable=False), Column("status_uri", String(200), nullable=False),
        Column("status_idx", BigInteger, nullable=False), Column("status", SmallInteger, nullable=False, default=0),
        Column("issued_at", BigInteger, nullable=False), Column("expires_at", BigInteger, nullable=False),
        Column("claims", JSON, nullable=False),
        UniqueConstraint("status_uri", "status_idx", name="uq_issuer_status_entry"),
    ).create(engine)
    now = int(time.time())
    issuer = make_issuer(url)  # its start-up migration meets the old table
    columns = {c["name"] for c in inspect(issuer.engine).get_columns("issuer_credentials")}
    assert {"signed_kid", "needs_reissue_at"} <= columns
    holder = keys.generate()
    legacy = issuer.issue("driving-licence", CLAIMS, holder.public, now=now)
    with issuer.engine.begin() as conn:  # as if issued before the column existed
        conn.execute(store.issued.update().values(signed_kid=None))
    migrate.upgrade(issuer.engine)  # a second start-up changes nothing
    old = issuer.hub.rings.load(POLICE).signer(now)
    assert compromise_key(issuer, POLICE, old.public.kid, now=now + 1, actor="test").marked == 1
    assert [r.elicence_id for r in store.needing_reissue(issuer.engine, now=now + 1)] == [legacy.elicence_id]
    engine.dispose()


def test_compromise_does_not_touch_a_database_of_another_authority(make_issuer):
    issuer = make_issuer()
    now = int(time.time())
    holder = keys.generate()
    resident = issuer.issue("resident-id", json.loads((EXAMPLES / "resident-id.json").read_text()), holder.public,
                            now=now)
    police_key = issuer.hub.rings.load(POLICE).signer(now)
    assert compromise_key(issuer, POLICE, police_key.public.kid, now=now + 1, actor="test").marked == 0
    assert store.needing_reissue(issuer.engine, now=now + 1) == []
    assert resident.authority_id == "bj-public-security"
