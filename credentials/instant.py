"""ISO 8601 instants to Unix seconds (pure), shared by every command that takes ``--now``."""

from __future__ import annotations

import datetime as dt


def parse_instant(text: str) -> int:
    """``2026-11-23T10:00:00+08:00`` → Unix seconds; a time without offset is UTC; raises ValueError."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())
