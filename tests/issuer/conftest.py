"""A health-commission world: a hub made by ``tongban init``'s issuer step, a HealthDesk, a counter's cache.

``health_world`` runs on SQLite and, where a server is reachable, on PostgreSQL (a throw-away schema).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import keys
from credentials import make_presentation
from issuer.cli import init_step
from issuer.health import HealthDesk, Person
from issuer.hub import Hub
from issuer.service import Issuer
from storage import create_all, make_engine, normalise_url
from tests.conftest import copy_template
from verifier.cache import DirectorySource, VerifierCache
from verifier.pipeline import Decision, verify
from verifier.replay import MemoryReplayCache

PEOPLE = {
    "110101199003071233": Person("110101199003071233", "张三"),
    "440304198512124569": Person("440304198512124569", "李四"),
    "310104199206157893": Person("310104199206157893", "王芳"),
    "110105198505202214": Person("110105198505202214", "赵敏"),
}
PHONES = {"13800138000": "110101199003071233", "13700137000": "440304198512124569"}
ZHANG, LI, WANG, ZHAO = PEOPLE


class FakePeople:
    def find(self, username: str) -> Person | None:
        return PEOPLE.get(PHONES.get(username, username))


class _Settings:
    def __init__(self, data_dir: Path, url: str):
        self.data_dir, self.database_url = data_dir, url


@dataclass
class World:
    data: Path
    cache: VerifierCache
    desk: HealthDesk
    replay: MemoryReplayCache

    def sync(self, now: int | None = None) -> None:
        self.cache.sync(DirectorySource(self.data), now=now or int(time.time()),
                        root=keys.PublicKey.from_jwk(DirectorySource(self.data).root_key()))

    def check(self, view: bytes, device: keys.PrivateKey, now: int | None = None) -> Decision:
        now = now or int(time.time())
        qr = make_presentation(view, device, now=now, challenge=uuid.uuid4().bytes)
        return verify(qr, trust=self.cache.trust_list(now), status=self.cache, replay=self.replay, now=now)


@pytest.fixture(scope="session")
def hub_template(tmp_path_factory) -> Path:
    """The issuer's half of ``tongban init`` (hub root, authorities, trust list, status lists, demo registers), once
    per test process; each world copies it."""
    base = tmp_path_factory.mktemp("hub-template")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
        init_step(_Settings(base, f"sqlite:///{base / 'init.sqlite3'}"), lambda _msg: None)
    return base


def _make_world(tmp_path: Path, engine) -> World:
    create_all(engine)
    desk = HealthDesk(Issuer(Hub(tmp_path), engine), b"k" * 32, people=FakePeople())
    return World(tmp_path, VerifierCache(tmp_path / "counter"), desk, MemoryReplayCache())


@pytest.fixture(params=["sqlite", "postgres"])
def health_world(request, tmp_path, monkeypatch, hub_template) -> World:
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    copy_template(hub_template, tmp_path)
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
        yield _make_world(tmp_path, engine)
        engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = "tbh_" + uuid.uuid4().hex[:12]
    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(normalise_url(url), connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield _make_world(tmp_path, engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
