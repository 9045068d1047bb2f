"""The holder's wallet: stored credentials, the device key, presentations and their QR codes.

Public API (loaded on first use): ``Wallet`` and ``StoredCredential`` (``holder``: the command-line wallet's
store and device key), ``choose_view`` (``presenter``: the smallest issuer view that discloses what a counter asks),
``errors``. The browser wallet is ``static/`` (ES modules building byte-identical presentations) served by ``web``;
``qr`` renders codes, ``cli`` is ``tongban wallet``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from wallet import errors

_LAZY = {"Wallet": ("holder", "Wallet"), "StoredCredential": ("holder", "StoredCredential"),
         "choose_view": ("presenter", "choose_view")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(f"wallet.{module}"), attr)
    raise AttributeError(f"module 'wallet' has no attribute {name!r}")


__all__ = ["StoredCredential", "Wallet", "choose_view", "errors"]
