"""The counter's verifier: decides valid / invalid offline from a cached, signed trust list and status lists.

Public API (loaded on first use: the pure pipeline imports no Flask): ``verify`` and ``Decision`` (the decision
pipeline, a table of named checks), ``VerifierCache`` (trust list and status lists kept on disk, synced by signed
deltas or full lists), ``errors``.

Modules, by job: ``pipeline`` (the checks), ``reasons`` (stable reason codes), ``replay``, ``challenges``
(two-way counter codes); the cache: ``cache``, ``cache_layout``, ``sources`` (directory and HTTP), ``feed_sync``
(deltas), ``packed`` (one packed status file per authority), ``published``, ``autosync``; the counter's edges:
``image`` (camera frames → QR text), ``display`` (what the clerk reads), ``qr_svg``, ``web`` (the page),
``cli``, ``ports``; EU DCCs (``HC1:``): ``dcc_pipeline`` (the checks), ``dcc_trust`` (imported document
signers), ``dcc_display``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from verifier import errors

_LAZY = {"verify": ("pipeline", "verify"), "Decision": ("pipeline", "Decision"),
         "VerifierCache": ("cache", "VerifierCache")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(f"verifier.{module}"), attr)
    raise AttributeError(f"module 'verifier' has no attribute {name!r}")


__all__ = ["Decision", "VerifierCache", "errors", "verify"]
