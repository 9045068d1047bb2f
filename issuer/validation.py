"""Claim validation before signing: national check digits, ISO dates, the vehicle-class list.

Resident ID numbers follow GB 11643 (MOD 11-2) and unified social credit codes GB 32100, both
through python-stdnum. Health-code regions are GB/T 2260 administrative division codes, checked
against python-stdnum's division table. The first error found is raised, naming its field; nothing is issued.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError

from credentials.catalogue import AGE_OVER_18, DATE, HEALTH_COLOURS, TEXT, TEXT_LIST, LicenceType
from issuer.errors import ValidationError

# GA/T 947 / 《机动车驾驶证申领和使用规定》 permitted vehicle classes.
VEHICLE_CLASSES = (
    "A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6", "D", "E", "F", "M", "N", "P",
)
SEXES = ("男", "女")
MAX_TEXT = 200
NO_ANOMALY = "无异常"  # a health code's reason when nothing is wrong
_REGION = re.compile(r"[0-9]{6}", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)  # calendar dates only, not 2030-W18-3


def _date(field: str, value: Any) -> dt.date:
    if not isinstance(value, str):
        raise ValidationError(field, "must be an ISO 8601 date string, e.g. 2030-05-01")
    try:
        return dt.date.fromisoformat(value) if _ISO_DATE.fullmatch(value) else _bad_date(field, value)
    except ValueError:
        return _bad_date(field, value)


def _bad_date(field: str, value: str) -> dt.date:
    raise ValidationError(field, f"{value!r} is not an ISO 8601 date (YYYY-MM-DD)")


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be non-empty text")
    if len(value) > MAX_TEXT:
        raise ValidationError(field, f"is longer than {MAX_TEXT} characters")
    if any(ord(c) < 32 for c in value):
        raise ValidationError(field, "contains control characters")
    return value.strip()


def _vehicle_classes(value: Any) -> list[str]:
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise ValidationError("vehicle_classes", "must be a non-empty list such as [\"C1\"]")
    unknown = [v for v in items if v not in VEHICLE_CLASSES]
    if unknown:
        raise ValidationError("vehicle_classes", f"{', '.join(unknown)} not in the national list {'/'.join(VEHICLE_CLASSES)}")
    if len(set(items)) != len(items):
        raise ValidationError("vehicle_classes", "lists a class twice")
    return sorted(items, key=VEHICLE_CLASSES.index)


def validate_claims(ltype: LicenceType, raw: Any) -> dict[str, Any]:
    """Return typed claims (dates as ``date``) or raise ``ValidationError`` naming the field."""
    if not isinstance(raw, dict):
        raise ValidationError("claims", "must be a JSON object of claim names to values")
    expected = set(ltype.claim_names)
    unknown = sorted(set(raw) - expected)
    if unknown:
        raise ValidationError(unknown[0], f"is not a {ltype.name} claim (expected {', '.join(ltype.claim_names)})")
    if ltype.name == "health-code" and raw.get("reason") in ("", None):
        raw = {**raw, "reason": NO_ANOMALY}
    missing = [name for name in ltype.required_claim_names if name not in raw]
    if missing:
        raise ValidationError(missing[0], "is required")
    claims: dict[str, Any] = {}
    for name in ltype.claim_names:
        if name not in raw:
            continue  # an optional claim (required ones were checked above)
        kind = ltype.claim(name).kind
        if name == "vehicle_classes":
            claims[name] = _vehicle_classes(raw[name])
        elif kind == DATE:
            claims[name] = _date(name, raw[name])
        elif kind == TEXT_LIST:
            claims[name] = [_text(name, v) for v in raw[name]]
        elif kind == TEXT:
            claims[name] = _text(name, raw[name])
    _cross_checks(claims)
    return claims


def _cross_checks(claims: dict[str, Any]) -> None:
    if "id_number" in claims:
        try:
            number = resident_id(claims["id_number"])
        except StdnumError as exc:
            raise ValidationError("id_number", f"is not a valid GB 11643 resident ID number ({exc})") from exc
        claims["id_number"] = number
        if "birth_date" in claims and ric.get_birth_date(number) != claims["birth_date"]:
            raise ValidationError("birth_date", "does not match the birth date inside id_number")
        if "sex" in claims:
            expected = "男" if int(number[16]) % 2 else "女"
            if claims["sex"] != expected:
                raise ValidationError("sex", f"must be 男 or 女 and match id_number (which says {expected})")
    if "sex" in claims and claims["sex"] not in SEXES:
        raise ValidationError("sex", "must be 男 or 女")
    if "uscc" in claims:
        try:
            claims["uscc"] = uscc.validate(claims["uscc"])
        except StdnumError as exc:
            raise ValidationError("uscc", f"is not a valid GB 32100 unified social credit code ({exc})") from exc
    if "colour" in claims and claims["colour"] not in HEALTH_COLOURS:
        raise ValidationError("colour", f"must be one of {' | '.join(HEALTH_COLOURS)}")
    if "region" in claims:
        claims["region"] = region_code(claims["region"])
    if "valid_from" in claims and "valid_until" in claims and claims["valid_from"] > claims["valid_until"]:
        raise ValidationError("valid_until", "is before valid_from")


def resident_id(value: str) -> str:
    """``stdnum.cn.ric.validate`` (GB 11643: length, digits, MOD 11-2, birth date, birth place), with the place
    look-up -- most of its cost, from a few thousand (division, year) pairs -- remembered (bulk issuance)."""
    number = value.upper() if value.isascii() and value.isalnum() else ric.compact(value)  # compact's fast case
    if len(number) != 18:
        raise InvalidLength()
    if not number[:-1].isascii() or not number[:-1].isdigit():
        raise InvalidFormat()
    if number[-1] != ric.calc_check_digit(number):
        raise InvalidChecksum()
    if not _birth_place_known(number[:6], ric.get_birth_date(number).year):
        raise InvalidComponent()
    return number


@lru_cache(maxsize=1 << 15)
def _birth_place_known(division: str, year: int) -> bool:
    try:
        ric.get_birth_place(f"{division}{year:04d}01010000")
    except StdnumError:
        return False
    return True


def region_code(value: Any) -> str:
    """A GB/T 2260 administrative division code (6 digits) that names a known province and division."""
    if not isinstance(value, str) or not _REGION.fullmatch(value.strip()):
        raise ValidationError("region", "must be a 6-digit GB/T 2260 division code, e.g. 110000")
    value = value.strip()
    if not _division_known(value):
        raise ValidationError("region", f"{value} is not a GB/T 2260 administrative division code")
    return value


@lru_cache(maxsize=1 << 12)
def _division_known(value: str) -> bool:
    info = numdb.get("cn/loc").info(value)
    return len(info) >= 2 and bool(info[0][1]) and bool(info[1][1])


def age_over_18(birth_date: dt.date, on: dt.date) -> bool:
    try:
        eighteenth = birth_date.replace(year=birth_date.year + 18)
    except ValueError:  # born on 29 February
        eighteenth = dt.date(birth_date.year + 18, 3, 1)
    return on >= eighteenth


__all__ = ["AGE_OVER_18", "NO_ANOMALY", "VEHICLE_CLASSES", "age_over_18", "region_code", "validate_claims"]
