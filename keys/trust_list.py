"""The signed trust list that offline verifiers download.

A compact JWS (RFC 7515) signed by the hub root key, ``typ`` ``tongban-trust-list+jwt``. It names
every issuing authority with its id, name, region code (GB/T 2260), the issuer code used in
e-licence identifiers, the licence types it may issue, and its public keys with their validity
windows; plus a monotonically increasing ``version`` and an ``exp``. A verifier accepts a list only
if the configured root signed it, it has not expired, and its version is newer than the one it holds.
The signature algorithm is fixed by the configured root key, never read from the token: a header ``alg``
other than the root's (``none``, ``HS256``, ...) is refused before any signature check (RFC 8725 §3.1).
The root may be ES256, EdDSA or SM2 (``keys.jws`` signs and checks with the key object itself).

Each key's JWK names its suite in ``alg`` (ES256, EdDSA or SM2), and the name must agree with the key's curve
(P-256, Ed25519, SM2): a verifier takes a credential's algorithm from the trust list's key, never from the
credential, and an authority may sign with another suite than its neighbours (互通互认 across suites).
A list whose key has no ``alg``, or one its curve does not carry, is ``trust_list_malformed``.

Each key also carries ``signs_until``, the last moment (the issuer's clock) it signed anything: a retired
key keeps verifying what it signed until ``not_after``, but a credential it claims to have signed after
its retirement is refused (``key_retired``). Lists signed before the field existed are read with
``signs_until = not_after``. Each authority lists the 8-byte kids of its ``compromised`` keys (hex); such a
key is absent from ``keys`` and a verifier names the cause (``key_compromised``) instead of ``unknown_key``.

Mutual recognition (互通互认): ``region`` names the GB/T 2260 division the hub serves; an authority this hub
recognises from another region's hub carries ``recognised_until``, the moment that region's own signed list
expires: a verifier trusts it no longer after that, however long this list lives (``recognition_expired``),
and a hub recognising this one takes only the authorities without it (recognition is not transitive).

Every number is an integer in [0, 2^53) (the range JSON carries exactly, RFC 7493 §2.2) and every text is
text; anything else is ``trust_list_malformed``, whatever the signature says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jwt

from keys.errors import KeyFormatError, TrustListError
from keys.jws import jws_decode, jws_encode
from keys.material import PublicKey
from keys.private_key import PrivateKey

TYP = "tongban-trust-list+jwt"


MAX_NUMBER = 2**53  # times and versions are below this (RFC 7493 §2.2: the integers JSON carries exactly)


@dataclass(frozen=True)
class TrustedKey:
    public: PublicKey
    not_before: int
    not_after: int
    signs_until: int | None = None  # None: until ``not_after`` (a current signer, or a list from before the field)

    def __post_init__(self) -> None:
        if self.signs_until is None:
            object.__setattr__(self, "signs_until", self.not_after)

    def verifies_at(self, now: int) -> bool:
        return self.not_before <= now <= self.not_after


@dataclass(frozen=True)
class Authority:
    id: str
    name: str
    region: str
    issuer_code: str
    licence_types: tuple[str, ...]
    keys: tuple[TrustedKey, ...] = field(default=())
    compromised: tuple[bytes, ...] = field(default=())  # 8-byte kids of keys the hub withdrew as compromised
    recognised_until: int | None = None  # another region's authority: trusted until its own hub's list expires

    def __post_init__(self) -> None:
        # A key named compromised is never trusted, even if a list also names it among the keys.
        if self.compromised:
            object.__setattr__(self, "keys", tuple(k for k in self.keys if k.public.short_kid not in self.compromised))

    def may_issue(self, licence_type: str) -> bool:
        return licence_type in self.licence_types

    @property
    def recognised(self) -> bool:
        """Another region's authority, vouched for by this hub through mutual recognition."""
        return self.recognised_until is not None


@dataclass(frozen=True)
class TrustList:
    version: int
    issued_at: int
    expires_at: int
    authorities: tuple[Authority, ...]
    status_base: str = ""
    region: str = ""  # the GB/T 2260 division this hub serves ("" in lists signed before regions)

    def find_key(self, short_kid: bytes) -> tuple[Authority, TrustedKey] | None:
        """Find an issuer key by the 8-byte kid a compact credential carries."""
        for authority in self.authorities:
            for key in authority.keys:
                if key.public.short_kid == short_kid:
                    return authority, key
        return None

    def compromised(self, short_kid: bytes) -> bool:
        """True when an authority withdrew the key with this 8-byte kid as compromised."""
        return any(short_kid in authority.compromised for authority in self.authorities)

    def authority(self, authority_id: str) -> Authority | None:
        return next((a for a in self.authorities if a.id == authority_id), None)

    def to_claims(self) -> dict[str, Any]:
        return {
            "iss": "tongban-hub", "iat": self.issued_at, "exp": self.expires_at, "version": self.version,
            "status_base": self.status_base, **({"region": self.region} if self.region else {}),
            "authorities": [
                {
                    "id": a.id, "name": a.name, "region": a.region, "issuer_code": a.issuer_code,
                    "licence_types": list(a.licence_types),
                    "keys": [
                        {"jwk": k.public.public_jwk(), "not_before": k.not_before, "not_after": k.not_after,
                         "signs_until": k.signs_until}
                        for k in a.keys
                    ],
                    **({"compromised": [kid.hex() for kid in a.compromised]} if a.compromised else {}),
                    **({"recognised_until": a.recognised_until} if a.recognised_until is not None else {}),
                }
                for a in self.authorities
            ],
        }

    @classmethod
    def from_claims(cls, claims: Any) -> TrustList:
        """Read verified claims; any value of the wrong type or out of range is ``trust_list_malformed``."""
        try:
            authorities = tuple(_authority(a) for a in _list(claims, "authorities"))
            return cls(
                version=_number(claims, "version"), issued_at=_number(claims, "iat"), expires_at=_number(claims, "exp"),
                authorities=authorities, status_base=_text(claims, "status_base", default=""),
                region=_text(claims, "region", default=""),
            )
        except (KeyError, TypeError, ValueError, KeyFormatError) as exc:
            raise TrustListError(f"trust list content is malformed: {exc}", "trust_list_malformed") from exc


def _field(obj: Any, name: str) -> Any:
    if not isinstance(obj, dict):
        raise TypeError(f"expected an object holding {name!r}")
    if name not in obj:
        raise KeyError(name)
    return obj[name]


def _number(obj: Any, name: str, default: int | None = None) -> int:
    if default is not None and isinstance(obj, dict) and name not in obj:
        return default
    value = _field(obj, name)
    if type(value) is not int or not 0 <= value < MAX_NUMBER:  # bool is an int subclass: refused here too
        raise ValueError(f"{name} must be an integer from 0 to 2^53-1")
    return value


def _text(obj: Any, name: str, default: str | None = None) -> str:
    if default is not None and isinstance(obj, dict) and name not in obj:
        return default
    value = _field(obj, name)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    return value


def _list(obj: Any, name: str, default: list | None = None) -> list:
    if default is not None and isinstance(obj, dict) and name not in obj:
        return default
    value = _field(obj, name)
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list")
    return value


def _short_kid(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) != 16 or value != value.lower():
        raise ValueError("a compromised kid is 16 lowercase hex digits")
    return bytes.fromhex(value)


def _trusted_key(k: Any) -> TrustedKey:
    not_after = _number(k, "not_after")
    jwk = _field(k, "jwk")
    suite = _text(jwk, "alg")  # required: the list names each key's suite; from_jwk checks it fits the curve
    return TrustedKey(PublicKey.from_jwk(jwk, suite), _number(k, "not_before"), not_after,
                      _number(k, "signs_until", default=not_after))


def _authority(a: Any) -> Authority:
    licence_types = _list(a, "licence_types")
    if not all(isinstance(t, str) for t in licence_types):
        raise ValueError("licence_types must be text")
    return Authority(
        id=_text(a, "id"), name=_text(a, "name"), region=_text(a, "region"), issuer_code=_text(a, "issuer_code"),
        licence_types=tuple(licence_types), keys=tuple(_trusted_key(k) for k in _list(a, "keys")),
        compromised=tuple(_short_kid(kid) for kid in _list(a, "compromised", default=[])),
        recognised_until=_number(a, "recognised_until") if isinstance(a, dict) and "recognised_until" in a else None,
    )


def sign_trust_list(trust_list: TrustList, root: PrivateKey) -> str:
    return jws_encode(trust_list.to_claims(), root, headers={"typ": TYP, "kid": root.kid})


CLOCK_SKEW = 300


def _shown(value: Any) -> str:
    """A header value as the operator sees it: quoted text, cut short (it is attacker-chosen)."""
    return repr(value[:20]) if isinstance(value, str) else "no algorithm" if value is None else "a non-text value"


def verify_trust_list(
    token: str, root: PublicKey, *, now: int, current_version: int | None = None, allow_expired: bool = False,
) -> TrustList:
    """Verify ``token`` against the configured root; raise ``TrustListError`` with a reason code.

    Times are checked against the injected ``now`` only (PyJWT's own clock checks are off).
    ``allow_expired`` lets a verifier load its cached list and report expiry per decision.
    """
    trust_list = verify_trust_list_signature(token, root)
    check_trust_list_time(trust_list, now, allow_expired=allow_expired)
    if current_version is not None and trust_list.version < current_version:
        raise TrustListError(
            f"trust list version {trust_list.version} is older than the cached version {current_version}",
            "trust_list_rollback",
        )
    return trust_list


def check_trust_list_time(trust_list: TrustList, now: int, *, allow_expired: bool = False) -> None:
    """The clock-dependent part of verification, apart, so a verifier can keep a verified list and re-check it."""
    if trust_list.issued_at > now + CLOCK_SKEW:
        raise TrustListError("trust list is dated in the future: check this device's clock",
                             "trust_list_not_yet_valid")
    if trust_list.expires_at <= now and not allow_expired:
        raise TrustListError("trust list has expired: download a fresh one", "trust_list_expired")


def verify_trust_list_signature(token: str, root: PublicKey) -> TrustList:
    """The clock-free part: type, algorithm (the root's), signature and content."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TrustListError("the downloaded file is not a signed trust list (a JWS in compact form)",
                             "trust_list_malformed") from exc
    if header.get("typ") != TYP:
        raise TrustListError(f"the downloaded token is not a trust list (its type is {_shown(header.get('typ'))})",
                             "trust_list_malformed")
    if header.get("alg") != root.alg:
        # Checked here, in our words, before PyJWT sees the token (RFC 8725 §3.1: the verifier picks the algorithm).
        raise TrustListError(
            f"the trust list says it is signed with {_shown(header.get('alg'))}, but the hub root key this counter "
            f"trusts signs with {root.alg}: refused (forged, or from another hub)", "trust_list_algorithm")
    try:
        # Only the JWS layer: times are checked against the injected ``now``, every type and range in from_claims.
        claims = json.loads(jws_decode(token, root))
    except jwt.InvalidSignatureError as exc:
        raise TrustListError(
            "trust list is not signed by the configured hub root key", "trust_list_untrusted_root"
        ) from exc
    except (jwt.PyJWTError, ValueError, RecursionError) as exc:
        # PyJWT's words (its exception text) go to the log through the cause, not to the counter's operator.
        raise TrustListError("the trust list's signature or content cannot be read: refused",
                             "trust_list_malformed") from exc
    return TrustList.from_claims(claims)
