"""The SSO session index of an account (issue 9 P5): concurrent sign-ins must all be listed, and ending one
removes it; on the memory store and on Redis."""

from __future__ import annotations

import threading
import uuid

import pytest

from idp.sessions import Sessions
from storage.kv import MemoryStore, RedisStore


@pytest.fixture(params=["memory", "redis"])
def sessions(request) -> Sessions:
    if request.param == "memory":
        return Sessions(MemoryStore())
    return Sessions(RedisStore(request.getfixturevalue("redis_url"), prefix=f"test-{uuid.uuid4().hex}:"))


def test_concurrent_sign_ins_are_all_listed(sessions):
    """The index was read-modify-write: two sign-ins at once each wrote their own list and one was lost."""
    made, barrier = [], threading.Barrier(12)

    def sign_in() -> None:
        barrier.wait()
        made.append(sessions.create("citizen", 1_700_000_000, "real-name", ["pwd"]).sid)

    threads = [threading.Thread(target=sign_in) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s.sid for s in sessions.of("citizen")) == sorted(made)


def test_ended_sessions_leave_the_index(sessions):
    first = sessions.create("citizen", 1_700_000_000, "real-name", ["pwd"])
    second = sessions.create("citizen", 1_700_000_100, "real-name", ["pwd"])
    other = sessions.create("someone-else", 1_700_000_000, "real-name", ["pwd"])
    sessions.end(first.sid)
    assert [s.sid for s in sessions.of("citizen")] == [second.sid]
    assert [s.sid for s in sessions.of("someone-else")] == [other.sid]


def test_listing_is_oldest_first(sessions):
    made = [sessions.create("citizen", t, "real-name", ["pwd"]).sid for t in (300, 100, 200)]
    assert [s.sid for s in sessions.of("citizen")] == [made[1], made[2], made[0]]
