"""Status-list publication from the database: full lists and the signed deltas between them.

Files, under ``<data>/status/<authority>/``: ``<n>.cwt`` and ``<n>.jwt`` (each list, draft-ietf-oauth-status-list
§5), ``feed/<from>-<iat>.cwt`` (the authority's signed deltas, format in ``credentials.status_list.delta``, kept
for the longest list lifetime), ``feed/head.json`` (the publisher's own summary of the state at the last delta:
its iat and each list's bits, size and digest) and ``.lock``.

One publisher at a time per authority (the file lock): it reads the lists' statuses from the database inside its
turn, so the files last written hold every change committed before it, and each new signature has a later iat
than any before it (counters refuse a list or a delta that is not newer). Every publication that changes a list
also writes the delta from the previous head, so the feed can never miss a change however the publication was
triggered (a revocation, a health-code change, the periodic refresh after a crash).

Driven by the database (issue 10 item 7): ``publish_pending`` re-publishes the lists with dirty marks
(``issuer.store``) and then deletes the marks it saw, so a crash between a change's commit and its publication
is repaired by the next run; a list is re-signed at most once per ``interval`` (a burst of revocations becomes
one signature per list per interval; the marks wait for the next run).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from sqlalchemy import Engine

from credentials.catalogue import StatusValidity
from credentials.status_list import (
    StatusList,
    next_delta,
    peek_list,
    peek_times,
    sign_delta,
    sign_status_list_cwt,
    sign_status_list_jwt,
)
from credentials.status_uri import feed_dir as status_feed_dir
from credentials.status_uri import feed_files as status_feed_files
from credentials.status_uri import parse_status_uri, status_file, status_files
from issuer import store
from keys.layout import Layout

STATUS_BITS = 2
MAX_FEED_FILES = 30_000  # one delta a second for the 6 h lifetime of licence lists, with room


def feed_dir(data_dir: Path, authority_id: str) -> Path:
    return status_feed_dir(Layout(data_dir).status, authority_id)


def read_head(data_dir: Path, authority_id: str) -> dict | None:
    try:
        head = json.loads((feed_dir(data_dir, authority_id) / "head.json").read_text())
        lists = {int(n): (int(b), int(size), bytes.fromhex(d)) for n, (b, size, d) in head["lists"].items()}
        return {"iat": int(head["iat"]), "exp": int(head["exp"]), "lists": lists}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)


class StatusPublisher:
    def __init__(self, data_dir: Path, engine: Engine, *, signer: Callable[[str, int], object],
                 validity: Callable[[str], StatusValidity], interval: int = 1):
        self.data_dir, self.engine, self.signer, self.validity = data_dir, engine, signer, validity
        self.interval = interval

    @contextlib.contextmanager
    def _turn(self, authority_id: str) -> Iterator[None]:
        directory = Layout(self.data_dir).status / authority_id
        (directory / "feed").mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def publish(self, authority_id: str, uris: Iterable[str], *, now: int, statuses: dict[int, int] | None = None,
                only_if_missing: bool = False, only_if_older_than: int | None = None,
                heartbeat_after: int | None = None) -> list[str]:
        """Re-sign those of ``uris`` the conditions select (decided inside the turn), then the delta; the URIs
        re-signed. ``statuses`` replaces the database's (a new, empty list); ``heartbeat_after``: also sign an
        empty delta when the feed's head is older than that (the lists stay current at feed counters)."""
        with self._turn(authority_id):
            head = read_head(self.data_dir, authority_id)
            chosen: dict[str, tuple[StatusList | None, int | None]] = {}
            uris = list(dict.fromkeys(uris))
            for uri in uris:
                raw = self._path(uri, "cwt").read_bytes() if self._path(uri, "cwt").exists() else None
                times = peek_times(raw) if raw is not None else None
                if times is not None and only_if_missing:
                    continue
                if times is not None and only_if_older_than is not None and times[0] > now - only_if_older_than:
                    continue
                chosen[uri] = (peek_list(raw) if raw is not None else None, times[0] if times else None)
            joining: dict[int, StatusList] = {}
            if head is None:  # the feed starts (or restarts): its first delta carries every published list as it is
                for uri, path in status_files(Layout(self.data_dir).status, "cwt").items():
                    if uri not in chosen and parse_status_uri(uri)[0] == authority_id:
                        published = peek_list(path.read_bytes())
                        if published is not None:
                            joining[parse_status_uri(uri)[1]] = published
                        else:  # unreadable: re-signed from the database
                            chosen[uri] = (None, None)
                for _, _, path in status_feed_files(Layout(self.data_dir).status, authority_id):
                    path.unlink(missing_ok=True)  # a chain that no longer leads to this state
            beat = head is not None and heartbeat_after is not None and head["iat"] <= now - heartbeat_after
            if not chosen and not beat and not (joining and head is None and uris):
                return []
            iat = max([now, (head["iat"] + 1) if head else 0] + [t + 1 for _, t in chosen.values() if t is not None])
            validity, signer = self.validity(authority_id), self.signer(authority_id, iat)
            asked = set(uris)  # ``statuses`` is for these (a new list), never for lists read from disk or the database
            after = {uri: self._sign_list(uri, iat, validity, signer, statuses if uri in asked else None)
                     for uri in chosen}
            self._write_delta(authority_id, head, iat, validity, signer,
                              {parse_status_uri(u)[1]: old for u, (old, _) in chosen.items()} | dict.fromkeys(joining),
                              {parse_status_uri(u)[1]: new for u, new in after.items()} | joining, beat or head is None)
            return list(chosen)

    def _path(self, uri: str, suffix: str) -> Path:
        return status_file(Layout(self.data_dir).status, uri, suffix)

    def _sign_list(self, uri: str, iat: int, validity: StatusValidity, signer, statuses) -> StatusList:
        status_list = StatusList(bits=STATUS_BITS, size=store.LIST_CAPACITY)
        for idx, value in (store.statuses(self.engine, uri) if statuses is None else statuses).items():
            status_list.set(idx, value)
        common = dict(subject_uri=uri, issued_at=iat, expires_at=iat + validity.lifetime, ttl=validity.ttl,
                      alg=signer.public.alg)
        cwt = sign_status_list_cwt(status_list, signing_key=signer.private, kid=signer.public.short_kid, **common)
        jwt_token = sign_status_list_jwt(status_list, signing_key=signer.private, kid=signer.public.kid, **common)
        # The JWT first: the CWT (whose iat the next publisher reads) is the commit point.
        _write(self._path(uri, "jwt"), jwt_token.encode())
        _write(self._path(uri, "cwt"), cwt)
        return status_list

    def _write_delta(self, authority_id: str, head: dict | None, iat: int, validity: StatusValidity, signer,
                     before: dict[int, StatusList | None], after: dict[int, StatusList], always: bool) -> None:
        held = head["lists"] if head else {}
        delta, summary = next_delta(authority_id, head=head["iat"] if head else 0, issued_at=iat,
                                    expires_at=iat + validity.lifetime, ttl=validity.ttl, bits=STATUS_BITS,
                                    held=held, before=before, after=after)
        if not (always or delta.changes or delta.new_lists or summary != held):
            return  # lists re-signed with nothing changed: the feed's head still describes them
        directory = feed_dir(self.data_dir, authority_id)
        _write(directory / f"{delta.from_iat}-{iat}.cwt", sign_delta(delta, signer.private, kid=signer.public.short_kid))
        _write(directory / "head.json", json.dumps({
            "iat": iat, "exp": delta.expires_at,
            "lists": {str(n): [b, size, digest.hex()] for n, (b, size, digest) in summary.items()}}).encode())
        files = status_feed_files(Layout(self.data_dir).status, authority_id)
        excess = len(files) - MAX_FEED_FILES
        for i, (_, end, path) in enumerate(files[:-1]):
            if i < excess or end < iat - validity.lifetime:  # no counter could still use it
                path.unlink(missing_ok=True)

    def _signed_within(self, uri: str, now: int) -> bool:
        path = self._path(uri, "cwt")
        try:
            times = peek_times(path.read_bytes()) if path is not None else None
        except OSError:
            return False
        return times is not None and times[0] > now - self.interval

    def publish_pending(self, *, now: int, uris: set[str] | None = None, force: bool = False) -> int:
        """Re-publish the lists with dirty marks (only ``uris`` when given) not re-signed within ``interval``
        (``force``: whenever signed), then clear the marks seen. Returns how many lists were re-signed."""
        if uris is not None and not force:  # a change in a burst: no query while its list was just signed
            uris = {uri for uri in uris if not self._signed_within(uri, now)}
            if not uris:
                return 0
        marks = store.dirty(self.engine, uris)
        by_authority: dict[str, list[str]] = {}
        for authority_id, uri in marks:
            by_authority.setdefault(authority_id, []).append(uri)
        count, cleared = 0, []
        for authority_id, pending in sorted(by_authority.items()):
            done = self.publish(authority_id, pending, now=now, only_if_older_than=None if force else self.interval)
            count += len(done)
            cleared += [mark for uri in done for mark in marks[(authority_id, uri)]]
        if cleared:
            store.clear_dirty(self.engine, cleared)
        return count
