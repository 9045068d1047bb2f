"""Prometheus metrics (``prometheus-client``): what an operator watches, never on the public port unguarded.

* ``tongban_http_requests_total{route,method,status}`` and ``tongban_http_request_duration_seconds{route,method}``
  — per matched route (``/status/<authority>/<list_no>``, not each URL: bounded label values);
* ``tongban_verifications_total{result,reason}`` — counter verdicts by reason code (``verifier.reasons``);
* ``tongban_issuances_total{licence_type,authority}``, ``tongban_status_changes_total{licence_type,authority,status}``;
* ``tongban_logins_total{outcome}`` — ``success`` / ``failure`` (from the IdP's audit events);
* ``tongban_storage_errors_total{store}`` — ``database`` / ``cache`` errors that became a 503;
* ``tongban_status_list_age_seconds{uri}`` — seconds since each published list was signed, read at scrape time.

The counts come from ``storage.events`` (the emitting packages know nothing of Prometheus). Exposition: with
``TONGBAN_METRICS_TOKEN`` set, ``GET /metrics`` answers a request bearing that token (compared in constant time)
and 404 to anyone else; with ``TONGBAN_METRICS_PORT`` set, a separate listener on 127.0.0.1 serves them (for a
scraper on the host or in the pod). Neither set: no metrics endpoint at all. Under gunicorn, set
``PROMETHEUS_MULTIPROC_DIR`` (the Dockerfile does) so every worker's counts are summed at scrape time.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from service.checks import published_list_times
from storage import events

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_REASON = 48  # reason codes are short constants; anything longer is not one


class Metrics:
    """The service's metrics on one registry (a fresh one per app: tests build many apps)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter("tongban_http_requests", "HTTP requests", ["route", "method", "status"], registry=r)
        self.latency = Histogram("tongban_http_request_duration_seconds", "HTTP request latency", ["route", "method"],
                                 buckets=BUCKETS, registry=r)
        self.verifications = Counter("tongban_verifications", "Counter verdicts", ["result", "reason"], registry=r)
        self.issuances = Counter("tongban_issuances", "Credentials issued", ["licence_type", "authority"], registry=r)
        self.status_changes = Counter("tongban_status_changes", "Revocations, suspensions, reinstatements",
                                      ["licence_type", "authority", "status"], registry=r)
        self.logins = Counter("tongban_logins", "Password sign-ins", ["outcome"], registry=r)
        self.storage_errors = Counter("tongban_storage_errors", "Store errors answered 503", ["store"], registry=r)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"  # any token is a method to HTTP: bound the label values
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def on_event(self, kind: str, fields: dict[str, Any]) -> None:
        """``storage.events`` listener."""
        if kind == "verification":
            reasons = fields.get("reasons") or ("ok",)
            for reason in reasons:
                self.verifications.labels("valid" if fields.get("valid") else "invalid", str(reason)[:MAX_REASON]).inc()
        elif kind == "issuance":
            self.issuances.labels(fields.get("licence_type", ""), fields.get("authority", "")).inc()
        elif kind == "status_change":
            self.status_changes.labels(fields.get("licence_type", ""), fields.get("authority", ""),
                                       fields.get("status", "")).inc()
        elif kind in ("idp.login", "idp.login_failed"):
            self.logins.labels("success" if kind == "idp.login" else "failure").inc()

    def storage_error(self, store: str) -> None:
        self.storage_errors.labels(store).inc()


class StatusListAges:
    """A collector read at scrape time: seconds since each published status list was signed."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time):
        self.data_dir = data_dir
        self.clock = clock

    def collect(self):
        family = GaugeMetricFamily("tongban_status_list_age_seconds", "Seconds since each status list was signed",
                                   labels=["uri"])
        now = self.clock()
        for uri, times in published_list_times(self.data_dir).items():
            if times is not None:
                family.add_metric([uri], max(0.0, now - times[0]))
        yield family


def exposition_registry(metrics: Metrics, data_dir: Path, *, multiprocess_mode: bool = False) -> CollectorRegistry:
    """What a scrape reads: every worker's counts (multiprocess mode) or this process's, plus list ages."""
    if multiprocess_mode:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = metrics.registry
    exposed = CollectorRegistry()
    exposed.register(_Chain(registry))
    exposed.register(StatusListAges(data_dir))
    return exposed


class _Chain:
    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self):
        yield from self.registry.collect()


def metrics_blueprint(registry: CollectorRegistry, token: str) -> Blueprint:
    """``GET /metrics`` for a bearer of ``token`` only; 404 otherwise (nothing to discover)."""
    bp = Blueprint("metrics", __name__)
    expected = ("Bearer " + token).encode()

    @bp.get("/metrics")
    def metrics() -> Response:
        given = request.headers.get("Authorization", "").encode()
        if not token or not hmac.compare_digest(given, expected):
            abort(404)
        response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp


def install(metrics: Metrics) -> Callable[[], None]:
    """Count ``storage.events``; returns the unsubscribe function."""
    return events.subscribe(metrics.on_event)


__all__ = ["Metrics", "StatusListAges", "exposition_registry", "install", "metrics_blueprint"]
