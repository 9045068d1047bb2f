"""The issuer as an application service: validation, allocation, signing and status publication.

Thin adapter around the pure parts (``issuer.validation``, ``issuer.issuance``, ``credentials``):
it loads key rings from the hub, writes to SQL in one transaction per issuance, and writes signed
Token Status Lists (CWT and JWT forms) under ``<data>/status/<authority>/<n>.{cwt,jwt}``.
"""

from __future__ import annotations

import fcntl
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from credentials import licence_type, sign_credential
from credentials.elicence_id import MAX_VERSION, format_id, parse_id
from credentials.status_list import (
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    sign_status_list_cwt,
    sign_status_list_jwt,
)
from credentials.status_uri import status_file
from issuer import (
    health_store,  # noqa: F401 - registers the health tables on the shared metadata
    store,
)
from issuer.errors import NotAuthorisedError, ValidationError
from issuer.hub import Hub
from issuer.issuance import build_views, credential_expiry
from issuer.validation import validate_claims
from keys import PublicKey

STATUS_BITS = 2
STATUS_TTL = 3600  # a verifier's cached list counts as current for one hour (Token Status List §5 ttl)
STATUS_LIFETIME = 7 * 24 * 3600


@dataclass(frozen=True)
class IssuedLicence:
    elicence_id: str
    licence_type: str
    authority_id: str
    status_uri: str
    status_idx: int
    views: dict[str, bytes]
    expires_at: int = 0


def status_path(data_dir: Path, uri: str, suffix: str) -> Path:
    path = status_file(data_dir / "status", uri, suffix)
    if path is None:
        raise ValidationError("status_uri", f"{uri!r} is not a tongban status-list URI")
    return path


class Issuer:
    def __init__(self, hub: Hub, engine: Engine):
        self.hub = hub
        self.engine = engine

    def issue(
        self, type_name: str, raw_claims: Any, holder_key: PublicKey, *, now: int, authority_id: str | None = None,
        views: tuple[str, ...] | None = None, lifetime: int | None = None, conn: Connection | None = None,
        replaces: str | None = None,
    ) -> IssuedLicence:
        """Validate, allocate, sign and record one licence.

        ``views`` limits the views signed (default: all of the type); ``lifetime`` caps the credential's
        expiry at ``now + lifetime`` (short-lived health codes); with ``conn`` the issuance joins the caller's
        transaction, so it commits or rolls back with the caller's other writes. ``replaces`` names the
        e-licence identifier this one succeeds: the new one keeps its serial with the next version (the
        identifier's version field exists for this), so re-issuing daily health codes does not use up serials.
        """
        ltype = licence_type(type_name)
        if ltype is None:
            raise ValidationError("licence_type", f"unknown type {type_name!r}")
        claims = validate_claims(ltype, raw_claims)
        authority = self.hub.authority(authority_id) if authority_id else self.hub.owner_of(type_name)
        if type_name not in authority.licence_types:
            raise NotAuthorisedError(f"{authority.name} ({authority.id}) is not authorised to issue {type_name}")
        signer = self.hub.rings.load(authority.id).signer(now)
        expires_at = credential_expiry(claims, key_not_after=signer.not_after)
        if lifetime is not None:
            expires_at = min(expires_at, now + lifetime)
        if conn is None:
            with self.engine.begin() as own:
                return self._issue(own, ltype, claims, authority, signer, holder_key, now, expires_at, views, replaces)
        return self._issue(conn, ltype, claims, authority, signer, holder_key, now, expires_at, views, replaces)

    def _issue(self, conn: Connection, ltype, claims, authority, signer, holder_key, now, expires_at,  # noqa: ANN001
               views, replaces: str | None = None) -> IssuedLicence:
        serial, version = self._serial_and_version(conn, ltype, authority, replaces)
        uri, idx = store.allocate_status(conn, authority.id)
        elicence_id = format_id(ltype.national_code, authority.issuer_code, serial, version)
        bodies = build_views(ltype, claims, holder_key=holder_key, serial=serial, version=version, status_idx=idx,
                             status_uri=uri, now=now, expires_at=expires_at, views=views)
        signed = {name: sign_credential(body, signer.private) for name, body in bodies.items()}
        store.record(
            conn, elicence_id=elicence_id, licence_type=ltype.name, authority_id=authority.id,
            holder_kid=holder_key.kid, status_uri=uri, status_idx=idx, status=VALID, issued_at=now,
            signed_kid=signer.public.kid,  # which key: a compromise marks exactly its credentials for re-issue
            expires_at=expires_at, claims={k: v.isoformat() if hasattr(v, "isoformat") else v
                                           for k, v in claims.items()},
        )
        return IssuedLicence(elicence_id, ltype.name, authority.id, uri, idx, signed, expires_at)

    @staticmethod
    def _serial_and_version(conn: Connection, ltype, authority, replaces: str | None) -> tuple[int, int]:  # noqa: ANN001
        if replaces is not None:
            type_code, issuer_code, serial, version = parse_id(replaces)
            if (type_code, issuer_code) != (ltype.national_code, authority.issuer_code):
                raise ValidationError("replaces", f"{replaces} is not a {ltype.name} of {authority.id}")
            if version < MAX_VERSION:
                return serial, version + 1
        return store.next_serial(conn, authority.id), 1

    def set_status(self, elicence_id: str, *, suspend: bool = False, reinstate: bool = False, now: int) -> int:
        value = VALID if reinstate else SUSPENDED if suspend else INVALID
        current = store.find(self.engine, elicence_id)
        if current.status == INVALID and value != INVALID:
            raise ValidationError("status", f"{elicence_id} is revoked; revocation is final")
        record = store.set_status(self.engine, elicence_id, value)
        self.publish_status_list(record.authority_id, record.status_uri, now=now)
        return value

    def retire(self, elicence_id: str, *, now: int) -> None:
        """Revoke a licence a newer issue replaced, unless it is already revoked."""
        if store.find(self.engine, elicence_id).status != INVALID:
            self.set_status(elicence_id, now=now)

    def publish_status_list(self, authority_id: str, uri: str, *, now: int) -> None:
        """Re-sign one list from the database. Publishers of one list take turns (a file lock) and read the
        statuses inside their turn, so the file last written holds every change committed before it: two
        publishers finishing out of order cannot put an older snapshot over a newer one."""
        cwt_path = status_path(self.hub.data_dir, uri, "cwt")
        cwt_path.parent.mkdir(parents=True, exist_ok=True)
        with open(cwt_path.with_name(f".{cwt_path.stem}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            status_list = StatusList(bits=STATUS_BITS, size=store.LIST_CAPACITY)
            for idx, value in store.statuses(self.engine, uri).items():
                status_list.set(idx, value)
            signer = self.hub.rings.load(authority_id).signer(now)
            common = dict(subject_uri=uri, issued_at=now, expires_at=now + STATUS_LIFETIME, ttl=STATUS_TTL,
                          alg=signer.public.alg)
            cwt = sign_status_list_cwt(status_list, signing_key=signer.private, kid=signer.public.short_kid, **common)
            jwt_token = sign_status_list_jwt(status_list, signing_key=signer.private, kid=signer.public.kid,
                                             **common)
            for suffix, content in (("cwt", cwt), ("jwt", jwt_token.encode())):
                path = status_path(self.hub.data_dir, uri, suffix)
                tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
                tmp.write_bytes(content)
                tmp.replace(path)

    def publish_all(self, *, now: int) -> int:
        count = 0
        for authority in self.hub.authorities():
            for uri in store.list_uris(self.engine, authority.id) or [store.status_uri(authority.id, 1)]:
                self.publish_status_list(authority.id, uri, now=now)
                count += 1
        return count
