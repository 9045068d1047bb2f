"""What happened, told once to whoever listens: the port behind metrics and the audit log.

A package that does something an operator or an auditor must see — an issuance, a status change, a
verification, a sign-in — calls ``emit(kind, **fields)`` once; it does not know who listens. The composition root
(``service``) subscribes: Prometheus counters (``service.metrics``) and the hash-chained audit log
(``service.audit``). Like the standard library's logging it is process-wide, because the emitting code is deep in
packages that must not import ``service``; unlike logging a listener's failure never reaches the emitter (an
outage of the audit store must not undo an issuance that committed — it is logged, and ``tongban audit
verify`` shows the gap).

Fields are opaque ids, types and reason codes only: never a name, an ID number, a claim or a secret.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]
log = logging.getLogger(__name__)

_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Add ``listener``; returns the function that removes it again."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def emit(kind: str, **fields: Any) -> None:
    """Tell every listener; a failing listener is logged and skipped."""
    for listener in tuple(_listeners):
        try:
            listener(kind, fields)
        except Exception as exc:  # the emitter's work is done and committed: never undo it here
            log.warning("event listener failed", extra={"event": "listener_failed", "kind": kind,
                                                        "error": type(exc).__name__})


__all__ = ["Listener", "emit", "subscribe"]
