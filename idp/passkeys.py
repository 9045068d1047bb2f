"""Passkeys: WebAuthn Level 3 registration (§7.1) and authentication (§7.2) ceremonies, verified by py_webauthn.

What tongban asks of every ceremony, beyond what the library checks (challenge, type, origin, RP id hash, flags,
signature):

* **Relying party** = the issuer: RP id = the host of ``TONGBAN_ISSUER_URL``, origin = that URL's origin exactly
  (§5.1.4.1, §13.4.9). A hub reached by an IP address has no RP id (browsers refuse one): passkeys are off there.
* **User verification required** (``uv`` flag, §6.1): a passkey then is two factors, possession of the
  authenticator and the face, fingerprint or PIN that unlocked it: ``amr`` ``hwk`` + ``user`` (RFC 8176).
* **Discoverable credentials** (``residentKey: required``), so sign-in needs no username (``allowCredentials``
  empty); ``attestation: none`` (no authenticator model is collected or trusted).
* **Challenges** (§13.4.3): 32 random bytes, single-use (``consume``: taken from the store before anything is
  checked, whatever the outcome) and short-lived (``CHALLENGE_TTL``), stored under the ceremony's purpose and a
  *binding* the caller derives from the browser (its CSRF cookie; for the wallet, its DPoP key), so a challenge
  handed to one browser cannot be answered from another.
* **Signature counter** (§6.1.1): a counter that does not move forward when either side is non-zero marks a cloned
  authenticator: refused and audited (``passkey_sign_count_regression``); the update is compare-and-set.
* **Whose credential**: an assertion names a credential id; it must be registered (``passkey_unknown``: never, or
  removed), belong to the expected account when one is expected (the wallet's unlock), and the ``userHandle``,
  when the authenticator returns one, must be that account's.
* Failures count in the sign-in throttle (``idp.throttle``) under the account, or a keyed hash of an unknown id.

The user handle is a keyed hash of the account's ``sub`` (no personal data, §14.6.1); the names shown in the
passkey picker are the masked ID number and the masked name.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.audit import Audit
from idp.errors import PasskeyRefused
from idp.passkey_store import Passkey, PasskeyStore
from idp.secrets import Secrets
from idp.throttle import Throttle
from storage.kv import KeyValueStore

CHALLENGE_TTL = 120  # seconds a challenge may be answered in (the browser's own timeout is TIMEOUT_MS)
TIMEOUT_MS = 60_000
MAX_PASSKEYS = 10  # per account
MAX_RESPONSE = 16 * 1024  # characters of a credential's JSON; a real one is under 2 KiB
NAME_MAX = 40
AMR = ["hwk", "user"]  # RFC 8176 §2: proof of possession of a hardware key, user verified by the authenticator
_CAUGHT = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError)
log = logging.getLogger(__name__)

EXPIRED = PasskeyRefused("验证已过期，请重试。 / The passkey request expired or was already used; try again.",
                         "passkey_challenge")
UNKNOWN = "这个通行密钥未在本网站登记，或已被删除。 / This passkey is not registered here, or was removed."
INVALID = "通行密钥验证失败。 / The passkey could not be verified."
CLONED = ("这个通行密钥的使用计数倒退，可能已被复制，已拒绝。 / This passkey's use counter went backwards (it may have "
          "been copied): refused.")


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str = "通办 tongban"


def relying_party(issuer_url: str) -> RelyingParty | None:
    """The RP of this issuer: its host and exact origin; None when the host is an IP address (no valid RP id)."""
    parts = urlsplit(issuer_url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    return RelyingParty(host, f"{parts.scheme}://{parts.netloc}") if host else None


def _bounded(response: object) -> str:
    if not isinstance(response, str) or not response or len(response) > MAX_RESPONSE:
        raise PasskeyRefused(INVALID, "passkey_malformed")
    return response


def passkey_name(value: object) -> str:
    """The name a citizen gives a passkey: printable, at most ``NAME_MAX`` characters; empty → a default."""
    name = " ".join(value.split()) if isinstance(value, str) else ""
    if len(name) > NAME_MAX or not name.isprintable():
        raise PasskeyRefused(f"名称最多{NAME_MAX}个字。 / The name is at most {NAME_MAX} characters.", "passkey_name")
    return name or "通行密钥 / passkey"


class Passkeys:
    def __init__(self, store: PasskeyStore, kv: KeyValueStore, secrets_: Secrets, throttle: Throttle, audit: Audit,
                 issuer: Callable[[], str]):
        self.store, self.kv, self.secrets, self.throttle, self.audit = store, kv, secrets_, throttle, audit
        self._issuer = issuer

    @property
    def rp(self) -> RelyingParty | None:
        return relying_party(self._issuer())

    def _rp(self) -> RelyingParty:
        rp = self.rp
        if rp is None:
            raise PasskeyRefused("本服务通过 IP 地址访问，无法使用通行密钥。 / Passkeys need the service to be reached by "
                                 "a domain name (e.g. localhost), not an IP address.", "passkeys_unavailable")
        return rp

    def user_handle(self, sub: str) -> bytes:
        """The WebAuthn user.id of ``sub``: 32 bytes of a keyed hash, never personal data (§14.6.1)."""
        return bytes.fromhex(self.secrets.lookup_hash("webauthn-user:" + sub))

    # -- challenges: single-use, short-lived, bound to a purpose and a browser ----------------------------------
    def _challenge(self, purpose: str, binding: str, sub: str | None) -> bytes:
        challenge = secrets.token_bytes(32)
        self.kv.put(f"webauthn:{purpose}:{binding}",
                    json.dumps({"c": bytes_to_base64url(challenge), "sub": sub}), CHALLENGE_TTL)
        return challenge

    def _take(self, purpose: str, binding: str, sub: str | None) -> bytes:
        raw = self.kv.consume(f"webauthn:{purpose}:{binding}")
        pending = json.loads(raw) if raw else None
        if not pending or pending.get("sub") != sub:
            raise EXPIRED
        return base64url_to_bytes(pending["c"])

    # -- registration (§7.1) ---------------------------------------------------------------------------------
    def registration_options(self, sub: str, binding: str, *, user_name: str, display_name: str) -> dict:
        rp = self._rp()
        existing = self.store.of(sub)
        if len(existing) >= MAX_PASSKEYS:
            raise PasskeyRefused(f"最多可添加{MAX_PASSKEYS}个通行密钥。 / At most {MAX_PASSKEYS} passkeys per account.",
                                 "passkey_limit")
        options = generate_registration_options(
            rp_id=rp.id, rp_name=rp.name, user_id=self.user_handle(sub), user_name=user_name,
            user_display_name=display_name, challenge=self._challenge("register", binding, sub), timeout=TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
            exclude_credentials=[self._descriptor(p) for p in existing])
        return json.loads(options_to_json(options))

    def register(self, sub: str, binding: str, response: object, name: object, now: int) -> Passkey:
        rp, label = self._rp(), passkey_name(name)
        challenge = self._take("register", binding, sub)
        try:
            credential = parse_registration_credential_json(_bounded(response))
            verified = verify_registration_response(credential=credential, expected_challenge=challenge,
                                                    expected_rp_id=rp.id, expected_origin=rp.origin,
                                                    require_user_verification=True)
            if verified.credential_id != credential.raw_id:  # the id sent beside is not the one attested
                raise PasskeyRefused(INVALID, "passkey_invalid")
        except _CAUGHT as exc:
            log.info("passkey registration refused: %s", exc)
            raise PasskeyRefused(INVALID, "passkey_invalid") from exc
        if self.store.count(sub) >= MAX_PASSKEYS:
            raise PasskeyRefused(f"最多可添加{MAX_PASSKEYS}个通行密钥。 / At most {MAX_PASSKEYS} passkeys.", "passkey_limit")
        transports = [t.value for t in (credential.response.transports or [])]
        added = self.store.add(credential_id=bytes_to_base64url(verified.credential_id), sub=sub,
                               public_key=bytes_to_base64url(verified.credential_public_key),
                               sign_count=verified.sign_count, transports=transports, name=label, now=now)
        self.audit.record("passkey_added", now=now, sub=sub, credential=added.credential_id[:16])
        return added

    def remove(self, sub: str, credential_id: object, now: int) -> bool:
        if not isinstance(credential_id, str) or not credential_id or len(credential_id) > 1400:
            return False
        removed = self.store.remove(sub, credential_id)
        if removed:
            self.audit.record("passkey_removed", now=now, sub=sub, credential=credential_id[:16])
        return removed

    # -- authentication (§7.2) -------------------------------------------------------------------------------
    def authentication_options(self, purpose: str, binding: str, sub: str | None = None) -> dict:
        """Options for ``navigator.credentials.get``: for sign-in (``sub`` None) no ``allowCredentials``, the
        authenticator offers its discoverable credentials; for an account's unlock, that account's passkeys."""
        rp = self._rp()
        allow = [self._descriptor(p) for p in self.store.of(sub)] if sub is not None else []
        if sub is not None and not allow:
            raise PasskeyRefused("您还没有通行密钥：请先在“我的账户”添加。 / You have no passkey yet: add one on your "
                                 "account page first.", "passkey_none")
        options = generate_authentication_options(
            rp_id=rp.id, challenge=self._challenge(purpose, binding, sub), timeout=TIMEOUT_MS,
            allow_credentials=allow, user_verification=UserVerificationRequirement.REQUIRED)
        return json.loads(options_to_json(options))

    def authenticate(self, purpose: str, binding: str, response: object, now: int, *, source: str,
                     sub: str | None = None) -> Passkey:
        """Verify an assertion answering the challenge of (``purpose``, ``binding``); ``sub``: the account it
        must belong to. Returns the passkey used (its counter and last use recorded)."""
        rp = self._rp()
        challenge = self._take(purpose, binding, sub)
        try:
            credential = parse_authentication_credential_json(_bounded(response))
        except _CAUGHT as exc:
            raise PasskeyRefused(INVALID, "passkey_malformed") from exc
        found = self.store.get(credential.id) if len(credential.id) <= 1400 else None
        key = found.sub if found else "pk-" + self.secrets.lookup_hash("passkey:" + credential.id)
        self.throttle.check(key, source)
        try:
            self._check(found, credential, challenge, rp, sub, now)
        except PasskeyRefused as exc:
            self.throttle.failure(key, source)
            self.audit.record(f"{purpose}_failed" if purpose != "login" else "login_failed", now=now,
                              sub=found.sub if found else None, method="passkey", reason=exc.reason)
            raise
        self.throttle.success(found.sub, source)
        return found

    def _check(self, found: Passkey | None, credential, challenge: bytes, rp: RelyingParty, sub: str | None,
               now: int) -> None:
        if found is None or (sub is not None and found.sub != sub):
            raise PasskeyRefused(UNKNOWN, "passkey_unknown")
        handle = credential.response.user_handle
        if handle is not None and not secrets.compare_digest(handle, self.user_handle(found.sub)):
            raise PasskeyRefused(INVALID, "passkey_user_handle")
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp.id, expected_origin=rp.origin,
                credential_public_key=base64url_to_bytes(found.public_key), credential_current_sign_count=0,
                require_user_verification=True)
        except _CAUGHT as exc:
            log.info("passkey assertion refused: %s", exc)
            raise PasskeyRefused(INVALID, "passkey_invalid") from exc
        count = verified.new_sign_count
        regressed = (count or found.sign_count) and count <= found.sign_count
        if regressed or not self.store.used(found.credential_id, found.sign_count, count, now):
            self.audit.record("passkey_sign_count_regression", now=now, sub=found.sub,
                              credential=found.credential_id[:16], stored=found.sign_count, presented=count)
            raise PasskeyRefused(CLONED, "passkey_sign_count")

    @staticmethod
    def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
        known = {t.value for t in AuthenticatorTransport}
        return PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id),
                                             transports=[AuthenticatorTransport(t) for t in passkey.transports
                                                         if t in known])
