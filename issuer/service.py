"""The issuer as an application service: validation, allocation, signing and status publication.

Thin adapter around the pure parts (``issuer.validation``, ``issuer.issuance``, ``credentials``):
it loads key rings from the hub, writes to SQL in one transaction per issuance, and writes signed
Token Status Lists (CWT and JWT forms) under ``<data>/status/<authority>/<n>.{cwt,jwt}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from credentials import licence_type, sign_credential
from credentials.catalogue import StatusValidity, status_validity
from credentials.elicence_id import MAX_VERSION, format_id, parse_id
from credentials.status_list import (
    INVALID,
    SUSPENDED,
    VALID,
)
from credentials.status_uri import status_file
from issuer import (
    admin_sessions,  # noqa: F401 - registers /admin's session table on the shared metadata
    store,
)
from issuer.errors import NotAuthorisedError, ValidationError
from issuer.hub import Hub
from issuer.issuance import build_views, credential_expiry
from issuer.pii import Vault, load_issuer_secret, open_vault, open_vault_in
from issuer.status_publisher import StatusPublisher
from issuer.validation import validate_claims
from keys import PublicKey
from keys.layout import Layout
from storage import events

# ttl and exp of a list come from the catalogue, per licence type (credentials.catalogue.StatusValidity):
# an authority's lists take the shortest validity of the types it issues (``Issuer.validity``).


@dataclass(frozen=True)
class IssueRequest:
    """One licence of a batch (``Issuer.issue_many``): its claims, the device key it binds, what it succeeds."""

    raw_claims: Any
    holder_key: PublicKey
    replaces: str | None = None
    more_keys: tuple[PublicKey, ...] = ()  # dc+sd-jwt batch issuance: one more credential of the licence per key


@dataclass(frozen=True)
class IssuedLicence:
    elicence_id: str
    licence_type: str
    authority_id: str
    status_uri: str
    status_idx: int
    views: dict[str, bytes]  # tongban-cose: every view's COSE bytes; empty for SD-JWT VC
    expires_at: int = 0
    sd_jwts: tuple[str, ...] = ()  # dc+sd-jwt: one SD-JWT VC per holder key (issuer.sd_jwt_issuance)


class FormatSigner(Protocol):
    """A credential format other than tongban-cose: signs one licence (every credential of it) from its validated
    claims, request, status entry and expiry; ``issuer.sd_jwt_issuance.SdJwtFormat`` is the one there is."""

    def __call__(self, ltype: Any, claims: dict[str, Any], request: IssueRequest, status_idx: int, expires_at: int,
                 signer: Any, *, uri: str, authority_id: str, now: int) -> tuple[str, ...]: ...


def status_path(data_dir: Path, uri: str, suffix: str) -> Path:
    path = status_file(Layout(data_dir).status, uri, suffix)
    if path is None:
        raise ValidationError("status_uri", f"{uri!r} is not a tongban status-list URI")
    return path


class Issuer:
    def __init__(self, hub: Hub, engine: Engine, vault: Vault | None = None):
        self.hub = hub
        self.engine = engine
        self._vault = vault
        self._publisher: StatusPublisher | None = None
        # True where a background publisher runs (``service.worker.start_background``): changes then
        # wait up to its interval to be signed in one go; False (the command line): each is published at once.
        self.background = False

    @property
    def vault(self) -> Vault:
        return self.vault_in(None)

    def vault_in(self, conn: Connection | None) -> Vault:
        """Seals the personal data this issuer stores (``issuer.pii``): given, else opened on first use with the
        issuer secret of the hub's data directory (``PiiKeyError`` when it is not the database's). Inside a
        transaction pass its ``conn``: SQLite has one writer, a second connection would wait for this one."""
        if self._vault is None:
            secret = load_issuer_secret(self.hub.data_dir, value=self.hub.secret,
                                        passphrase=self.hub.rings.policy.passphrase)
            suite = self.hub.suite
            self._vault = open_vault(self.engine, secret, suite) if conn is None else open_vault_in(conn, secret, suite)
        return self._vault

    def issue(
        self, type_name: str, raw_claims: Any, holder_key: PublicKey, *, now: int, authority_id: str | None = None,
        views: tuple[str, ...] | None = None, lifetime: int | None = None, conn: Connection | None = None,
        replaces: str | None = None, sign: FormatSigner | None = None, more_keys: tuple[PublicKey, ...] = (),
    ) -> IssuedLicence:
        """Validate, allocate, sign and record one licence.

        ``views`` limits the views signed (default: all of the type); ``lifetime`` caps the credential's
        expiry at ``now + lifetime`` (short-lived health codes); with ``conn`` the issuance joins the caller's
        transaction, so it commits or rolls back with the caller's other writes. ``replaces`` names the
        e-licence identifier this one succeeds: the new one keeps its serial with the next version (the
        identifier's version field exists for this), so re-issuing daily health codes does not use up serials.
        ``sign`` and ``more_keys``: another format (SD-JWT VC), one credential per key (batch issuance).
        """
        return self.issue_many(type_name, [IssueRequest(raw_claims, holder_key, replaces, more_keys)], now=now,
                               authority_id=authority_id, views=views, lifetime=lifetime, conn=conn, sign=sign)[0]

    def issue_many(
        self, type_name: str, requests: Sequence[IssueRequest], *, now: int, authority_id: str | None = None,
        views: tuple[str, ...] | None = None, lifetime: int | None = None, conn: Connection | None = None,
        shard: int = 0, sign: FormatSigner | None = None,
    ) -> list[IssuedLicence]:
        """``issue`` for a batch of one type: every request validated first (one bad request fails the batch
        before anything is allocated), then K status indexes and the new serials taken in one statement each,
        every view signed with the authority's cached signer, the rows inserted in one batch, one commit.

        ``shard`` picks the status-index counter (``issuer.store``): give each concurrent bulk worker its own.
        ``sign`` signs another format than tongban-cose's views (``issuer.sd_jwt_issuance``): same allocation, row
        and status entry, so revocation, re-issue and compromise treat the licence alike in every format.
        """
        ltype = licence_type(type_name)
        if ltype is None:
            raise ValidationError("licence_type", f"unknown type {type_name!r}")
        authority = self.hub.authority(authority_id) if authority_id else self.hub.owner_of(type_name)
        if type_name not in authority.licence_types:
            raise NotAuthorisedError(f"{authority.name} ({authority.id}) is not authorised to issue {type_name}")
        validated = [validate_claims(ltype, request.raw_claims) for request in requests]
        signer = self.hub.signing_key(authority.id, now)
        if sign is not None and hasattr(sign, "check_signer"):
            sign.check_signer(signer.private)  # refuse before anything is allocated (an SM2 key cannot sign JOSE)
        cap = signer.not_after if lifetime is None else min(signer.not_after, now + lifetime)
        expiries = [credential_expiry(claims, key_not_after=cap) for claims in validated]
        batch = list(zip(requests, validated, expiries, strict=True))
        if conn is None:
            with self.engine.begin() as own:
                issued = self._issue_many(own, ltype, authority, signer, batch, now, views, shard, sign)
        else:
            issued = self._issue_many(conn, ltype, authority, signer, batch, now, views, shard, sign)
        for licence, request in zip(issued, requests, strict=True):
            # metrics and the audit log (storage.events), once committed; a caller's ``conn`` commits it later
            events.emit("issuance", licence_type=ltype.name, authority=authority.id, elicence_id=licence.elicence_id,
                        replaces=request.replaces, at=now)
        return issued

    def _issue_many(self, conn: Connection, ltype, authority, signer, batch, now: int, views, shard: int,
                    sign: FormatSigner | None = None) -> list[IssuedLicence]:
        numbers = [self._successor(ltype, authority, request.replaces) for request, _, _ in batch]
        serials = iter(store.next_serials(conn, authority.id, numbers.count(None)))
        numbers = [number or (next(serials), 1) for number in numbers]
        entries = store.allocate_statuses(conn, authority.id, ltype.name, len(batch), shard=shard)
        for uri, idx in entries:
            if idx == 0:
                # The first entry of a new list: publish the (all-valid) list before the credential exists, so a
                # counter that synced after this issuance knows the list, and a list it does not know is invalid.
                store.register_list(conn, authority.id, uri, now)
                self.publish_status_list(authority.id, uri, now=now, statuses={}, only_if_missing=True)
        issued, rows = [], []
        for (request, claims, expires_at), (serial, version), (uri, idx) in zip(batch, numbers, entries, strict=True):
            elicence_id = format_id(ltype.national_code, authority.issuer_code, serial, version)
            if sign is None:
                bodies = build_views(ltype, claims, holder_key=request.holder_key, serial=serial, version=version,
                                     status_idx=idx, status_uri=uri, now=now, expires_at=expires_at, views=views)
                signed, sd_jwts = {name: sign_credential(body, signer.private) for name, body in bodies.items()}, ()
            else:
                signed, sd_jwts = {}, sign(ltype, claims, request, idx, expires_at, signer.private, uri=uri,
                                           authority_id=authority.id, now=now)
            rows.append(dict(
                elicence_id=elicence_id, licence_type=ltype.name, authority_id=authority.id,
                holder_kid=request.holder_key.kid, status_uri=uri, status_idx=idx, status=VALID, issued_at=now,
                signed_kid=signer.public.kid,  # which key: a compromise marks exactly its credentials for re-issue
                expires_at=expires_at, needs_reissue_at=None,
                claims={k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in claims.items()}))
            issued.append(IssuedLicence(elicence_id, ltype.name, authority.id, uri, idx, signed, expires_at, sd_jwts))
        store.record_many(conn, self.vault_in(conn), rows)
        return issued

    @staticmethod
    def _successor(ltype, authority, replaces: str | None) -> tuple[int, int] | None:
        """(serial, version) of the identifier that succeeds ``replaces``; None: a new serial is needed."""
        if replaces is None:
            return None
        type_code, issuer_code, serial, version = parse_id(replaces)
        if (type_code, issuer_code) != (ltype.national_code, authority.issuer_code):
            raise ValidationError("replaces", f"{replaces} is not a {ltype.name} of {authority.id}")
        return (serial, version + 1) if version < MAX_VERSION else None

    def set_status(self, elicence_id: str, *, suspend: bool = False, reinstate: bool = False, now: int) -> int:
        """Revoke (default), suspend or reinstate one credential; its list is published (``publish_pending``)."""
        value = VALID if reinstate else SUSPENDED if suspend else INVALID
        changed, uris = store.set_statuses(self.engine, [elicence_id], value, now=now)  # marks its list, same txn
        self._told(changed, value, now)
        if not changed and value != INVALID:
            raise ValidationError("status", f"{elicence_id} is revoked; revocation is final")
        self.publish_pending(now=now, uris=uris)
        return value

    def set_statuses(self, elicence_ids: list[str], *, suspend: bool = False, reinstate: bool = False,
                     now: int) -> int:
        """The same for many credentials in one transaction (a burst: one commit, one mark per list); revoked ones
        stay revoked. Returns how many changed."""
        value = VALID if reinstate else SUSPENDED if suspend else INVALID
        changed, uris = store.set_statuses(self.engine, list(elicence_ids), value, now=now)
        self._told(changed, value, now)
        self.publish_pending(now=now, uris=uris)
        return len(changed)

    @staticmethod
    def _told(rows: list, value: int, now: int) -> None:
        """One ``status_change`` event per credential changed (metrics and the audit chain listen)."""
        status = {VALID: "valid", SUSPENDED: "suspended"}.get(value, "revoked")
        for row in rows:
            events.emit("status_change", licence_type=row.licence_type, authority=row.authority_id,
                        elicence_id=row.elicence_id, status=status, at=now)

    def retire(self, elicence_id: str, *, now: int) -> None:
        """Revoke a licence a newer issue replaced, unless it is already revoked."""
        if store.find(self.engine, elicence_id).status != INVALID:
            self.set_status(elicence_id, now=now)

    def validity(self, authority_id: str) -> StatusValidity:
        """ttl and lifetime of ``authority_id``'s lists: the shortest of the licence types it issues."""
        return status_validity(self.hub.authority(authority_id).licence_types)

    @property
    def publisher(self) -> StatusPublisher:
        """Publication of this hub's lists and their deltas (``issuer.status_publisher``)."""
        if self._publisher is None:
            self._publisher = StatusPublisher(self.hub.data_dir, self.engine, validity=self.validity,
                                              signer=self.hub.signing_key)
        return self._publisher

    def publish_status_list(self, authority_id: str, uri: str, *, now: int, statuses: dict[int, int] | None = None,
                            only_if_missing: bool = False, only_if_older_than: int | None = None) -> bool:
        """Re-sign one list from the database (and the delta it makes); True when it was (re-)signed.

        ``only_if_missing`` / ``only_if_older_than`` (seconds since the published ``iat``) are decided inside the
        publisher's turn, so several workers finding a list due re-sign it once (``issuer.status_publisher``).
        """
        if status_path(self.hub.data_dir, uri, "cwt") is None:
            raise ValidationError("status_uri", f"{uri!r} is not a tongban status-list URI")
        return bool(self.publisher.publish(authority_id, [uri], now=now, statuses=statuses,
                                           only_if_missing=only_if_missing, only_if_older_than=only_if_older_than))

    def publish_pending(self, *, now: int, uris: set[str] | None = None) -> int:
        """Publish the lists with committed, unpublished changes (their dirty marks). With a background publisher
        (``background``) a list is re-signed at most once per interval and the rest waits for its next run;
        without one (the command line) now, however recently it was signed."""
        return self.publisher.publish_pending(now=now, uris=uris, force=not self.background)

    def refresh_due(self, *, now: int) -> int:
        """Re-sign every list of this hub's authorities signed more than half its ttl ago (or never published);
        returns how many. ``tongban serve`` runs it in the background; ``tongban status publish`` re-signs all."""
        count = self.publisher.publish_pending(now=now, force=True)  # changes a crash left unpublished
        for authority in self.hub.authorities():
            half = max(1, self.validity(authority.id).ttl // 2)
            uris = store.list_uris(self.engine, authority.id) or [store.status_uri(authority.id, 1)]
            count += len(self.publisher.publish(authority.id, uris, now=now, only_if_older_than=half,
                                                heartbeat_after=half))
        return count

    def publish_all(self, *, now: int) -> int:
        """Re-sign every list (one turn and one delta per authority); the lists' registry is read by its index."""
        count = self.publisher.publish_pending(now=now, force=True)
        for authority in self.hub.authorities():
            uris = store.list_uris(self.engine, authority.id) or [store.status_uri(authority.id, 1)]
            count += len(self.publisher.publish(authority.id, uris, now=now, heartbeat_after=0))  # a fresh head too
        return count
