"""What every part of the health desk shares (``HealthContext``): the issuer, the engine, the look-up key and
the vault, the policy, the ``People`` port; and the few row operations all of them need: a citizen's status
row (read, created green on first use, locked), a proxy grant's row, the region scope check and the
re-signing of the status lists a transaction touched.

Locks (issue 8: an end racing a fetch once left a valid code for 24 h): fetching, ending a proxy and changing
a status all lock the citizen's ``health_status`` row first (``lock_subject`` / ``ensure_status``), then (for a
proxy) the grant's row (``lock_grant``), in that order; so they run one after the other for one citizen, and
whichever comes second sees what the first wrote. SQLite serialises every writer anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from issuer.health import store as t
from issuer.health.colours import HEALTH_CODE, HealthPolicy, outside_scope, parse_reason
from issuer.health.errors import OutOfScope, UnknownPerson
from issuer.health.models import HealthStatus, People, Person
from issuer.pii import Vault
from issuer.service import Issuer

Touched = set[tuple[str, str]]  # (authority id, status-list URI) of the lists a transaction changed


@dataclass
class HealthContext:
    issuer: Issuer
    key: bytes  # the HMAC key of the citizens' look-up hashes (``store.subject_hash``)
    policy: HealthPolicy = field(default_factory=HealthPolicy)
    people: People | None = None
    engine: Engine = field(init=False)
    vault: Vault = field(init=False)  # seals what the health tables keep of a person (issuer.pii)

    def __post_init__(self) -> None:
        self.engine = self.issuer.engine
        self.vault = self.issuer.vault

    def hash(self, id_number: str) -> str:
        return t.subject_hash(self.key, id_number, self.vault.suite.digest)  # HMAC-SM3 in a 国密 hub

    @property
    def authority(self):  # issuer.hub.AuthorityConfig
        return self.issuer.hub.owner_of(HEALTH_CODE)

    def person(self, username: str) -> Person:
        found = self.people.find(username) if self.people is not None else None
        if found is None:
            raise UnknownPerson(f"no registered citizen {_mask(username)}")
        return found

    # -- status rows ------------------------------------------------------------------------------------
    def status(self, id_number: str, conn: Connection | None = None, *, lock: bool = False) -> HealthStatus | None:
        """The citizen's current status; with ``lock`` (inside a transaction) the row is locked for update, so
        changes and fetches for one citizen serialise on PostgreSQL (SQLite serialises every writer anyway)."""
        query = select(t.health_status).where(t.health_status.c.subject_hash == self.hash(id_number))
        if lock:
            query = query.with_for_update()
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        return None if row is None else self.status_of(row)

    def status_of(self, row) -> HealthStatus:  # a health_status row
        person = t.PERSON.open(self.vault, row._mapping)
        return HealthStatus(person["id_number"], person["name"], row.colour,
                            t.STATUS_REASON.open(self.vault, row._mapping), row.region, row.seq, row.updated_at,
                            row.updated_by)

    def ensure_status(self, conn: Connection, id_number: str, name: str, now: int) -> HealthStatus:
        """The citizen's status row, created green on first use (a concurrent creator wins), locked."""
        key = {"subject_hash": self.hash(id_number)}
        row = {**key, "colour": "green", "region": self.authority.region, "seq": 0, "updated_at": now,
               "updated_by": "system", **t.PERSON.seal(self.vault, key, {"id_number": id_number, "name": name}),
               **t.STATUS_REASON.seal(self.vault, key, parse_reason(""))}
        dialect_insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
        conn.execute(dialect_insert(t.health_status).values(**row).on_conflict_do_nothing(
            index_elements=["subject_hash"]))
        return self.status(id_number, conn, lock=True)

    def lock_subject(self, conn: Connection, subject_hash: str):
        """Lock one citizen's status row. Every path that issues, suspends or revokes a citizen's codes takes this
        lock first, then (for a proxy) the grant's row: one order, so no deadlock."""
        return conn.execute(select(t.health_status).where(t.health_status.c.subject_hash == subject_hash)
                            .with_for_update()).first()

    # -- proxy grant rows -------------------------------------------------------------------------------
    def proxy_row(self, conn: Connection, proxy_id: int):
        return conn.execute(select(t.health_proxies).where(t.health_proxies.c.id == proxy_id)).first()

    def lock_grant(self, conn: Connection, proxy_id: int):
        return conn.execute(select(t.health_proxies).where(t.health_proxies.c.id == proxy_id)
                            .with_for_update()).first()

    # -- scope and publication --------------------------------------------------------------------------
    def check_scope(self, operator: bool, *regions: str | None) -> None:
        """``OutOfScope`` unless every region lies within the health authority's (an operator is not scoped)."""
        if operator:
            return
        authority = self.authority
        outside = outside_scope(authority.region, *regions)
        if outside is not None:
            raise OutOfScope(f"该居民不属于{authority.name}的辖区（{outside} 不在 {authority.region} 内）/ "
                             f"this citizen is outside the region of {authority.id} ({outside} is not within "
                             f"{authority.region})")

    def publish_touched(self, touched: Touched, now: int) -> None:
        """Publish the lists these changes marked dirty (in their transaction: a crash before this is repaired by
        the next publisher run, ``issuer.status_publisher``)."""
        if touched:
            self.issuer.publish_pending(now=now, uris={uri for _, uri in touched})


def _mask(username: str) -> str:
    text = str(username)
    return text[:3] + "*" * max(0, len(text) - 7) + text[-4:] if len(text) > 7 else "***"


__all__ = ["HealthContext", "Touched"]
