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

In a 国密 hub (``keys.suites.GUOMI``, ``tongban init --suite guomi``) the same scheme runs on SM3 and SM4
(GB/T 39786-2021 asks for them for stored personal data): data keys and look-up hashes are HMAC-SM3, values are
sealed with SM4-GCM and read ``piigm.<version>.<key id>.<...>``. The suite is fixed when the database's first
data key is recorded (its ``key_id`` row reads ``gm:<key id>``), because every look-up hash depends on it: a hub
configured with another suite than its database is refused (``issuer_secret_mismatch``) instead of silently
finding nobody.
"""

from __future__ import annotations

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
from keys import KeysError, b64url, b64url_decode
from keys.aead import SealError, derive_key, keyed_hash, seal, unseal
from keys.secret_file import load_secret
from keys.suites import GUOMI, STANDARD, Suite
from storage.sql import metadata

SECRET_ENV = "TONGBAN_ISSUER_SECRET"  # noqa: S105 - a variable name
SECRET_FILE = "issuer-secret"  # noqa: S105 - a file name
PREFIX = "pii"
PREFIXES = {"pii": STANDARD, "piigm": GUOMI}  # a sealed value's first field names its suite
_ROW_TAG = {STANDARD.name: "", GUOMI.name: "gm:"}  # prefix of issuer_pii_keys.key_id per suite
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
def _data_key(master: bytes, version: int, suite: Suite = STANDARD) -> bytes:
    return derive_key(master, f"issuer-pii-aead:v{version}", suite.sealing)


@lru_cache(maxsize=64)
def _key_id(master: bytes, version: int, suite: Suite = STANDARD) -> str:
    if suite is STANDARD:
        return hmac.new(_data_key(master, version), b"key-id", hashlib.sha256).hexdigest()[:8]
    return keyed_hash(_data_key(master, version, suite), b"key-id", suite.digest).hex()[:8]


def _prefix(suite: Suite) -> str:
    return next(prefix for prefix, s in PREFIXES.items() if s is suite)


@dataclass(frozen=True)
class Vault:
    """Seals and opens personal data under the issuer secret; ``version`` is the data key new values get."""

    master: bytes = field(repr=False)
    version: int = 1
    suite: Suite = STANDARD

    def key_id(self, version: int | None = None, suite: Suite | None = None) -> str:
        return _key_id(self.master, self.version if version is None else version, suite or self.suite)

    def lookup(self, purpose: str, value: str) -> str:
        """Keyed hash for equality look-ups (never reversible without the secret): HMAC-SHA256, or HMAC-SM3 in a
        国密 hub; ``subject_hash`` of the health tables is ``lookup("health-subject", id_number)`` in the first."""
        return keyed_hash(self.master, f"{purpose}:".encode() + value.encode(), self.suite.digest).hex()

    def seal(self, value: str, *, where: str) -> str:
        header = f"{_prefix(self.suite)}.{self.version}.{self.key_id()}"
        blob = seal(_data_key(self.master, self.version, self.suite), value.encode(), f"{header}\x00{where}".encode(),
                    self.suite.sealing)
        return f"{header}.{b64url(blob)}"

    def open(self, token: str, *, where: str) -> str:
        suite, version, kid, body = _parse(token)
        if kid != self.key_id(version, suite):
            raise PiiKeyError(
                f"签发方密钥与数据库不符 / the issuer secret ({SECRET_ENV} or <data>/{SECRET_FILE}) is not the one "
                f"that sealed this value (data key v{version} is {kid} in the database, {self.key_id(version)} from "
                "this secret); restore the secret that wrote the database")
        try:
            header = f"{_prefix(suite)}.{version}.{kid}"
            return unseal(_data_key(self.master, version, suite), b64url_decode(body), f"{header}\x00{where}".encode(),
                          suite.sealing).decode()
        except (SealError, KeysError, ValueError) as exc:
            raise PiiUnreadable(f"个人数据无法解密 / stored personal data does not open at {where.split(chr(0))[0]}: "
                                "altered, or moved from another row") from exc

    def seal_json(self, value: Any, *, where: str) -> str:
        return self.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")), where=where)

    def open_json(self, token: str, *, where: str) -> Any:
        return json.loads(self.open(token, where=where))


def version_of(token: str) -> int:
    return _parse(token)[1]


def _parse(token: object) -> tuple[Suite, int, str, str]:
    parts = token.split(".") if isinstance(token, str) else []
    if (len(parts) != 4 or parts[0] not in PREFIXES or not parts[1].isascii() or not parts[1].isdigit()
            or not 0 < int(parts[1]) <= MAX_VERSION or len(parts[2]) != 8):
        raise PiiUnreadable("个人数据格式不符 / a stored personal-data value is not a sealed value")
    return PREFIXES[parts[0]], int(parts[1]), parts[2], parts[3]


def _row_suite(key_id: str) -> Suite:
    return GUOMI if key_id.startswith(_ROW_TAG[GUOMI.name]) else STANDARD


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
        suite = _row_suite(row.key_id)
        expected = _ROW_TAG[suite.name] + probe.key_id(row.version, suite)
        if row.key_id != expected:
            raise PiiKeyError(
                f"签发方密钥与数据库不符 / the issuer secret ({SECRET_ENV} or <data>/{SECRET_FILE}) is not the one "
                f"this database's personal data was sealed with (data key v{row.version} is {row.key_id} in the "
                f"database, {expected} from this secret); restore the secret that wrote it")
    return Vault(master, rows[-1].version if rows else 1, _row_suite(rows[-1].key_id) if rows else STANDARD)


def add_version(conn: Connection, master: bytes, version: int, now: int, suite: Suite = STANDARD) -> None:
    dialect_insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
    key_id = _ROW_TAG[suite.name] + Vault(master, suite=suite).key_id(version)
    conn.execute(dialect_insert(pii_keys).values(version=version, key_id=key_id,
                                                 created_at=now).on_conflict_do_nothing(index_elements=["version"]))


def open_vault_in(conn: Connection, master: bytes, suite: Suite | None = None) -> Vault:
    """The vault for this database (its first key version recorded on first use, under ``suite``), or
    ``PiiKeyError`` (another secret, or a database sealed under another suite than the ``suite`` asked for)."""
    if conn.execute(select(pii_keys.c.version).limit(1)).first() is None:
        add_version(conn, master, 1, int(time.time()), suite or STANDARD)
    vault = _check(conn, master)
    if suite is not None and vault.suite is not suite:
        raise PiiKeyError(
            f"数据库的加密套件与本枢纽不符 / this database's personal data is sealed under the {vault.suite.name} "
            f"suite but the hub is configured for {suite.name}: use the hub's data directory that made the database")
    return vault


def open_vault(engine: Engine, master: bytes, suite: Suite | None = None) -> Vault:
    with engine.begin() as conn:
        return open_vault_in(conn, master, suite)


__all__ = ["PiiError", "PiiKeyError", "PiiUnreadable", "SECRET_ENV", "SealedColumn", "Vault", "add_version",
           "load_issuer_secret", "open_vault", "open_vault_in", "pii_keys", "version_of"]
