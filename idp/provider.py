"""The identity provider's composition: storage, services and the Authlib server for one issuer.

``Provider.from_settings`` is the one place that chooses adapters (SQLite or PostgreSQL, memory or Redis,
the embedded registry table) and loads the ES256 signing key ring (owner ``idp``) from ``keys/``.
"""

from __future__ import annotations

import fcntl
import time
from dataclasses import dataclass, field
from pathlib import Path

from authlib.oidc.core import UserInfo
from joserfc.jwk import ECKey
from sqlalchemy import Engine

import keys
from idp import migrate
from idp.accounts import Accounts
from idp.audit import Audit
from idp.clients import Clients
from idp.consents import Consents
from idp.grants import Grants
from idp.liveness import DemoLiveness, LivenessChecker
from idp.logout import http_post
from idp.registry import PopulationRegistry, TableRegistry
from idp.secrets import Secrets, load_secrets
from idp.sessions import Sessions
from idp.throttle import Throttle, ThrottlePolicy
from storage.kv import KeyValueStore, make_store
from storage.sql import create_all, make_engine

KEY_OWNER = "idp"


def load_key_ring(key_dir: Path, now: int) -> keys.KeyRing:
    """Load the idp ES256 key ring, creating it on first use (encrypted at rest by ``AtRestPolicy``).

    A file lock makes concurrent first starts (gunicorn workers) agree on one key.
    """
    store = keys.KeyRingStore(key_dir, keys.AtRestPolicy.from_env(key_dir))
    if store.exists(KEY_OWNER):
        return store.load(KEY_OWNER)
    key_dir.mkdir(parents=True, exist_ok=True)
    with open(key_dir / f".{KEY_OWNER}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if store.exists(KEY_OWNER):
            return store.load(KEY_OWNER)
        ring = keys.KeyRing(KEY_OWNER)
        ring.rotate(now, "ES256")
        store.save(ring)
        return ring


class KeyRingCache:
    """The idp key ring, loaded on first use and reloaded when its file changes (after ``keys rotate``)."""

    def __init__(self, key_dir: Path):
        self.key_dir = key_dir
        self._ring: keys.KeyRing | None = None
        self._mtime: float | None = None

    def get(self) -> keys.KeyRing:
        path = self.key_dir / f"{KEY_OWNER}.json"
        mtime = path.stat().st_mtime if path.exists() else None
        if self._ring is None or mtime != self._mtime:
            self._ring = load_key_ring(self.key_dir, int(time.time()))
            self._mtime = path.stat().st_mtime
        return self._ring


@dataclass
class Provider:
    issuer: str
    engine: Engine
    store: KeyValueStore
    secrets: Secrets
    key_cache: KeyRingCache
    registry: PopulationRegistry
    throttle_policy: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    liveness: LivenessChecker = field(default_factory=DemoLiveness)  # the real-person step-up adapter

    def __post_init__(self) -> None:
        self.audit = Audit(self.engine)
        self.throttle = Throttle(self.store, self.throttle_policy)
        self.accounts = Accounts(self.engine, self.store, self.secrets, self.registry, self.throttle, self.audit)
        self.clients = Clients(self.engine)
        self.consents = Consents(self.engine)
        self.grants = Grants(self.engine, self.store, self.audit)
        self.sessions = Sessions(self.store)
        self.backchannel_post = http_post  # replaceable transport for back-channel logout tokens
        from idp.server import build_server

        self.server = build_server(self)

    @classmethod
    def from_settings(cls, settings, *, load_keys: bool = True, **overrides) -> Provider:  # noqa: ANN001
        """Choose adapters from ``settings``; ``load_keys`` loads (or creates) the signing key now, so a key
        policy problem stops start-up instead of failing a request later."""
        engine = overrides.pop("engine", None) or make_engine(settings.database_url)
        migrate.upgrade(engine)  # the idp tables, through Alembic
        create_all(engine)  # other packages' tables (a no-op for the migrated idp tables)
        secrets_ = load_secrets(settings.data_dir)
        store = overrides.pop("store", None) or make_store(settings.redis_url)
        ring = KeyRingCache(settings.data_dir / "keys")
        registry = overrides.pop("registry", None) or TableRegistry(engine, secrets_)
        if load_keys:
            ring.get()
        return cls(settings.issuer_url, engine, store, secrets_, ring, registry, **overrides)

    # -- keys ---------------------------------------------------------------------------------
    def signing_key(self) -> ECKey:
        signer = self.key_cache.get().signer(int(time.time()))
        return ECKey.import_key(signer.private.crypto_key(), {"kid": signer.public.kid})

    def jwks(self) -> dict:
        """Every key still inside its verification window, so tokens signed before a rotation verify."""
        return keys.jwks(self.key_cache.get().verification_keys(), int(time.time()))

    # -- claims (OIDC Core §5.4 scopes; ``id_number`` is tongban's sensitive scope) ----------------
    def claims(self, sub: object, scope: str) -> UserInfo:
        account = self.accounts.get(sub if isinstance(sub, str) else sub.sub)
        info = UserInfo(sub=account.sub)
        scopes = set(scope.split())
        if "profile" in scopes:
            info["name"] = account.name
        if "phone" in scopes:
            info["phone_number"] = "+86" + account.phone
            info["phone_number_verified"] = False
        if "id_number" in scopes:
            info["id_number"] = self.accounts.id_number(account)
        return info
