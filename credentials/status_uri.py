"""tongban's status-list URIs, ``tbsl:<authority id>/<list number>``, and where each lives in a directory.

The Token Status List draft (§6.2) wants a URI naming the list; a short scheme keeps the QR small,
and publication maps it to ``<base>/status/<authority>/<n>``. Used by issuer, verifier and peers alike.
"""

from __future__ import annotations

import re
from pathlib import Path

SCHEME = "tbsl:"
_URI = re.compile(r"tbsl:([a-z0-9][a-z0-9-]{0,62})/([1-9][0-9]{0,8})", re.ASCII)


def format_status_uri(authority_id: str, list_no: int) -> str:
    return f"{SCHEME}{authority_id}/{list_no}"


def parse_status_uri(uri: object) -> tuple[str, int] | None:
    """(authority id, list number), or None for anything that is not exactly a tongban status-list URI."""
    match = _URI.fullmatch(uri) if isinstance(uri, str) else None
    return (match.group(1), int(match.group(2))) if match else None


def status_file(root: Path, uri: str, suffix: str) -> Path | None:
    """``<root>/<authority>/<n>.<suffix>`` for a valid URI (safe as a path: the pattern admits no ``/`` or ``..``)."""
    parsed = parse_status_uri(uri)
    return root / parsed[0] / f"{parsed[1]}.{suffix}" if parsed else None


def status_files(root: Path, suffix: str) -> dict[str, Path]:
    """Every ``<root>/<authority>/<n>.<suffix>`` file, by its URI."""
    found = {}
    for path in sorted(root.glob(f"*/*.{suffix}")) if root.exists() else []:
        if path.stem.isdigit() and parse_status_uri(uri := format_status_uri(path.parent.name, int(path.stem))):
            found[uri] = path
    return found
