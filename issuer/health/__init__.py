"""Health codes (the health commission's short-lived licence): colour rules, the desk that changes statuses,
codes bound to devices, family proxies and their invitations, staff roles, the bulk re-issue, and the two web
layers (the wallet's JSON API and the staff page ``/admin``).

It sits on top of the rest of ``issuer`` (it issues through ``issuer.service.Issuer``); nothing else in
``issuer`` but the CLI, the credential endpoint (the ``HEALTH_CODE`` type name) and the personal-data
migration (the tables) imports it.

Modules: ``colours`` (pure rules), ``models`` (value types), ``errors``, ``store`` and ``proxy_store``
(tables), ``context`` (what the parts share), ``desk`` (status changes), ``codes``, ``proxies``,
``invitations``, ``staff``, ``reissue``, ``service`` (``HealthDesk``, the parts in one object), the wallet's
JSON API (``api`` what its blueprints share, ``web`` codes and proxies, ``invitations_web``), ``admin_web``
(+ ``templates/``).

The pure rules, value types and errors are imported here; the rest (SQL, Flask) on first use of its name, so
that importing the pure rules (a pure core, tests/test_architecture.py) loads no framework.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from issuer.health.colours import (
    COLOURS,
    DEFAULT_LIFETIME,
    HEALTH_CODE,
    INVITATION_ANSWERS,
    INVITATION_LIFETIME,
    OWN_VIEWS,
    PROXY_VIEWS,
    REASON_REQUIRED,
    HealthPolicy,
    code_claims,
    invitation_status,
    mask_name,
    mask_ref,
    needs_new_code,
    outside_scope,
    parse_answer,
    parse_colour,
    parse_colour_and_reason,
    parse_id_number,
    parse_person_ref,
    parse_reason,
    parse_region,
    region_prefix,
    region_within,
    registered_region,
    views_for,
    what_accepting_allows,
)
from issuer.health.errors import (
    HealthError,
    InvitationClosed,
    InvitationExpired,
    InvitationNotFound,
    OutOfScope,
    ProxyError,
    UnknownPerson,
)
from issuer.health.models import AuditEntry, HealthCode, HealthStatus, People, Person, Proxy, SetResult

# Public names loaded on first use: (module, name).
_LAZY = {
    "HealthDesk": ("service", "HealthDesk"),
    "HealthContext": ("context", "HealthContext"),
    "StatusDesk": ("desk", "StatusDesk"),
    "Codes": ("codes", "Codes"),
    "Proxies": ("proxies", "Proxies"),
    "Staff": ("staff", "Staff"),
    "STAFF_ROLES": ("staff", "STAFF_ROLES"),
    "Reissue": ("reissue", "Reissue"),
    "ProxyInvitations": ("invitations", "ProxyInvitations"),
    "SECRET_ENV": ("store", "SECRET_ENV"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(f"issuer.health.{module}"), attr)
    raise AttributeError(f"module 'issuer.health' has no attribute {name!r}")


__all__ = [
    "COLOURS", "DEFAULT_LIFETIME", "HEALTH_CODE", "INVITATION_ANSWERS", "INVITATION_LIFETIME", "OWN_VIEWS",
    "PROXY_VIEWS", "REASON_REQUIRED",
    "SECRET_ENV", "STAFF_ROLES", "AuditEntry", "Codes", "HealthCode", "HealthContext", "HealthDesk", "HealthError",
    "HealthPolicy", "HealthStatus", "InvitationClosed", "InvitationExpired", "InvitationNotFound", "OutOfScope",
    "People", "Person", "Proxies", "Proxy", "ProxyError", "ProxyInvitations", "Reissue", "SetResult", "Staff",
    "StatusDesk", "UnknownPerson", "code_claims", "invitation_status", "mask_name", "mask_ref",
    "needs_new_code", "outside_scope", "parse_answer", "parse_colour", "parse_colour_and_reason", "parse_id_number",
    "parse_person_ref", "parse_reason", "parse_region", "region_prefix", "region_within", "registered_region",
    "views_for", "what_accepting_allows",
]
