"""The readiness checks of the main app (``service.probes``): each returns None when fine, else a short code.

Each is bounded by the stores' own timeouts (``storage.timeouts``), so ``/readyz`` answers within a few seconds
even when a server stalls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from credentials.status_list import peek_times
from credentials.status_uri import status_files
from keys.layout import Layout
from service.probes import Check

PROBE_KEY = "readyz:probe"


def database(engine: Engine) -> Check:
    def check() -> str | None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None

    return check


def key_value(store: Any) -> Check:
    """Redis (or the in-process store): one read."""

    def check() -> str | None:
        store.get(PROBE_KEY)
        return None

    return check


def signing_keys(provider: Any, data_dir: Path) -> Check:
    """The IdP's ID-token signer opens and the hub's trust list is there (counters sync it)."""

    def check() -> str | None:
        provider.signing_key("ES256")
        return None if Layout(data_dir).trust_list.exists() else "no_trust_list"

    return check


def published_list_times(data_dir: Path) -> dict[str, tuple[int, int | None, int | None] | None]:
    """Each published status list's (iat, exp, ttl) as signed, by URI; None where the file cannot be read or parsed.
    What readiness and the list-age gauge (``service.metrics``) both look at, read the same way."""
    found: dict[str, tuple[int, int | None, int | None] | None] = {}
    for uri, path in status_files(Layout(data_dir).status, "cwt").items():
        try:
            found[uri] = peek_times(path.read_bytes())
        except OSError:
            found[uri] = None
    return found


def status_lists(data_dir: Path, clock: Callable[[], float] = time.time) -> Check:
    """Every published list younger than its ttl (the re-signing timer runs at half of it)."""

    def check() -> str | None:
        now = int(clock())
        for times in published_list_times(data_dir).values():
            if times is None:
                return "unreadable"
            iat, exp, ttl = times
            due = iat + ttl if ttl else exp
            if due is not None and now >= due:
                return "stale"
        return None

    return check


__all__ = ["database", "key_value", "signing_keys", "status_lists"]
