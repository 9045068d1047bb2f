"""The signed trust list that offline verifiers download.

A compact JWS (RFC 7515) signed by the hub root key, ``typ`` ``tongban-trust-list+jwt``. It names
every issuing authority with its id, name, region code (GB/T 2260), the issuer code used in
e-licence identifiers, the licence types it may issue, and its public keys with their validity
windows; plus a monotonically increasing ``version`` and an ``exp``. A verifier accepts a list only
if the configured root signed it, it has not expired, and its version is newer than the one it holds.
The signature algorithm is fixed by the configured root key, never read from the token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt

from keys.errors import KeyFormatError, TrustListError
from keys.material import PrivateKey, PublicKey

TYP = "tongban-trust-list+jwt"


@dataclass(frozen=True)
class TrustedKey:
    public: PublicKey
    not_before: int
    not_after: int

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

    def may_issue(self, licence_type: str) -> bool:
        return licence_type in self.licence_types


@dataclass(frozen=True)
class TrustList:
    version: int
    issued_at: int
    expires_at: int
    authorities: tuple[Authority, ...]
    status_base: str = ""

    def find_key(self, short_kid: bytes) -> tuple[Authority, TrustedKey] | None:
        """Find an issuer key by the 8-byte kid a compact credential carries."""
        for authority in self.authorities:
            for key in authority.keys:
                if key.public.short_kid == short_kid:
                    return authority, key
        return None

    def authority(self, authority_id: str) -> Authority | None:
        return next((a for a in self.authorities if a.id == authority_id), None)

    def to_claims(self) -> dict[str, Any]:
        return {
            "iss": "tongban-hub", "iat": self.issued_at, "exp": self.expires_at, "version": self.version,
            "status_base": self.status_base,
            "authorities": [
                {
                    "id": a.id, "name": a.name, "region": a.region, "issuer_code": a.issuer_code,
                    "licence_types": list(a.licence_types),
                    "keys": [
                        {"jwk": k.public.public_jwk(), "not_before": k.not_before, "not_after": k.not_after}
                        for k in a.keys
                    ],
                }
                for a in self.authorities
            ],
        }

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> TrustList:
        try:
            authorities = tuple(
                Authority(
                    id=str(a["id"]), name=str(a["name"]), region=str(a["region"]),
                    issuer_code=str(a["issuer_code"]), licence_types=tuple(map(str, a["licence_types"])),
                    keys=tuple(
                        TrustedKey(PublicKey.from_jwk(k["jwk"]), int(k["not_before"]), int(k["not_after"]))
                        for k in a["keys"]
                    ),
                )
                for a in claims["authorities"]
            )
            return cls(
                version=int(claims["version"]), issued_at=int(claims["iat"]), expires_at=int(claims["exp"]),
                authorities=authorities, status_base=str(claims.get("status_base", "")),
            )
        except (KeyError, TypeError, ValueError, KeyFormatError) as exc:
            raise TrustListError(f"trust list content is malformed: {exc}", "trust_list_malformed") from exc


def sign_trust_list(trust_list: TrustList, root: PrivateKey) -> str:
    headers = {"typ": TYP, "kid": root.kid}
    return jwt.encode(trust_list.to_claims(), root.crypto_key(), algorithm=root.alg, headers=headers)


CLOCK_SKEW = 300
_NO_CLOCK = {"verify_exp": False, "verify_iat": False, "verify_nbf": False, "require": ["exp", "iat"]}


def verify_trust_list(
    token: str, root: PublicKey, *, now: int, current_version: int | None = None, allow_expired: bool = False,
) -> TrustList:
    """Verify ``token`` against the configured root; raise ``TrustListError`` with a reason code.

    Times are checked against the injected ``now`` only (PyJWT's own clock checks are off).
    ``allow_expired`` lets a verifier load its cached list and report expiry per decision.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TrustListError(f"not a signed trust list: {exc}", "trust_list_malformed") from exc
    if header.get("typ") != TYP:
        raise TrustListError(f"wrong token type {header.get('typ')!r}", "trust_list_malformed")
    try:
        claims = jwt.decode(
            token, root.crypto_key(), algorithms=[root.alg], options=_NO_CLOCK
        )
    except jwt.InvalidSignatureError as exc:
        raise TrustListError(
            "trust list is not signed by the configured hub root key", "trust_list_untrusted_root"
        ) from exc
    except jwt.PyJWTError as exc:
        raise TrustListError(f"trust list refused: {exc}", "trust_list_malformed") from exc
    trust_list = TrustList.from_claims(claims)
    if trust_list.issued_at > now + CLOCK_SKEW:
        raise TrustListError("trust list is dated in the future: check this device's clock",
                             "trust_list_not_yet_valid")
    if trust_list.expires_at <= now and not allow_expired:
        raise TrustListError("trust list has expired: download a fresh one", "trust_list_expired")
    if current_version is not None and trust_list.version < current_version:
        raise TrustListError(
            f"trust list version {trust_list.version} is older than the cached version {current_version}",
            "trust_list_rollback",
        )
    return trust_list
