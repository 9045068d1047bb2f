"""The counter's sync timer (``verifier.autosync``) with an injected clock: when it syncs, and how often."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.status_list import peek_times
from tests.conftest import examples
from verifier.autosync import MIN_INTERVAL, RETRY, AutoSync
from verifier.cache import SyncReport
from verifier.errors import VerifierError


class FakeCache:
    def __init__(self, ttl: int | None):
        self.ttl = ttl

    def shortest_ttl(self) -> int | None:
        return self.ttl


class Clock:
    now = 1_000_000

    def __call__(self) -> float:
        return float(self.now)


def test_syncs_at_once_then_every_half_the_shortest_ttl():
    clock, calls = Clock(), []
    timer = AutoSync(FakeCache(300), lambda: calls.append(clock.now) or SyncReport(1, False, 4, False), clock=clock)
    for _ in range(700):
        timer.tick()
        clock.now += 1
    assert [t - 1_000_000 for t in calls] == [0, 150, 300, 450, 600]


def test_a_failed_sync_is_retried_sooner_and_a_configured_interval_wins():
    clock, calls = Clock(), []

    def failing() -> SyncReport:
        calls.append(clock.now)
        raise VerifierError("cannot reach the hub", "source_unreachable")

    timer = AutoSync(FakeCache(3600), failing, clock=clock)
    for _ in range(100):
        timer.tick()
        clock.now += 1
    assert [t - 1_000_000 for t in calls] == [0, RETRY, 2 * RETRY, 3 * RETRY]
    partial = AutoSync(FakeCache(3600), lambda: SyncReport(1, False, 3, False, {"tbsl:a/1": "status_list_rollback"}),
                       clock=clock)
    partial.tick()
    assert partial.next_at == clock.now + RETRY  # one refused list: try again soon
    assert AutoSync(FakeCache(3600), failing, every=45, clock=clock).interval() == 45
    assert AutoSync(FakeCache(20), failing, clock=clock).interval() == MIN_INTERVAL
    assert AutoSync(FakeCache(None), failing, clock=clock).interval() > 0


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=200))
def test_peeking_at_any_bytes_gives_times_or_none(data):
    found = peek_times(data)
    assert found is None or (isinstance(found, tuple) and len(found) == 3 and isinstance(found[0], int))


_values = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.text(max_size=5), st.binary(max_size=5))


@settings(max_examples=examples(300), deadline=None)
@given(st.dictionaries(st.sampled_from([2, 4, 6, 65534, 65533, "iat"]), _values, max_size=5),
       st.sampled_from([18, 61, 98]))
def test_peeking_at_any_claims_gives_times_or_none(claims, tag):
    import cbor2

    try:
        token = cbor2.dumps(cbor2.CBORTag(tag, [b"", {}, cbor2.dumps(claims), b""]))
    except (ValueError, TypeError):
        return
    found = peek_times(token)
    if found is not None:
        iat, exp, ttl = found
        assert isinstance(iat, int) and iat >= 0 and (exp is None or exp > iat) and (ttl is None or ttl > 0)
