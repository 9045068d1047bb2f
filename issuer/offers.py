"""Credential Offers with the Pre-Authorized Code grant, OpenID4VCI 1.0 §4.1 and §6.1, kept in SQL.

An authority's desk (``tongban issue-offer``) makes an offer for one register entry: a random pre-authorized code
(32 bytes; the table keeps its SHA-256, never the code), the credential configurations it is good for, and a
numeric ``tx_code`` (6 digits) the citizen receives another way (SMS, the counter clerk reads it out; §4.1.1).
SQL, not the key-value store, because the command runs in another process than the service, and an offer on a
letter must outlive a restart.

* **By value or by reference** (§4.1.2, §4.1.3): the offer URI carries the offer JSON, or a
  ``credential_offer_uri`` the issuer serves (``GET /issuer/offers/<id>``) **once**: the stored document (the only
  place the code exists in clear) is erased as it is served, so a photo of the QR taken after the wallet scanned
  it is worth nothing.
* **Single use, short-lived** (§6.1, RFC 6749 §4.1.2 by analogy): the code is spent by one atomic ``UPDATE ...
  WHERE used_at IS NULL``; of racing token requests exactly one wins. Lifetime: ``--ttl`` (10 minutes by default,
  at most 7 days for a letter).
* **Brute force of tx_code**: every try takes one of ``MAX_TX_ATTEMPTS`` slots with an atomic
  ``attempts = attempts + 1 WHERE attempts < 5`` *before* the comparison, so parallel guesses cannot exceed the
  budget; after the fifth wrong try the code is dead (``invalid_grant``), and the desk makes a new offer.
  The stored ``tx_code`` is SHA-256 over the code's digest and the digits: someone reading the table can still try
  the 10^6 values offline (an inherent limit of a 6-digit code), but not one table for all offers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import JSON, BigInteger, Column, Engine, SmallInteger, String, Table, Text, delete, insert, select, update

from issuer.errors import IssuerError
from keys import b64url
from storage.sql import metadata

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME = "openid-credential-offer://"
DEFAULT_TTL = 600
MAX_TTL = 7 * 24 * 3600
TX_CODE_LENGTH = 6
MAX_TX_ATTEMPTS = 5
MAX_CODE_CHARS = 64

offers = Table(
    "issuer_offers", metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("offer_id", String(43), nullable=False, unique=True),
    Column("record_id", String(40), nullable=False),
    Column("configurations", JSON, nullable=False),
    Column("tx_code_hash", String(64)),
    Column("attempts", SmallInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("document", Text),  # the by-reference offer JSON until its one fetch; NULL after (or when by value)
    Column("used_at", BigInteger),
)


class OfferRefused(IssuerError):
    """A token request the offer does not allow; ``error`` is RFC 6749 §5.2 / OpenID4VCI §6.3's code."""

    reason = "invalid_grant"

    def __init__(self, message: str, error: str = "invalid_grant"):
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class NewOffer:
    offer_id: str
    document: dict
    uri: str  # openid-credential-offer://?credential_offer... (what the QR holds)
    tx_code: str | None
    expires_at: int


@dataclass(frozen=True)
class Grant:
    """What a redeemed pre-authorized code allows: credentials of these configurations from this register entry."""

    record_id: str
    configurations: tuple[str, ...]


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _tx_digest(code_hash: str, tx_code: str) -> str:
    return hashlib.sha256(f"{code_hash}:{tx_code}".encode()).hexdigest()


def offer_document(issuer_url: str, configurations: list[str], code: str, *, authorization_server: str | None,
                   tx_code: bool) -> dict:
    """§4.1.1: the Credential Offer object."""
    grant: dict = {"pre-authorized_code": code}
    if tx_code:
        grant["tx_code"] = {"input_mode": "numeric", "length": TX_CODE_LENGTH,
                            "description": "请输入短信或窗口告知的6位数字 / Enter the 6-digit code you were given"}
    if authorization_server:
        grant["authorization_server"] = authorization_server
    return {"credential_issuer": issuer_url, "credential_configuration_ids": list(configurations),
            "grants": {PRE_AUTHORIZED_GRANT: grant}}


class Offers:
    def __init__(self, engine: Engine):
        self.engine = engine

    def create(self, *, record_id: str, configurations: list[str], issuer_url: str, authorization_server: str | None,
               now: int, ttl: int = DEFAULT_TTL, by_reference: bool = True, tx_code: bool = True) -> NewOffer:
        if not 60 <= ttl <= MAX_TTL:
            raise IssuerError(f"an offer lives between 60 s and {MAX_TTL} s, not {ttl}")
        if not configurations:
            raise IssuerError("an offer names at least one credential configuration")
        code, offer_id = b64url(secrets.token_bytes(32)), b64url(secrets.token_bytes(24))
        digits = f"{secrets.randbelow(10 ** TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}" if tx_code else None
        document = offer_document(issuer_url, configurations, code, authorization_server=authorization_server,
                                  tx_code=tx_code)
        code_hash = _digest(code)
        with self.engine.begin() as conn:
            conn.execute(delete(offers).where(offers.c.expires_at < now - 24 * 3600))  # old offers, a day after
            conn.execute(insert(offers).values(
                code_hash=code_hash, offer_id=offer_id, record_id=record_id, configurations=list(configurations),
                tx_code_hash=_tx_digest(code_hash, digits) if digits else None, attempts=0, created_at=now,
                expires_at=now + ttl, document=json.dumps(document) if by_reference else None, used_at=None))
        if by_reference:
            reference = f"{issuer_url}/issuer/offers/{offer_id}"
            uri = f"{OFFER_SCHEME}?credential_offer_uri={quote(reference, safe='')}"
        else:
            uri = f"{OFFER_SCHEME}?credential_offer={quote(json.dumps(document, separators=(',', ':')), safe='')}"
        return NewOffer(offer_id, document, uri, digits, now + ttl)

    def fetch(self, offer_id: object, now: int) -> dict | None:
        """The by-reference offer, once (§4.1.3); None when unknown, fetched already or expired."""
        if not isinstance(offer_id, str) or len(offer_id) != 32:
            return None
        t = offers.c
        with self.engine.begin() as conn:
            row = conn.execute(select(t.document).where(t.offer_id == offer_id, t.document.is_not(None),
                                                        t.expires_at > now, t.used_at.is_(None))).first()
            if row is None:
                return None
            taken = conn.execute(update(offers).where(t.offer_id == offer_id, t.document.is_not(None))
                                 .values(document=None)).rowcount
        return json.loads(row.document) if taken == 1 else None

    def redeem(self, code: object, tx_code: object, now: int) -> Grant:
        """Spend a pre-authorized code (§6.1): checks tx_code within its attempt budget, then uses the code once."""
        if not isinstance(code, str) or not 0 < len(code) <= MAX_CODE_CHARS:
            raise OfferRefused("pre-authorized_code is missing or malformed", "invalid_request")
        code_hash, t = _digest(code), offers.c
        live = (t.code_hash == code_hash, t.used_at.is_(None), t.expires_at > now)
        with self.engine.connect() as conn:
            row = conn.execute(select(offers).where(*live)).first()
        if row is None:
            raise OfferRefused("the pre-authorized code is unknown, used or expired")
        if row.tx_code_hash is None:
            if tx_code is not None:
                raise OfferRefused("this offer has no tx_code", "invalid_request")
        else:
            if not isinstance(tx_code, str) or not tx_code:
                raise OfferRefused("this offer needs its tx_code", "invalid_request")
            with self.engine.begin() as conn:
                slot = conn.execute(update(offers).where(*live, t.attempts < MAX_TX_ATTEMPTS)
                                    .values(attempts=t.attempts + 1)).rowcount
            if slot != 1:
                raise OfferRefused("too many wrong tx_code attempts: this offer is void, ask for a new one")
            if len(tx_code) > 16 or not hmac.compare_digest(_tx_digest(code_hash, tx_code), row.tx_code_hash):
                raise OfferRefused("wrong tx_code")
        with self.engine.begin() as conn:
            spent = conn.execute(update(offers).where(*live).values(used_at=now, document=None)).rowcount
        if spent != 1:
            raise OfferRefused("the pre-authorized code is unknown, used or expired")
        return Grant(row.record_id, tuple(row.configurations))
