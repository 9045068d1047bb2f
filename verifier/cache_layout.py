"""The verifier cache directory's layout: what ``tongban verifier sync`` writes and a counter reads offline.

Named once here (the data directory's own layout is ``keys.Layout``). Pure path arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CacheLayout:
    """``CacheLayout(cache_dir)``: the paths inside one verifier cache."""

    root: Path

    @property
    def root_jwk(self) -> Path:
        """The pinned hub root key (JWK)."""
        return self.root / "root.jwk"

    @property
    def trust_list(self) -> Path:
        """The last trust list that verified under the pinned root."""
        return self.root / "trust-list.jwt"

    @property
    def status(self) -> Path:
        """Verified status lists, one JSON entry per list."""
        return self.root / "status"

    @property
    def sync(self) -> Path:
        """The last successful sync."""
        return self.root / "sync.json"

    @property
    def attempt(self) -> Path:
        """The last sync attempt, successful or not."""
        return self.root / "attempt.json"

    @property
    def dcc_signers(self) -> Path:
        """EU DCC document signers (``tongban verifier import-dcc-trust``), by kid."""
        return self.root / "dcc-signers.json"

    @property
    def replay(self) -> Path:
        """The command-line verifier's replay cache (SQLite)."""
        return self.root / "replay.sqlite3"
