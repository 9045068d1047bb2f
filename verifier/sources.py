"""Where a counter syncs from: a tongban data directory (``DirectorySource``) or the hub's publication endpoints
(``HttpSource``, ``issuer.publication``). Neither is trusted: ``verifier.cache`` and ``verifier.feed_sync`` verify
everything a source gives against the pinned root before keeping it.

Both also serve the authorities' signed deltas (``feed_since``, ``feed_head``, ``authority_lists``: the
``verifier.feed_sync.FeedSource`` protocol); a source without them is synced list by list.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Protocol

from credentials.cbor import loads_strict
from credentials.errors import StructureError
from credentials.status_uri import delta_chain, feed_files, parse_status_uri, status_files
from keys.layout import Layout
from verifier.errors import VerifierError

MAX_CHAIN_BYTES = 4 * 1024 * 1024


class Source(Protocol):
    def trust_list(self) -> str: ...
    def status_lists(self) -> dict[str, bytes | VerifierError]:
        """Every status list the source has, by URI: its bytes, or why this one list could not be fetched."""
        ...


class DirectorySource:
    """A tongban data directory as the issuer writes it."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.layout = Layout(data_dir)

    def trust_list(self) -> str:
        path = self.layout.trust_list
        if not path.exists():
            raise VerifierError(f"no trust list in {self.data_dir}: run `tongban init --data {self.data_dir}`")
        return path.read_text()

    def status_lists(self, only: set[str] | None = None) -> dict[str, bytes]:
        """Every list (of the authorities in ``only``, when given)."""
        return {uri: path.read_bytes() for uri, path in status_files(self.layout.status, "cwt").items()
                if only is None or parse_status_uri(uri)[0] in only}

    def feed_since(self, authority_id: str, iat: int) -> list[bytes] | None:
        return delta_chain(self.layout.status, authority_id, iat, MAX_CHAIN_BYTES)

    def feed_head(self, authority_id: str) -> bytes | None:
        files = feed_files(self.layout.status, authority_id)
        try:
            return files[-1][2].read_bytes() if files else None
        except OSError:
            return None

    def authority_lists(self, authority_id: str) -> dict[str, bytes]:
        return self.status_lists({authority_id})

    def root_key(self) -> dict:
        return json.loads(self.layout.hub_root_jwk.read_text())


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

    received = 0  # bytes of response bodies read so far (what a sync costs in downloads)

    def _get(self, path: str, accept: str, *, missing_ok: tuple[int, ...] = ()) -> bytes | None:
        url = self.base_url + path
        # no-cache: an intermediary must not hand out a copy it has kept for up to max-age: a counter that
        # syncs on its timer wants the hub's newest signature, not one an intermediary kept.
        req = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            url, headers={"Accept": accept, "User-Agent": "tongban-verifier", "Cache-Control": "no-cache"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310 - scheme checked above
                body = response.read(self.max_bytes + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in missing_ok:
                return None
            raise VerifierError(f"{url} answered HTTP {exc.code}", "source_http_error") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise VerifierError(f"cannot reach {url}: {reason}", "source_unreachable") from exc
        if len(body) > self.max_bytes:
            raise VerifierError(f"{url} sent more than {self.max_bytes} bytes", "source_too_large")
        self.received += len(body)
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

    def status_lists(self, only: set[str] | None = None) -> dict[str, bytes | VerifierError]:
        """Each listed status list (of the authorities in ``only``, when given: with none, the index is not even
        fetched); one that cannot be fetched is reported in its place (the others still sync)."""
        found: dict[str, bytes | VerifierError] = {}
        if only is not None and not only:
            return found
        for uri in self.status_uris():
            if only is not None and parse_status_uri(uri)[0] not in only:
                continue
            authority, list_no = parse_status_uri(uri)
            try:
                found[uri] = self._get(f"/status/{authority}/{list_no}", self.STATUS_ACCEPT)
            except VerifierError as exc:
                found[uri] = exc
        return found



    def feed_since(self, authority_id: str, iat: int) -> list[bytes] | None:
        """The deltas since ``iat`` (410 or 404: take the full lists). A malformed answer is a VerifierError."""
        body = self._get(f"/status/{authority_id}/since/{int(iat)}", "application/tbsl-deltas+cbor",
                         missing_ok=(404, 410))
        if body is None:
            return None
        try:
            chain = loads_strict(body, "the delta chain", max_bytes=self.max_bytes)
        except StructureError as exc:
            raise VerifierError(f"the delta chain from {self.base_url} is malformed: {exc}", "source_bad_response") \
                from exc
        if not isinstance(chain, list) or not all(isinstance(raw, bytes) for raw in chain):
            raise VerifierError(f"the delta chain from {self.base_url} is not a list of CWTs", "source_bad_response")
        return chain

    def feed_head(self, authority_id: str) -> bytes | None:
        return self._get(f"/status/{authority_id}/head", "application/tbsl-delta+cwt", missing_ok=(404,))

    def authority_lists(self, authority_id: str) -> dict[str, bytes | VerifierError]:
        return self.status_lists({authority_id})
