"""Logs an operator can use: one JSON line per event, a request id in every line, no personal data, repeats counted
rather than repeated.

Before, each 5xx wrote a 90–130-line traceback with no request id, and a 10-second Redis outage wrote 77k lines.

* ``JsonFormatter`` — ``{"ts", "level", "logger", "event", "msg", "request_id", ...}`` on one line. Fields a
  caller passes in ``extra=`` are kept (strings shortened). An exception becomes its type and where it was
  raised (``module:function:line``), never a traceback and never its message: messages of unexpected errors
  can carry anything, a name or an ID number included. Every string goes through ``idp.redact`` (GB 11643 ID
  numbers masked) as well.
* ``RequestIds`` (WSGI middleware) — takes ``X-Request-ID`` from the request when it is sane (1–64 of
  ``A-Z a-z 0-9 . _ : -``; anything else could forge or break log lines), else makes one; returns it in the
  response header and keeps it in a context variable the formatter reads, so every line a request causes carries
  it. It also writes one ``request`` line per request: method, the matched route (not the raw path or query,
  which can hold codes and hints), status, milliseconds.
* ``Repeats`` (filter) — a warning or error identical to one already written (same logger, message template,
  exception type) within ``window`` seconds is counted, not written; the next one written after the window says
  how many were held back (``"repeats": N``). Request lines are not limited: they are the traffic record.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from idp.redact import install as install_redaction
from idp.redact import redact

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("tongban_request_id", default="")
HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def request_id_from(value: str | None) -> str:
    """The caller's id when it is sane, else a fresh random one."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
            "event": getattr(record, "event", None) or "log", "msg": _clean(record.getMessage(), 500),
        }
        rid = getattr(record, "request_id", None) or REQUEST_ID.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and key != "event":
                entry[key] = _clean(value, 300) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["where"] = _where(record.exc_info[2])
        return json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":"))


def _clean(text: str, limit: int) -> str:
    return redact(text.replace("\n", " ").replace("\r", " "))[:limit]


def _where(tb: Any) -> str:
    frames = traceback.extract_tb(tb)
    if not frames:
        return ""
    last = frames[-1]
    module = last.filename.rsplit("/", 2)
    return f"{'/'.join(module[-2:])}:{last.name}:{last.lineno}"


class Repeats(logging.Filter):
    """Hold back identical warnings and errors within ``window`` seconds; count them."""

    def __init__(self, window: float = 10.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.window = window
        self._clock = clock
        self._seen: dict[tuple, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, str(record.msg), exc, getattr(record, "error", ""))
        now = self._clock()
        with self._lock:
            first, held = self._seen.get(key, (None, 0))
            if first is not None and now - first < self.window:
                self._seen[key] = (first, held + 1)
                return False
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[key] = (now, 0)
        if held:
            record.repeats = held
        return True


class RequestIds:
    """WSGI middleware: a request id per request (header in, header out, in every log line) and one access line."""

    def __init__(self, app: Callable, logger: logging.Logger | None = None,
                 route_of: Callable[[dict], str] | None = None,
                 observe: Callable[[str, str, int, float], None] | None = None):
        self.app = app
        self.log = logger or logging.getLogger("tongban.request")
        self.route_of = route_of or (lambda environ: environ.get("tongban.route", "?"))
        self.observe = observe  # (route, method, status, seconds): the metrics

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        rid = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status_code = [0]

        def start(status: str, headers: list, exc_info: Any = None) -> Callable:
            status_code[0] = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != HEADER.lower()] + [(HEADER, rid)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            return self.app(environ, start)
        finally:
            seconds = time.perf_counter() - started
            method, route = environ.get("REQUEST_METHOD", "")[:10], self.route_of(environ)
            self.log.info("request", extra={"event": "request", "method": method, "route": route,
                                            "status": status_code[0], "ms": round(seconds * 1000, 1)})
            if self.observe is not None:
                self.observe(route, method, status_code[0], seconds)
            REQUEST_ID.reset(token)


def configure(*, json_lines: bool = True, level: str = "INFO", window: float = 10.0,
              stream: Any = None) -> logging.Handler:
    """The root handler (stderr): JSON lines with repeats held back. Called by the process entry points
    (``service.wsgi``, ``tongban serve``, ``tongban worker``), never by ``create_app`` (tests keep pytest's)."""
    install_redaction()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "tongban", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.tongban = True
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(Repeats(window))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # its request lines carry raw query strings; ours do not
    logging.getLogger("alembic").setLevel(logging.WARNING)  # two lines per schema check otherwise
    return handler


__all__ = ["HEADER", "REQUEST_ID", "JsonFormatter", "Repeats", "RequestIds", "configure", "request_id_from"]
