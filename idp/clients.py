"""Registered relying parties, and the Authlib ``ClientMixin`` view of one.

Redirect URIs match exactly (RFC 9700 §2.1, OIDC Core §3.1.2.1): no prefixes, no wildcards. Client
secrets are high-entropy random strings, so a SHA-256 hash is the right way to keep them (no KDF needed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import Engine, insert, select, update

from idp import models
from idp.errors import InvalidInput

SCOPES = ("openid", "profile", "phone", "id_number", "licences")  # licences: the e-licence wallet (issuer.vci)
COUNTER_SCOPE = "counter"  # a counter client (idp.client_credentials): registered only by ``add_counter``
SENSITIVE_SCOPES = ("id_number",)  # PIPL art. 28-29: separate consent
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
FIRST_PARTY_SCOPES = ("licences",)  # the issuer's audience (issuer.ports.ISSUER_SCOPE): never for other apps
SUBJECT_TYPES = ("pairwise", "public")  # OIDC Core §8; pairwise is the default for new clients
# The one list of ID token algorithms (OIDC Registration §2 id_token_signed_response_alg): each has a key ring
# (idp.provider.KEY_OWNERS); ES256 is the default.
ID_TOKEN_ALGS = ("ES256", "RS256")
_COUNTER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)  # credentials.counter_code's alphabet


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_uri(uri: str, what: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
        raise InvalidInput(what, f"{what} must be an absolute http(s) URI without a fragment: {uri!r}")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "[::1]", "::1"):
        raise InvalidInput(what, f"{what} must use https (http only for loopback): {uri!r}")
    return uri


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def same_but_loopback_port(requested: str, registered: str) -> bool:
    """RFC 8252 §7.3: for a loopback redirect URI the port may differ from the registered one (an app on the
    citizen's own machine cannot know its port in advance). The loopback names are taken as one (127.0.0.1, ::1,
    ``localhost``: a demo reached as ``localhost`` for passkeys, which refuse IP addresses, §8.3's caveat aside, PKCE
    being required); everything else must match exactly: ``http``, path and query, no user info or fragment.
    ``http://127.0.0.1:9@evil.example/`` is not loopback."""
    a, b = urlsplit(requested), urlsplit(registered)
    try:
        a_port, b_port = a.port, b.port
    except ValueError:  # a port out of range or not a number
        return False
    return (a.scheme == b.scheme == "http" and a.hostname in LOOPBACK_HOSTS and b.hostname in LOOPBACK_HOSTS
            and "@" not in a.netloc and not a.fragment and a_port is not None and b_port is not None
            and (a.path, a.query) == (b.path, b.query))


@dataclass(frozen=True)
class Client(ClientMixin):
    client_id: str
    name: str
    secret_hash: str | None
    auth_method: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    backchannel_logout_uri: str | None = None
    jwks: dict | None = field(default=None, hash=False)
    id_token_signed_response_alg: str = "ES256"  # noqa: S105 - OIDC Registration §2; Authlib reads it
    subject_type: str = "public"  # OIDC Core §8: public, or pairwise within ``sector``
    sector: str = ""
    first_party: bool = False

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    @property
    def client_metadata(self) -> dict:
        return {"client_name": self.name, "token_endpoint_auth_method": self.auth_method,
                "id_token_signed_response_alg": self.id_token_signed_response_alg, "subject_type": self.subject_type}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # OIDC Core §3.1.2.1: redirect_uri is required

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """All requested scopes must be registered; otherwise ``None`` makes Authlib answer invalid_scope."""
        requested = (scope or "").split()
        if self.is_counter and not requested:
            requested = [COUNTER_SCOPE]  # RFC 6749 §3.3: a counter's pre-defined default
        if not requested or any(s not in self.scopes for s in requested):
            return None
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact match (RFC 9700 §4.1.3); tongban's own public client (the wallet) may also come back to a loopback
        URI on another port (RFC 8252 §7.3), so ``tongban serve --port N`` works after ``tongban init``/``demo``."""
        if redirect_uri in self.redirect_uris:
            return True
        return self.first_party and self.public and isinstance(redirect_uri, str) and any(
            same_but_loopback_port(redirect_uri, registered) for registered in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(_hash_secret(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.auth_method in ("client_secret_basic", "client_secret_post"):
            return method in ("client_secret_basic", "client_secret_post")
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"  # no implicit or hybrid flow

    @property
    def is_counter(self) -> bool:
        """A counter client (免证办): client credentials only, nothing else (``Clients.add_counter``)."""
        return COUNTER_SCOPE in self.scopes

    def check_grant_type(self, grant_type: str) -> bool:
        if self.is_counter:
            return grant_type == "client_credentials"
        return grant_type in ("authorization_code", "refresh_token")


class Clients:
    """Registered clients; look-ups are cached in-process for ``CACHE_SECONDS`` (clients are never edited in
    place, only added), which saves a query on every token request."""

    CACHE_SECONDS = 30

    def __init__(self, engine: Engine):
        self.engine = engine
        self._cache: dict[str, tuple[float, Client]] = {}

    def add(self, name: str, redirect_uris: list[str], *, public: bool = False, scopes: list[str] | None = None,
            backchannel_logout_uri: str | None = None, post_logout_redirect_uris: list[str] | None = None,
            jwks: dict | None = None, client_id: str | None = None, id_token_alg: str | None = None,
            subject_type: str = "pairwise", first_party: bool = False) -> dict:
        """Register a client; returns ``client_id`` (and ``client_secret`` once, for confidential clients).

        ``client_id`` fixes the identifier of a first-party client (e.g. ``tongban-wallet``); default random.
        ``id_token_alg`` is its ``id_token_signed_response_alg`` (OIDC Registration §2): ES256 (default) or
        RS256. ``subject_type`` (OIDC Core §8) is ``pairwise`` unless a first-party client needs the public
        ``sub``: a pairwise client's sector is the host of its redirect URIs (§8.1), which must then be one."""
        if not name or not name.strip():
            raise InvalidInput("name", "a client needs a name")
        if not redirect_uris:
            raise InvalidInput("redirect_uri", "register at least one redirect URI")
        uris = [_check_uri(u, "redirect_uri") for u in redirect_uris]
        logout_uris = [_check_uri(u, "post_logout_redirect_uri") for u in post_logout_redirect_uris or []]
        if backchannel_logout_uri:
            _check_uri(backchannel_logout_uri, "backchannel_logout_uri")
        scopes = list(dict.fromkeys(scopes or ["openid", "profile", "phone"]))
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown:
            raise InvalidInput("scope", f"unknown scope(s) {', '.join(unknown)}: choose from {', '.join(SCOPES)}")
        if "openid" not in scopes:
            scopes.insert(0, "openid")
        if not first_party and set(scopes) & set(FIRST_PARTY_SCOPES):
            raise InvalidInput("scope", f"{', '.join(FIRST_PARTY_SCOPES)} is for tongban's own wallet only: "
                               "it is the issuer's audience, which no other app may reach")
        id_token_alg = id_token_alg or "ES256"
        if id_token_alg not in ID_TOKEN_ALGS:
            raise InvalidInput("id_token_signed_response_alg",
                               f"unsupported ID token algorithm {id_token_alg!r}: choose {' or '.join(ID_TOKEN_ALGS)}")
        if client_id is not None and (not client_id.isascii() or not 3 <= len(client_id) <= 64 or self.get(client_id)):
            raise InvalidInput("client_id", f"client_id {client_id!r} is taken or not 3-64 ASCII characters")
        if subject_type not in SUBJECT_TYPES:
            raise InvalidInput("subject_type", f"subject_type must be {' or '.join(SUBJECT_TYPES)}")
        sector = ""
        if subject_type == "pairwise":
            hosts = {urlsplit(u).hostname for u in uris}
            if len(hosts) != 1:
                raise InvalidInput("redirect_uri", "a pairwise client's redirect URIs must share one host (its sector, "
                                   "OIDC Core §8.1); register one client per host")
            sector = hosts.pop() or ""
        client_id = client_id or "tb-" + secrets.token_urlsafe(12)
        secret = None
        if public:
            method = "none"
        elif jwks:
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                raise InvalidInput("jwks", "jwks must be a JSON Web Key Set object with a keys array")
            method = "private_key_jwt"
        else:
            method, secret = "client_secret_basic", secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(insert(models.clients).values(
                client_id=client_id, name=name.strip(), secret_hash=_hash_secret(secret) if secret else None,
                auth_method=method, redirect_uris=json.dumps(uris), post_logout_redirect_uris=json.dumps(logout_uris),
                scopes=" ".join(scopes), backchannel_logout_uri=backchannel_logout_uri,
                jwks=json.dumps(jwks) if jwks else None, id_token_alg=id_token_alg, created_at=int(time.time()),
                subject_type=subject_type, sector=sector, first_party=first_party,
            ))
        self.forget(client_id)
        out = {"client_id": client_id, "client_name": name.strip(), "token_endpoint_auth_method": method,
               "redirect_uris": uris, "scope": " ".join(scopes), "id_token_signed_response_alg": id_token_alg,
               "subject_type": subject_type}
        if secret:
            out["client_secret"] = secret
        if backchannel_logout_uri:
            out["backchannel_logout_uri"] = backchannel_logout_uri
        return out

    def add_counter(self, counter_id: str, name: str, jwks: dict) -> dict:
        """Register a counter (免证办, ``idp.client_credentials``): its client id is its counter id (the one its
        two-way code shows), its one scope ``counter``, its authentication ``private_key_jwt`` with ``jwks``.
        It has no redirect URI: it never signs a citizen in."""
        if not isinstance(counter_id, str) or not _COUNTER_ID.fullmatch(counter_id) or len(counter_id) < 3:
            raise InvalidInput("client_id", "a counter id is 3-64 of A-Z a-z 0-9 . _ - starting with a letter or digit")
        if self.get(counter_id) is not None:
            raise InvalidInput("client_id", f"client_id {counter_id!r} is taken")
        if not name or not name.strip():
            raise InvalidInput("name", "a counter needs a name (the citizen reads it in their disclosure record)")
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
            raise InvalidInput("jwks", "a counter authenticates with private_key_jwt: give its public JWKS")
        if any(isinstance(k, dict) and "d" in k for k in jwks["keys"]):
            raise InvalidInput("jwks", "the JWKS holds a private key: register the public half only")
        with self.engine.begin() as conn:
            conn.execute(insert(models.clients).values(
                client_id=counter_id, name=name.strip(), secret_hash=None, auth_method="private_key_jwt",
                redirect_uris="[]", post_logout_redirect_uris="[]", scopes=COUNTER_SCOPE, backchannel_logout_uri=None,
                jwks=json.dumps(jwks), id_token_alg="ES256", created_at=int(time.time()), subject_type="public",  # noqa: S106 - an algorithm name
                sector="", first_party=False))
        self.forget(counter_id)
        return {"client_id": counter_id, "client_name": name.strip(), "token_endpoint_auth_method": "private_key_jwt",
                "grant_types": ["client_credentials"], "scope": COUNTER_SCOPE}

    def forget(self, client_id: str) -> None:
        """Drop a client from the cache (after any change to its registration)."""
        self._cache.pop(client_id, None)

    def get(self, client_id: object) -> Client | None:
        if not isinstance(client_id, str) or len(client_id) > 64:
            return None
        hit = self._cache.get(client_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        client = self._load(client_id)
        if client is not None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[client_id] = (time.monotonic() + self.CACHE_SECONDS, client)
        return client

    def rename(self, client_id: str, name: str) -> None:
        """Set the name the consent page shows (a client registered before it had a display name)."""
        with self.engine.begin() as conn:
            conn.execute(update(models.clients).where(models.clients.c.client_id == client_id).values(name=name))
        self.forget(client_id)

    def _load(self, client_id: str) -> Client | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(models.clients).where(models.clients.c.client_id == client_id)).first()
        if r is None:
            return None
        return Client(
            r.client_id, r.name, r.secret_hash, r.auth_method, tuple(json.loads(r.redirect_uris)),
            tuple(json.loads(r.post_logout_redirect_uris)), tuple(r.scopes.split()), r.backchannel_logout_uri,
            json.loads(r.jwks) if r.jwks else None, r.id_token_alg or "ES256", r.subject_type or "public", r.sector or "",
            bool(r.first_party),
        )
