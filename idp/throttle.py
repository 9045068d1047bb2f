"""Login throttling: fixed-window failure counters and temporary lockouts, per account and per source.

OWASP Authentication Cheat Sheet ("account lockout"): lock after a few failures, for a while, and say
so plainly. Counters live in the ephemeral store, so they expire on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.errors import LockedOut
from storage.kv import KeyValueStore


@dataclass(frozen=True)
class ThrottlePolicy:
    account_failures: int = 5
    source_failures: int = 20
    window: int = 900  # seconds over which failures are counted
    lockout: int = 900  # seconds a lock lasts


class Throttle:
    def __init__(self, store: KeyValueStore, policy: ThrottlePolicy | None = None):
        self.store = store
        self.policy = policy or ThrottlePolicy()

    def check(self, account_key: str | None, source: str) -> None:
        """Raise ``LockedOut`` if the source address or the account is locked now."""
        for kind, key in (("source", source), ("account", account_key)):
            if key is None:
                continue
            remaining = self.store.ttl(f"lock:{kind}:{key}")
            if remaining:
                minutes = max(1, (remaining + 59) // 60)
                what = "该账户" if kind == "account" else "您的网络地址"
                what_en = "this account" if kind == "account" else "your network address"
                raise LockedOut(
                    f"登录失败次数过多，{what}已被临时锁定，请{minutes}分钟后重试。"
                    f" / Too many failed sign-ins: {what_en} is locked; try again in {minutes} minute(s).",
                    retry_after=remaining,
                )

    def failure(self, account_key: str | None, source: str) -> None:
        p = self.policy
        if self.store.incr(f"fail:source:{source}", p.window) >= p.source_failures:
            self.store.put(f"lock:source:{source}", "1", p.lockout)
        if account_key is not None and self.store.incr(f"fail:account:{account_key}", p.window) >= p.account_failures:
            self.store.put(f"lock:account:{account_key}", "1", p.lockout)

    def success(self, account_key: str) -> None:
        self.store.delete(f"fail:account:{account_key}")
