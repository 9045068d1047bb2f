"""Personal data at rest in the issuer's tables: sealed with AES-256-GCM, found through keyed hashes.

The scheme mirrors the identity provider's (``idp.secrets``: one master secret, purpose keys derived from it,
HMAC-SHA256 look-up hashes) with AEAD from ``keys.aead`` instead of Fernet, so each value is bound to its
table, column and row by associated data: a ciphertext copied to another row does not open (PIPL art. 51:
sensitive personal information is encrypted). The master is the issuer secret (``TONGBAN_ISSUER_SECRET``,
else ``<data>/issuer-secret``), the one the health tables' subject hashes already use.

A stored value reads ``pii.<version>.<key id>.<base64url(nonce | ciphertext | tag)>``. The version names the
data key (``HMAC-SHA256(secret, "issuer-pii-aead:v<version>")``), the key id is a fingerprint of that key, so a
database opened with another secret fails with ``issuer_secret_mismatch`` instead of returning garbage. The
versions in use are rows of ``issuer_pii_keys``; new values are sealed under the newest. ``tongban pii
rotate`` adds a version and re-seals every row (``issuer.pii_migrate``): AES-GCM with random nonces wants a
new key long before 2^32 values (NIST SP 800-38D §8.3).

``SealedColumn`` says, next to each table, which column holds a sealed value, which immutable columns it is
bound to, how older code kept that value in clear and what the clear columns hold once it is sealed; the
store modules write and read through it, and the start-up migration uses the same description.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, Integer, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from issuer.errors import IssuerError
from keys.aead import SealError, derive_key, seal, unseal
from keys.secret_file import load_secret
from storage.sql import metadata

SECRET_ENV = "TONGBAN_ISSUER_SECRET"  # noqa: S105 - a variable name
SECRET_FILE = "issuer-secret"  # noqa: S105 - a file name
PREFIX = "pii"
MAX_VERSION = 1_000_000

pii_keys = Table(
    "issuer_pii_keys", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("key_id", String(16), nullable=False),  # fingerprint of the version's key under the issuer secret
    Column("created_at", BigInteger, nullable=False),
    Column("sealed_at", BigInteger),  # when every row was (re-)sealed under this version; NULL until then
)


class PiiError(IssuerError):
    reason = "pii_error"


class PiiKeyError(PiiError):
    """The issuer secret is not the one this database's personal data was sealed with."""

    reason = "issuer_secret_mismatch"


class PiiUnreadable(PiiError):
    """A sealed value does not open: altered, or moved from another row or column."""

    reason = "pii_unreadable"


def load_issuer_secret(data_dir: Path, *, value: str | None = None, passphrase: str | bytes | None = None) -> bytes:
    """The issuer's 32-byte master secret (``value``: the configured hex, else a 0600 file made on first use)."""
    return load_secret(data_dir / SECRET_FILE, SECRET_ENV, value=value, passphrase=passphrase)


@lru_cache(maxsize=64)
def _data_key(master: bytes, version: int) -> bytes:
    return derive_key(master, f"issuer-pii-aead:v{version}")


@lru_cache(maxsize=64)
def _key_id(master: bytes, version: int) -> str:
    return hmac.new(_data_key(master, version), b"key-id", hashlib.sha256).hexdigest()[:8]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Vault:
    """Seals and opens personal data under the issuer secret; ``version`` is the data key new values get."""

    master: bytes = field(repr=False)
    version: int = 1

    def key_id(self, version: int | None = None) -> str:
        return _key_id(self.master, self.version if version is None else version)

    def lookup(self, purpose: str, value: str) -> str:
        """Keyed hash for equality look-ups (never reversible without the secret); ``subject_hash`` of the
        health tables is ``lookup("health-subject", id_number)``."""
        return hmac.new(self.master, f"{purpose}:".encode() + value.encode(), hashlib.sha256).hexdigest()

    def seal(self, value: str, *, where: str) -> str:
        header = f"{PREFIX}.{self.version}.{self.key_id()}"
        blob = seal(_data_key(self.master, self.version), value.encode(), f"{header}\x00{where}".encode())
        return f"{header}.{_b64(blob)}"

    def open(self, token: str, *, where: str) -> str:
        version, kid, body = _parse(token)
        if kid != self.key_id(version):
            raise PiiKeyError(
                f"签发方密钥与数据库不符 / the issuer secret ({SECRET_ENV} or <data>/{SECRET_FILE}) is not the one "
                f"that sealed this value (data key v{version} is {kid} in the database, {self.key_id(version)} from "
                "this secret); restore the secret that wrote the database")
        try:
            header = f"{PREFIX}.{version}.{kid}"
            return unseal(_data_key(self.master, version), _unb64(body), f"{header}\x00{where}".encode()).decode()
        except (SealError, ValueError) as exc:
            raise PiiUnreadable(f"个人数据无法解密 / stored personal data does not open at {where.split(chr(0))[0]}: "
                                "altered, or moved from another row") from exc

    def seal_json(self, value: Any, *, where: str) -> str:
        return self.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")), where=where)

    def open_json(self, token: str, *, where: str) -> Any:
        return json.loads(self.open(token, where=where))


def version_of(token: str) -> int:
    return _parse(token)[0]


def _parse(token: object) -> tuple[int, str, str]:
    parts = token.split(".") if isinstance(token, str) else []
    if (len(parts) != 4 or parts[0] != PREFIX or not parts[1].isdigit() or not 0 < int(parts[1]) <= MAX_VERSION
            or len(parts[2]) != 8):
        raise PiiUnreadable("个人数据格式不符 / a stored personal-data value is not a sealed value")
    return int(parts[1]), parts[2], parts[3]


@dataclass(frozen=True)
class SealedColumn:
    """One sealed column: ``binds`` are the row's immutable columns its associated data names, ``plain`` reads
    the value older code kept in clear, ``emptied`` is what the clear columns hold once sealed, ``hashes`` the
    look-up columns computed from the value."""

    table: Table
    column: str
    binds: tuple[str, ...]
    plain: Callable[[Mapping[str, Any]], Any]
    emptied: Callable[[Mapping[str, Any]], dict[str, Any]]
    hashes: Callable[[Vault, Any], dict[str, Any]] = lambda _vault, _value: {}

    def where(self, row: Mapping[str, Any]) -> str:
        return "\x00".join([self.table.name, self.column, *(str(row[c]) for c in self.binds)])

    def seal(self, vault: Vault, row: Mapping[str, Any], value: Any) -> dict[str, Any]:
        """Column values that store ``value`` for ``row`` (which needs the ``binds`` columns)."""
        return {self.column: vault.seal_json(value, where=self.where(row)), **self.emptied(row),
                **self.hashes(vault, value)}

    def open(self, vault: Vault, row: Mapping[str, Any]) -> Any:
        """The value of ``row``: opened, or read from the clear columns of a row older code wrote."""
        token = row[self.column]
        return self.plain(row) if token is None else vault.open_json(token, where=self.where(row))


def _check(conn: Connection, master: bytes) -> Vault:
    rows = conn.execute(select(pii_keys).order_by(pii_keys.c.version)).all()
    probe = Vault(master)
    for row in rows:
        if row.key_id != probe.key_id(row.version):
            raise PiiKeyError(
                f"签发方密钥与数据库不符 / the issuer secret ({SECRET_ENV} or <data>/{SECRET_FILE}) is not the one "
                f"this database's personal data was sealed with (data key v{row.version} is {row.key_id} in the "
                f"database, {probe.key_id(row.version)} from this secret); restore the secret that wrote it")
    return Vault(master, rows[-1].version if rows else 1)


def add_version(conn: Connection, master: bytes, version: int, now: int) -> None:
    dialect_insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
    conn.execute(dialect_insert(pii_keys).values(version=version, key_id=Vault(master).key_id(version),
                                                 created_at=now).on_conflict_do_nothing(index_elements=["version"]))


def open_vault_in(conn: Connection, master: bytes) -> Vault:
    """The vault for this database (its first key version recorded on first use), or ``PiiKeyError``."""
    if conn.execute(select(pii_keys.c.version).limit(1)).first() is None:
        add_version(conn, master, 1, int(time.time()))
    return _check(conn, master)


def open_vault(engine: Engine, master: bytes) -> Vault:
    with engine.begin() as conn:
        return open_vault_in(conn, master)


__all__ = ["PiiError", "PiiKeyError", "PiiUnreadable", "SECRET_ENV", "SealedColumn", "Vault", "add_version",
           "load_issuer_secret", "open_vault", "open_vault_in", "pii_keys", "version_of"]
