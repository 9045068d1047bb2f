"""Issued credentials and status-index allocation in SQL (SQLite by default, PostgreSQL by DATABASE_URL).

Allocation is one atomic ``UPDATE ... SET next = next + K ... RETURNING`` on a counter row, inside the
same transaction as the credentials' insert, and the (status_uri, status_idx) pair is UNIQUE: an
index is never handed out twice, also with several issuers writing at once, and a failed issuance
rolls its allocation back with it (the index is then burnt by nobody and taken by the next issue).
A batch of K credentials (``Issuer.issue_many``) takes its K indexes in that one statement.

**Shards.** The counter is per (authority, licence type, shard), not per authority: the row an issuance
locks until it commits is one only its own kind of work contends for, and a bulk run gives each worker
process its own shard (``shard=``), so N workers never wait on one row. A shard's counter holds
``list_no * (LIST_CAPACITY + 1) + next_idx`` (``next_idx == LIST_CAPACITY``: that list is full); when its
list fills up the shard opens a fresh list number from the authority's list counter (``lists:<authority>``),
so an authority grows to as many lists as it needs, each list filled by one shard. A list exists in the
database once a credential on it is inserted (``list_uris``), which is where the publisher finds it; its
first credential's issuance publishes it all-valid before the credential exists (``Issuer``).
The authority's list counter starts after the lists the older per-authority counter (``status:<authority>``)
used, so a database from before shards never hands out an index twice.

Each credential records the kid of the key that signed it (``signed_kid``), so that when a key is withdrawn as
compromised (``tongban keys compromise``) exactly its credentials get ``needs_reissue_at``. Databases made
before these two columns existed got them added once (``issuer.migrate``: nullable, no backfill); their
older rows, with no ``signed_kid``, are judged by date against the key's signing period instead.

Publication is driven by the database (issue 10 item 7): every status change writes a row in
``issuer_status_dirty`` in the same transaction as the change, and the publisher (``issuer.status_publisher``)
deletes exactly the rows it saw once the list it re-signed from the database is on disk, so a crash anywhere
between commit and publication is repaired by the next publisher run. ``issuer_status_lists`` registers every
list when its first index is handed out, so publication finds an authority's lists by index, never by scanning
the credentials; a partial index on the non-valid entries lets a list be rebuilt without reading its valid ones.

A credential's claims (names, ID numbers, addresses) are kept sealed in ``claims_enc`` (``issuer.pii``: AES-GCM
under the issuer secret, bound to the ``elicence_id``); the ``claims`` column of older databases holds ``{}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from credentials.status_uri import format_status_uri
from issuer.errors import IssuerError, UnknownCredentialError
from issuer.pii import SealedColumn, Vault
from storage.sql import metadata

LIST_CAPACITY = 1 << 17  # entries per status list: 32 KiB at 2 bits, a few hundred bytes compressed when sparse
MAX_LIST_NO = 999_999_999  # tbsl:<authority>/<n>: n has at most nine digits (credentials.status_uri)
MAX_SHARDS = 1024

counters = Table(
    "issuer_counters", metadata,
    Column("name", String(200), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)

issued = Table(
    "issuer_credentials", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("elicence_id", String(120), nullable=False, unique=True),
    Column("licence_type", String(40), nullable=False),
    Column("authority_id", String(80), nullable=False),
    Column("holder_kid", String(64), nullable=False),
    Column("status_uri", String(200), nullable=False),
    Column("status_idx", BigInteger, nullable=False),
    Column("status", SmallInteger, nullable=False, default=0),
    Column("issued_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("claims", JSON, nullable=False),
    Column("signed_kid", String(64)),  # RFC 7638 kid of the signing key; NULL in rows from before it was kept
    Column("needs_reissue_at", BigInteger),  # set when that key was withdrawn as compromised
    Column("claims_enc", Text),  # the claims, sealed (issuer.pii); NULL only in rows older code wrote
    UniqueConstraint("status_uri", "status_idx", name="uq_issuer_status_entry"),
)

# Non-valid entries of a list, read by the publisher (a list of 131,072 holds ~1 % of them).
Index("ix_issuer_credentials_nonvalid", issued.c.status_uri, issued.c.status_idx, issued.c.status,
      sqlite_where=issued.c.status != 0, postgresql_where=issued.c.status != 0)

status_lists = Table(
    "issuer_status_lists", metadata,
    Column("uri", String(200), primary_key=True),
    Column("authority_id", String(80), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
)

status_dirty = Table(
    "issuer_status_dirty", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uri", String(200), nullable=False),
    Column("authority_id", String(80), nullable=False),
    Column("marked_at", BigInteger, nullable=False),
)

# The claims, sealed under the issuer secret and bound to the credential's elicence_id (``issuer.pii``); the
# ``claims`` column keeps {} (older rows had them in clear until the start-up pass of ``issuer.pii_migrate``).
CLAIMS = SealedColumn(issued, "claims_enc", ("elicence_id",), plain=lambda row: row["claims"],
                      emptied=lambda _row: {"claims": {}})


@dataclass(frozen=True)
class IssuedRecord:
    elicence_id: str
    licence_type: str
    authority_id: str
    status_uri: str
    status_idx: int
    status: int
    expires_at: int


def _take(conn: Connection, name: str, count: int = 1, *, initial: int = 0) -> int:
    """Atomically take ``count`` consecutive values of counter ``name``; returns the first. A counter that does
    not exist yet starts at ``initial`` (created race-free: a concurrent creator wins and we take after it)."""
    row = conn.execute(
        update(counters).where(counters.c.name == name).values(next_value=counters.c.next_value + count)
        .returning(counters.c.next_value)
    ).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(counters).values(name=name, next_value=initial + count))
            return initial
        except IntegrityError:  # another issuer created the counter first; take the next values
            return _take(conn, name, count, initial=initial)
    return int(row[0]) - count


def _open_list(conn: Connection, authority_id: str) -> int:
    """A fresh list number of ``authority_id``, after any list the pre-shard counter used."""
    legacy = conn.execute(select(counters.c.next_value).where(counters.c.name == f"status:{authority_id}")).scalar()
    used = -(-int(legacy) // LIST_CAPACITY) if legacy else 0
    list_no = _take(conn, f"lists:{authority_id}", initial=used) + 1
    if list_no > MAX_LIST_NO:
        raise IssuerError(f"{authority_id} has used every status-list number (the URI allows {MAX_LIST_NO})")
    return list_no


def allocate_statuses(conn: Connection, authority_id: str, licence_type: str, count: int, *, shard: int = 0,
                      capacity: int = LIST_CAPACITY) -> list[tuple[str, int]]:
    """``count`` (status-list uri, index) pairs for new credentials of ``authority_id``, in one ``UPDATE`` (two
    more when the shard's list fills up and a new one is opened). Indexes of one list are handed out densely.
    ``capacity`` is the published lists' size; only tests pass another (to fill lists quickly)."""
    if count < 1:
        return []
    if not 0 <= shard < MAX_SHARDS:
        raise IssuerError(f"status-index shard must be between 0 and {MAX_SHARDS - 1}")
    name = f"status:{authority_id}:{licence_type}:{shard}"
    slot = capacity + 1  # a shard counter's value per list: next_idx runs 0..capacity (capacity: the list is full)
    entries: list[tuple[str, int]] = []
    while count:
        row = conn.execute(
            update(counters).where(counters.c.name == name).values(next_value=counters.c.next_value + count)
            .returning(counters.c.next_value)
        ).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(counters).values(name=name, next_value=_open_list(conn, authority_id) * slot))
            except IntegrityError:
                pass  # another issuer made this shard just now: use it
            continue
        list_no, idx = divmod(int(row[0]) - count, slot)  # committed values always have idx <= capacity
        take = min(count, capacity - idx)
        uri = status_uri(authority_id, list_no)
        entries.extend((uri, i) for i in range(idx, idx + take))
        count -= take
        if count:  # the list is full: the rest goes to a fresh one (the overshoot above is overwritten, unseen)
            fresh = _open_list(conn, authority_id) * slot
            conn.execute(update(counters).where(counters.c.name == name).values(next_value=fresh))
    return entries


def status_uri(authority_id: str, list_no: int) -> str:
    return format_status_uri(authority_id, list_no)


def next_serials(conn: Connection, authority_id: str, count: int) -> range:
    """``count`` consecutive new serials of ``authority_id`` in one statement."""
    if count < 1:
        return range(0)
    first = _take(conn, f"serial:{authority_id}", count) + 1
    return range(first, first + count)


def record_many(conn: Connection, vault: Vault, rows: list[dict[str, Any]]) -> None:
    """Record issued credentials in one batched INSERT; each row's ``claims`` sealed with ``vault``."""
    if rows:
        conn.execute(insert(issued), [{**values, **CLAIMS.seal(vault, values, values["claims"])} for values in rows])


def find(engine: Engine, elicence_id: str) -> IssuedRecord:
    with engine.connect() as conn:
        row = conn.execute(select(issued).where(issued.c.elicence_id == elicence_id)).first()
    if row is None:
        raise UnknownCredentialError(f"no credential {elicence_id} was issued here")
    return IssuedRecord(row.elicence_id, row.licence_type, row.authority_id, row.status_uri, row.status_idx,
                        row.status, row.expires_at)


def holder_kid(engine: Engine, elicence_id: str) -> str | None:
    """The thumbprint of the device key ``elicence_id`` is bound to (None: no such credential)."""
    with engine.connect() as conn:
        return conn.execute(select(issued.c.holder_kid).where(issued.c.elicence_id == elicence_id)).scalar_one_or_none()


def find_in(conn: Connection, elicence_id: str) -> IssuedRecord:
    row = conn.execute(select(issued).where(issued.c.elicence_id == elicence_id)).first()
    if row is None:
        raise UnknownCredentialError(f"no credential {elicence_id} was issued here")
    return IssuedRecord(row.elicence_id, row.licence_type, row.authority_id, row.status_uri, row.status_idx,
                        row.status, row.expires_at)


def set_statuses(engine: Engine, elicence_ids: list[str], status: int, *, now: int = 0) -> tuple[list[Any], set[str]]:
    """Set many credentials' status in one transaction and mark each list they are on once (revocation, 1, is
    final: a revoked one is left as it is). Returns (the rows changed: elicence_id, authority_id, licence_type,
    status_uri; the status-list URIs marked);
    ``UnknownCredentialError`` (nothing changed) when one of them was never issued here."""
    changed: list[Any] = []
    lists: dict[str, str] = {}
    with engine.begin() as conn:
        for start in range(0, len(elicence_ids), 500):
            chunk = elicence_ids[start:start + 500]
            rows = conn.execute(update(issued).where(issued.c.elicence_id.in_(chunk), issued.c.status != 1)
                                .values(status=status)
                                .returning(issued.c.elicence_id, issued.c.authority_id, issued.c.licence_type,
                                           issued.c.status_uri)).all()
            changed += rows
            lists.update({row.status_uri: row.authority_id for row in rows})
            if len(rows) < len(set(chunk)):  # revoked already, or never issued here
                found = {r[0] for r in conn.execute(select(issued.c.elicence_id).where(issued.c.elicence_id.in_(chunk)))}
                missing = sorted(set(chunk) - found)
                if missing:
                    raise UnknownCredentialError(f"no credential {missing[0]} was issued here")
        for uri, authority_id in lists.items():
            mark_dirty(conn, authority_id, uri, now)
    return changed, set(lists)


def mark_status(conn: Connection, elicence_id: str, status: int) -> tuple[str, str]:
    """Set one credential's status inside the caller's transaction; returns (authority, status uri) to publish."""
    [touched] = mark_statuses(conn, [elicence_id], status)
    return touched


def register_list(conn: Connection, authority_id: str, uri: str, now: int) -> None:
    """Record a new status list (when its first index is handed out), in the caller's transaction."""
    if conn.execute(select(status_lists.c.uri).where(status_lists.c.uri == uri)).first() is None:
        conn.execute(insert(status_lists).values(uri=uri, authority_id=authority_id, created_at=now))


def mark_dirty(conn: Connection, authority_id: str, uri: str, now: int) -> None:
    """Say, in the transaction that changed it, that ``uri`` must be re-published (an insert: no row is contended)."""
    conn.execute(insert(status_dirty).values(uri=uri, authority_id=authority_id, marked_at=now))


def dirty(engine: Engine, uris: set[str] | None = None) -> dict[tuple[str, str], list[int]]:
    """Lists with committed, unpublished changes (of ``uris`` when given): (authority, uri) → the mark ids seen (to
    clear exactly those)."""
    found: dict[tuple[str, str], list[int]] = {}
    query = select(status_dirty.c.id, status_dirty.c.authority_id, status_dirty.c.uri)
    if uris is not None:
        query = query.where(status_dirty.c.uri.in_(sorted(uris)))
    with engine.connect() as conn:
        for mark_id, authority_id, uri in conn.execute(query):
            found.setdefault((authority_id, uri), []).append(int(mark_id))
    return found


def clear_dirty(engine: Engine, ids: list[int]) -> None:
    """Delete the marks a publication covered; marks committed since (not in ``ids``) stay for the next run."""
    with engine.begin() as conn:
        for start in range(0, len(ids), 500):
            conn.execute(delete(status_dirty).where(status_dirty.c.id.in_(ids[start:start + 500])))


def mark_statuses(conn: Connection, elicence_ids: list[str], status: int) -> set[tuple[str, str]]:
    """``mark_status`` for a batch (bulk re-issue): one SELECT and one UPDATE; returns the lists to publish."""
    if not elicence_ids:
        return set()
    rows = conn.execute(select(issued.c.elicence_id, issued.c.authority_id, issued.c.status_uri)
                        .where(issued.c.elicence_id.in_(elicence_ids))).all()
    if len(rows) != len(set(elicence_ids)):
        missing = sorted(set(elicence_ids) - {r.elicence_id for r in rows})
        raise UnknownCredentialError(f"no credential {missing[0]} was issued here")
    conn.execute(update(issued).where(issued.c.elicence_id.in_(elicence_ids), issued.c.status != 1)  # 1: final
                 .values(status=status))
    lists = {(r.authority_id, r.status_uri) for r in rows}
    for authority_id, uri in lists:
        mark_dirty(conn, authority_id, uri, 0)  # published by the next publisher run, whatever happens here
    return lists


def statuses(engine: Engine, uri: str) -> dict[int, int]:
    """Non-valid entries of one status list: index → status value."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(issued.c.status_idx, issued.c.status).where(issued.c.status_uri == uri, issued.c.status != 0)
        )
        return {int(idx): int(status) for idx, status in rows}


@dataclass(frozen=True)
class ReissueNeeded:
    elicence_id: str
    licence_type: str
    authority_id: str
    holder_kid: str
    signed_kid: str | None
    issued_at: int
    expires_at: int
    needs_reissue_at: int

    def to_json(self) -> dict[str, Any]:
        return {"elicence_id": self.elicence_id, "licence_type": self.licence_type, "authority_id": self.authority_id,
                "holder_kid": self.holder_kid, "signed_kid": self.signed_kid, "issued_at": self.issued_at,
                "expires_at": self.expires_at, "needs_reissue_at": self.needs_reissue_at}


def mark_needs_reissue(engine: Engine, authority_id: str, kid: str, *, signed_from: int, signed_until: int,
                       at: int) -> int:
    """Mark the live credentials key ``kid`` signed; returns how many were newly marked.

    Rows that record no signing key (issued before ``signed_kid`` existed) are marked when the authority issued
    them inside the key's signing period [signed_from, signed_until]: more than needed at a rotation's edge
    rather than one missed. Revoked and expired credentials need no re-issue and are left alone.
    """
    signed_by_key = (issued.c.signed_kid == kid) | (
        issued.c.signed_kid.is_(None) & issued.c.issued_at.between(signed_from, signed_until))
    with engine.begin() as conn:
        result = conn.execute(
            update(issued).where(issued.c.authority_id == authority_id, signed_by_key,
                                 issued.c.needs_reissue_at.is_(None), issued.c.status != 1, issued.c.expires_at > at)
            .values(needs_reissue_at=at))
        return int(result.rowcount)


def needing_reissue(engine: Engine, *, now: int, authority_id: str | None = None,
                    kid: str | None = None) -> list[ReissueNeeded]:
    """Marked credentials still worth re-issuing (not revoked since, not expired), oldest mark first."""
    query = select(issued).where(issued.c.needs_reissue_at.is_not(None), issued.c.status != 1,
                                 issued.c.expires_at > now)
    if authority_id is not None:
        query = query.where(issued.c.authority_id == authority_id)
    if kid is not None:
        query = query.where(issued.c.signed_kid == kid)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(issued.c.needs_reissue_at, issued.c.id)).all()
    return [ReissueNeeded(r.elicence_id, r.licence_type, r.authority_id, r.holder_kid, r.signed_kid, int(r.issued_at),
                          int(r.expires_at), int(r.needs_reissue_at)) for r in rows]


def list_uris(engine: Engine, authority_id: str) -> list[str]:
    """Every registered list of ``authority_id`` (by the index on ``issuer_status_lists.authority_id``)."""
    with engine.connect() as conn:
        rows = conn.execute(select(status_lists.c.uri).where(status_lists.c.authority_id == authority_id))
        return sorted((r[0] for r in rows), key=lambda uri: (len(uri), uri))


__all__ = ["IssuerError", "IssuedRecord", "ReissueNeeded", "allocate_statuses", "clear_dirty", "dirty",
           "find", "find_in", "list_uris", "mark_dirty", "mark_needs_reissue", "mark_status", "mark_statuses",
           "needing_reissue", "next_serials", "record_many", "register_list", "set_statuses",
           "status_uri", "statuses"]
