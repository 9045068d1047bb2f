"""National e-licence identifier: ``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>``.

``1.2.156.3005.2`` is the OID arc for electronic licences (GB/T 36904 style); the check character is
ISO 7064 MOD 37,36 (python-stdnum) over every preceding character with the dots removed, because the
dot is outside that check's alphabet. Serial is 8 digits and version 3, zero-padded.
"""

from __future__ import annotations

import re

from stdnum.iso7064 import mod_37_36

from credentials.errors import ClaimError

ARC = "1.2.156.3005.2"
MAX_VERSION = 999
_PATTERN = re.compile(r"^1\.2\.156\.3005\.2\.([0-9A-Z]+)\.([0-9A-Z]{18})\.([0-9]{8})\.([0-9]{3})\.([0-9A-Z*])$", re.ASCII)


def _check(body: str) -> str:
    return mod_37_36.calc_check_digit(body.replace(".", ""))


def format_id(type_code: str, issuer_code: str, serial: int, version: int) -> str:
    if not (0 <= serial < 10**8 and 0 < version <= MAX_VERSION):
        raise ClaimError("elicence_id", "serial must fit 8 digits and version 3 digits")
    body = f"{ARC}.{type_code}.{issuer_code}.{serial:08d}.{version:03d}"
    return f"{body}.{_check(body)}"


def parse_id(text: str) -> tuple[str, str, int, int]:
    """Return (type code, issuer code, serial, version); raise ``ClaimError`` if malformed or the check fails."""
    match = _PATTERN.match(text.strip().upper()) if isinstance(text, str) else None
    if not match:
        raise ClaimError("elicence_id", f"{text!r} is not of the form {ARC}.<type>.<issuer>.<serial>.<version>.<check>")
    type_code, issuer_code, serial, version, check = match.groups()
    if _check(text.strip().upper().rsplit(".", 1)[0]) != check:
        raise ClaimError("elicence_id", f"{text!r} fails its ISO 7064 MOD 37,36 check character")
    return type_code, issuer_code, int(serial), int(version)
