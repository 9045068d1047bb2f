"""A 国密 hub (``tongban init --suite guomi``): SM2 authority and root keys end to end through a counter, personal
data sealed with SM4-GCM and looked up by HMAC-SM3, the suite fixed once, mixed-suite trust lists."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

import keys
from credentials.credential import parse_credential
from issuer.cli import init_step
from issuer.health import HealthDesk
from issuer.health import store as t
from issuer.hub import ROOT_OWNER, Hub
from issuer.pii import PiiKeyError, open_vault, pii_keys
from issuer.service import Issuer
from keys.aead import keyed_hash
from keys.errors import KeyFormatError
from keys.suites import GUOMI, STANDARD
from storage import create_all, make_engine, normalise_url
from tests.issuer.conftest import ZHANG, FakePeople, World
from verifier.cache import VerifierCache
from verifier.replay import MemoryReplayCache

SECRET = b"k" * 32


class _Settings:
    def __init__(self, data_dir: Path, url: str, suite: str = "guomi"):
        self.data_dir, self.database_url, self.suite = data_dir, url, suite


@pytest.fixture(params=["sqlite", "postgres"])
def guomi_world(request, tmp_path, monkeypatch) -> World:
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    init_step(_Settings(tmp_path, f"sqlite:///{tmp_path / 'init.sqlite3'}"), lambda _msg: None)
    if request.param == "sqlite":
        engine, cleanup = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}"), None
    else:
        url = request.getfixturevalue("postgres_url")
        schema = "tbg_" + uuid.uuid4().hex[:12]
        admin = create_engine(normalise_url(url))
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = create_engine(normalise_url(url), connect_args={"options": f"-csearch_path={schema}"})

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    create_all(engine)
    desk = HealthDesk(Issuer(Hub(tmp_path), engine), SECRET, people=FakePeople())
    try:
        yield World(tmp_path, VerifierCache(tmp_path / "counter"), desk, MemoryReplayCache())
    finally:
        engine.dispose()
        if cleanup:
            cleanup()


def test_every_authority_and_the_root_sign_with_sm2(guomi_world):
    hub = guomi_world.desk.issuer.hub
    assert hub.suite is GUOMI
    now = int(time.time())
    for owner in [ROOT_OWNER, *(a.id for a in hub.authorities())]:
        assert hub.rings.load(owner).signer(now).public.alg == "SM2", owner
    assert keys.PublicKey.from_jwk(__import__("json").loads(hub.root_jwk_path.read_text())).alg == "SM2"


def test_an_sm2_health_code_verifies_at_a_counter_that_pins_an_sm2_root(guomi_world):
    desk, device, now = guomi_world.desk, keys.generate(), int(time.time())
    code = desk.fetch(ZHANG, "张三", device.public, now=now)
    message, _ = parse_credential(code.views["code"])
    assert message.alg == -65537
    guomi_world.sync(now)
    decision = guomi_world.check(code.views["code"], device, now=now)
    assert decision.valid, decision


def test_personal_data_is_sealed_with_sm4_and_found_by_hmac_sm3(guomi_world):
    desk, now = guomi_world.desk, int(time.time())
    desk.fetch(ZHANG, "张三", keys.generate().public, now=now)
    assert desk.vault.suite is GUOMI
    assert desk.hash(ZHANG) == keyed_hash(SECRET, b"health-subject:" + ZHANG.encode(), "sm3").hex()
    with desk.engine.begin() as conn:
        person = conn.execute(select(t.health_status.c.person_enc)).scalar_one()
        key_ids = conn.execute(select(pii_keys.c.key_id)).scalars().all()
    assert person.startswith("piigm.1.") and ZHANG not in person
    assert key_ids and all(k.startswith("gm:") for k in key_ids)
    assert desk.status(ZHANG).colour == "green"


def test_the_suite_is_fixed_once(guomi_world):
    desk = guomi_world.desk
    desk.vault  # noqa: B018 - opened, so the database's suite is recorded
    with pytest.raises(PiiKeyError, match="guomi"):
        open_vault(desk.engine, desk.vault.master, STANDARD)
    with pytest.raises(KeyFormatError, match="chosen once"):
        init_step(_Settings(guomi_world.data, f"sqlite:///{guomi_world.data / 'init.sqlite3'}", "standard"),
                  lambda _msg: None)


def test_rotation_keeps_sm2_and_one_authority_may_move_to_es256(guomi_world):
    desk, now = guomi_world.desk, int(time.time())
    hub = desk.issuer.hub
    hub.rotate("bj-traffic-police", now)
    assert hub.rings.load("bj-traffic-police").signer(now).public.alg == "SM2"
    hub.rotate("bj-health", now, "ES256")
    hub.publish_trust_list(now)
    device = keys.generate()
    code = desk.fetch(ZHANG, "张三", device.public, now=now)
    assert parse_credential(code.views["code"])[0].alg == -7
    guomi_world.sync(now)
    trust = guomi_world.cache.trust_list(now)
    assert {k.public.alg for a in trust.authorities for k in a.keys} == {"SM2", "ES256"}
    assert guomi_world.check(code.views["code"], device, now=now).valid


def test_an_sm2_authority_refuses_sd_jwt_vc_before_allocating_anything(guomi_world):
    """JOSE has no SM2: the SD-JWT VC format is refused, and no status index or serial is spent on the attempt."""
    from sqlalchemy import func, select

    from issuer.records import DEMO_RECORDS
    from issuer.sd_jwt_issuance import SdJwtFormat, SdJwtIssuanceError
    from issuer.store import issued

    issuer, now = guomi_world.desk.issuer, int(time.time())
    claims = next(c for t, c in DEMO_RECORDS if t == "driving-licence")
    with pytest.raises(SdJwtIssuanceError, match="SM2"):
        issuer.issue("driving-licence", claims, keys.generate().public, now=now, sign=SdJwtFormat("https://hub.example"))
    with issuer.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(issued)).scalar_one() == 0
    assert issuer.issue("driving-licence", claims, keys.generate().public, now=now).views  # tongban-cose still works
