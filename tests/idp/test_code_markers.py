"""A used authorization code leaves a marker (reuse detection, RFC 9700 §4.5) only as long as it could be replayed."""

from __future__ import annotations

from idp.grants import CODE_TTL, Code, Grants, digest
from storage.kv import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_used_code_marker_lives_about_as_long_as_the_code() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    grants = Grants(None, store, None)
    grants.save_code("the-code", Code("c", "https://app/cb", "openid", "sub", 1000, "sid"))
    assert grants.consume_code("the-code", now=1000) is not None
    ttl = store.ttl(f"code:{digest('the-code')}")
    assert ttl is not None and CODE_TTL <= ttl <= 2 * CODE_TTL
    clock.now += 2 * CODE_TTL + 1
    assert store.get(f"code:{digest('the-code')}") is None  # gone: nothing is kept for a day
    assert grants.consume_code("the-code", now=1200) is None  # and a late replay still gets nothing
