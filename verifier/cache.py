"""The verifier's offline cache: the pinned hub root, the current trust list and verified status lists.

``sync`` is the only place that reads a source (a data directory, ``DirectorySource``, or the issuer's
publication endpoints, ``HttpSource``, both behind ``Source``); it verifies everything before caching it,
so a source is never trusted, only the pinned root is. ``verify`` then reads only
this directory. Cache layout: ``root.jwk`` (pinned at the first sync), ``trust-list.jwt``,
``status/<authority>/<n>.json`` (decoded, verified lists with the time they were fetched).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from credentials.status_list import StatusList, StatusListError, verify_status_list_cwt
from credentials.status_uri import parse_status_uri, status_file, status_files
from keys import PublicKey, TrustList, TrustListError, verify_trust_list
from verifier.errors import VerifierError
from verifier.ports import StatusLookup


class Source(Protocol):
    def trust_list(self) -> str: ...
    def status_lists(self) -> dict[str, bytes]: ...


class DirectorySource:
    """A tongban data directory as the issuer writes it."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def trust_list(self) -> str:
        path = self.data_dir / "trust-list.jwt"
        if not path.exists():
            raise VerifierError(f"no trust list in {self.data_dir}: run `tongban init --data {self.data_dir}`")
        return path.read_text()

    def status_lists(self) -> dict[str, bytes]:
        return {uri: path.read_bytes() for uri, path in status_files(self.data_dir / "status", "cwt").items()}

    def root_key(self) -> dict:
        return json.loads((self.data_dir / "hub-root.jwk").read_text())


class HttpSource:
    """The issuer's publication endpoints (``issuer.publication``) under ``base_url``, read with urllib.

    Every response is size-capped and time-limited; a network failure or a non-200 answer is a
    ``VerifierError`` naming the URL. Status-list URLs are built from the index's ``tbsl:`` URIs under
    ``base_url`` (the index's own URLs are not followed, so a source cannot send the counter elsewhere).
    The hub root is deliberately not fetched: a verifier pins the root it was configured with.
    """

    STATUS_ACCEPT = "application/statuslist+cwt"

    def __init__(self, base_url: str, *, timeout: float = 10.0, max_bytes: int = 4 * 1024 * 1024,
                 max_lists: int = 1000):
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
            raise VerifierError(f"{base_url!r} is not an http(s) base URL, e.g. https://hub.example.cn")
        self.base_url = base_url.rstrip("/")
        self.timeout, self.max_bytes, self.max_lists = timeout, max_bytes, max_lists

    def _get(self, path: str, accept: str) -> bytes:
        url = self.base_url + path
        # no-cache: an intermediary must not hand out a copy it has kept for up to max-age, because this cache
        # counts a status list's ttl from the moment it fetched it.
        req = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            url, headers={"Accept": accept, "User-Agent": "tongban-verifier", "Cache-Control": "no-cache"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310 - scheme checked above
                body = response.read(self.max_bytes + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise VerifierError(f"{url} answered HTTP {exc.code}", "source_http_error") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise VerifierError(f"cannot reach {url}: {reason}", "source_unreachable") from exc
        if len(body) > self.max_bytes:
            raise VerifierError(f"{url} sent more than {self.max_bytes} bytes", "source_too_large")
        return body

    def trust_list(self) -> str:
        try:
            return self._get("/trust/trust-list.jwt", "application/jwt").decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise VerifierError(f"{self.base_url}/trust/trust-list.jwt is not a JWT", "source_bad_response") from exc

    def status_uris(self) -> list[str]:
        try:
            index = json.loads(self._get("/status/index.json", "application/json"))
            entries = index["status_lists"]
            uris = [entry["uri"] for entry in entries]
        except (ValueError, TypeError, KeyError) as exc:
            raise VerifierError(f"{self.base_url}/status/index.json is not a status-list index",
                                "source_bad_response") from exc
        if len(uris) > self.max_lists:
            raise VerifierError(f"{self.base_url}/status/index.json lists more than {self.max_lists} status lists",
                                "source_too_large")
        return [u for u in uris if parse_status_uri(u) is not None]

    def status_lists(self) -> dict[str, bytes]:
        found = {}
        for uri in self.status_uris():
            authority, list_no = parse_status_uri(uri)
            found[uri] = self._get(f"/status/{authority}/{list_no}", self.STATUS_ACCEPT)
        return found


@dataclass(frozen=True)
class SyncReport:
    trust_list_version: int
    trust_list_updated: bool
    status_lists: int
    root_pinned: bool


class VerifierCache:
    def __init__(self, directory: Path):
        self.directory = directory

    # -- reading (verify time) --------------------------------------------------------------------
    def root(self) -> PublicKey | None:
        path = self.directory / "root.jwk"
        return PublicKey.from_jwk(json.loads(path.read_text())) if path.exists() else None

    def trust_list(self, now: int) -> TrustList | None:
        path, root = self.directory / "trust-list.jwt", self.root()
        if root is None or not path.exists():
            return None
        try:
            # Expiry is the pipeline's decision (reason trust_list_expired), reported per presentation.
            return verify_trust_list(path.read_text(), root, now=now, allow_expired=True)
        except TrustListError:
            return None

    def lookup(self, uri: str, idx: int, now: int) -> StatusLookup:
        path = self._status_path(uri)
        if path is None or not path.exists():
            return StatusLookup(None, detail=f"no status list {uri} cached")
        entry = json.loads(path.read_text())
        max_age = entry["ttl"] if entry["ttl"] is not None else 3600
        if now - entry["fetched_at"] > max_age or (entry["exp"] is not None and now >= entry["exp"]):
            return StatusLookup(None, entry["authority_id"], f"cached status list {uri} is older than its max age")
        status_list = StatusList.from_bytes(entry["bits"], base64.b64decode(entry["bytes"]))
        if idx >= len(status_list):
            return StatusLookup(None, entry["authority_id"], f"index {idx} is outside status list {uri}")
        return StatusLookup(status_list.get(idx), entry["authority_id"])

    def status_current_until(self) -> int | None:
        """When the first cached status list stops counting as current (its fetch time + ttl, or its exp).

        None when nothing is cached. A counter past this moment answers ``status_unknown``: sync before it.
        """
        until = None
        for path in status_files(self.directory / "status", "json").values():
            try:
                entry = json.loads(path.read_text())
                end = entry["fetched_at"] + (entry["ttl"] if entry["ttl"] is not None else 3600)
                end = min(end, entry["exp"]) if entry["exp"] is not None else end
            except (OSError, ValueError, KeyError, TypeError):
                continue
            until = end if until is None else min(until, end)
        return until

    def _status_path(self, uri: str) -> Path | None:
        return status_file(self.directory / "status", uri, "json")

    # -- writing (sync time) ----------------------------------------------------------------------
    def sync(self, source: Source, *, now: int, root: PublicKey | None = None) -> SyncReport:
        self.directory.mkdir(parents=True, exist_ok=True)
        pinned, pinned_now = self.root(), False
        if pinned is None:
            if root is None:
                raise VerifierError("this cache has no hub root key yet: pass --root FILE (the hub's hub-root.jwk)")
            pinned, pinned_now = root, True  # written below, only once a trust list verifies under it
        elif root is not None and root.kid != pinned.kid:
            raise VerifierError("--root differs from the root this cache is pinned to; use a new cache directory",
                                "trust_list_untrusted_root")
        current = None if pinned_now else self.trust_list(now)
        token = source.trust_list()
        try:
            incoming = verify_trust_list(token, pinned, now=now, current_version=current.version if current else None)
        except TrustListError as exc:
            raise VerifierError(f"trust list refused ({exc.reason}): {exc}", exc.reason) from exc
        if pinned_now:
            _write_atomic(self.directory / "root.jwk", json.dumps(root.public_jwk()))
        updated = current is None or incoming.version > current.version
        if updated:
            _write_atomic(self.directory / "trust-list.jwt", token)
        trust = incoming if updated else current
        count = 0
        for uri, raw in source.status_lists().items():
            count += self._store_status(trust, uri, raw, now)
        _write_atomic(self.directory / "sync.json", json.dumps(
            {"synced_at": now, "trust_list_version": trust.version, "status_lists": count}))
        return SyncReport(trust.version, updated, count, pinned_now)

    def last_sync(self) -> dict | None:
        """What the last successful sync recorded: ``synced_at``, ``trust_list_version``, ``status_lists``."""
        try:
            return json.loads((self.directory / "sync.json").read_text())
        except (OSError, ValueError):
            return None

    def _store_status(self, trust: TrustList, uri: str, raw: bytes, now: int) -> int:
        path = self._status_path(uri)
        parsed = parse_status_uri(uri)
        authority = trust.authority(parsed[0]) if parsed else None
        if authority is None:
            return 0
        last_error: Exception | None = None
        for key in authority.keys:
            try:
                token = verify_status_list_cwt(raw, public_key=key.public, alg=key.public.alg, now=now,
                                               expected_subject=uri)
            except StatusListError as exc:
                last_error = exc
                continue
            if token.issued_at > key.signs_until:  # an old key file signing a fresh list after the key's retirement
                last_error = StatusListError("signed after its key was retired")
                continue
            entry = {
                "uri": uri, "authority_id": authority.id, "fetched_at": now, "iat": token.issued_at,
                "exp": token.expires_at, "ttl": token.ttl, "bits": token.status_list.bits,
                "bytes": base64.b64encode(token.status_list.as_bytes()).decode(),
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, json.dumps(entry))
            return 1
        raise VerifierError(f"status list {uri} is not signed by {authority.id}: {last_error}", "status_list_untrusted")


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a counter reading the cache while it syncs never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
