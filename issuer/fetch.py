"""免证办: a counter fetches a licence from the issuer, once, with the holder's authorisation (issue 11).

The holder's wallet asks for a **fetch handle** for one licence it holds (``grant``, authorised by the wallet's
own access token): 16 random bytes, kept here (by their SHA-256) for ``GRANT_TTL`` seconds, bound to

* the licence (its ``elicence_id``, and so its register record),
* the device key the licence was issued to (``holder_kid``, RFC 7638 thumbprint),
* the citizen (the token's ``sub``: whose disclosure record the fetch goes into),
* on a two-way counter, that counter's id (the ``aud`` the wallet read from the counter's code).

The wallet signs the handle into the holder proof of the code it shows (``credentials.presentation``, claim
-65537), beside the proof's time and (two-way) the counter's id and challenge. A counter that is an OAuth
client of the IdP with the ``counter`` role (``idp.client_credentials``) sends the whole code to ``redeem``:

    parse → handle present → handle known → same licence (type, serial, version → elicence_id) → device key
    is the bound one → holder proof verifies under it → proof fresh (≤ GRANT_TTL old) → counter allowed
    (the bound audience, or the signed ``aud``, is this counter's id) → handle consumed (atomically: of two
    redemptions one wins) → licence still valid → the record's claims and portrait

Every check runs before the handle is consumed, so a code forged around a captured handle (another licence,
another key, an old proof, another counter) spends nothing; the legitimate redemption still works. What it
does not cover: a counter that was authorised may keep what it received, as a clerk may photocopy a card; the
audit and the citizen's record say which counter fetched what, when. At a one-way counter the handle names no
counter (the phone does not know which one it faces), so another *registered* counter that photographs the
screen could redeem it first; the holder then sees it in their record, and the real counter gets ``handle_used``.
Two-way counters close that: the handle and the code name the counter the phone scanned.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from credentials import CredentialError, licence_type, parse_presentation, verify_sign1
from credentials.cose import algorithm_matches
from credentials.elicence_id import format_id
from credentials.presentation import FETCH_HANDLE_BYTES
from credentials.status_list import VALID
from issuer import store as issued_store
from issuer.errors import IssuerError, UnknownCredentialError
from issuer.hub import Hub
from issuer.records import Record, Records
from keys import KeysError
from storage import events
from storage.kv import KeyValueStore

GRANT_TTL = 120  # seconds: the handle, and the proof carrying it, are good this long
CLOCK_SKEW = 10  # a phone's clock may be this far ahead
GRANTS_PER_HOUR = 30  # per citizen
_KEY, _USED, _RATE = "fetch:", "fetch-used:", "fetch-rate:"


class FetchRefused(IssuerError):
    """A handle or a redemption refused; ``reason`` is the stable code, ``status`` the HTTP answer."""

    reason = "fetch_refused"

    def __init__(self, reason: str, message: str, status: int = 400):
        super().__init__(message)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class FetchGrant:
    elicence_id: str
    record_id: str
    authority_id: str
    licence_type: str
    holder_kid: str
    sub: str
    audience: str | None
    expires_at: int


@dataclass(frozen=True)
class Fetched:
    """What a counter receives: the whole licence as the register holds it, with the portrait."""

    elicence_id: str
    licence_type: str
    authority_id: str
    claims: dict[str, Any]
    portrait: bytes | None


def _key(handle: bytes) -> str:
    return hashlib.sha256(handle).hexdigest()


class FetchGrants:
    def __init__(self, hub: Hub, engine: Any, records: Records, store: KeyValueStore):
        self.hub, self.engine, self.records, self.store = hub, engine, records, store

    # -- the wallet ---------------------------------------------------------------------------------------------
    def grant(self, *, sub: str, id_number: str, elicence_id: object, audience: str | None, now: int
              ) -> tuple[bytes, int]:
        """A handle for ``elicence_id``, which must be the licence most recently issued to this citizen from one
        of their records (a replaced copy on an old phone gets none). Returns (handle, expires_at)."""
        if not isinstance(elicence_id, str) or len(elicence_id) > 120:
            raise FetchRefused("invalid_request", "elicence_id must be the licence's identifier")
        record = next((r for r in self.records.held_by(id_number)
                       if self.records.last_issued(r.record_id) == elicence_id), None)
        if record is None:
            raise FetchRefused("unknown_licence", "no licence of yours has this identifier (or it was replaced)", 404)
        with self.engine.connect() as conn:
            row = conn.execute(issued_store.issued.select().where(
                issued_store.issued.c.elicence_id == elicence_id)).first()
        if row is None or row.status != VALID or row.expires_at <= now:
            raise FetchRefused("licence_not_valid", "this licence is revoked, suspended or expired", 409)
        if self.store.incr(f"{_RATE}{hashlib.sha256(sub.encode()).hexdigest()}:{now // 3600}", 3600) > GRANTS_PER_HOUR:
            raise FetchRefused("too_many_grants", f"at most {GRANTS_PER_HOUR} fetch codes an hour", 429)
        handle = secrets.token_bytes(FETCH_HANDLE_BYTES)
        grant = FetchGrant(elicence_id, record.record_id, row.authority_id, row.licence_type, row.holder_kid, sub,
                           audience, now + GRANT_TTL)
        self.store.put(_KEY + _key(handle), json.dumps(asdict(grant)), GRANT_TTL)
        return handle, grant.expires_at

    # -- the counter --------------------------------------------------------------------------------------------
    def redeem(self, code: object, *, counter_id: str, now: int) -> tuple[Fetched, FetchGrant]:
        """The licence behind the handle in ``code`` (a ``TB1:`` presentation), for counter ``counter_id``."""
        if not isinstance(code, str) or not code or len(code) > 8192:
            raise FetchRefused("invalid_request", "send the scanned code as text")
        try:
            p = parse_presentation(code.strip())
        except CredentialError as exc:
            raise FetchRefused("malformed_presentation", f"the code is not a tongban presentation: {exc}") from exc
        if p.fetch_handle is None:
            raise FetchRefused("no_fetch_handle", "the holder did not authorise a fetch with this code")
        key = _key(p.fetch_handle)
        raw = self.store.get(_KEY + key)
        if raw is None:
            if self.store.get(_USED + key) is not None:
                raise FetchRefused("handle_used", "this authorisation was already used: ask for a new code", 409)
            raise FetchRefused("handle_unknown", "this authorisation is unknown or expired (2 minutes)", 410)
        grant = FetchGrant(**json.loads(raw))
        if grant.expires_at <= now:
            raise FetchRefused("handle_unknown", "this authorisation has expired (2 minutes)", 410)
        self._check_code(p, grant, counter_id, now)
        if self.store.consume(_KEY + key) is None:  # another redemption won just now
            raise FetchRefused("handle_used", "this authorisation was already used: ask for a new code", 409)
        self.store.put(_USED + key, "1", GRANT_TTL)
        fetched = self._fetched(grant, now)
        # Opaque ids only (storage.events): into the audit chain, and the citizen's disclosure record.
        events.emit("licence_fetched", sub=grant.sub, client_id=counter_id, elicence_id=grant.elicence_id,
                    licence_type=grant.licence_type, portrait=fetched.portrait is not None, at=now)
        return fetched, grant

    def _check_code(self, p: Any, grant: FetchGrant, counter_id: str, now: int) -> None:
        body = p.credential
        ltype = licence_type(body.licence_type)
        try:
            authority = self.hub.authority(grant.authority_id)
            eid = format_id(ltype.national_code, authority.issuer_code, body.serial, body.version)
        except (CredentialError, KeysError) as exc:
            raise FetchRefused("handle_not_for_this_licence", "the code shows another licence") from exc
        if eid != grant.elicence_id:
            raise FetchRefused("handle_not_for_this_licence", "the code shows another licence than was authorised")
        if body.holder_key.kid != grant.holder_kid:
            raise FetchRefused("handle_not_for_this_licence", "the code is not from the phone that was authorised")
        if not (algorithm_matches(p.proof_sign1, body.holder_key)
                and verify_sign1(p.proof_sign1, body.holder_key, external_aad=p.credential_digest)):
            raise FetchRefused("holder_signature_invalid", "the authorisation is not signed by the holder's phone")
        age = now - p.presented_at
        if age > GRANT_TTL or age < -CLOCK_SKEW:
            raise FetchRefused("stale", f"the code was made {age} s ago: an authorisation lasts {GRANT_TTL} s")
        wanted = grant.audience or p.audience
        if wanted is not None and wanted != counter_id:
            raise FetchRefused("wrong_counter", "the holder authorised another counter", 403)
        if grant.audience is not None and p.audience != grant.audience:
            raise FetchRefused("wrong_counter", "the code does not name the counter the holder authorised", 403)

    def _fetched(self, grant: FetchGrant, now: int) -> Fetched:
        try:
            found = issued_store.find(self.engine, grant.elicence_id)
        except UnknownCredentialError as exc:
            raise FetchRefused("licence_not_valid", "the licence no longer exists", 409) from exc
        if found.status != VALID or found.expires_at <= now:
            raise FetchRefused("licence_not_valid", "the licence was revoked or suspended meanwhile", 409)
        record: Record | None = self.records.get(grant.record_id)
        if record is None:
            raise FetchRefused("licence_not_valid", "the authority's record is gone", 409)
        return Fetched(grant.elicence_id, record.licence_type, record.authority_id, record.claims, record.portrait)
