"""A stand-alone counter re-syncs by itself: ``tick()`` syncs when due, the caller (``service``) runs it on a timer.

Default interval: half the shortest ``ttl`` among the cached status lists (health-code lists: 300 s ttl, so every
150 s), so a list never goes without a fresh copy for longer than its ttl while the hub answers. After a failed
attempt it tries again sooner (``RETRY``). The clock is injected: tests drive ``tick()`` with simulated time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from keys import KeysError
from verifier.cache import SyncReport, VerifierCache
from verifier.errors import VerifierError

log = logging.getLogger(__name__)

MIN_INTERVAL = 30  # never more often than this, whatever a list's ttl says
RETRY = 30  # after a failed attempt
DEFAULT_INTERVAL = 1800  # nothing cached yet: the first sync sets the pace


class AutoSync:
    def __init__(self, cache: VerifierCache, resync: Callable[[], SyncReport], *, every: int | None = None,
                 clock: Callable[[], float] = time.time):
        self.cache, self.resync, self.every, self.clock = cache, resync, every, clock
        self.next_at: int | None = None  # None: sync at the first tick

    def interval(self) -> int:
        """Seconds between syncs: ``every`` when configured, else half the shortest cached ttl."""
        if self.every:
            return self.every
        ttl = self.cache.shortest_ttl()
        return max(MIN_INTERVAL, ttl // 2) if ttl else DEFAULT_INTERVAL

    def tick(self) -> SyncReport | None:
        """Sync if due; the report (None when not due or when the sync failed as a whole)."""
        now = int(self.clock())
        if self.next_at is not None and now < self.next_at:
            return None
        report = None
        try:
            report = self.resync()
        except (VerifierError, KeysError, OSError) as exc:
            log.warning("counter sync failed: %s", exc)
        if report is not None and report.failed:
            log.warning("counter sync: status lists refused: %s", report.failed)
        ok = report is not None and not report.failed
        self.next_at = now + (self.interval() if ok else min(RETRY, self.interval()))
        return report
