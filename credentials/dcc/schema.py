"""The HCERT schema (eu-dcc-schema, versions 1.0.0 to 1.3.x), checked in code.

Why in code rather than ``jsonschema`` with the official file: the DCCs in circulation were written under six
schema versions (the suite alone has 1.0.0, 1.0.1, 1.0.4, 1.1.0, 1.2.1, 1.3.0), whose files differ in details
(1.0.0 requires ``tc`` and ``dr`` on tests, 1.3.0 neither); a verifier must read them all. The checks below are
what every version agrees on and what the counter's verdict relies on, each failure naming its field:

- ``ver``: "major.minor.patch", major 1; ``nam``: ``fnt`` required (ICAO 9303 transliteration, ``[A-Z<]``),
  ``fn``/``gn``/``gnt`` optional text; ``dob``: "YYYY", "YYYY-MM", "YYYY-MM-DD" (or with a time, as 1.0.x wrote
  it), or empty (unknown, 1.2.1+);
- exactly one of ``v`` (vaccination), ``t`` (test), ``r`` (recovery), a non-empty list (hcert §2.6.3: one kind
  per code; the suite's DGC2 carries all three and must fail; 1.0.0 writers sent the other two as null, read as
  absent; early writers sent two doses as two entries, which the suite's RO/2 and SK/3 hold valid: all are
  checked, and the screen shows the latest);
- each entry's required fields, as text (names and ``ci`` at most 80 characters as the schema says, other text
  at most 256), ``co`` a two-letter country, ``dn``/``sd`` whole numbers 1..9, dates and times as ISO 8601.

Not checked: value-set membership (``tg``, ``vp``, ``mp``, ``ma``, ``tt``, ``tr``): the sets grow and an unknown
code is shown as it is; business rules (how many days after a dose, ...), which are each country's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from credentials.errors import DccError

KINDS = {"v": "vaccination", "t": "test", "r": "recovery"}
REQUIRED = {
    "v": ("tg", "vp", "mp", "ma", "dn", "sd", "dt", "co", "is", "ci"),
    "t": ("tg", "tt", "sc", "tr", "co", "is", "ci"),
    "r": ("tg", "fr", "co", "is", "df", "du", "ci"),
}
OPTIONAL_TEXT = {"t": ("nm", "ma", "tc", "dr"), "v": (), "r": ()}
DATES = {"v": ("dt",), "t": (), "r": ("fr", "df", "du")}
TIMES = {"t": ("sc", "dr")}
MAX_TEXT = 256
MAX_NAME = 80  # the schema's maxLength for names and the certificate identifier
_VERSION = re.compile(r"1\.\d{1,3}\.\d{1,3}")
_TRANSLITERATED = re.compile(r"[A-Z<]{0,80}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?")  # 1.0.0 writers added a time
_DOB = re.compile(r"(\d{4}(-\d{2}(-\d{2})?)?)?(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?")


@dataclass(frozen=True)
class Hcert:
    """A health certificate that passed the checks above; ``entry`` is its one v / t / r entry."""

    version: str
    kind: str  # "vaccination", "test" or "recovery"
    family_name: str | None
    given_name: str | None
    family_name_std: str
    given_name_std: str | None
    date_of_birth: str
    entry: dict[str, Any]


def _fail(field: str, message: str) -> DccError:
    return DccError(f"health certificate {field}: {message}", "dcc_schema")


def _text(value: Any, field: str, *, max_len: int = MAX_TEXT, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str):
        raise _fail(field, "must be text")
    if len(value) > max_len:
        raise _fail(field, f"longer than {max_len} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise _fail(field, "has the wrong form")
    return value


def _optional_text(doc: dict[str, Any], name: str, field: str, **kw: Any) -> str | None:
    return None if doc.get(name) is None else _text(doc[name], field, **kw)


def _dose(value: Any, field: str) -> int:
    if isinstance(value, float) and value.is_integer():  # some encoders write 1.0
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 9:
        raise _fail(field, "must be a whole number from 1 to 9")
    return value


def check_hcert(doc: Any) -> Hcert:
    """``DccError`` (``dcc_schema``) naming the first field that breaks the schema; else the certificate."""
    if not isinstance(doc, dict):
        raise _fail("", "is not a map")
    version = _text(doc.get("ver"), "ver", max_len=11, pattern=_VERSION)
    names = doc.get("nam")
    if not isinstance(names, dict):
        raise _fail("nam", "is required and must be a map")
    fnt = _text(names.get("fnt"), "nam.fnt", pattern=_TRANSLITERATED)
    gnt = _optional_text(names, "gnt", "nam.gnt", pattern=_TRANSLITERATED)
    fn = _optional_text(names, "fn", "nam.fn", max_len=MAX_NAME)
    gn = _optional_text(names, "gn", "nam.gn", max_len=MAX_NAME)
    dob = _text(doc.get("dob"), "dob", max_len=40, pattern=_DOB)
    present = [key for key in KINDS if doc.get(key) is not None]
    if len(present) != 1:
        raise _fail("v/t/r", f"must hold exactly one of v, t, r (found {', '.join(present) or 'none'})")
    key = present[0]
    entries = doc[key]
    if not isinstance(entries, list) or not entries:
        raise _fail(key, "must be a non-empty list")
    for i, entry in enumerate(entries):
        _check_entry(key, entry, f"{key}[{i}]")
    entry = max(entries, key=lambda e: _latest(key, e))
    return Hcert(version=version, kind=KINDS[key], family_name=fn, given_name=gn, family_name_std=fnt,
                 given_name_std=gnt, date_of_birth=dob, entry=entry)


def _check_entry(key: str, entry: Any, where: str) -> None:
    if not isinstance(entry, dict):
        raise _fail(where, "must be a map")
    for name in REQUIRED[key]:
        field = f"{where}.{name}"
        if name not in entry:
            raise _fail(field, "is required")
        if name in ("dn", "sd"):
            _dose(entry[name], field)
        else:
            _text(entry[name], field, pattern=_COUNTRY if name == "co" else None,
                  max_len=MAX_NAME if name == "ci" else MAX_TEXT)
    for name in OPTIONAL_TEXT[key]:
        _optional_text(entry, name, f"{where}.{name}")
    for name in DATES[key]:
        _text(entry[name], f"{where}.{name}", pattern=_DATE)
    for name in TIMES.get(key, ()):
        if entry.get(name) is not None:
            _text(entry[name], f"{where}.{name}", pattern=_DATETIME)


def _latest(key: str, entry: dict[str, Any]) -> tuple[Any, ...]:
    """Which of several entries of one kind is the newest: the highest dose, then the latest date."""
    if key == "v":
        return (int(entry["dn"]), entry["dt"])
    return (entry["sc"],) if key == "t" else (entry["df"],)
