"""The data directory's layout: every file and folder a tongban data directory holds, named once.

The issuer writes these files, the IdP and the service read some of them, the verifier's ``DirectorySource``
reads a hub's published ones and ``storage`` puts the SQLite database here. ``keys`` is the lowest package
every one of them may import (ARCHITECTURE.md: ``… → credentials | storage → keys``), and the key rings and
secret files are its own business, so the layout lives here. Pure path arithmetic: nothing is read or made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keys.at_rest import DEV_MARKER


@dataclass(frozen=True)
class Layout:
    """``Layout(data_dir)``: the paths inside one data directory (the hub's own, or a peer hub's copy)."""

    root: Path

    @property
    def keys(self) -> Path:
        """Key rings (``keys.KeyRingStore``), one JSON file per owner, sealed at rest (``keys.at_rest``)."""
        return self.root / "keys"

    @property
    def dev_marker(self) -> Path:
        """The marker allowing plaintext private keys in ``keys/`` (demo directories only)."""
        return self.keys / DEV_MARKER

    @property
    def hub_root_jwk(self) -> Path:
        """The hub's root public key (JWK) that verifiers pin."""
        return self.root / "hub-root.jwk"

    @property
    def trust_list(self) -> Path:
        """The signed trust list (a JWT, ``keys.trust_list``)."""
        return self.root / "trust-list.jwt"

    @property
    def status(self) -> Path:
        """Published Status List Tokens (``credentials.status_list``), one file per list and form."""
        return self.root / "status"

    @property
    def hub_config(self) -> Path:
        """The hub's authorities and their licence types."""
        return self.root / "hub.json"

    @property
    def audit_anchors(self) -> Path:
        """Signed anchors of the audit log's hash chain, one JSON line each (``service.audit``)."""
        return self.root / "audit-anchors.jsonl"

    @property
    def key_events(self) -> Path:
        """Append-only log of key rotations and compromises."""
        return self.root / "key-events.jsonl"

    @property
    def peers(self) -> Path:
        """Other hubs this one recognises."""
        return self.root / "peers"

    @property
    def database(self) -> Path:
        """The embedded SQLite database (when no ``DATABASE_URL`` is set)."""
        return self.root / "tongban.sqlite3"

    @property
    def idp_secret(self) -> Path:
        """The IdP master secret file (when ``TONGBAN_IDP_SECRET`` is not set)."""
        return self.root / "idp-secret"

    @property
    def issuer_secret(self) -> Path:
        """The issuer master secret file (when ``TONGBAN_ISSUER_SECRET`` is not set)."""
        return self.root / "issuer-secret"

    @property
    def admin_client(self) -> Path:
        """The health authority's /admin OIDC client registration."""
        return self.root / "admin-client.json"

    @property
    def counter_cache(self) -> Path:
        """The verifier cache of the counter built into ``tongban serve`` (``verifier.CacheLayout``)."""
        return self.root / "counter-cache"

    @property
    def hub_lock(self) -> Path:
        """Taken while ``hub.json`` and the trust list are rewritten, so two writers cannot interleave."""
        return self.root / ".hub.lock"
