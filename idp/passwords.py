"""Password hashing: Argon2id (RFC 9106) at OWASP's m=7 MiB, t=5, p=1 setting, one hash at a time per core.

More hashes at once than cores only share the cores and their caches (7 MiB each): every sign-in then takes
longer and the process signs fewer people in per second. So each process holds one slot per core it may run on
(``hash_slot``) while it hashes; the others wait their turn (issue 9 P5).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: Argon2id, m=7168 KiB, t=5, p=1.
HASHER = PasswordHasher(time_cost=5, memory_cost=7168, parallelism=1)
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_HASH_SLOTS = threading.BoundedSemaphore(_CORES)


@contextmanager
def hash_slot() -> Iterator[None]:
    """Hold one of this process's Argon2 slots (one per core it may run on) while hashing."""
    with _HASH_SLOTS:
        yield


def verify_password(stored: str, password: str) -> bool:
    """Argon2id verify in a hash slot; a malformed stored hash is a mismatch, never an error."""
    try:
        with hash_slot():
            return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    with hash_slot():
        return HASHER.hash(password)
