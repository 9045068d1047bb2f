"""The Redis replay cache against a real Redis: SET NX EX, shared across clients, expiring by itself."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from verifier.errors import VerifierError
from verifier.pipeline import verify
from verifier.replay import MemoryReplayCache, RedisReplayCache

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix():
    return f"test-replay-{uuid.uuid4().hex}:"


def test_first_seen_once_then_refused(redis_url, prefix):
    cache = RedisReplayCache(redis_url, prefix=prefix)
    key = os.urandom(32)
    assert cache.first_seen(key, now=0, ttl=60) is True
    assert cache.first_seen(key, now=0, ttl=60) is False
    assert RedisReplayCache(redis_url, prefix=prefix).first_seen(key, now=0, ttl=60) is False, "shared by processes"
    assert cache.first_seen(os.urandom(32), now=0, ttl=60) is True


def test_entries_expire(redis_url, prefix):
    cache = RedisReplayCache(redis_url, prefix=prefix)
    key = os.urandom(32)
    assert cache.first_seen(key, now=0, ttl=1)
    time.sleep(1.2)
    assert cache.first_seen(key, now=0, ttl=1), "Redis forgets the key after its ttl"


def test_exactly_one_of_many_racing_counters_wins(redis_url, prefix):
    key, results = os.urandom(32), []
    caches = [RedisReplayCache(redis_url, prefix=prefix) for _ in range(8)]
    barrier = threading.Barrier(len(caches))

    def race(cache):
        barrier.wait()
        results.append(cache.first_seen(key, now=0, ttl=30))

    threads = [threading.Thread(target=race, args=(c,)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_same_contract_as_memory(redis_url, prefix):
    for cache in (MemoryReplayCache(), RedisReplayCache(redis_url, prefix=prefix)):
        key = os.urandom(16)
        assert [cache.first_seen(key, now=100, ttl=60) for _ in range(3)] == [True, False, False]


def test_unreachable_redis_is_an_invalid_decision_with_its_reason():
    with pytest.raises(VerifierError) as exc:
        RedisReplayCache("redis://127.0.0.1:1/0").first_seen(b"k", now=0, ttl=5)
    assert exc.value.reason == "replay_cache_unavailable"


def test_pipeline_reports_an_unreachable_replay_cache():
    from tests.verifier.test_pipeline import TEXT, DictStatus, trust_list  # reuse the tiny world

    decision = verify(TEXT, trust=trust_list(), status=DictStatus({("tbsl:bj-traffic-police/1", 42): 0}),
                      replay=RedisReplayCache("redis://127.0.0.1:1/0"), now=1_790_000_000)
    assert decision.valid is False and decision.reasons == ("replay_cache_unavailable",)


def test_first_seen_once_then_refused_on_a_cluster_and_through_a_sentinel(redis_cluster_url, redis_sentinel_url, prefix):
    for url in (redis_cluster_url, redis_sentinel_url):
        cache = RedisReplayCache(url, prefix=prefix)
        key = os.urandom(32)
        assert cache.first_seen(key, now=0, ttl=60) is True
        assert RedisReplayCache(url, prefix=prefix).first_seen(key, now=0, ttl=60) is False
