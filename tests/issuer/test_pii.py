"""Sealed personal data (issuer.pii, issuer.pii_migrate): moved ciphertexts do not open, a wrong issuer secret is
named as such, the start-up pass is idempotent, resumable and safe with several workers, and keys rotate."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text, update

import keys
from issuer import migrate, pii_migrate, records, store
from issuer.health import HealthDesk
from issuer.health import store as t
from issuer.pii import PiiError, PiiKeyError, PiiUnreadable, Vault, open_vault, pii_keys, version_of
from issuer.records import Records
from issuer.service import Issuer
from service.wiring import main
from storage import make_engine, normalise_url
from tests.conftest import examples
from tests.issuer.conftest import LI, ZHANG, FakePeople
from tests.issuer.old_schema import copy_as_old

SECRET = b"k" * 32


def world_rows(world) -> None:
    """Rows in every sealed table: statuses with reasons, codes bound to devices, a proxy, records, credentials."""
    desk, now = world.desk, int(time.time())
    desk.set_status(ZHANG, "yellow", "密接核查", actor="test", now=now)
    desk.set_status(LI, "green", "复核无异常", actor="test", now=now, operator=True)  # 李四 lives outside 110000
    desk.fetch(ZHANG, "张三", keys.generate().public, now=now)
    grant = desk.grant_proxy(desk.person(ZHANG), LI, via="self", recorded_by="test", now=now)
    desk.fetch(LI, "李四", keys.generate().public, now=now, proxy_id=grant.id, requester_id_number=LI)
    register = Records(desk.engine, desk.vault)
    for type_name, claims in records.DEMO_RECORDS:
        register.ensure(type_name, desk.issuer.hub.owner_of(type_name).id, claims, now=now)


# -- a ciphertext moved elsewhere does not open ----------------------------------------------------------------
def test_a_sealed_value_moved_to_another_row_or_column_does_not_open(health_world):
    world_rows(health_world)
    desk = health_world.desk
    engine, vault = desk.engine, desk.vault
    with engine.begin() as conn:  # 李四's sealed name and number put on 张三's status row
        li = conn.execute(select(t.health_status.c.person_enc).where(
            t.health_status.c.subject_hash == desk.hash(LI))).scalar_one()
        conn.execute(update(t.health_status).where(t.health_status.c.subject_hash == desk.hash(ZHANG))
                     .values(person_enc=li))
    with pytest.raises(PiiUnreadable) as caught:
        desk.status(ZHANG)
    assert caught.value.reason == "pii_unreadable" and "个人数据无法解密" in str(caught.value)
    with engine.begin() as conn:  # a status reason put into the audit trail
        reason = conn.execute(select(t.health_status.c.reason_enc).where(
            t.health_status.c.subject_hash == desk.hash(LI))).scalar_one()
        conn.execute(update(t.health_audit).where(t.health_audit.c.subject_hash == desk.hash(LI)).values(
            reason_enc=reason))
    with pytest.raises(PiiUnreadable):
        desk.audit(LI)
    register = Records(engine, vault)
    [zhang_dl, zhang_id] = register.held_by(ZHANG)
    with engine.begin() as conn:  # one record's sealed holder and claims on another record
        sealed = conn.execute(select(records.records.c.data_enc).where(
            records.records.c.record_id == zhang_id.record_id)).scalar_one()
        conn.execute(update(records.records).where(records.records.c.record_id == zhang_dl.record_id)
                     .values(data_enc=sealed))
    with pytest.raises(PiiUnreadable):
        register.get(zhang_dl.record_id)
    assert register.get(zhang_id.record_id).claims["address"] == "北京市东城区东长安街1号"  # untouched row opens


def test_sealed_credential_claims_are_bound_to_their_elicence_id(health_world):
    world_rows(health_world)
    vault = health_world.desk.vault
    with health_world.desk.engine.connect() as conn:
        rows = conn.execute(select(store.issued)).all()
    assert all(r.claims == {} for r in rows)
    first, second = rows[0]._mapping, rows[1]._mapping
    assert store.CLAIMS.open(vault, first)["id_number"] in (ZHANG, LI)
    with pytest.raises(PiiUnreadable):
        store.CLAIMS.open(vault, {**second, "claims_enc": first["claims_enc"]})


# -- the wrong issuer secret -------------------------------------------------------------------------------------
def test_a_wrong_issuer_secret_is_named_not_garbage(health_world):
    world_rows(health_world)
    engine = health_world.desk.engine
    with pytest.raises(PiiKeyError) as caught:
        open_vault(engine, b"w" * 32)
    assert caught.value.reason == "issuer_secret_mismatch"
    assert "签发方密钥与数据库不符" in str(caught.value) and "TONGBAN_ISSUER_SECRET" in str(caught.value)
    with pytest.raises(PiiKeyError):
        pii_migrate.upgrade(engine, b"w" * 32)  # start-up refuses
    with engine.connect() as conn:
        token = conn.execute(select(t.health_status.c.person_enc)).scalars().first()
    with pytest.raises(PiiKeyError):  # also value by value, without the key table
        Vault(b"w" * 32).open(token, where="anything")
    assert Issuer(health_world.desk.issuer.hub, engine).vault.key_id() == health_world.desk.vault.key_id()


def test_the_cli_refuses_to_start_with_another_secret(tmp_path):
    env = {"TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_DATA": str(tmp_path), "TONGBAN_ISSUER_SECRET": "ab" * 32}
    assert CliRunner(env=env).invoke(main, ["init"]).exit_code == 0
    result = CliRunner(env={**env, "TONGBAN_ISSUER_SECRET": "cd" * 32}).invoke(main, ["init"])
    assert result.exit_code == 2 and "签发方密钥与数据库不符" in result.output and "Traceback" not in result.output


def test_rotate_and_reseal_commands(tmp_path):
    env = {"TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_DATA": str(tmp_path), "TONGBAN_ISSUER_SECRET": ""}
    assert CliRunner(env=env).invoke(main, ["init"]).exit_code == 0
    rotated = CliRunner(env=env).invoke(main, ["pii", "rotate"])
    assert rotated.exit_code == 0 and "data key v2" in rotated.output, rotated.output
    resealed = CliRunner(env=env).invoke(main, ["pii", "reseal"])
    assert resealed.exit_code == 0 and "data key v2" in resealed.output
    engine = make_engine(f"sqlite:///{tmp_path / 'tongban.sqlite3'}")
    with engine.connect() as conn:
        sealed = conn.execute(select(records.records.c.data_enc)).scalars().all()
    engine.dispose()
    assert len(sealed) == 3 and {version_of(v) for v in sealed} == {2}


@settings(max_examples=examples(200), deadline=None)
@given(st.one_of(st.text(max_size=80), st.builds(lambda v, k, b: f"pii.{v}.{k}.{b}", st.integers(-5, 10**7),
                                                  st.text(max_size=10), st.text(max_size=60))))
def test_any_stored_text_either_opens_or_is_refused_with_a_reason(token):
    vault = Vault(SECRET)
    with pytest.raises(PiiError):
        vault.open(token, where="t\x00c\x001")


@settings(max_examples=examples(100), deadline=None)
@given(st.text(max_size=300), st.text(max_size=40))
def test_seal_and_open_round_trip(value, where):
    vault = Vault(SECRET, version=3)
    token = vault.seal(value, where=where)
    assert vault.open(token, where=where) == value and version_of(token) == 3
    with pytest.raises(PiiUnreadable):
        vault.open(token, where=where + "x")


# -- the start-up pass ---------------------------------------------------------------------------------------------
@pytest.fixture
def old_url(health_world, tmp_path, request):
    """Where the older database goes: a SQLite file, or a fresh PostgreSQL schema beside the world's."""
    if health_world.desk.engine.dialect.name != "postgresql":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    url = request.getfixturevalue("postgres_url")
    schema = "tbold_" + uuid.uuid4().hex[:12]
    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _old_database(health_world, url: str):
    """An older database (clear columns) holding the health world's rows."""
    world_rows(health_world)
    target = make_engine(url)
    copy_as_old(health_world.desk.engine, health_world.desk.vault, target)
    migrate.upgrade(target)  # start-up: the sealed columns are added (empty), the database stamped
    return target


def _sealed_state(engine) -> dict:
    with engine.connect() as conn:
        return {(s.table.name, s.column): sorted(str(v) for v in conn.execute(select(s.table.c[s.column])).scalars())
                for s in pii_migrate.SEALED_COLUMNS}


@pytest.mark.slow
def test_the_pass_is_idempotent_and_resumable(health_world, old_url, monkeypatch):
    engine = _old_database(health_world, old_url)
    secret = health_world.desk.issuer.vault.master
    calls = {"n": 0}
    real = t.VIEWS.__class__.seal

    def failing(self, vault, row, value):  # the process dies part-way
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("power cut")
        return real(self, vault, row, value)

    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        patch.setattr(t.VIEWS.__class__, "seal", failing)
        pii_migrate.upgrade(engine, secret, batch=2)
    with engine.connect() as conn:
        assert conn.execute(select(pii_keys.c.sealed_at)).scalar() is None  # not marked done
        assert conn.execute(select(store.issued.c.claims_enc).where(store.issued.c.claims_enc.is_not(None))).first()
    vault = pii_migrate.upgrade(engine, secret, batch=2)  # the next start-up goes on
    state = _sealed_state(engine)
    assert all(None not in values and "None" not in values for values in state.values())
    pii_migrate.upgrade(engine, secret, batch=2)
    with engine.connect() as conn:
        assert pii_migrate.seal_pass(conn, vault) == 0
    assert _sealed_state(engine) == state  # nothing sealed twice
    desk = HealthDesk(Issuer(health_world.desk.issuer.hub, engine, vault), b"k" * 32, people=FakePeople())
    assert desk.status(ZHANG).reason == "密接核查" and desk.proxies(ZHANG)["granted"][0].proxy_name == "李四"
    assert [r.licence_type for r in Records(engine, vault).held_by(LI)] == ["driving-licence"]
    engine.dispose()


def test_several_workers_starting_at_once_seal_each_row_once(health_world, old_url):
    engine = _old_database(health_world, old_url)
    secret = health_world.desk.issuer.vault.master
    seen: list = []
    errors: list = []

    def worker() -> None:
        try:
            own = make_engine(old_url)
            seen.append(pii_migrate.upgrade(own, secret, batch=3).version)
            own.dispose()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and seen == [1, 1, 1, 1]
    state = _sealed_state(engine)
    assert all(None not in v and "None" not in v for v in state.values())
    engine.dispose()


def test_rotation_reseals_every_row_under_the_next_version(health_world, tmp_path):
    world_rows(health_world)
    engine, secret = health_world.desk.engine, health_world.desk.issuer.vault.master
    vault = pii_migrate.rotate(engine, secret, now=int(time.time()))
    assert vault.version == 2 and open_vault(engine, secret).version == 2
    for values in _sealed_state(engine).values():
        assert values and all(version_of(v) == 2 for v in values if v != "None")
    issuer = Issuer(health_world.desk.issuer.hub, engine)  # a worker started after the rotation
    desk = HealthDesk(issuer, b"k" * 32, people=FakePeople())
    assert desk.status(ZHANG).name == "张三" and desk.audit(ZHANG)[-1].reason == "密接核查"
    desk.set_status(ZHANG, "green", "解除", actor="test", now=int(time.time()))
    with engine.connect() as conn:
        assert version_of(conn.execute(select(t.health_status.c.reason_enc).where(
            t.health_status.c.subject_hash == desk.hash(ZHANG))).scalar_one()) == 2
