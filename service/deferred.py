"""A worker that starts while a store is down: alive, answering 503, building the real app once it can.

Building the app reads the database (the schema version, the sealed-data key, the demo-account check). Before,
an unreachable database made ``create_app`` raise in the gunicorn worker; the worker failed to boot and gunicorn's
master, seeing a worker die at boot, shut the whole server down — so a worker respawned during an outage ended
the service for good. ``DeferredApp`` catches "store unavailable" (``storage.errors.unavailable_errors``, which
includes a schema behind the code), answers every request with the JSON 503 of ``service.errors`` — except
``/healthz``, since the process is alive — and tries to build again at most every ``retry_every`` seconds,
driven by incoming requests (no thread). Configuration and key errors still end the worker: they need an operator.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from service.errors import UNAVAILABLE
from service.logs import HEADER, request_id_from
from storage.errors import unavailable_errors

log = logging.getLogger("tongban.startup")


class DeferredApp:
    """WSGI callable: the app ``build`` returns, once ``build`` stops failing with a store-unavailable error."""

    def __init__(self, build: Callable[[], Any], *, retry_after: int = 5, retry_every: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        self._build = build
        self._retry_after = retry_after
        self._retry_every = retry_every
        self._clock = clock
        self._lock = threading.Lock()
        self._next_try = 0.0
        self.app: Any = None
        self.last_error = ""
        self._attempt()  # at import time: a healthy start is built at once

    def _attempt(self) -> Any:
        if self.app is not None:
            return self.app
        if not self._lock.acquire(blocking=False):  # another thread is building: answer 503 now
            return None
        try:
            if self.app is None and self._clock() >= self._next_try:
                self._next_try = self._clock() + self._retry_every
                try:
                    self.app = self._build()
                    if self.last_error:
                        log.warning("started after storage came back", extra={"event": "startup_recovered"})
                except unavailable_errors() as exc:
                    if not self.last_error:
                        log.warning("storage unavailable at start: answering 503 and retrying",
                                    extra={"event": "startup_deferred", "error": type(exc).__name__,
                                           "detail": str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]})
                    self.last_error = type(exc).__name__
            return self.app
        finally:
            self._lock.release()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        app = self.app or self._attempt()
        if app is not None:
            return app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        rid = (HEADER, request_id_from(environ.get("HTTP_X_REQUEST_ID")))
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "alive", "ready": False}, [rid])
        return _json(start_response, "503 Service Unavailable", UNAVAILABLE,
                     [("Retry-After", str(self._retry_after)), rid])


def _json(start_response: Callable, status: str, body: dict, headers: list[tuple[str, str]]) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), *headers])
    return [data]


__all__ = ["DeferredApp"]
