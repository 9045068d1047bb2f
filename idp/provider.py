"""The identity provider's composition: storage, services and the Authlib server for one issuer.

``Provider.from_settings`` is the one place that chooses adapters (SQLite or PostgreSQL, memory or Redis,
the embedded registry table) and loads the signing key rings from ``keys/``: ES256 (owner ``idp``, the
default) and RS256 (owner ``idp-rs256``, for clients registered with ``id_token_signed_response_alg`` RS256;
OIDC Discovery §3 requires RS256). Each ring rotates on its own, the same way.
"""

from __future__ import annotations

import fcntl
import time
from dataclasses import dataclass, field
from pathlib import Path

from authlib.oidc.core import UserInfo
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import Engine

import keys
from idp import migrate
from idp.accounts import Accounts
from idp.audit import Audit
from idp.authorization_server import Server, build_server
from idp.clients import ID_TOKEN_ALGS, Clients
from idp.consents import Consents
from idp.grants import ACCESS_TTL, Grants
from idp.jose_keys import jose_signing_key
from idp.liveness import DemoLiveness, LivenessChecker
from idp.logout import http_post
from idp.passkey_store import PasskeyStore
from idp.passkeys import Passkeys
from idp.refresh_tokens import RefreshTokens
from idp.registry import PopulationRegistry, TableRegistry
from idp.rotation import DEFAULT_FAMILY_LIFETIME, DEFAULT_GRACE, RotationPolicy
from idp.secrets import Secrets, secrets_for
from idp.sessions import Sessions
from idp.throttle import Throttle, ThrottlePolicy
from storage.kv import KeyValueStore, make_store
from storage.sql import make_engine
from storage.timeouts import SERVICE

KEY_OWNER = "idp"  # the ES256 ring (the default ID token algorithm)
KEY_OWNERS = {"ES256": KEY_OWNER, "RS256": "idp-rs256"}  # ID token algorithm (``ID_TOKEN_ALGS``) -> key ring owner
assert tuple(KEY_OWNERS) == ID_TOKEN_ALGS, "every ID token algorithm a client may register needs its key ring"
# The claims each scope releases at UserInfo (OIDC Core §5.4; ``id_number`` is tongban's): ``Provider.claims``
# releases exactly these, discovery advertises them.
SCOPE_CLAIMS = {"profile": ("name",), "phone": ("phone_number", "phone_number_verified"), "id_number": ("id_number",)}


def load_key_ring(key_dir: Path, now: int, alg: str = "ES256", policy: keys.AtRestPolicy | None = None) -> keys.KeyRing:
    """Load the idp key ring for ``alg``, creating it on first use (encrypted at rest by ``AtRestPolicy``).

    A data directory made before RS256 existed gains its RS256 ring here, at the next start. A file lock
    makes concurrent first starts (gunicorn workers) agree on one key.
    """
    owner = KEY_OWNERS[alg]
    store = keys.KeyRingStore(key_dir, policy or keys.AtRestPolicy.for_directory(key_dir))
    if store.exists(owner):
        return store.load(owner)
    key_dir.mkdir(parents=True, exist_ok=True)
    with open(key_dir / f".{owner}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if store.exists(owner):
            return store.load(owner)
        ring = keys.KeyRing(owner)
        ring.rotate(now, alg)
        store.save(ring)
        return ring


def _check_suite(engine: Engine, secrets_: Secrets) -> None:
    """``Accounts.check_suite`` at start-up; a database that cannot be reached now is the readiness probe's
    business (the worker starts and answers 503), not a reason to stop here."""
    from sqlalchemy.exc import DBAPIError

    from idp.accounts import Accounts

    try:
        Accounts.check_suite_of(engine, secrets_)
    except DBAPIError:  # unreachable, or the tables are not made yet
        return


def _migrate(engine: Engine | None, url: str, secrets_: Secrets) -> None:
    """The idp tables through Alembic (every other table has its own package's history), then the sealing of rows
    still in clear (``idp.pii_seal``). Not on the service's engine: its statement timeout would cut the wait for
    the migration lock short."""
    from idp.pii_seal import seal_clear_rows

    batch = engine or make_engine(url)
    try:
        migrate.upgrade(batch)
        seal_clear_rows(batch, secrets_)
    finally:
        if engine is None:
            batch.dispose()


def rotation_policy(settings: object) -> RotationPolicy:
    """The refresh grace window and family lifetime from the settings (``refresh_grace``,
    ``refresh_family_lifetime``: TONGBAN_REFRESH_GRACE, TONGBAN_REFRESH_FAMILY_LIFETIME), their defaults where
    the settings do not name them."""
    return RotationPolicy(grace=getattr(settings, "refresh_grace", DEFAULT_GRACE),
                          family_lifetime=getattr(settings, "refresh_family_lifetime", DEFAULT_FAMILY_LIFETIME))


class KeyRingCache:
    """The idp key rings (one per ID token algorithm), loaded on first use and reloaded when a ring's file
    changes (after a rotation)."""

    def __init__(self, key_dir: Path, policy: keys.AtRestPolicy | None = None):
        self.key_dir = key_dir
        self.policy = policy or keys.AtRestPolicy.for_directory(key_dir)
        self._rings: dict[str, tuple[keys.KeyRing, float]] = {}

    def get(self, alg: str = "ES256") -> keys.KeyRing:
        path = self.key_dir / f"{KEY_OWNERS[alg]}.json"
        mtime = path.stat().st_mtime if path.exists() else None
        cached = self._rings.get(alg)
        if cached is None or mtime != cached[1]:
            ring = load_key_ring(self.key_dir, int(time.time()), alg, self.policy)
            self._rings[alg] = cached = (ring, path.stat().st_mtime)
        return cached[0]

    def all(self) -> list[keys.KeyRing]:
        """Every ring, creating any that is missing."""
        return [self.get(alg) for alg in ID_TOKEN_ALGS]


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
    rotation: RotationPolicy = field(default_factory=RotationPolicy)  # refresh grace window, family lifetime

    def __post_init__(self) -> None:
        self.audit = Audit(self.engine)
        self.throttle = Throttle(self.store, self.throttle_policy)
        self.accounts = Accounts(self.engine, self.store, self.secrets, self.registry, self.throttle, self.audit)
        self.clients = Clients(self.engine)
        self.consents = Consents(self.engine)
        self.grants = Grants(self.engine, self.store, self.audit, policy=self.rotation)
        self.refresh = RefreshTokens(self.engine, self.grants, self.secrets, self.rotation, ACCESS_TTL)
        self.sessions = Sessions(self.store)
        self.passkeys = Passkeys(PasskeyStore(self.engine, self.secrets), self.store, self.secrets, self.throttle,
                                 self.audit, lambda: self.issuer)
        self._jose_keys: dict[tuple[str, str], ECKey | RSAKey] = {}  # signing keys as joserfc keys, by (alg, kid)
        self.backchannel_post = http_post  # replaceable transport for back-channel logout tokens
        self.server: Server = build_server(self)

    @classmethod
    def from_settings(cls, settings, *, load_keys: bool = True, **overrides) -> Provider:
        """Choose adapters from ``settings``; ``load_keys`` loads (or creates) the signing key now, so a key
        policy problem stops start-up instead of failing a request later."""
        timeouts = getattr(settings, "timeouts", SERVICE)  # storage.timeouts: bounded waits on PostgreSQL and Redis
        engine = overrides.pop("engine", None)
        secrets_ = secrets_for(settings)
        if getattr(settings, "migrate_at_start", True):  # production: `tongban migrate` ran before the workers
            _migrate(engine, settings.database_url, secrets_)
        engine = engine or make_engine(settings.database_url, timeouts)
        store = overrides.pop("store", None) or make_store(settings.redis_url, timeouts)
        key_dir = keys.Layout(settings.data_dir).keys
        ring = KeyRingCache(key_dir, settings.key_policy(key_dir))
        registry = overrides.pop("registry", None) or TableRegistry(engine, secrets_)
        if load_keys:
            ring.all()
        _check_suite(engine, secrets_)
        overrides.setdefault("rotation", rotation_policy(settings))
        return cls(settings.issuer_url, engine, store, secrets_, ring, registry, **overrides)

    # -- keys ---------------------------------------------------------------------------------
    def signing_key(self, alg: str = "ES256") -> ECKey | RSAKey:
        """The current signing key for ``alg`` (ES256 or RS256) as a joserfc key with its ``kid``."""
        if alg not in KEY_OWNERS:
            raise ValueError(f"unsupported ID token algorithm {alg!r}")
        signer = self.key_cache.get(alg).signer(int(time.time()))
        if signer.public.alg != alg:  # e.g. the RS256 ring rotated without alg="RS256"
            raise keys.NoSigningKeyError(f"the {KEY_OWNERS[alg]} key ring's signer is {signer.public.alg}, not {alg}")
        cached = self._jose_keys.get((alg, signer.public.kid))  # a rotation brings a new kid, hence a new entry
        if cached is None:
            cached = jose_signing_key(signer.private, alg)
            if len(self._jose_keys) > 16:
                self._jose_keys.clear()
            self._jose_keys[(alg, signer.public.kid)] = cached
        return cached

    def jwks(self) -> dict:
        """Every key of every ring still inside its verification window, so tokens signed before a rotation
        verify; ES256 keys first."""
        published: list[keys.ManagedKey] = []
        for ring in self.key_cache.all():
            published.extend(ring.verification_keys())
        return keys.jwks(published, int(time.time()))

    # -- claims (OIDC Core §5.4 scopes; ``id_number`` is tongban's sensitive scope) ----------------
    def subject_for(self, client_id: str, sub: str) -> str:
        """The ``sub`` this client knows the citizen by (OIDC Core §8): pairwise per sector, or the public one.
        Tokens, sessions and consents keep the local ``sub``; only what a client reads is translated."""
        client = self.clients.get(client_id)
        if client is None or client.subject_type != "pairwise":
            return sub
        return self.secrets.pairwise_sub(client.sector, sub)

    def claims(self, sub: object, scope: str, client_id: str | None = None) -> UserInfo:
        """The UserInfo claims of ``scope`` (``SCOPE_CLAIMS``), with the ``sub`` ``client_id`` knows."""
        account = self.accounts.get(sub if isinstance(sub, str) else sub.sub)
        info = UserInfo(sub=self.subject_for(client_id, account.sub) if client_id else account.sub)
        scopes = set(scope.split())
        if "profile" in scopes:
            info["name"] = account.name
        if "phone" in scopes:
            info["phone_number"] = "+86" + account.phone
            info["phone_number_verified"] = False
        if "id_number" in scopes:
            info["id_number"] = self.accounts.id_number(account)
        return info
