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
from storage.timeouts import SERVICE, Timeouts


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
    Variable("REDIS_URL", "", "empty: in-process ephemeral store; redis://... (rediss:// for TLS) for Redis, "
             "redis+sentinel://host:26379[,host...]/service[/db] for Sentinel, redis+cluster://host:port[,...] for Cluster"),
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
    Variable("TONGBAN_COUNTER_PROFILE", "entrance",
             "what the counter at /counter shows: entrance (colour/validity, names masked), licence (full name, "
             "licence facts, ID number masked) or identity (full identity, portrait of a fetched licence)"),
    Variable("TONGBAN_COUNTER_FETCH", "",
             "免证办: the counter's fetch configuration file (tongban clients add-counter --out); empty: no fetching"),
    Variable("TONGBAN_PROXY_HOPS", "0",
             "reverse proxies in front that the client address and scheme may be taken from (X-Forwarded-For/-Proto)"),
    Variable("TONGBAN_TLS_TERMINATED_BY_PROXY", "0",
             "1: TLS ends at that proxy, so an http:// TONGBAN_ISSUER_URL is accepted in production (needs hops >= 1) "
             "and cookies are still Secure."),
    Variable("TONGBAN_MIGRATE_AT_START", "1",
             "1: every start (each gunicorn worker) brings the schema to the newest revision, as the embedded default "
             "needs. 0 in production (the Dockerfile sets it): `tongban migrate` runs once before the workers, and a "
             "worker finding the schema behind answers 503 until it has run."),
    Variable("TONGBAN_DB_CONNECT_TIMEOUT", "2", "seconds to open a PostgreSQL connection (1 .. 60)"),
    Variable("TONGBAN_DB_STATEMENT_TIMEOUT", "1.5", "seconds a statement may run (PostgreSQL statement_timeout)"),
    Variable("TONGBAN_DB_SOCKET_TIMEOUT", "2",
             "seconds to wait for any answer from PostgreSQL; then the connection is dropped and the request answers 503"),
    Variable("TONGBAN_DB_IDLE_CHECK", "10",
             "a pooled connection idle longer than this many seconds is checked before use (none is pinged per checkout)"),
    Variable("TONGBAN_REDIS_CONNECT_TIMEOUT", "1", "seconds to open a Redis connection"),
    Variable("TONGBAN_REDIS_SOCKET_TIMEOUT", "1", "seconds to wait for a Redis answer"),
    Variable("TONGBAN_REFRESH_GRACE", "30",
             "seconds after a refresh in which the same request with the old refresh token gets the same new pair "
             "(a lost response); later, or another request, is reuse and revokes the family (RFC 9700 §4.14.2)"),
    Variable("TONGBAN_REFRESH_FAMILY_LIFETIME", "7776000",
             "seconds a refresh-token family lives from its sign-in however often it is rotated (default 90 days)"),
    Variable("TONGBAN_RETRY_AFTER", "5", "seconds a 503 asks clients to wait (Retry-After) when a store is unavailable"),
    Variable("TONGBAN_METRICS_TOKEN", "",
             "bearer token for GET /metrics (Prometheus); empty: no /metrics route on the service port", secret=True),
    Variable("TONGBAN_METRICS_PORT", "0",
             "gunicorn: serve the metrics of every worker on 127.0.0.1:PORT from the master (0: off); needs "
             "PROMETHEUS_MULTIPROC_DIR (the Dockerfile sets both)"),
    Variable("TONGBAN_AUDIT_RETENTION_DAYS", "1095",
             "days `tongban audit prune` keeps audit entries (PIPL processing records: at least 1095)"),
    Variable("TONGBAN_LOG_RETENTION_DAYS", "180",
             "days the deployment's log store must keep the service's log lines (Cybersecurity Law art. 21: at "
             "least 180); checked here, enforced by the log shipper"),
    Variable("TONGBAN_AUDIT_ANCHOR_EVERY", "3600",
             "seconds between signed audit anchors written by the service (0: only `tongban audit anchor`)"),
    Variable("PROMETHEUS_MULTIPROC_DIR", "",
             "prometheus-client's multiprocess directory (gunicorn: every worker's metrics summed at scrape time); "
             "prometheus-client reads it too"),
    Variable("TONGBAN_BACKGROUND_JOBS", "1",
             "1: every web process competes (PostgreSQL advisory lock) to run the background jobs (status-list "
             "re-signing, audit anchors); 0: none does, run `tongban worker`"),
    Variable("TONGBAN_LOG_FORMAT", "json", "json: one JSON object per line (service.logs); text: plain lines for a terminal"),
    Variable("TONGBAN_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR"),
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
    counter_profile: str = "entrance"
    counter_fetch: str = ""
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
    migrate_at_start: bool = True
    timeouts: Timeouts = SERVICE
    retry_after: int = 5
    log_json: bool = True
    audit_retention_days: int = 1095
    log_retention_days: int = 180
    audit_anchor_every: int = 3600
    background_jobs: bool = True
    metrics_token: str = field(default="", repr=False)
    metrics_port: int = 0
    metrics_multiproc_dir: str = ""
    log_level: str = "INFO"
    refresh_grace: int = 30
    refresh_family_lifetime: int = 90 * 24 * 3600

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
            counter_profile=_counter_profile(get("TONGBAN_COUNTER_PROFILE")),
            counter_fetch=get("TONGBAN_COUNTER_FETCH"),
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
            migrate_at_start=_flag("TONGBAN_MIGRATE_AT_START", get("TONGBAN_MIGRATE_AT_START")),
            timeouts=_timeouts(get),
            retry_after=int(_bounded("TONGBAN_RETRY_AFTER", get("TONGBAN_RETRY_AFTER"), 1, 3600)),
            metrics_token=_metrics_token(get("TONGBAN_METRICS_TOKEN")),
            metrics_port=int(_bounded("TONGBAN_METRICS_PORT", get("TONGBAN_METRICS_PORT"), 0, 65535)),
            audit_retention_days=int(_bounded("TONGBAN_AUDIT_RETENTION_DAYS", get("TONGBAN_AUDIT_RETENTION_DAYS"),
                                              1095, 36500)),
            log_retention_days=int(_bounded("TONGBAN_LOG_RETENTION_DAYS", get("TONGBAN_LOG_RETENTION_DAYS"), 180, 36500)),
            audit_anchor_every=int(_bounded("TONGBAN_AUDIT_ANCHOR_EVERY", get("TONGBAN_AUDIT_ANCHOR_EVERY"), 0, 86400 * 7)),
            metrics_multiproc_dir=get("PROMETHEUS_MULTIPROC_DIR"),
            background_jobs=_flag("TONGBAN_BACKGROUND_JOBS", get("TONGBAN_BACKGROUND_JOBS")),
            log_json=_choice("TONGBAN_LOG_FORMAT", get("TONGBAN_LOG_FORMAT"), ("json", "text")) == "json",
            log_level=_choice("TONGBAN_LOG_LEVEL", get("TONGBAN_LOG_LEVEL").upper(), ("DEBUG", "INFO", "WARNING", "ERROR")),
            refresh_grace=int(_bounded("TONGBAN_REFRESH_GRACE", get("TONGBAN_REFRESH_GRACE"), 0, 300)),
            refresh_family_lifetime=int(_bounded("TONGBAN_REFRESH_FAMILY_LIFETIME", get("TONGBAN_REFRESH_FAMILY_LIFETIME"),
                                                 3600, 31622400))
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
def _metrics_token(value: str) -> str:
    if value and (len(value) < 32 or not value.isascii() or not value.isprintable() or " " in value):
        raise ConfigError("TONGBAN_METRICS_TOKEN must be at least 32 printable ASCII characters without spaces "
                          "(e.g. `openssl rand -hex 32`), or empty for no /metrics route")
    return value


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value.strip() not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value.strip()


def _bounded(name: str, value: str, low: float, high: float) -> float:
    """A number of seconds in [low, high]; anything else (text, NaN, infinity, a sign, a huge number) is refused."""
    text = value.strip()
    try:
        number = float(text) if text.isascii() and text.replace(".", "", 1).isdigit() else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ConfigError(f"{name} must be a number of seconds between {low:g} and {high:g}, not {value!r}")
    return number


def _timeouts(get) -> Timeouts:  # get: the variable reader of from_env
    return Timeouts(
        db_connect=_bounded("TONGBAN_DB_CONNECT_TIMEOUT", get("TONGBAN_DB_CONNECT_TIMEOUT"), 1, 60),
        db_statement=_bounded("TONGBAN_DB_STATEMENT_TIMEOUT", get("TONGBAN_DB_STATEMENT_TIMEOUT"), 0.05, 600),
        db_socket=_bounded("TONGBAN_DB_SOCKET_TIMEOUT", get("TONGBAN_DB_SOCKET_TIMEOUT"), 0.05, 600),
        idle_check=_bounded("TONGBAN_DB_IDLE_CHECK", get("TONGBAN_DB_IDLE_CHECK"), 0, 86400),
        redis_connect=_bounded("TONGBAN_REDIS_CONNECT_TIMEOUT", get("TONGBAN_REDIS_CONNECT_TIMEOUT"), 0.05, 60),
        redis_socket=_bounded("TONGBAN_REDIS_SOCKET_TIMEOUT", get("TONGBAN_REDIS_SOCKET_TIMEOUT"), 0.05, 600),
    )


def _counter_profile(value: str) -> str:
    from verifier.profiles import PROFILES

    if value not in PROFILES:
        raise ConfigError(f"TONGBAN_COUNTER_PROFILE must be one of {', '.join(PROFILES)}, not {value!r}")
    return value


def _counter_id(value: str) -> str:
    if value and not is_counter_id(value):
        raise ConfigError(f"TONGBAN_COUNTER_ID must be 1 to 64 of A-Z a-z 0-9 . _ - (starting with a letter or digit), "
                          f"not {value!r}")
    return value
