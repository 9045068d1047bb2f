"""The issuer: authorities sign licences and health codes, keep their status lists, and publish the hub's trust list.

Public API (loaded on first use, so importing a pure module here loads no SQL or Flask): ``Issuer`` (issue,
``issue_many``, revoke, publish), ``Hub`` (authorities, key rings, the signed trust list, recognised regions),
``Records`` (the authorities' registers of who holds what), ``errors``.

Modules, by job:

* Issuance: ``service`` (``Issuer``), ``issuance`` (claims → views), ``validation``, ``store`` (issued credentials,
  status-index allocation, dirty marks), ``records``, ``pii`` + ``pii_migrate`` (personal data sealed at rest).
* Status lists: ``status_publisher`` (dirty marks → one signature per list per interval, deltas),
  ``publication`` (the ``/status`` blueprint: lists, deltas, index).
* The hub: ``hub``, ``authorities`` (each region's demo authorities), ``compromise`` (withdrawing a leaked key),
  ``peers`` + ``peer_store`` + ``peer_checks`` (互通互认), ``hub_cli``.
* HTTP: ``vci`` (OpenID4VCI 1.0: metadata, token endpoint for pre-authorized codes, credential endpoint),
  ``offers`` (Credential Offers), ``sd_jwt_issuance`` (the ``dc+sd-jwt`` format), ``key_proof`` (its key proof,
  shared with health codes), ``nonces``, ``ports`` (the IdP's access tokens, injected), ``admin_sessions``,
  ``logout_token``.
* Health codes: the ``health`` sub-package. Commands: ``cli``; schema: ``migrate`` + ``migrations/``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from issuer import errors

_LAZY = {"Issuer": ("service", "Issuer"), "Hub": ("hub", "Hub"), "Records": ("records", "Records")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(f"issuer.{module}"), attr)
    raise AttributeError(f"module 'issuer' has no attribute {name!r}")


__all__ = ["Hub", "Issuer", "Records", "errors"]
