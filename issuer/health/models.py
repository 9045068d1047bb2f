"""The health desk's value types: a person (the ``People`` port's answer), a status, an audit entry, a code as
the wallet receives it, a proxy grant, the result of a status change. Pure: no database, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from credentials import licence_type, parse_credential
from issuer.health.colours import HEALTH_CODE
from keys import b64url


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    phone: str | None = None  # their registered mobile number: invitations to it are theirs to answer


class People(Protocol):
    def find(self, username: str) -> Person | None:
        """A registered citizen by resident ID number or mobile phone number, else None."""
        ...


@dataclass(frozen=True)
class HealthStatus:
    id_number: str
    name: str
    colour: str
    reason: str
    region: str
    seq: int
    updated_at: int
    updated_by: str

    def to_json(self) -> dict:
        return {"colour": self.colour, "reason": self.reason, "region": self.region, "name": self.name,
                "updated_at": self.updated_at}


@dataclass(frozen=True)
class AuditEntry:
    at: int
    actor: str
    old_colour: str | None
    new_colour: str
    reason: str

    def to_json(self) -> dict:
        return {"at": self.at, "actor": self.actor, "old_colour": self.old_colour, "new_colour": self.new_colour,
                "reason": self.reason}


@dataclass(frozen=True)
class HealthCode:
    elicence_id: str
    colour: str
    expires_at: int
    views: dict[str, bytes]
    proxy_id: int
    authority_id: str

    def to_json(self, authority_name: str = "") -> dict:
        """The wallet's view: the shape of ``POST /issuer/credential`` plus colour, expiry and proxy."""
        ltype = licence_type(HEALTH_CODE)
        views = {k: b64url(v) for k, v in self.views.items()}
        _, full = parse_credential(self.views.get("full") or self.views["proxy-full"])
        summary = {"name": full.claims["name"], "colour": self.colour, "expires_at": self.expires_at,
                   "authority": authority_name, "reason": full.claims.get("reason", ""),
                   "region": full.claims.get("region", "")}
        if "shown_by" in full.claims:
            summary["shown_by"] = full.claims["shown_by"]
        return {
            "credentials": [{"credential": views}], "elicence_id": self.elicence_id, "licence_type": HEALTH_CODE,
            "label": ltype.label, "authority_id": self.authority_id,
            "views": {v.name: {"label": v.label, "claims": list(v.claims)} for v in ltype.views if v.name in views},
            "summary": summary, "colour": self.colour, "expires_at": self.expires_at, "proxy_id": self.proxy_id or None,
        }


@dataclass(frozen=True)
class Proxy:
    id: int
    relative_name: str
    proxy_name: str
    granted_at: int
    granted_via: str
    recorded_by: str
    ended_at: int | None

    def to_json(self) -> dict:
        return {"id": self.id, "relative_name": self.relative_name, "proxy_name": self.proxy_name,
                "granted_at": self.granted_at, "granted_via": self.granted_via, "ended_at": self.ended_at,
                "active": self.ended_at is None}


@dataclass(frozen=True)
class SetResult:
    status: HealthStatus
    reissued: tuple[str, ...]  # new e-licence ids
    suspended: tuple[str, ...]  # the codes they replace


__all__ = ["AuditEntry", "HealthCode", "HealthStatus", "People", "Person", "Proxy", "SetResult"]
