"""The hub's own counter reads the hub's current status lists where the issuer publishes them: no copy to go stale.

``PublishedStatus`` is a ``StatusSource`` over ``<data>/status/<authority>/<n>.cwt``. Every list is verified
against the trust list, as a counter's sync does (``verifier.cache``): the files are the hub's, but a
counter never trusts a file, only keys. A list is re-verified when its file changes (the issuer replaces
it in one step on each re-signing), so a status change is refused at the hub's counter the moment the
issuer has published it. The newest list verified so far is kept per URI: a file older than it (a data
directory copied back) is refused (``status_list_rollback``) and the held one answers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from credentials.status_list import StatusListError, StatusListToken, verify_status_list_cwt
from credentials.status_uri import parse_status_uri, status_file, status_files
from keys import TrustList
from verifier.cache import INVALID_REFERENCE, LISTING_MARGIN, SYNC_LEEWAY, answer, refusal
from verifier.ports import StatusLookup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Held:
    stamp: tuple[int, int, int, int]  # the file (inode, size, mtime) and trust-list version it was verified from
    token: StatusListToken | None  # the newest list verified so far (kept when a later file is refused)
    problem: str | None  # the reason the current file was refused, if it was


class PublishedStatus:
    def __init__(self, status_dir: Path, trust: Callable[[int], TrustList | None]):
        self.status_dir = status_dir
        self.trust = trust
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def lookup(self, uri: str, idx: int, now: int) -> StatusLookup:
        parsed = parse_status_uri(uri)
        if parsed is None:
            return StatusLookup(None, detail=f"{uri!r} is not a tongban status-list URI", reason=INVALID_REFERENCE)
        path = status_file(self.status_dir, uri, "cwt")
        if not path.exists():
            # The issuer publishes a list before its first credential: a missing list does not exist, unless the
            # credential is younger than the margin (a hub clock slightly ahead of this one).
            return StatusLookup(None, parsed[0], f"the hub publishes no status list {uri}", INVALID_REFERENCE,
                                as_of=now - LISTING_MARGIN)
        held = self._verified(uri, path, now)
        if held.token is None:
            return StatusLookup(None, parsed[0], f"status list {uri} refused ({held.problem})")
        token = held.token
        return answer(uri, token.status_list, token.issued_at, token.expires_at, idx, now)

    def check(self, now: int) -> tuple[int, dict[str, str]]:
        """(how many published lists are current, URI → reason for those that are not): the Sync button's report."""
        count, failed = 0, {}
        for uri, path in status_files(self.status_dir, "cwt").items():
            held = self._verified(uri, path, now)
            if held.problem is not None:
                failed[uri] = held.problem
            elif held.token is not None and now < held.token.expires_at:
                count += 1
            elif held.token is not None:
                failed[uri] = "status_list_expired"
        return count, failed

    def status_current_until(self) -> int | None:
        with self._lock:
            return min((h.token.expires_at for h in self._held.values() if h.token), default=None)

    def shortest_ttl(self) -> int | None:
        with self._lock:
            return min((h.token.ttl for h in self._held.values() if h.token and h.token.ttl), default=None)

    def _verified(self, uri: str, path: Path, now: int) -> _Held:
        trust = self.trust(now)
        try:
            st = path.stat()
            raw = path.read_bytes()
        except OSError:
            return _Held((0, 0, 0, 0), None, "status_list_malformed")
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns, trust.version if trust else -1)
        with self._lock:
            held = self._held.get(uri)
        if held is not None and held.stamp == stamp and held.problem != "status_list_not_yet_valid":
            return held  # unchanged since verified (a list dated ahead of this clock is tried again)
        token, problem = self._verify(uri, raw, trust, now)
        previous = held.token if held else None
        if token is not None and previous is not None and (
                token.issued_at < previous.issued_at
                or (token.issued_at == previous.issued_at and token.status_list != previous.status_list)):
            log.warning("status list %s: the published file is older than one already verified; keeping that", uri)
            token, problem = None, "status_list_rollback"
        result = _Held(stamp, token or previous, problem)
        with self._lock:
            self._held[uri] = result
        return result

    @staticmethod
    def _verify(uri: str, raw: bytes, trust: TrustList | None, now: int) -> tuple[StatusListToken | None, str | None]:
        authority = trust.authority(parse_status_uri(uri)[0]) if trust else None
        if authority is None:
            return None, "status_list_untrusted"
        errors = []
        for key in authority.keys:
            try:
                return verify_status_list_cwt(raw, public_key=key.public, alg=key.public.alg, now=now,
                                              expected_subject=uri, leeway=SYNC_LEEWAY), None
            except StatusListError as exc:
                errors.append(exc)
        return None, refusal(errors)

