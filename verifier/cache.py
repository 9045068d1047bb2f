"""The verifier's offline cache: the pinned hub root, the current trust list and verified status lists.

``sync`` is the only place that reads a source (a data directory now, the service's HTTP endpoints
later, both behind ``Source``); it verifies everything before caching it. ``verify`` then reads only
this directory. Cache layout: ``root.jwk`` (pinned at the first sync), ``trust-list.jwt``,
``status/<authority>/<n>.json`` (decoded, verified lists with the time they were fetched).
"""

from __future__ import annotations

import base64
import json
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

    def _status_path(self, uri: str) -> Path | None:
        return status_file(self.directory / "status", uri, "json")

    # -- writing (sync time) ----------------------------------------------------------------------
    def sync(self, source: Source, *, now: int, root: PublicKey | None = None) -> SyncReport:
        self.directory.mkdir(parents=True, exist_ok=True)
        pinned, pinned_now = self.root(), False
        if pinned is None:
            if root is None:
                raise VerifierError("this cache has no hub root key yet: pass --root FILE (the hub's hub-root.jwk)")
            (self.directory / "root.jwk").write_text(json.dumps(root.public_jwk()))
            pinned, pinned_now = root, True
        elif root is not None and root.kid != pinned.kid:
            raise VerifierError("--root differs from the root this cache is pinned to; use a new cache directory",
                                "trust_list_untrusted_root")
        current = self.trust_list(now)
        token = source.trust_list()
        try:
            incoming = verify_trust_list(token, pinned, now=now, current_version=current.version if current else None)
        except TrustListError as exc:
            raise VerifierError(f"trust list refused ({exc.reason}): {exc}", exc.reason) from exc
        updated = current is None or incoming.version > current.version
        if updated:
            (self.directory / "trust-list.jwt").write_text(token)
        trust = incoming if updated else current
        count = 0
        for uri, raw in source.status_lists().items():
            count += self._store_status(trust, uri, raw, now)
        return SyncReport(trust.version, updated, count, pinned_now)

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
            entry = {
                "uri": uri, "authority_id": authority.id, "fetched_at": now, "iat": token.issued_at,
                "exp": token.expires_at, "ttl": token.ttl, "bits": token.status_list.bits,
                "bytes": base64.b64encode(token.status_list.as_bytes()).decode(),
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(entry))
            return 1
        raise VerifierError(f"status list {uri} is not signed by {authority.id}: {last_error}", "status_list_untrusted")
