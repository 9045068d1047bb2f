"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job): for load balancers, orchestrators and the
container's HEALTHCHECK.

Discovery answered 200 with both stores down, so a balancer kept sending citizens to an instance that could only
fail them. ``/readyz`` runs named checks — PostgreSQL and Redis reachable (within the configured timeouts), the
signing keys loaded, every published status list within its ttl (the re-signing timer is running; a counter
would otherwise soon answer "status unknown") — and answers 200 only when all pass, else 503 with
``Retry-After``. The body names each check and a short code, never a driver message (hosts, SQL) — the details
go to the log. Results are kept for ``CACHE_SECONDS`` so a flood of probes costs at most one round of checks
per second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Blueprint, Response, jsonify

log = logging.getLogger("tongban.readiness")

Check = Callable[[], str | None]  # None: fine; otherwise a short code ("unreachable", "stale")
CACHE_SECONDS = 1.0


class Readiness:
    """Named checks, run together, the outcome cached for a second."""

    def __init__(self, checks: dict[str, Check], *, clock: Callable[[], float] = time.monotonic):
        self.checks = checks
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, str]] | None = None

    def run(self) -> dict[str, str]:
        with self._lock:
            if self._cached is not None and self._clock() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            results = {name: self._one(name, check) for name, check in self.checks.items()}
            self._cached = (self._clock(), results)
            return results

    @staticmethod
    def _one(name: str, check: Check) -> str:
        try:
            return check() or "ok"
        except Exception as exc:  # a probe must answer, whatever the check hit
            log.warning("readiness check failed", extra={"event": "readiness_failed", "check": name,
                                                         "error": type(exc).__name__,
                                                         "detail": str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
                                                         if str(exc) else ""})
            return "unavailable"


def probes_blueprint(readiness: Readiness, *, retry_after: int) -> Blueprint:
    bp = Blueprint("probes", __name__)

    @bp.get("/healthz")
    def healthz() -> Response:
        response = jsonify(status="alive")
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/readyz")
    def readyz() -> tuple[Response, int]:
        results = readiness.run()
        ready = all(value == "ok" for value in results.values())
        response = jsonify(status="ready" if ready else "not_ready", checks=results)
        response.headers["Cache-Control"] = "no-store"
        if not ready:
            response.headers["Retry-After"] = str(retry_after)
        return response, 200 if ready else 503

    return bp


__all__ = ["CACHE_SECONDS", "Check", "Readiness", "probes_blueprint"]
