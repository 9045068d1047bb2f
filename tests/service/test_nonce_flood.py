"""The attack on the nonce endpoints (issue 8, item 12): a flood of unauthenticated calls must not grow Redis."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from service.app import create_app
from service.cli import INIT_STEPS
from service.config import Settings
from storage.kv import RedisStore


@pytest.fixture(scope="module")
def redis_app(tmp_path_factory):
    from tests.conftest import REDIS_URL, need_server

    need_server("Redis", "127.0.0.1", 6379)
    patch = pytest.MonkeyPatch()
    patch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    data = tmp_path_factory.mktemp("flood")
    settings = replace(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url="http://127.0.0.1:9")
    for step in INIT_STEPS:
        step(settings, lambda _line: None)
    store = RedisStore(REDIS_URL, prefix=f"test-{uuid.uuid4().hex}:")
    yield create_app(settings, store=store), store
    for key in store._redis.scan_iter(store._prefix + "*"):
        store._redis.delete(key)
    patch.undo()


def test_a_flood_of_nonce_requests_leaves_redis_unchanged(redis_app):
    app, store = redis_app
    client = app.test_client()
    before = sorted(store._redis.scan_iter(store._prefix + "*"))
    values = set()
    for _ in range(300):
        for path in ("/issuer/nonce", "/issuer/health-code/nonce"):
            response = client.post(path)
            assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
            values.add(response.get_json()["c_nonce"])
    assert len(values) == 600
    assert sorted(store._redis.scan_iter(store._prefix + "*")) == before
