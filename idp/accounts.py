"""Real-name accounts: registration against the population registry, password (+ TOTP) sign-in.

Passwords are Argon2id (``idp.passwords``). The ID number, name and phone number are stored sealed
(``idp.secrets``), the ID number and phone with keyed hashes beside them for look-ups; none is ever logged.

A sign-in reads the account once (with its password hash and TOTP secret). ``get`` (by ``sub``: consent,
UserInfo, the account pages) is cached in-process for ``CACHE_SECONDS``, and every change made here drops the
entry at once; another instance sees a change within that time. What must be current at every request does not
come from this cache: a token's validity is its family row (``idp.grants``), which goes with the account.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import pyotp
from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from idp import models
from idp.audit import Audit
from idp.errors import (
    AccountExists,
    BadCredentials,
    IdpSuiteMismatch,
    InvalidInput,
    RegistryMismatch,
    SecondFactorRequired,
)
from idp.identity import check_password, normalise_id_number, normalise_name, normalise_phone, username_kind
from idp.passwords import HASHER, hash_password, verify_password  # HASHER: also for idp's callers
from idp.registry import PopulationRegistry
from idp.secrets import Secrets
from idp.throttle import Throttle
from storage.kv import KeyValueStore

ASSURANCE = ("real-name", "real-person", "counter-verified")  # ascending; these are the acr values
TOTP_ISSUER = "通办 tongban"
CACHE_SECONDS = 30


def phone_hash(secrets_: Secrets, phone: str) -> str:
    """The keyed look-up hash of a phone number (its own domain: never equal to an ID number's hash)."""
    return secrets_.lookup_hash("tel:" + phone)


def acr_rank(acr: str | None) -> int:
    return ASSURANCE.index(acr) if acr in ASSURANCE else -1


@dataclass(frozen=True)
class Account:
    sub: str
    name: str
    phone: str
    assurance: str
    totp_enabled: bool
    id_enc: str


class Accounts:
    def __init__(self, engine: Engine, store: KeyValueStore, secrets_: Secrets, registry: PopulationRegistry,
                 throttle: Throttle, audit: Audit):
        self.engine, self.store, self.secrets, self.registry = engine, store, secrets_, registry
        self.throttle, self.audit = throttle, audit
        self._dummy: str | None = None  # made at the first unknown username, not at every start (33 ms of Argon2id)
        self._cache: dict[str, tuple[float, Account]] = {}

    def _dummy_hash(self) -> str:
        """A hash of a random password at the project's parameters: an unknown username costs the same Argon2id
        verification as a known one (no timing oracle for who has an account)."""
        if self._dummy is None:
            self._dummy = HASHER.hash(secrets.token_hex(16))
        return self._dummy

    # -- registration -------------------------------------------------------------------------
    def register(self, name: object, id_number: object, phone: object, password: object, now: int) -> Account:
        """Validate every field, check name + ID against the registry, then create the account."""
        name, id_number = normalise_name(name), normalise_id_number(id_number)
        phone, password = normalise_phone(phone), check_password(password)
        if not self.registry.matches(name, id_number):
            self.audit.record("register_mismatch", now=now)
            raise RegistryMismatch(
                "姓名与身份证号码不一致，未创建账户。 / The name and ID number do not match the population "
                "registry; no account was created."
            )
        sub = secrets.token_urlsafe(16)
        row = {
            "sub": sub, "name_enc": self.secrets.encrypt(name), "id_hash": self.secrets.lookup_hash(id_number),
            "id_enc": self.secrets.encrypt(id_number), "phone_hash": phone_hash(self.secrets, phone),
            "phone_enc": self.secrets.encrypt(phone), "password_hash": hash_password(password),
            "totp_enc": None, "assurance": "real-name", "created_at": now,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(models.accounts).values(**row))
        except IntegrityError as exc:
            raise AccountExists(
                "该身份证号码或手机号码已注册。 / An account with this ID number or phone exists."
            ) from exc
        self.audit.record("register", sub=sub, now=now)
        return self.get(sub)

    # -- look-ups -----------------------------------------------------------------------------
    def _row(self, where) -> tuple[Account, str, str | None] | None:
        """The account with its password hash and sealed TOTP secret, in one query."""
        with self.engine.connect() as conn:
            r = conn.execute(select(models.accounts).where(where)).first()
        if r is None:
            return None
        name = r.name if r.name is not None else self.secrets.decrypt(r.name_enc)  # clear: a row not yet sealed
        phone = r.phone if r.phone is not None else self.secrets.decrypt(r.phone_enc)
        return Account(r.sub, name, phone, r.assurance, r.totp_enc is not None, r.id_enc), r.password_hash, r.totp_enc

    @staticmethod
    def check_suite_of(engine: Engine, secrets_: Secrets) -> None:
        """Refuse to run on accounts sealed under the other suite (``idp.secrets``): their look-up hashes would
        never match again, and every citizen would seem unregistered. One row tells: a hub's suite is fixed."""
        with engine.connect() as conn:
            sample = conn.execute(select(models.accounts.c.id_enc).limit(1)).scalar()
        if sample is not None and not secrets_.sealed_under_this_suite(sample):
            other = "guomi" if secrets_.suite.name == "standard" else "standard"
            raise IdpSuiteMismatch(
                f"身份认证数据库与密码套件不符 / the identity provider's accounts were sealed under the {other} suite, "
                f"but the hub uses {secrets_.suite.name}: a suite is chosen once, when the hub is made "
                "(check TONGBAN_SUITE and hub.json)")

    def get(self, sub: str) -> Account | None:
        hit = self._cache.get(sub) if isinstance(sub, str) else None
        if hit and hit[0] > time.monotonic():
            return hit[1]
        found = self._row(models.accounts.c.sub == sub)
        if found is None:
            return None
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[sub] = (time.monotonic() + CACHE_SECONDS, found[0])
        return found[0]

    def forget(self, sub: str) -> None:
        """Drop ``sub`` from the cache (after any change to the account)."""
        self._cache.pop(sub, None)

    def _lookup(self, username: str) -> tuple[Account, str, str | None] | None:
        username = username.strip()
        if username_kind(username) == "phone":
            table = models.accounts
            return self._row(or_(table.c.phone_hash == phone_hash(self.secrets, username), table.c.phone == username))
        try:
            id_number = normalise_id_number(username)
        except InvalidInput:
            return None
        return self._row(models.accounts.c.id_hash == self.secrets.lookup_hash(id_number))

    def find(self, username: str) -> Account | None:
        found = self._lookup(username)
        return found[0] if found else None

    def id_number(self, account: Account) -> str:
        return self.secrets.decrypt(account.id_enc)

    def set_assurance(self, sub: str, level: str) -> None:
        if level not in ASSURANCE:
            raise InvalidInput("assurance", f"unknown assurance level {level!r}: one of {', '.join(ASSURANCE)}")
        with self.engine.begin() as conn:
            conn.execute(update(models.accounts).where(models.accounts.c.sub == sub).values(assurance=level))
        self.forget(sub)

    # -- sign-in ------------------------------------------------------------------------------
    def authenticate(self, username: object, password: object, otp: object, source: str, now: int) -> Account:
        """Password (+ TOTP when enrolled) with throttling; raises BadCredentials / LockedOut / ..."""
        if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
            raise BadCredentials("请输入证件号码或手机号以及密码。 / Enter your ID number or phone and your password.")
        found = self._lookup(username[:64])
        account, stored, totp_enc = found if found else (None, self._dummy_hash(), None)
        # An unknown username is throttled exactly like a real account (no enumeration), under a keyed hash.
        key = account.sub if account else "u-" + self.secrets.lookup_hash(username[:64].strip())
        self.throttle.check(key, source)
        ok = verify_password(stored, password[:1024]) and account is not None
        if ok and account.totp_enabled:
            if not isinstance(otp, str) or not otp.strip():
                raise SecondFactorRequired("请输入动态验证码。 / Enter the code from your authenticator app.")
            ok = self._check_totp(account, otp.strip(), now, totp_enc)
        if not ok:
            self.throttle.failure(key, source)
            self.audit.record("login_failed", sub=account.sub if account else None, now=now)
            raise BadCredentials("账号或密码错误。 / The username or password is wrong.")
        self.throttle.success(account.sub, source)
        if HASHER.check_needs_rehash(stored):
            self._set_password_hash(account.sub, hash_password(password))
        self.audit.record("login", sub=account.sub, now=now)
        return account

    def password_is(self, account: Account, password: str) -> bool:
        """Whether ``password`` opens ``account``, with no throttling and no audit: for the production start-up
        check that the demo accounts' documented passwords no longer work (``service.production``)."""
        return verify_password(self._password_hash(account.sub), password)

    def delete(self, sub: str, now: int) -> bool:
        """Remove an account; its consents and refresh tokens go with it (ON DELETE CASCADE), its SSO
        sessions end, and its access tokens stop working (they no longer resolve to an account)."""
        with self.engine.begin() as conn:
            removed = conn.execute(delete(models.accounts).where(models.accounts.c.sub == sub)).rowcount
        self.forget(sub)
        if removed:
            self.audit.record("account_deleted", sub=sub, now=now)
        return bool(removed)

    def _password_hash(self, sub: str) -> str:
        with self.engine.connect() as conn:
            q = select(models.accounts.c.password_hash).where(models.accounts.c.sub == sub)
            return conn.execute(q).scalar_one()

    def _set_password_hash(self, sub: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(models.accounts).where(models.accounts.c.sub == sub).values(password_hash=value))

    # -- TOTP (RFC 6238) ----------------------------------------------------------------------
    def begin_totp(self, account: Account) -> tuple[str, str]:
        """A new secret, pending until confirmed with a first code; returns (secret, otpauth URI)."""
        secret = pyotp.random_base32()
        self.store.put(f"totp-pending:{account.sub}", secret, 600)
        return secret, pyotp.TOTP(secret).provisioning_uri(name=account.phone, issuer_name=TOTP_ISSUER)

    def confirm_totp(self, account: Account, code: object, now: int) -> None:
        secret = self.store.get(f"totp-pending:{account.sub}")
        if secret is None:
            raise InvalidInput("otp", "请重新开始绑定。 / Start the enrolment again.")
        if not isinstance(code, str) or not pyotp.TOTP(secret).verify(code.strip(), for_time=now, valid_window=1):
            raise InvalidInput("otp", "验证码不正确。 / The code is not correct.")
        self.store.delete(f"totp-pending:{account.sub}")
        with self.engine.begin() as conn:
            conn.execute(update(models.accounts).where(models.accounts.c.sub == account.sub)
                         .values(totp_enc=self.secrets.encrypt(secret)))
        self.forget(account.sub)
        self.audit.record("totp_enrolled", sub=account.sub, now=now)

    def disable_totp(self, account: Account, now: int, *, otp: object = None, password: object = None,
                     source: str = "") -> None:
        """Turning the second factor off needs a current code or the password (ASVS V2.5: a stolen session
        alone must not weaken the account). Wrong answers count in the sign-in throttle."""
        self.throttle.check(account.sub, source)
        if isinstance(otp, str) and otp.strip():
            ok = self._check_totp(account, otp.strip(), now)
        elif isinstance(password, str) and password:
            ok = verify_password(self._password_hash(account.sub), password[:1024])
        else:
            raise InvalidInput("otp", "请输入当前动态验证码或登录密码。 / Enter a current code or your password.")
        if not ok:
            self.throttle.failure(account.sub, source)
            raise InvalidInput("otp", "验证码或密码不正确。 / The code or password is not correct.")
        with self.engine.begin() as conn:
            conn.execute(update(models.accounts).where(models.accounts.c.sub == account.sub).values(totp_enc=None))
        self.forget(account.sub)
        self.audit.record("totp_removed", sub=account.sub, now=now)

    def _check_totp(self, account: Account, code: str, now: int, enc: str | None = None) -> bool:
        if enc is None:  # not read with the account (sign-in reads it there): read it now
            with self.engine.connect() as conn:
                enc = conn.execute(select(models.accounts.c.totp_enc)
                                   .where(models.accounts.c.sub == account.sub)).scalar()
        if not enc or not code.isdigit():
            return False
        if not pyotp.TOTP(self.secrets.decrypt(enc)).verify(code, for_time=now, valid_window=1):
            return False
        # A code is good once (RFC 6238 §5.2): remember it for the window it could still verify in.
        return self.store.incr(f"totp-used:{account.sub}:{code}", 90) == 1


