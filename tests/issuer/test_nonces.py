"""Stateless c_nonces (issuer.nonces, OpenID4VCI 1.0 §7): single use, short-lived, unforgeable, no store writes."""

from __future__ import annotations

import base64
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.nonces import NONCE_TTL, CNonces, nonce_key
from storage.kv import MemoryStore, RedisStore
from tests.conftest import examples

KEY = nonce_key(b"\x01" * 32)
NOW = 1_750_000_000


def flip(value: str, position: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    raw[position % len(raw)] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.fixture
def redis_store(redis_url):
    store = RedisStore(redis_url, prefix=f"test-{uuid.uuid4().hex}:")
    yield store
    for key in store._redis.scan_iter(store._prefix + "*"):
        store._redis.delete(key)


def keys_of(store: RedisStore) -> list[str]:
    return sorted(store._redis.scan_iter(store._prefix + "*"))


def test_minting_writes_nothing_and_a_nonce_is_used_once_on_real_redis(redis_store):
    nonces = CNonces(KEY, redis_store)
    minted = [nonces.issue(NOW) for _ in range(500)]
    assert keys_of(redis_store) == []  # the attack: 500 unauthenticated calls, zero keys
    assert len(set(minted)) == 500 and all(len(n) <= 128 for n in minted)
    assert nonces.consume(minted[0], NOW + 10)
    assert not nonces.consume(minted[0], NOW + 11)  # single use
    [used] = keys_of(redis_store)
    assert NONCE_TTL - 10 - 2 <= redis_store._redis.ttl(used) <= NONCE_TTL - 10  # its remaining life


def test_a_nonce_expires(redis_store):
    nonces = CNonces(KEY, redis_store)
    value = nonces.issue(NOW)
    assert not nonces.consume(value, NOW + NONCE_TTL)
    assert not nonces.consume(value, NOW + NONCE_TTL + 3600)
    assert keys_of(redis_store) == []  # a refused nonce is not recorded either
    assert nonces.consume(value, NOW + NONCE_TTL - 1)


def test_forged_and_altered_nonces_are_refused():
    nonces, store = CNonces(KEY, MemoryStore()), MemoryStore()
    value = nonces.issue(NOW)
    other_service = CNonces(nonce_key(b"\x02" * 32), store)
    assert not other_service.consume(value, NOW)  # another secret's nonce
    assert not nonces.consume(other_service.issue(NOW), NOW)
    assert not nonces.consume(value + "A", NOW) and not nonces.consume(value[:-1], NOW)
    assert not nonces.consume(value + "=", NOW)  # one encoding only
    far = CNonces(KEY, store, ttl=10 * NONCE_TTL).issue(NOW)  # a genuine key but a lifetime beyond ours
    assert not nonces.consume(far, NOW)
    for wrong in (None, 7, b"bytes", "", "never-issued", "é" * 40, "A" * 129):
        assert not nonces.consume(wrong, NOW)
    assert nonces.consume(value, NOW)


@settings(max_examples=examples(200), deadline=None)
@given(position=st.integers(min_value=0, max_value=39))
def test_any_changed_bit_is_refused(position):
    nonces = CNonces(KEY, MemoryStore())
    value = nonces.issue(NOW)
    assert not nonces.consume(flip(value, position), NOW)
    assert nonces.consume(value, NOW)


@settings(max_examples=examples(300), deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_text_is_refused_without_error(text):
    assert not CNonces(KEY, MemoryStore()).consume(text, NOW)
