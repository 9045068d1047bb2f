"""Composition root: the only package that wires the others together.

Public API: ``create_app`` (``service.app``, the Flask application factory), ``Settings`` (``service.config``, the
one reader of the environment, every variable with its documented default), ``main`` (``service.cli``, the
``tongban`` command group) and ``service.wsgi:app`` (gunicorn's entry). Both are imported on first use.

Modules, by job: configuration (``config``, ``production`` start-up refusals); the app (``app``, ``counter_app``,
``headers``, ``health`` — the IdP's ports for health codes —, ``errors`` JSON 500/503, ``deferred`` a worker that
waits for its stores, ``probes`` /healthz and /readyz with ``checks``, ``logs``, ``metrics``); schema (``schema``: every package's
migrations under one lock); background work (``leader`` advisory-lock election, ``worker`` the jobs, ``audit`` +
``audit_cli`` the hash-chained audit log); commands (``cli``, ``commands``, ``wiring``, ``serve``,
``demo_regions``); serving (``wsgi``, ``gunicorn_conf``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {"create_app": ("app", "create_app"), "Settings": ("config", "Settings"), "main": ("cli", "main")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(f"service.{module}"), attr)
    raise AttributeError(f"module 'service' has no attribute {name!r}")


__all__ = ["Settings", "create_app", "main"]
