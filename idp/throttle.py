"""Login throttling: progressive delays per account and address, never a lock an outsider can trigger.

OWASP Authentication Cheat Sheet ("account lockout", "protect against automated attacks") and ASVS
V2.2.1: slow guessing down without letting anyone lock a citizen out. So failures are counted

* per **account and source address** together: after a few, that address waits before trying that
  account again, with a delay that doubles on each further failure (30 s, 1 min, 2 min, ... 15 min).
  The citizen at their own address is not affected by someone guessing elsewhere;
* per **account** over all addresses, with a much higher threshold (a distributed guess): then every
  address waits, with the same doubling delays -- a delay, not a lock, and it ends by itself;
* per **source address** over all accounts (one address spraying many accounts).

The account key is the account's ``sub`` when the username exists and a keyed hash of the username
when it does not, and the refusal is one message whatever triggered it: a throttled unknown username
looks exactly like a throttled real one (no enumeration). Counters and delays live in the ephemeral
store, so they expire on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.errors import LockedOut
from storage.kv import KeyValueStore


@dataclass(frozen=True)
class ThrottlePolicy:
    pair_failures: int = 5  # failures of one account from one address before that pair waits
    account_failures: int = 50  # failures of one account from all addresses before every address waits
    source_failures: int = 20  # failures from one address over all accounts before it waits
    window: int = 900  # seconds over which failures are counted
    first_delay: int = 30  # the first wait; it doubles with every further failure
    max_delay: int = 900

    def delay(self, failures: int, threshold: int) -> int:
        """The wait after ``failures`` failures, 0 below the threshold."""
        if failures < threshold:
            return 0
        return min(self.max_delay, self.first_delay * 2 ** min(failures - threshold, 16))


class Throttle:
    def __init__(self, store: KeyValueStore, policy: ThrottlePolicy | None = None):
        self.store = store
        self.policy = policy or ThrottlePolicy()

    @staticmethod
    def _keys(account_key: str, source: str) -> dict[str, str]:
        return {"pair": f"{account_key}|{source}", "account": account_key, "source": source}

    def check(self, account_key: str, source: str) -> None:
        """Raise ``LockedOut`` while this account and address (or either alone) has to wait."""
        remaining = max((self.store.ttl(f"wait:{kind}:{key}") or 0)
                        for kind, key in self._keys(account_key, source).items())
        if remaining:
            minutes = max(1, (remaining + 59) // 60)
            raise LockedOut(
                f"登录尝试过于频繁，请{minutes}分钟后再试。 / Too many sign-in attempts: try again in {minutes} minute(s).",
                retry_after=remaining,
            )

    def failure(self, account_key: str, source: str) -> None:
        p = self.policy
        thresholds = {"pair": p.pair_failures, "account": p.account_failures, "source": p.source_failures}
        for kind, key in self._keys(account_key, source).items():
            failures = self.store.incr(f"fail:{kind}:{key}", p.window)
            wait = p.delay(failures, thresholds[kind])
            if wait:
                self.store.put(f"wait:{kind}:{key}", "1", wait)

    def success(self, account_key: str, source: str) -> None:
        """The right password from this address: this pair starts afresh (the account-wide count stays)."""
        self.store.delete(f"fail:pair:{account_key}|{source}")
