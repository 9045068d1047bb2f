"""What an attacker with a copy of the database reads: every table's every text, JSON and binary value, also after
base64 / base64url decoding (signed credentials are stored that way) and JSON unescaping (``\\u5f20`` is 张)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from sqlalchemy import Engine, inspect, text

_B64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")


def _decodings(value: str) -> list[str]:
    out = [value]
    try:
        out.append(json.dumps(json.loads(value), ensure_ascii=False))
    except (ValueError, TypeError):
        pass
    for run in _B64.findall(value):
        body = run.rstrip("=")
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                raw = decode(body + "=" * (-len(body) % 4))
            except (binascii.Error, ValueError):
                continue
            out.append(raw.decode("utf-8", errors="replace"))
            out.extend(_decodings(raw.decode("latin-1"))[1:] if len(raw) > 16 else [])  # base64 inside base64
    return out


def _texts(value: Any) -> list[str]:
    if value is None or isinstance(value, int | float | bool):
        return []
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return [raw.decode("utf-8", errors="replace"), *_decodings(raw.decode("latin-1"))[1:]]
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str)
    return _decodings(value)


def dump(engine: Engine, schema: str | None = None) -> dict[str, list[str]]:
    """``table.column`` → every readable form of every value in it."""
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names(schema=schema):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()  # reflected names
            for row in rows:
                for column, value in row.items():
                    found.setdefault(f"{table}.{column}", []).extend(_texts(value))
    return found


def leaks(engine: Engine, needles: list[str], *, allowed: dict[str, set[str]] | None = None) -> list[str]:
    """``needle in table.column`` for every needle found, minus the ``allowed`` (column → needles) ones."""
    allowed = allowed or {}
    hits = []
    for where, texts in dump(engine).items():
        for needle in needles:
            if needle in allowed.get(where, set()):
                continue
            if any(needle in t for t in texts):
                hits.append(f"{needle} in {where}")
    return sorted(set(hits))
