"""A counter's status lists of one authority, decoded, in one packed file: ``<cache>/status/<authority>.tbsp``.

Layout: ``TBSP1\\n``, a 4-byte big-endian header length, the header (JSON: authority, bits, head, exp, ttl,
fetched_at, each list's number and size in order, each list's digest), then every list's decoded byte array end
to end. 100 M entries at 2 bits are 25 MB on disk and in memory: no per-list files, no base64, no re-inflating
at each verdict. The file is replaced in one step (write, then rename), so a reader never sees half of one; a
file that does not parse is treated as absent (the next sync fetches the full lists). The state it holds was
verified before it was written (``verifier.feed_sync``): the file is this counter's own.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from credentials.status_list import FeedState, StatusList, StatusListError

MAGIC = b"TBSP1\n"
MAX_HEADER = 16 * 1024 * 1024


def packed_path(status_dir: Path, authority_id: str) -> Path:
    return status_dir / f"{authority_id}.tbsp"


def save(path: Path, state: FeedState, *, fetched_at: int) -> int:
    """Write ``state`` atomically; returns the file's size in bytes."""
    order = sorted(state.lists)
    header = json.dumps({
        "authority": state.authority_id, "bits": state.bits, "head": state.head, "exp": state.expires_at,
        "ttl": state.ttl, "fetched_at": fetched_at, "lists": [[n, state.lists[n].size] for n in order],
        "digests": [state.digests[n].hex() for n in order]}, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(MAGIC + struct.pack(">I", len(header)) + header)
        for n in order:
            out.write(state.lists[n].as_bytes())
    tmp.replace(path)
    return path.stat().st_size


def load(path: Path) -> tuple[FeedState, int] | None:
    """(the state, when it was fetched), or None when the file is absent or does not parse."""
    try:
        data = path.read_bytes()
        if not data.startswith(MAGIC):
            return None
        (length,) = struct.unpack(">I", data[len(MAGIC):len(MAGIC) + 4])
        start = len(MAGIC) + 4
        if length > MAX_HEADER:
            return None
        header = json.loads(data[start:start + length])
        bits, at = int(header["bits"]), start + length
        lists, digests = {}, {}
        for (n, size), digest in zip(header["lists"], header["digests"], strict=True):
            end = at + -(-int(size) * bits // 8)
            status_list = StatusList.from_bytes(bits, data[at:end])
            if status_list.size != int(size) or end > len(data):
                return None
            lists[int(n)], digests[int(n)], at = status_list, bytes.fromhex(digest), end
        if at != len(data):
            return None
        state = FeedState(str(header["authority"]), bits, int(header["head"]), int(header["exp"]), int(header["ttl"]),
                          lists, digests)
        return state, int(header["fetched_at"])
    except (OSError, ValueError, KeyError, TypeError, struct.error, StatusListError):
        return None
