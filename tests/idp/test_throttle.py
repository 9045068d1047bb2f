"""Progressive sign-in delays: per account and address, per account everywhere, per address; never a hard lock."""

from __future__ import annotations

import pytest

from idp.errors import LockedOut
from idp.throttle import Throttle, ThrottlePolicy
from storage.kv import MemoryStore


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def waits(throttle: Throttle, account: str, source: str) -> int:
    try:
        throttle.check(account, source)
    except LockedOut as exc:
        return exc.retry_after
    return 0


def test_delays_double_from_the_threshold_up_to_the_cap() -> None:
    policy = ThrottlePolicy()
    assert [policy.delay(n, 5) for n in (4, 5, 6, 7, 8, 20, 10**6)] == [0, 30, 60, 120, 240, 900, 900]


def test_guessing_from_one_address_does_not_stop_the_citizen_at_another() -> None:
    clock = Clock()
    throttle = Throttle(MemoryStore(clock=clock))
    for _ in range(5):
        throttle.failure("sub-1", "10.0.0.66")
    assert 0 < waits(throttle, "sub-1", "10.0.0.66") <= 30
    assert waits(throttle, "sub-1", "192.168.1.5") == 0
    clock.now += 31
    assert waits(throttle, "sub-1", "10.0.0.66") == 0  # a delay ends by itself
    throttle.failure("sub-1", "10.0.0.66")
    assert 30 < waits(throttle, "sub-1", "10.0.0.66") <= 60  # and the next failure doubles it


def test_a_distributed_guess_slows_every_address_but_only_for_a_while() -> None:
    clock = Clock()
    throttle = Throttle(MemoryStore(clock=clock), ThrottlePolicy(account_failures=10))
    for n in range(10):
        throttle.failure("sub-1", f"10.0.{n}.1")
    assert 0 < waits(throttle, "sub-1", "192.168.1.5") <= 30
    assert waits(throttle, "sub-2", "192.168.1.5") == 0  # other citizens are untouched
    clock.now += 31
    assert waits(throttle, "sub-1", "192.168.1.5") == 0


@pytest.mark.parametrize("account", ["sub-1", "u-hash-of-an-unknown-username"])
def test_the_refusal_is_the_same_words_for_any_account(account: str) -> None:
    throttle = Throttle(MemoryStore(clock=Clock()))
    for _ in range(5):
        throttle.failure(account, "10.0.0.66")
    with pytest.raises(LockedOut) as caught:
        throttle.check(account, "10.0.0.66")
    assert str(caught.value) == ("登录尝试过于频繁，请1分钟后再试。 / Too many sign-in attempts: try again in 1 minute(s).")
