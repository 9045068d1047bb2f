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


def status_url(base_url: str, uri: str) -> str | None:
    """The list's URL under a hub (``<base>/status/<authority>/<n>``, ``issuer.publication``) for a ``tbsl:`` URI:
    what an SD-JWT VC's ``status.status_list.uri`` holds, since other verifiers fetch it (the QR format keeps the
    short name)."""
    parsed = parse_status_uri(uri)
    return f"{base_url.rstrip('/')}/status/{parsed[0]}/{parsed[1]}" if parsed else None


def status_name(base_url: str, url: object) -> str | None:
    """The inverse of ``status_url``: the ``tbsl:`` name (the list token's ``sub``) of one of the hub's list URLs."""
    prefix = base_url.rstrip("/") + "/status/"
    if not isinstance(url, str) or not url.startswith(prefix):
        return None
    authority, _, number = url[len(prefix):].partition("/")
    if not number.isdigit() or str(int(number)) != number:
        return None
    candidate = f"{SCHEME}{authority}/{number}"
    return candidate if parse_status_uri(candidate) else None


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


_FEED_FILE = re.compile(r"(0|[1-9][0-9]{0,15})-([1-9][0-9]{0,15})\.cwt", re.ASCII)


def feed_dir(root: Path, authority_id: str) -> Path:
    """``<root>/<authority>/feed``: an authority's signed deltas (``credentials.status_list.delta``)."""
    return root / authority_id / "feed"


def feed_files(root: Path, authority_id: str) -> list[tuple[int, int, Path]]:
    """``(from, iat, path)`` of each ``<from>-<iat>.cwt`` delta file of the authority, oldest first."""
    directory = feed_dir(root, authority_id)
    found = []
    for path in directory.iterdir() if directory.is_dir() else []:
        match = _FEED_FILE.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), path))
    return sorted(found, key=lambda item: item[1])


def delta_chain(root: Path, authority_id: str, since: int, max_bytes: int) -> list[bytes] | None:
    """The delta files from head ``since`` to the newest, unbroken and at most ``max_bytes`` in all; None when
    there is no such chain (no feed, ``since`` unknown or pruned, or a counter ahead of this directory)."""
    files = feed_files(root, authority_id)
    if not files or since > files[-1][1]:
        return None
    chain, at, size = [], since, 0
    for start, end, path in files:
        if end <= since:
            continue
        if start != at:
            return None
        try:
            chain.append(path.read_bytes())
        except OSError:  # pruned while read
            return None
        size += len(chain[-1])
        if size > max_bytes:
            return None
        at = end
    return chain
