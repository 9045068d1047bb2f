"""What the pipeline needs from the outside world, as narrow protocols (adapters in cache.py, replay.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StatusLookup:
    """The cached status of one entry: ``value`` is None when the cache cannot say (missing or too old).

    ``reason`` is ``status_reference_invalid`` when no sync can ever answer: an index beyond the list's size,
    a URI that is no tongban status list, or a list the source did not have when it was last listed. For the
    last, ``as_of`` says when: a credential issued after it may name a list created since (then unknown).
    ``issued_at`` is the signed ``iat`` of the list the answer comes from (how old the status data is).
    """

    value: int | None
    authority_id: str | None = None
    detail: str = ""
    reason: str | None = None
    as_of: int | None = None
    issued_at: int | None = None


class StatusSource(Protocol):
    def lookup(self, uri: str, idx: int, now: int) -> StatusLookup: ...


class ReplayCache(Protocol):
    def first_seen(self, key: bytes, *, now: int, ttl: int) -> bool:
        """Atomically remember ``key`` for ``ttl`` seconds; True if it was not already there."""
        ...


@dataclass(frozen=True)
class Policy:
    freshness_window: int = 60  # seconds a presentation stays fresh
    clock_skew: int = 10  # a presentation may be this far in the future (phone clocks drift)
    validity_leeway: int = 60  # leeway on the credential's nbf / exp
    accept_status_unknown: bool = False  # what to do when the cached status list is missing or too old
    challenge: bytes | None = None  # when the counter showed a challenge, the presentation must sign it
    # Two-way counters (the counter shows its own code, credentials.counter_code): the presentation must name
    # this counter id as its aud, and sign one of these challenges (those the counter issued, still young and
    # unanswered; the counter looks them up before calling verify, so the pipeline does no I/O).
    audience: str | None = None
    challenges: frozenset[bytes] | None = None
