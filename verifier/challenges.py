"""What a two-way counter has issued: its current challenge, the previous one, and which were answered.

A counter in two-way mode shows a code (``credentials.counter_code``) carrying its id and a fresh
16-byte challenge; a presentation must sign both (``verifier.pipeline._audience_and_challenge``). This
module keeps the challenges:

* ``current(now)`` gives the challenge to show. It rotates after ``ROTATE_SECONDS`` (30 s) or as soon
  as the current one has been answered, so every person at the counter scans a challenge of their own;
* ``acceptable(now)`` is what ``verify`` may accept: the current challenge and the one before it (a
  phone that scanned just before a rotation still works), each at most ``MAX_AGE`` (60 s) old, not
  yet answered. The counter passes this set into ``Policy.challenges``; the pipeline itself does no I/O;
* ``consume(challenge, now)`` marks one answered, atomically: of two presentations answering the same
  challenge, exactly one is accepted.

``MemoryChallengeStore`` serves one counter process; ``RedisChallengeStore`` is shared by every
process behind one screen (``REDIS_URL``), each operation one Lua script so processes cannot interleave,
as ``verifier.replay`` shares its replay cache. Times are the counter's ``now`` (an injected clock),
not Redis's; Redis only expires a forgotten counter's entry.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from credentials.counter_code import CHALLENGE_BYTES, check_counter_id, make_counter_code
from verifier.errors import VerifierError

ROTATE_SECONDS = 30
MAX_AGE = 60
KEEP = 2  # the current challenge and the previous one


@dataclass(frozen=True)
class IssuedChallenge:
    counter_id: str
    challenge: bytes
    issued_at: int

    @property
    def code(self) -> str:
        """The counter code (``TBC1:...``) that carries this challenge."""
        return make_counter_code(self.counter_id, self.challenge, self.issued_at)


class ChallengeStore(Protocol):
    counter_id: str

    def current(self, now: int) -> IssuedChallenge: ...

    def acceptable(self, now: int) -> frozenset[bytes]: ...

    def consume(self, challenge: bytes, now: int) -> bool: ...


def new_challenge() -> bytes:
    return secrets.token_bytes(CHALLENGE_BYTES)


def default_counter_id(cache_dir: Path, host: str | None = None) -> str:
    """A stable id for a counter that was given none: the machine's name and a digest of its cache path.

    Two counters on one machine with different caches get different ids; restarting one keeps its id.
    Counters on several machines behind one screen must be given the same ``--counter-id``.
    """
    name = re.sub(r"[^A-Za-z0-9-]+", "-", host if host is not None else socket.gethostname()).strip("-")[:40]
    digest = hashlib.sha256(str(Path(cache_dir).resolve()).encode()).hexdigest()[:6]
    return check_counter_id(f"{name or 'counter'}-{digest}")


class MemoryChallengeStore:
    """One counter process. ``issued`` maps each open challenge to its issue time; ``cur`` is the one shown."""

    def __init__(self, counter_id: str, *, token: Callable[[], bytes] = new_challenge):
        self.counter_id = check_counter_id(counter_id)
        self._token = token
        self._issued: dict[bytes, int] = {}
        self._current: bytes | None = None
        self._lock = threading.Lock()

    def current(self, now: int) -> IssuedChallenge:
        with self._lock:
            issued = self._issued.get(self._current) if self._current is not None else None
            if issued is None or now - issued >= ROTATE_SECONDS:
                fresh = self._token()
                young = sorted(((t, c) for c, t in self._issued.items() if now - t <= MAX_AGE), reverse=True)
                self._issued = {c: t for t, c in young[:KEEP - 1]}
                self._issued[fresh] = now
                self._current, issued = fresh, now
            return IssuedChallenge(self.counter_id, self._current, issued)

    def acceptable(self, now: int) -> frozenset[bytes]:
        with self._lock:
            return frozenset(c for c, t in self._issued.items() if now - t <= MAX_AGE)

    def consume(self, challenge: bytes, now: int) -> bool:
        with self._lock:
            issued = self._issued.pop(challenge, None)
            return issued is not None and now - issued <= MAX_AGE


# One Redis hash per counter: field "cur" = the current challenge (hex), "c:<hex>" = its issue time.
_CURRENT = """
local now, rotate, max_age, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = redis.call('HGET', KEYS[1], 'cur')
if cur then
  local issued = tonumber(redis.call('HGET', KEYS[1], 'c:' .. cur))
  if issued and now - issued < rotate then return {cur, tostring(issued)} end
end
local young = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'c:' then
    local t = tonumber(all[i + 1])
    if t and now - t <= max_age then table.insert(young, {all[i], t}) end
  end
end
table.sort(young, function(a, b) return a[2] > b[2] end)
redis.call('DEL', KEYS[1])
for i = 1, math.min(#young, keep - 1) do redis.call('HSET', KEYS[1], young[i][1], young[i][2]) end
redis.call('HSET', KEYS[1], 'c:' .. ARGV[5], now, 'cur', ARGV[5])
redis.call('EXPIRE', KEYS[1], max_age + 60)
return {ARGV[5], tostring(now)}
"""
_CONSUME = """
local issued = tonumber(redis.call('HGET', KEYS[1], 'c:' .. ARGV[3]))
if not issued then return 0 end
redis.call('HDEL', KEYS[1], 'c:' .. ARGV[3])
if tonumber(ARGV[1]) - issued > tonumber(ARGV[2]) then return 0 end
return 1
"""


class RedisChallengeStore:
    """Shared by every counter process of one counter id; a Redis that cannot be reached raises
    ``VerifierError`` (``challenge_store_unavailable``): a counter must not accept what it cannot check."""

    def __init__(self, url: str, counter_id: str, *, prefix: str = "tb:challenge:",
                 token: Callable[[], bytes] = new_challenge):
        from storage import redis_client
        from storage.timeouts import BATCH

        self.counter_id = check_counter_id(counter_id)
        self._redis = redis_client.client(url, BATCH)  # 2 s bounds; one server, Sentinel or Cluster, as the URL says
        self._key = f"{prefix}{counter_id}"
        self._token = token
        self._current = self._redis.register_script(_CURRENT)
        self._consume = self._redis.register_script(_CONSUME)
        self._errors = redis_client.unavailable_errors()

    def _call(self, what: str, fn: Callable[[], object]) -> object:
        try:
            return fn()
        except self._errors as exc:
            raise VerifierError(f"cannot reach the challenge store (Redis) to {what}: {exc}",
                                "challenge_store_unavailable") from exc

    def current(self, now: int) -> IssuedChallenge:
        fresh = self._token().hex()
        hex_challenge, issued = self._call("issue a challenge", lambda: self._current(
            keys=[self._key], args=[now, ROTATE_SECONDS, MAX_AGE, KEEP, fresh]))
        return IssuedChallenge(self.counter_id, bytes.fromhex(hex_challenge.decode()), int(issued))

    def acceptable(self, now: int) -> frozenset[bytes]:
        fields = self._call("read the challenges", lambda: self._redis.hgetall(self._key))
        return frozenset(bytes.fromhex(name[2:].decode()) for name, issued in fields.items()
                         if name.startswith(b"c:") and now - int(issued) <= MAX_AGE)

    def consume(self, challenge: bytes, now: int) -> bool:
        return bool(self._call("answer a challenge", lambda: self._consume(
            keys=[self._key], args=[now, MAX_AGE, challenge.hex()])))
