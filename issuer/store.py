"""Issued credentials and status-index allocation in SQL (SQLite by default, PostgreSQL by DATABASE_URL).

Allocation is one atomic ``UPDATE ... SET next = next + 1 ... RETURNING`` on a counter row, inside the
same transaction as the credential's insert, and the (status_uri, status_idx) pair is UNIQUE: an
index is never handed out twice, also with several issuers writing at once, and a failed issuance
rolls its allocation back with it (the index is then burnt by nobody and taken by the next issue).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from credentials.status_uri import format_status_uri
from issuer.errors import IssuerError, UnknownCredentialError
from storage.sql import metadata

LIST_CAPACITY = 1 << 17  # entries per status list: 32 KiB at 2 bits, a few hundred bytes compressed when sparse

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
    UniqueConstraint("status_uri", "status_idx", name="uq_issuer_status_entry"),
)


@dataclass(frozen=True)
class IssuedRecord:
    elicence_id: str
    licence_type: str
    authority_id: str
    status_uri: str
    status_idx: int
    status: int
    expires_at: int


def _next(conn: Connection, name: str) -> int:
    """Atomically take the next value of counter ``name`` (starting at 0)."""
    row = conn.execute(
        update(counters).where(counters.c.name == name).values(next_value=counters.c.next_value + 1)
        .returning(counters.c.next_value)
    ).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(counters).values(name=name, next_value=1))
            return 0
        except Exception:  # noqa: BLE001 - another issuer created the counter first; take the next value
            return _next(conn, name)
    return int(row[0]) - 1


def allocate_status(conn: Connection, authority_id: str) -> tuple[str, int]:
    """Return (status-list uri, index) for a new credential of ``authority_id``."""
    position = _next(conn, f"status:{authority_id}")
    list_no, idx = divmod(position, LIST_CAPACITY)
    return status_uri(authority_id, list_no + 1), idx


def status_uri(authority_id: str, list_no: int) -> str:
    return format_status_uri(authority_id, list_no)


def next_serial(conn: Connection, authority_id: str) -> int:
    return _next(conn, f"serial:{authority_id}") + 1


def record(conn: Connection, **values: Any) -> None:
    conn.execute(insert(issued).values(**values))


def find(engine: Engine, elicence_id: str) -> IssuedRecord:
    with engine.connect() as conn:
        row = conn.execute(select(issued).where(issued.c.elicence_id == elicence_id)).first()
    if row is None:
        raise UnknownCredentialError(f"no credential {elicence_id} was issued here")
    return IssuedRecord(row.elicence_id, row.licence_type, row.authority_id, row.status_uri, row.status_idx,
                        row.status, row.expires_at)


def find_in(conn: Connection, elicence_id: str) -> IssuedRecord:
    row = conn.execute(select(issued).where(issued.c.elicence_id == elicence_id)).first()
    if row is None:
        raise UnknownCredentialError(f"no credential {elicence_id} was issued here")
    return IssuedRecord(row.elicence_id, row.licence_type, row.authority_id, row.status_uri, row.status_idx,
                        row.status, row.expires_at)


def set_status(engine: Engine, elicence_id: str, status: int) -> IssuedRecord:
    with engine.begin() as conn:
        result = conn.execute(update(issued).where(issued.c.elicence_id == elicence_id).values(status=status))
        if result.rowcount != 1:
            raise UnknownCredentialError(f"no credential {elicence_id} was issued here")
    return find(engine, elicence_id)


def mark_status(conn: Connection, elicence_id: str, status: int) -> tuple[str, str]:
    """Set one credential's status inside the caller's transaction; returns (authority, status uri) to publish."""
    row = conn.execute(select(issued.c.authority_id, issued.c.status_uri, issued.c.status)
                       .where(issued.c.elicence_id == elicence_id)).first()
    if row is None:
        raise UnknownCredentialError(f"no credential {elicence_id} was issued here")
    if row.status != 1:  # revocation (1) is final
        conn.execute(update(issued).where(issued.c.elicence_id == elicence_id).values(status=status))
    return row.authority_id, row.status_uri


def statuses(engine: Engine, uri: str) -> dict[int, int]:
    """Non-valid entries of one status list: index → status value."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(issued.c.status_idx, issued.c.status).where(issued.c.status_uri == uri, issued.c.status != 0)
        )
        return {int(idx): int(status) for idx, status in rows}


def list_uris(engine: Engine, authority_id: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(issued.c.status_uri).where(issued.c.authority_id == authority_id).distinct())
        return sorted(r[0] for r in rows)


__all__ = ["IssuerError", "IssuedRecord", "allocate_status", "find", "find_in", "list_uris", "next_serial", "mark_status",
           "record", "set_status", "status_uri", "statuses"]
