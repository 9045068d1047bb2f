"""Each authority's records: who holds which licence, as the authority's own register says.

A record is the claim set an authority would sign (validated by ``issuer.validation`` when written),
kept under the holder's resident ID number so a signed-in citizen can find the licences held for
them. Issuing a credential from a record is ``Issuer.issue`` with the record's claims; the record
itself is never changed by issuance.

``import_csv`` reads one licence type per file: the header row names exactly that type's claims
(``credentials.catalogue``), ``vehicle_classes`` separated by spaces or commas. Types without an
``id_number`` claim (the business licence) take one extra column, ``holder_id_number``: the person
the licence is held for (the legal representative). Every row is validated before anything is
written; the first bad row is reported by its line number and field, and then nothing is imported.
A row for a (type, holder) already on record replaces it: an authority re-exports its register.

A record may carry a portrait (a JPEG of at most 20 KB, ``issuer.portrait``), sealed with the rest; it leaves the
issuer only to a counter the holder authorised (免证办, ``issuer.fetch``). Demo records get generated placeholders.

A record's holder and claims are kept sealed in ``data_enc`` (``issuer.pii``: AES-GCM under the issuer secret,
bound to the ``record_id``) and found by ``holder_hash``, a keyed hash of the holder's ID number. The clear
columns of older databases stay, emptied: ``claims`` holds ``{}`` and ``holder_id_number`` a marker made from
the record id (``~`` and its last 17 characters), so the old UNIQUE (type, holder_id_number) still holds.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from credentials import licence_type
from credentials.catalogue import LicenceType
from issuer.errors import IssuerError, ValidationError
from issuer.pii import SealedColumn, Vault
from issuer.portrait import check_portrait, placeholder_portrait
from issuer.validation import validate_claims
from storage.sql import metadata

HOLDER_COLUMN = "holder_id_number"
MAX_ROWS = 100_000

records = Table(
    "issuer_records", metadata,
    Column("record_id", String(40), primary_key=True),
    Column("licence_type", String(40), nullable=False),
    Column("authority_id", String(80), nullable=False),
    Column("holder_id_number", String(18), nullable=False, index=True),  # "~..." marker (clear in older rows)
    Column("claims", JSON, nullable=False),  # {} (clear in older rows)
    Column("updated_at", BigInteger, nullable=False),
    Column("holder_hash", String(64)),  # keyed hash of the holder's ID number: the look-up
    Column("data_enc", Text),  # {"holder": ID number, "claims": {...}}, sealed; NULL only in older rows
    UniqueConstraint("licence_type", "holder_id_number", name="uq_issuer_record_holder"),
    Index("uq_issuer_record_holder_hash", "licence_type", "holder_hash", unique=True),
)

HOLDER_LOOKUP = "issuer-record-holder"
DATA = SealedColumn(
    records, "data_enc", ("record_id",),
    plain=lambda row: {"holder": row["holder_id_number"], "claims": row["claims"]},
    emptied=lambda row: {"holder_id_number": "~" + row["record_id"][-17:], "claims": {}},
    hashes=lambda vault, data: {"holder_hash": vault.lookup(HOLDER_LOOKUP, data["holder"])},
)


# The licence most recently issued from each record: a new issue replaces it (a new phone, a reinstalled
# wallet), so the copy on the old device stops working at the next counter sync.
record_issues = Table(
    "issuer_record_issues", metadata,
    Column("record_id", String(40), primary_key=True),
    Column("elicence_id", String(120), nullable=False),
)

class RecordImportError(IssuerError):
    """A records file is malformed; ``line`` and ``field`` say where. Nothing was imported."""

    reason = "invalid_records"

    def __init__(self, line: int | None, field: str, message: str):
        where = f"line {line}, " if line is not None else ""
        super().__init__(f"{where}{field}: {message}; nothing was imported")
        self.line, self.field = line, field


@dataclass(frozen=True)
class Record:
    record_id: str
    licence_type: str
    authority_id: str
    holder_id_number: str
    claims: dict[str, Any]  # JSON form: dates as ISO strings, vehicle_classes as a list
    portrait: bytes | None = None  # JPEG (issuer.portrait), when the register holds one

    @property
    def label(self) -> str:
        return licence_type(self.licence_type).label


def _json_claims(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in claims.items()}


def _holder(ltype: LicenceType, claims: dict[str, Any], raw_holder: Any) -> str:
    if ltype.claim("id_number") is not None:
        return claims["id_number"]
    if not isinstance(raw_holder, str) or not raw_holder.strip():
        raise ValidationError(HOLDER_COLUMN, f"is required for {ltype.name} (the person the licence is held for)")
    try:
        return ric.validate(raw_holder.strip())
    except StdnumError as exc:
        raise ValidationError(HOLDER_COLUMN, f"is not a valid GB 11643 resident ID number ({exc})") from exc


def check_record(ltype: LicenceType, raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Validate one record's claims; return (holder ID number, JSON claims) or raise ``ValidationError``."""
    raw = dict(raw)
    raw_holder = raw.pop(HOLDER_COLUMN, None)
    claims = validate_claims(ltype, raw)
    return _holder(ltype, claims, raw_holder), _json_claims(claims)


def parse_csv(type_name: str, text: str) -> list[tuple[str, dict[str, Any]]]:
    """Validate a whole records file; return (holder, claims) per row, or raise on the first bad row."""
    ltype = licence_type(type_name)
    if ltype is None:
        raise RecordImportError(None, "licence_type", f"unknown type {type_name!r}")
    expected = list(ltype.claim_names) + ([] if ltype.claim("id_number") else [HOLDER_COLUMN])
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames
        if header is None:
            raise RecordImportError(1, "header", f"the file is empty; the header row must be {','.join(expected)}")
        header = [h.strip() for h in header]
        reader.fieldnames = header
        unknown = [h for h in header if h not in expected]
        missing = [h for h in expected if h not in header]
        if unknown or missing or len(set(header)) != len(header):
            problem = (f"unknown column {unknown[0]}" if unknown else f"missing column {missing[0]}" if missing
                       else "a column appears twice")
            raise RecordImportError(1, "header", f"{problem}; {type_name} needs {','.join(expected)}")
        rows: list[tuple[str, dict[str, Any]]] = []
        seen: dict[str, int] = {}
        for line, row in enumerate(reader, start=2):
            if len(rows) >= MAX_ROWS:
                raise RecordImportError(line, "file", f"more than {MAX_ROWS} rows; split the file")
            if None in row or any(v is None for v in row.values()):
                raise RecordImportError(line, "row", f"has {'more' if None in row else 'fewer'} cells than the header")
            raw = {k: v.strip() for k, v in row.items()}
            if ltype.claim("vehicle_classes") is not None:
                raw["vehicle_classes"] = raw["vehicle_classes"].replace(",", " ").split()
            try:
                holder, claims = check_record(ltype, raw)
            except ValidationError as exc:
                raise RecordImportError(line, exc.field, str(exc).removeprefix(f"{exc.field}: ")) from exc
            if holder in seen:
                raise RecordImportError(line, HOLDER_COLUMN if HOLDER_COLUMN in raw else "id_number",
                                        f"the same holder as line {seen[holder]}: one {type_name} per person")
            seen[holder] = line
            rows.append((holder, claims))
    except csv.Error as exc:
        raise RecordImportError(None, "file", f"not a readable CSV file: {exc}") from exc
    return rows


class Records:
    def __init__(self, engine: Engine, vault: Vault):
        self.engine = engine
        self.vault = vault

    def _record(self, row) -> Record:  # a SQLAlchemy row
        data = DATA.open(self.vault, row._mapping)
        portrait = base64.b64decode(data["portrait"]) if data.get("portrait") else None
        return Record(row.record_id, row.licence_type, row.authority_id, data["holder"], data["claims"], portrait)

    def put_many(self, type_name: str, authority_id: str, rows: list[tuple[str, dict[str, Any]]], *, now: int,
                 portraits: dict[str, bytes] | None = None) -> int:
        """Insert or replace validated rows in one transaction; returns how many were written. ``portraits``:
        holder ID number → JPEG (checked by ``issuer.portrait.check_portrait`` before anything is written)."""
        t = records.c
        checked = {holder: check_portrait(jpeg) for holder, jpeg in (portraits or {}).items()}
        with self.engine.begin() as conn:
            for holder, claims in rows:
                existing = conn.execute(select(t.record_id).where(
                    t.licence_type == type_name, t.holder_hash == self.vault.lookup(HOLDER_LOOKUP, holder))).first()
                record_id = "rec-" + secrets.token_urlsafe(12) if existing is None else existing.record_id
                data: dict[str, Any] = {"holder": holder, "claims": claims}
                if holder in checked:
                    data["portrait"] = base64.b64encode(checked[holder]).decode("ascii")
                values = {"authority_id": authority_id, "updated_at": now,
                          **DATA.seal(self.vault, {"record_id": record_id}, data)}
                if existing is None:
                    conn.execute(insert(records).values(record_id=record_id, licence_type=type_name, **values))
                else:
                    conn.execute(update(records).where(t.record_id == record_id).values(**values))
        return len(rows)

    def import_csv(self, type_name: str, authority_id: str, text: str, *, now: int) -> int:
        return self.put_many(type_name, authority_id, parse_csv(type_name, text), now=now)

    def ensure(self, type_name: str, authority_id: str, raw: dict[str, Any], *, now: int,
               portrait: bytes | None = None) -> bool:
        """Add a record unless this holder already has one of this type; True if added (for ``init``)."""
        holder, claims = check_record(licence_type(type_name), raw)
        if any(r.licence_type == type_name for r in self.held_by(holder)):
            return False
        self.put_many(type_name, authority_id, [(holder, claims)], now=now,
                      portraits={holder: portrait} if portrait is not None else None)
        return True

    def set_portrait(self, record_id: str, jpeg: bytes | None, *, now: int) -> None:
        """Give a record a portrait (checked), or take it away (``None``); ``IssuerError`` if there is none."""
        found = self.get(record_id)
        if found is None:
            raise IssuerError(f"no record {record_id}")
        data: dict[str, Any] = {"holder": found.holder_id_number, "claims": found.claims}
        if jpeg is not None:
            data["portrait"] = base64.b64encode(check_portrait(jpeg)).decode("ascii")
        with self.engine.begin() as conn:
            conn.execute(update(records).where(records.c.record_id == record_id).values(
                updated_at=now, **DATA.seal(self.vault, {"record_id": record_id}, data)))

    def held_by(self, id_number: str) -> list[Record]:
        if not isinstance(id_number, str):
            return []
        t = records.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(records).where(t.holder_hash == self.vault.lookup(HOLDER_LOOKUP, id_number))
                                .order_by(t.licence_type)).all()
        return [self._record(r) for r in rows]

    def last_issued(self, record_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(record_issues.c.elicence_id)
                                .where(record_issues.c.record_id == record_id)).scalar_one_or_none()

    def set_last_issued(self, record_id: str, elicence_id: str) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(update(record_issues).where(record_issues.c.record_id == record_id)
                                .values(elicence_id=elicence_id)).rowcount
            if not done:
                conn.execute(insert(record_issues).values(record_id=record_id, elicence_id=elicence_id))

    def get(self, record_id: object) -> Record | None:
        if not isinstance(record_id, str) or len(record_id) > 40:
            return None
        with self.engine.connect() as conn:
            r = conn.execute(select(records).where(records.c.record_id == record_id)).first()
        return None if r is None else self._record(r)


def demo_portrait(holder_id_number: str) -> bytes:
    """The demo register's placeholder portrait for a person (deterministic, generated: ``issuer.portrait``)."""
    return placeholder_portrait(holder_id_number)


# Demo register entries for the people in the demo population registry (idp.registry.DEMO_PEOPLE).
# Birth date and sex agree with each GB 11643 number (checked by issuer.validation on every write).
DEMO_RECORDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("driving-licence", {
        "name": "张三", "sex": "男", "birth_date": "1990-03-07", "id_number": "110101199003071233",
        "address": "北京市东城区东长安街1号", "licence_number": "110101199003071233", "vehicle_classes": ["C1"],
        "first_issue_date": "2010-05-01", "valid_from": "2020-05-01", "valid_until": "2030-05-01",
        "issuing_authority": "北京市公安局公安交通管理局",
    }),
    ("resident-id", {
        "name": "张三", "sex": "男", "ethnicity": "汉", "birth_date": "1990-03-07", "address": "北京市东城区东长安街1号",
        "id_number": "110101199003071233", "issuing_authority": "北京市公安局东城分局", "valid_from": "2018-03-07",
        "valid_until": "2038-03-07",
    }),
    ("driving-licence", {
        "name": "李四", "sex": "女", "birth_date": "1985-12-12", "id_number": "440304198512124569",
        "address": "广东省深圳市福田区深南大道1000号", "licence_number": "440304198512124569",
        "vehicle_classes": ["C1", "D"], "first_issue_date": "2008-07-01", "valid_from": "2020-07-01",
        "valid_until": "2032-07-01", "issuing_authority": "北京市公安局公安交通管理局",
    }),
)
