"""Health codes as an application service: ``HealthDesk``, one object the web layers and the CLI hold, made of
small parts that share one ``HealthContext`` (``issuer.health.context``):

* ``statuses`` — ``StatusDesk`` (``issuer.health.desk``): colour changes with an audit trail, region-scoped;
* ``codes`` — ``Codes`` (``issuer.health.codes``): codes bound to devices, fetched, re-issued, suspended;
* ``grants`` — ``Proxies`` (``issuer.health.proxies``): family proxies, ended by revocation;
* ``staff`` — ``Staff`` (``issuer.health.staff``): who may act for which authority;
* ``bulk`` — ``Reissue`` (``issuer.health.reissue``): the resumable re-issue of every code.

The methods below keep the desk's one surface (``desk.set_status``, ``desk.fetch``, ...) and only delegate.

Ports: ``People`` resolves a username (ID number or phone) to a person (the service wires it to the
identity provider's accounts); nothing here imports ``idp``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

from issuer.health.codes import Codes
from issuer.health.colours import HealthPolicy
from issuer.health.context import HealthContext, Touched
from issuer.health.desk import StatusDesk
from issuer.health.models import AuditEntry, HealthCode, HealthStatus, People, Person, Proxy, SetResult
from issuer.health.proxies import Proxies
from issuer.health.reissue import Plan, Reissue
from issuer.health.staff import Staff
from issuer.service import Issuer
from keys import PublicKey
from storage import events


class HealthDesk:
    def __init__(self, issuer: Issuer, lookup_key: bytes, *, policy: HealthPolicy | None = None,
                 people: People | None = None):
        self.ctx = HealthContext(issuer, lookup_key, policy or HealthPolicy(), people)
        self.codes = Codes(self.ctx)
        self.statuses = StatusDesk(self.ctx, self.codes)
        self.grants = Proxies(self.ctx)
        self.staff = Staff(self.ctx)
        self.bulk = Reissue(self.ctx, self.codes)

    # -- the shared context -----------------------------------------------------------------------------
    @property
    def issuer(self) -> Issuer:
        return self.ctx.issuer

    @property
    def engine(self):  # sqlalchemy.Engine
        return self.ctx.engine

    @property
    def key(self) -> bytes:
        return self.ctx.key

    @property
    def vault(self):  # issuer.pii.Vault
        return self.ctx.vault

    @property
    def policy(self) -> HealthPolicy:
        return self.ctx.policy

    @policy.setter
    def policy(self, value: HealthPolicy) -> None:
        self.ctx.policy = value

    @property
    def people(self) -> People | None:
        return self.ctx.people

    @property
    def authority(self):  # issuer.hub.AuthorityConfig
        return self.ctx.authority

    def hash(self, id_number: str) -> str:
        return self.ctx.hash(id_number)

    def person(self, username: str) -> Person:
        return self.ctx.person(username)

    def status_of(self, row) -> HealthStatus:  # a health_status row
        return self.ctx.status_of(row)

    def lock_subject(self, conn: Connection, subject_hash: str):
        return self.ctx.lock_subject(conn, subject_hash)

    def publish_touched(self, touched: Touched, now: int) -> None:
        self.ctx.publish_touched(touched, now)

    # -- statuses ---------------------------------------------------------------------------------------
    def status(self, id_number: str, conn: Connection | None = None, *, lock: bool = False) -> HealthStatus | None:
        return self.ctx.status(id_number, conn, lock=lock)

    def audit(self, id_number: str) -> list[AuditEntry]:
        return self.statuses.audit(id_number)

    def set_status(self, id_number: str, colour: str, reason: str | None, *, actor: str, now: int,
                   name: str | None = None, region: str | None = None, operator: bool = False) -> SetResult:
        result = self.statuses.set_status(id_number, colour, reason, actor=actor, now=now, name=name, region=region,
                                          operator=operator)
        # the audit chain and metrics (storage.events): keyed hashes only, never the ID numbers or the reason
        events.emit("health_status", subject=self.hash(id_number), colour=colour, actor=self.hash(actor), at=now)
        return result

    def require_in_scope(self, id_number: str) -> None:
        self.statuses.require_in_scope(id_number)

    # -- codes ------------------------------------------------------------------------------------------
    def fetch(self, id_number: str, name: str, device: PublicKey, *, now: int, proxy_id: int = 0,
              requester_id_number: str | None = None) -> HealthCode:
        return self.codes.fetch(id_number, name, device, now=now, proxy_id=proxy_id,
                                requester_id_number=requester_id_number)

    # -- family proxies ---------------------------------------------------------------------------------
    def grant_proxy(self, relative: Person, proxy_ref: str, *, via: str, recorded_by: str, now: int) -> Proxy:
        proxy = self.grants.grant(relative, proxy_ref, via=via, recorded_by=recorded_by, now=now)
        events.emit("proxy_granted", proxy_id=proxy.id, via=via, recorded_by=self.hash(recorded_by), at=now)
        return proxy

    def grant_in(self, conn: Connection, relative: HealthStatus, proxy: Person, *, via: str, recorded_by: str,
                 now: int) -> Proxy:
        return self.grants.grant_in(conn, relative, proxy, via=via, recorded_by=recorded_by, now=now)

    def end_proxy(self, proxy_id: int, relative_id_number: str, *, by: str, now: int) -> tuple[Proxy, tuple[str, ...]]:
        ended = self.grants.end(proxy_id, relative_id_number, by=by, now=now)
        events.emit("proxy_ended", proxy_id=proxy_id, by=self.hash(by), at=now)
        return ended

    def proxies(self, id_number: str) -> dict[str, list[Proxy]]:
        return self.grants.of(id_number)

    # -- staff ------------------------------------------------------------------------------------------
    def grant_staff(self, id_number: str, authority_id: str, role: str, now: int) -> bool:
        granted = self.staff.grant(id_number, authority_id, role, now)
        events.emit("admin_action", action="grant_staff", subject=self.hash(id_number), authority=authority_id,
                    role=role, at=now)
        return granted

    def staff_role(self, id_number: str | None, authority_id: str) -> str | None:
        return self.staff.role(id_number, authority_id)

    def staff_role_by_hash(self, subject: str, authority_id: str) -> str | None:
        return self.staff.role_by_hash(subject, authority_id)

    def require_health_staff(self, id_number: str | None) -> str:
        return self.staff.require_health_staff(id_number)

    # -- bulk re-issue ----------------------------------------------------------------------------------
    def reissue_plan(self, now: int) -> Plan:
        return self.bulk.plan(now)

    def reissue_all(self, now: int, plan: Plan | None = None, progress: Callable[[int], None] | None = None) -> int:
        return self.bulk.all(now, plan, progress)


__all__ = ["HealthDesk"]
