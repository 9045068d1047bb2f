"""Health-code state in SQL (SQLite by default, PostgreSQL by DATABASE_URL), on the shared metadata.

Citizens are keyed by a keyed hash of the resident ID number (HMAC-SHA256 under the issuer's lookup
key, ``<data>/issuer-secret``, 0600, created on first use; ``TONGBAN_ISSUER_SECRET`` overrides it). The
number itself is kept in clear beside it, as ``issuer_credentials.claims`` already keeps it for every
licence the issuer signs: the issuer must put it into each re-issued code, so encrypting it here alone
would protect nothing the credential table does not already hold.

Tables: ``health_status`` (current colour per citizen, ``seq`` counts changes), ``health_audit`` (every
change: who, when, old → new, reason), ``health_codes`` (the code last issued per citizen and holder:
the device key it is bound to and its signed views; ``proxy_id`` 0 is the citizen's own),
``health_proxies`` (family proxies), ``authority_staff`` (who may act for which authority),
``health_reissue_runs`` (the checkpoint of ``tongban health reissue --all``).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Table, Text, UniqueConstraint

from keys.secret_file import load_secret
from storage.sql import metadata

SECRET_ENV = "TONGBAN_ISSUER_SECRET"  # noqa: S105 - a variable name

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


def load_lookup_key(data_dir: Path, env: dict[str, str] | None = None) -> bytes:
    """The issuer's 32-byte HMAC key for ID-number look-ups (env hex, else a 0600 file made on first use)."""
    return load_secret(data_dir / "issuer-secret", SECRET_ENV, env)


def subject_hash(key: bytes, id_number: str) -> str:
    return hmac.new(key, b"health-subject:" + id_number.encode(), hashlib.sha256).hexdigest()


__all__ = ["authority_staff", "health_audit", "health_codes", "health_proxies", "health_reissue_runs",
           "health_status", "load_lookup_key", "subject_hash"]
