"""Health-code state in SQL (SQLite by default, PostgreSQL by DATABASE_URL), on the shared metadata.

Citizens are keyed by a keyed hash of the resident ID number (HMAC-SHA256 under the issuer's lookup
key, ``<data>/issuer-secret``, 0600, created on first use; ``TONGBAN_ISSUER_SECRET`` overrides it). What
the issuer must read back in clear (the number and name it puts into each re-issued code, the reasons, the
signed codes, the proxies' names) is sealed under the same secret (``issuer.pii``: AES-GCM, each value bound
to its table, column and the row's immutable key columns); the clear columns of older databases stay, empty.

Tables: ``health_status`` (current colour per citizen, ``seq`` counts changes), ``health_audit`` (every
change: who, when, old → new, reason), ``health_codes`` (the code last issued per citizen and holder:
the device key it is bound to and its signed views; ``proxy_id`` 0 is the citizen's own),
``health_proxies`` (family proxies), ``authority_staff`` (who may act for which authority),
``health_reissue_runs`` (the checkpoint of ``tongban health reissue --all``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Table, Text, UniqueConstraint

from issuer.pii import SECRET_ENV, SealedColumn
from keys.aead import keyed_hash
from storage.sql import metadata

health_status = Table(
    "health_status", metadata,
    Column("subject_hash", String(64), primary_key=True),
    Column("id_number", String(18), nullable=False),
    Column("name", String(200), nullable=False),
    Column("colour", String(8), nullable=False),
    Column("reason", String(400), nullable=False),
    Column("region", String(6), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("person_enc", Text),  # {"id_number", "name"}, sealed; id_number and name hold ""
    Column("reason_enc", Text),  # the reason, sealed; reason holds ""
)

health_audit = Table(
    "health_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_hash", String(64), nullable=False, index=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),  # "staff:<sub>", "cli:<os user>", "system"
    Column("old_colour", String(8)),
    Column("new_colour", String(8), nullable=False),
    Column("reason", String(400), nullable=False),
    Column("reason_enc", Text),  # sealed, bound to subject_hash and at; reason holds ""
)

health_codes = Table(
    "health_codes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_hash", String(64), nullable=False),
    Column("proxy_id", Integer, nullable=False),  # 0: the citizen's own code; else health_proxies.id
    Column("device_jwk", Text, nullable=False),
    Column("device_kid", String(64), nullable=False),
    Column("elicence_id", String(120), nullable=False),
    Column("views", Text, nullable=False),  # JSON {view: base64url COSE_Sign1}
    Column("seq", Integer, nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("views_enc", Text),  # the signed views (they carry name and ID number), sealed; views holds ""
    UniqueConstraint("subject_hash", "proxy_id", name="uq_health_code_holder"),
)

health_proxies = Table(
    "health_proxies", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("relative_hash", String(64), nullable=False),
    Column("relative_name", String(200), nullable=False),
    Column("proxy_hash", String(64), nullable=False),
    Column("proxy_name", String(200), nullable=False),
    Column("granted_at", BigInteger, nullable=False),
    Column("granted_via", String(16), nullable=False),  # "self" | "counter"
    Column("recorded_by", String(200), nullable=False),  # "citizen:<sub>" or the authority id
    Column("ended_at", BigInteger),
    Column("ended_by", String(200)),
    Column("names_enc", Text),  # {"relative_name", "proxy_name"}, sealed; the name columns hold ""
    Index("ix_health_proxies_relative", "relative_hash"),
    Index("ix_health_proxies_proxy", "proxy_hash"),
)

authority_staff = Table(
    "authority_staff", metadata,
    Column("subject_hash", String(64), primary_key=True),  # keyed hash of the staff member's ID number
    Column("authority_id", String(80), primary_key=True),
    Column("role", String(40), nullable=False),
    Column("granted_at", BigInteger, nullable=False),
)

health_reissue_runs = Table(
    "health_reissue_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", BigInteger, nullable=False),
    Column("cutoff_id", Integer, nullable=False),  # codes with id <= cutoff belong to this run
    Column("last_id", Integer, nullable=False),  # the checkpoint: every code with id <= last_id is done
    Column("done", Integer, nullable=False),
    Column("finished_at", BigInteger),
    Column("open_slot", SmallInteger),  # 1 while unfinished, NULL after: UNIQUE lets only one run be open
    UniqueConstraint("open_slot", name="uq_health_reissue_one_open_run"),
)


# What is sealed where (issuer.pii.SealedColumn): the start-up migration (issuer.pii_migrate) seals older rows.
PERSON = SealedColumn(health_status, "person_enc", ("subject_hash",),
                      plain=lambda row: {"id_number": row["id_number"], "name": row["name"]},
                      emptied=lambda _row: {"id_number": "", "name": ""})
STATUS_REASON = SealedColumn(health_status, "reason_enc", ("subject_hash",), plain=lambda row: row["reason"],
                             emptied=lambda _row: {"reason": ""})
AUDIT_REASON = SealedColumn(health_audit, "reason_enc", ("subject_hash", "at"), plain=lambda row: row["reason"],
                            emptied=lambda _row: {"reason": ""})
VIEWS = SealedColumn(health_codes, "views_enc", ("subject_hash", "proxy_id"), plain=lambda row: row["views"],
                     emptied=lambda _row: {"views": ""})
NAMES = SealedColumn(health_proxies, "names_enc", ("relative_hash", "proxy_hash"),
                     plain=lambda row: {"relative_name": row["relative_name"], "proxy_name": row["proxy_name"]},
                     emptied=lambda _row: {"relative_name": "", "proxy_name": ""})
SEALED = (PERSON, STATUS_REASON, AUDIT_REASON, VIEWS, NAMES)


def subject_hash(key: bytes, id_number: str, digest: str = "sha256") -> str:
    """HMAC (SHA-256, or SM3 in a 国密 hub: ``keys.suites``) of the ID number, the health tables' look-up key."""
    return keyed_hash(key, b"health-subject:" + id_number.encode(), digest).hex()


__all__ = ["AUDIT_REASON", "NAMES", "PERSON", "SEALED", "SECRET_ENV", "STATUS_REASON", "VIEWS", "authority_staff",
           "health_audit", "health_codes", "health_proxies", "health_reissue_runs", "health_status",
           "subject_hash"]
