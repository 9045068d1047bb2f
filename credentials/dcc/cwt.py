"""The DCC's CWT claims (hcert spec v1.0.5 §3.3, RFC 8392 §3.1): iss (1), exp (4), iat (6), hcert (-260).

The health certificate itself is claim -260 / 1 (``eu_dgc_v1``), a JSON-like map, turned here into plain
JSON values (string keys; strings, numbers, booleans, lists, maps) so the schema checks and the screen see
exactly what a JSON DCC would hold. Times are NumericDates (integers, or floats floored), 0 ≤ t < 2^53.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from credentials.cbor import TIME_LIMIT
from credentials.dcc.cose import loads_foreign
from credentials.errors import DccError

CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_HCERT = 1, 4, 6, -260
HCERT_EU_DGC_V1 = 1


@dataclass(frozen=True)
class DccClaims:
    issuer: str | None  # the issuing country (ISO 3166-1 alpha-2), as the issuer wrote it
    issued_at: int | None
    expires_at: int | None
    hcert: dict[str, Any]


def parse_claims(payload: bytes) -> DccClaims:
    """The COSE payload → ``DccClaims``; ``DccError`` (``dcc_cwt``) when it is not a DCC's CWT."""
    claims = loads_foreign(payload, "the DCC's CWT payload")
    if not isinstance(claims, dict):
        raise DccError("the DCC's payload is not a CWT claims map", "dcc_cwt")
    container = claims.get(CLAIM_HCERT)
    if not isinstance(container, dict) or not isinstance(container.get(HCERT_EU_DGC_V1), dict):
        raise DccError("the DCC's payload has no health certificate (claim -260 / 1)", "dcc_cwt")
    issuer = claims.get(CLAIM_ISS)
    if issuer is not None and not isinstance(issuer, str):
        raise DccError("the DCC's issuer (claim 1) is not text", "dcc_cwt")
    return DccClaims(issuer=issuer, issued_at=_time(claims.get(CLAIM_IAT), "iat"),
                     expires_at=_time(claims.get(CLAIM_EXP), "exp"),
                     hcert=as_json(container[HCERT_EU_DGC_V1], "hcert"))


def _time(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or (isinstance(value, float) and not math.isfinite(value)):
        raise DccError(f"the DCC's {name} is not a NumericDate", "dcc_cwt")
    if not 0 <= value < TIME_LIMIT:
        raise DccError(f"the DCC's {name} is out of range", "dcc_cwt")
    return math.floor(value)


def as_json(value: Any, where: str) -> Any:
    """The hcert as JSON values; a byte string, a non-text map key or an unknown tag is a schema error."""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise DccError(f"{where}: map keys must be text", "dcc_schema")
        return {k: as_json(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise DccError(f"{where}: not a finite number", "dcc_schema")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.datetime):  # tag 0 / 1 (RFC 8949 §3.4.1): written as the JSON schema's date-time
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise DccError(f"{where}: a {type(value).__name__} has no place in a health certificate", "dcc_schema")
