"""One configuration path: every setting, its environment variable and its documented default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from credentials.counter_code import is_counter_id
from credentials.regions import RegionError, hub_region
from keys import AtRestPolicy
from keys.at_rest import DEV_FLAG_ENV, PASSPHRASE_ENV
from keys.errors import KeyFormatError
from keys.suites import suite
from storage.sql import sqlite_url


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, its default (as the environment would spell it) and what it does."""

    name: str
    default: str
    doc: str
    secret: bool = False  # never shown or logged


# Every variable the service reads, the one table (the README's configuration table says the same).
# ``Settings.from_env`` is the only place that reads them; every package below takes the values as parameters.
VARIABLES: tuple[Variable, ...] = (
    Variable("TONGBAN_DATA", "./tongban-data",
             "data directory: key rings, trust list, SQLite database, status lists (``keys.Layout``)"),
    Variable("DATABASE_URL", "", "empty: SQLite in the data directory; postgresql://... for PostgreSQL"),
    Variable("REDIS_URL", "", "empty: in-process ephemeral store; redis://... for Redis"),
    Variable("TONGBAN_ISSUER_URL", "http://127.0.0.1:8000", "public base URL of the service"),
    Variable("TONGBAN_REGION", "",
             "GB/T 2260 code of the provincial-level division the hub serves, for `tongban init` (as --region); "
             "empty: the data directory's, else 110000 (北京市)"),
    Variable("TONGBAN_HEALTH_CODE_TTL", "86400", "seconds a health code is valid (300 .. 604800)"),
    Variable("TONGBAN_DEMO", "1",
             "1: `tongban init` seeds demo people, accounts with documented passwords, and licence records. "
             "Set 0 in production (the Dockerfile does): known passwords must never exist there."),
    Variable("TONGBAN_COUNTER_TWO_WAY", "0",
             "1: the counter at /counter runs two-way: it shows its own code (柜台码) and takes only "
             "presentations made for it."),
    Variable("TONGBAN_COUNTER_ID", "", "its id in two-way mode; empty: the host name and a digest of the cache path"),
    Variable("TONGBAN_PROXY_HOPS", "0",
             "reverse proxies in front that the client address and scheme may be taken from (X-Forwarded-For/-Proto)"),
    Variable("TONGBAN_TLS_TERMINATED_BY_PROXY", "0",
             "1: TLS ends at that proxy, so an http:// TONGBAN_ISSUER_URL is accepted in production (needs hops >= 1) "
             "and cookies are still Secure."),
    Variable(PASSPHRASE_ENV, "", "passphrase sealing every private key and secret file at rest (``keys.at_rest``)",
             secret=True),
    Variable(DEV_FLAG_ENV, "", "1 allows plaintext private keys (development only)"),
    Variable("TONGBAN_IDP_SECRET", "", "hex, >= 32 bytes: the IdP master secret; empty: the file idp-secret",
             secret=True),
    Variable("TONGBAN_ISSUER_SECRET", "", "hex, >= 32 bytes: the issuer master secret; empty: the file issuer-secret",
             secret=True),
    Variable("TONGBAN_SUITE", "",
             "suite of a new hub (``keys.suites``): standard (ES256, HMAC-SHA256, AES-256-GCM) or guomi (国密: SM2 with "
             "SM3, HMAC-SM3, SM4-GCM); empty: what the hub recorded, else standard. Same as `tongban init --suite`."),
    Variable("TONGBAN_PKCS11_MODULE", "",
             "path of a PKCS#11 module (an HSM's, or SoftHSM2's libsofthsm2.so): `tongban keys generate --pkcs11` "
             "makes keys inside its token and rings refer to them by pkcs11: URI (RFC 7512)"),
    Variable("TONGBAN_PKCS11_TOKEN", "", "label of the PKCS#11 token holding the keys"),
    Variable("TONGBAN_PKCS11_PIN", "", "the token's user PIN, or file:/path to read it from", secret=True),
)
DEFAULTS = {variable.name: variable.default for variable in VARIABLES}


_TOKENS: dict[tuple[str, str, str], object] = {}


class ConfigError(ValueError):
    """A setting has a value the service refuses; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """The service's configuration, read once from the environment (``from_env``) and passed down."""

    data_dir: Path
    database_url: str
    redis_url: str
    issuer_url: str
    health_code_ttl: int = 86400
    demo: bool = True
    counter_two_way: bool = False
    counter_id: str = ""
    proxy_hops: int = 0
    tls_terminated_by_proxy: bool = False
    key_passphrase: str = field(default="", repr=False)
    dev_plaintext_keys: bool = False
    idp_secret: str = field(default="", repr=False)
    issuer_secret: str = field(default="", repr=False)
    region: str = ""
    suite: str = ""
    pkcs11_module: str = ""
    pkcs11_token: str = ""
    pkcs11_pin: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return env.get(name) or DEFAULTS[name]

        directory = Path(data_dir or get("TONGBAN_DATA"))
        proxy = Proxy.from_env(env)
        return cls(
            data_dir=directory,
            database_url=get("DATABASE_URL") or sqlite_url(directory),
            redis_url=get("REDIS_URL"),
            issuer_url=get("TONGBAN_ISSUER_URL").rstrip("/"),
            health_code_ttl=_seconds("TONGBAN_HEALTH_CODE_TTL", get("TONGBAN_HEALTH_CODE_TTL")),
            demo=_flag("TONGBAN_DEMO", env.get("TONGBAN_DEMO", DEFAULTS["TONGBAN_DEMO"])),
            counter_two_way=_flag("TONGBAN_COUNTER_TWO_WAY", get("TONGBAN_COUNTER_TWO_WAY")),
            counter_id=_counter_id(get("TONGBAN_COUNTER_ID")),
            proxy_hops=proxy.hops,
            tls_terminated_by_proxy=proxy.tls_terminated,
            key_passphrase=get(PASSPHRASE_ENV),
            dev_plaintext_keys=get(DEV_FLAG_ENV) == "1",
            idp_secret=get("TONGBAN_IDP_SECRET"),
            issuer_secret=get("TONGBAN_ISSUER_SECRET"),
            region=region_setting("TONGBAN_REGION", get("TONGBAN_REGION")),
            suite=_suite(get("TONGBAN_SUITE")),
            pkcs11_module=get("TONGBAN_PKCS11_MODULE"),
            pkcs11_token=get("TONGBAN_PKCS11_TOKEN"),
            pkcs11_pin=get("TONGBAN_PKCS11_PIN"),
        )

    @property
    def proxy(self) -> Proxy:
        return Proxy(self.proxy_hops, self.tls_terminated_by_proxy)

    def key_policy(self, directory: Path) -> AtRestPolicy:
        """How private keys in ``directory`` are kept at rest (``keys.at_rest``), under these settings."""
        return AtRestPolicy.for_directory(directory, passphrase=self.key_passphrase,
                                          dev_plaintext=self.dev_plaintext_keys, hsm=self.hsm())

    def hsm(self):  # -> keys.pkcs11.Pkcs11Token | None
        """The configured PKCS#11 token (one per process: it holds a logged-in session), or None."""
        if not self.pkcs11_module:
            return None
        from keys.pkcs11 import Pkcs11Token

        key = (self.pkcs11_module, self.pkcs11_token, self.pkcs11_pin)
        if key not in _TOKENS:
            _TOKENS[key] = Pkcs11Token(*key)
        return _TOKENS[key]


def region_setting(name: str, value: str) -> str:
    """A hub's region (``credentials.regions.hub_region``: one of the 31 provincial-level codes), or ""."""
    if not value:
        return ""
    try:
        return hub_region(value).code
    except RegionError as exc:
        raise ConfigError(f"{name}: {exc}") from exc


@dataclass(frozen=True)
class Proxy:
    """The deployment's reverse proxies (part of ``Settings``; ``from_env`` parses the two variables)."""

    hops: int = 0
    tls_terminated: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Proxy:
        env = os.environ if env is None else env
        hops = env.get("TONGBAN_PROXY_HOPS") or DEFAULTS["TONGBAN_PROXY_HOPS"]
        if not (hops.isascii() and hops.isdigit()) or int(hops) > 16:
            raise ConfigError("TONGBAN_PROXY_HOPS must be the number of trusted reverse proxies (0 without one), "
                              f"not {hops!r}")
        tls = env.get("TONGBAN_TLS_TERMINATED_BY_PROXY") or DEFAULTS["TONGBAN_TLS_TERMINATED_BY_PROXY"]
        return cls(int(hops), _flag("TONGBAN_TLS_TERMINATED_BY_PROXY", tls))


def _flag(name: str, value: str) -> bool:
    if value.strip() not in ("0", "1"):
        raise ConfigError(f"{name} must be 0 or 1, not {value!r}")
    return value.strip() == "1"


def _seconds(name: str, value: str) -> int:
    if not (value.strip().isascii() and value.strip().isdigit()) or not 300 <= int(value) <= 7 * 24 * 3600:
        raise ConfigError(f"{name} must be a number of seconds between 300 and 604800, not {value!r}")
    return int(value)


def _suite(value: str) -> str:
    """A suite name as ``keys.suites`` spells it (``sm2`` and ``国密`` read as guomi), or empty."""
    if not value:
        return ""
    try:
        return suite(value).name
    except KeyFormatError as exc:
        raise ConfigError(f"TONGBAN_SUITE: {exc}") from exc


def _counter_id(value: str) -> str:
    if value and not is_counter_id(value):
        raise ConfigError(f"TONGBAN_COUNTER_ID must be 1 to 64 of A-Z a-z 0-9 . _ - (starting with a letter or digit), "
                          f"not {value!r}")
    return value
