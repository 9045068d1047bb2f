"""Small value checks shared by the Status List modules (not part of the public API)."""

from __future__ import annotations

import re
from typing import Any

URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]*")  # RFC 3986 §3: a scheme, no whitespace


def is_int(value: Any) -> bool:
    """An integer that is not a bool (JSON and CBOR both tell them apart; Python does not)."""
    return isinstance(value, int) and not isinstance(value, bool)
