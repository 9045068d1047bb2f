"""The issuer's tables as the code before sealing made them (personal data in clear), and a copy of a current
database into that layout: the opened values written back into the clear columns, the sealed ones left out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    text,
)

from issuer import records, store
from issuer.health import store as health_store
from issuer.pii import Vault

OLD = MetaData()
Table("issuer_credentials", OLD,
      Column("id", Integer, primary_key=True, autoincrement=True),
      Column("elicence_id", String(120), nullable=False, unique=True),
      Column("licence_type", String(40), nullable=False), Column("authority_id", String(80), nullable=False),
      Column("holder_kid", String(64), nullable=False), Column("status_uri", String(200), nullable=False),
      Column("status_idx", BigInteger, nullable=False), Column("status", SmallInteger, nullable=False, default=0),
      Column("issued_at", BigInteger, nullable=False), Column("expires_at", BigInteger, nullable=False),
      Column("claims", JSON, nullable=False), Column("signed_kid", String(64)), Column("needs_reissue_at", BigInteger),
      UniqueConstraint("status_uri", "status_idx", name="uq_issuer_status_entry"))
Table("issuer_records", OLD,
      Column("record_id", String(40), primary_key=True), Column("licence_type", String(40), nullable=False),
      Column("authority_id", String(80), nullable=False),
      Column("holder_id_number", String(18), nullable=False, index=True),
      Column("claims", JSON, nullable=False), Column("updated_at", BigInteger, nullable=False),
      UniqueConstraint("licence_type", "holder_id_number", name="uq_issuer_record_holder"))
Table("health_status", OLD,
      Column("subject_hash", String(64), primary_key=True), Column("id_number", String(18), nullable=False),
      Column("name", String(200), nullable=False), Column("colour", String(8), nullable=False),
      Column("reason", String(400), nullable=False), Column("region", String(6), nullable=False),
      Column("seq", Integer, nullable=False), Column("updated_at", BigInteger, nullable=False),
      Column("updated_by", String(200), nullable=False))
Table("health_audit", OLD,
      Column("id", Integer, primary_key=True, autoincrement=True),
      Column("subject_hash", String(64), nullable=False, index=True), Column("at", BigInteger, nullable=False),
      Column("actor", String(200), nullable=False), Column("old_colour", String(8)),
      Column("new_colour", String(8), nullable=False), Column("reason", String(400), nullable=False))
Table("health_codes", OLD,
      Column("id", Integer, primary_key=True, autoincrement=True), Column("subject_hash", String(64), nullable=False),
      Column("proxy_id", Integer, nullable=False), Column("device_jwk", Text, nullable=False),
      Column("device_kid", String(64), nullable=False), Column("elicence_id", String(120), nullable=False),
      Column("views", Text, nullable=False), Column("seq", Integer, nullable=False),
      Column("issued_at", BigInteger, nullable=False), Column("expires_at", BigInteger, nullable=False),
      UniqueConstraint("subject_hash", "proxy_id", name="uq_health_code_holder"))
Table("health_proxies", OLD,
      Column("id", Integer, primary_key=True, autoincrement=True), Column("relative_hash", String(64), nullable=False),
      Column("relative_name", String(200), nullable=False), Column("proxy_hash", String(64), nullable=False),
      Column("proxy_name", String(200), nullable=False), Column("granted_at", BigInteger, nullable=False),
      Column("granted_via", String(16), nullable=False), Column("recorded_by", String(200), nullable=False),
      Column("ended_at", BigInteger), Column("ended_by", String(200)),
      Index("ix_health_proxies_relative", "relative_hash"), Index("ix_health_proxies_proxy", "proxy_hash"))

# How the old code kept each sealed value in clear (the inverse of SealedColumn.plain).
CLEAR = {
    store.CLAIMS: lambda v: {"claims": v},
    records.DATA: lambda v: {"holder_id_number": v["holder"], "claims": v["claims"]},
    health_store.PERSON: lambda v: {"id_number": v["id_number"], "name": v["name"]},
    health_store.STATUS_REASON: lambda v: {"reason": v},
    health_store.AUDIT_REASON: lambda v: {"reason": v},
    health_store.VIEWS: lambda v: {"views": v},
    health_store.NAMES: lambda v: {"relative_name": v["relative_name"], "proxy_name": v["proxy_name"]},
}
# Tables whose layout did not change, copied as they are (the rest of a database is made by create_all).
UNCHANGED = (store.counters, records.record_issues, health_store.authority_staff)


def copy_as_old(source: Engine, vault: Vault, target: Engine) -> dict[str, int]:
    """Make ``target`` what the old code would hold for ``source``'s data; returns rows per table."""
    OLD.create_all(target)
    counts: dict[str, int] = {}
    with source.connect() as src, target.begin() as dst:
        for old in OLD.sorted_tables:
            current = store.metadata.tables[old.name]
            sealed = [s for s in CLEAR if s.table is current]
            rows: list[dict[str, Any]] = []
            for row in src.execute(select(current)):
                values = dict(row._mapping)
                for s in sealed:
                    values.update(CLEAR[s](s.open(vault, row._mapping)))
                rows.append({c.name: values[c.name] for c in old.columns})
            if rows:
                dst.execute(old.insert(), rows)
            counts[old.name] = len(rows)
        for table in UNCHANGED:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            table.create(dst, checkfirst=True)
            if rows:
                dst.execute(table.insert(), rows)
        if dst.dialect.name == "postgresql":  # rows kept their ids: move the id sequences past them
            for old in OLD.sorted_tables:
                if "id" in old.c and counts[old.name]:
                    dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{old.name}', 'id'), "
                                     f"(SELECT max(id) FROM {old.name}))"))
    return counts
