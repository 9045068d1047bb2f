"""Refresh-token rotation rules (RFC 9700 §4.14.2), pure: what to do with a presented refresh token.

Every use of a refresh token replaces it. A response can be lost after the rotation committed (a dropped
connection, a timeout, a proxy restart); the client then retries with the token it still holds. Treating that
retry as reuse would revoke the family and sign the citizen out for nothing, so a retry is accepted when it

* comes within ``grace`` seconds of the rotation,
* is the same request: same client, same ``scope`` parameter, same DPoP key (``Attempt.digest``), and
* the successor has not been used yet (once the client used the new token it has the response: an old token
  seen after that is a copy, RFC 9700's reuse),

and it gets the SAME token pair back (idempotent): nothing new is minted for it. Anything else presenting a
used token is reuse and revokes the family. A family also ends ``family_lifetime`` seconds after the sign-in
that opened it, however often it was refreshed (an absolute lifetime; RFC 9700 §4.14.2 "refresh token
expiration"). Storage (``idp.refresh_tokens``) reads a ``Stored`` row and applies ``decide``; nothing here
reads a clock or a database.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

DEFAULT_GRACE = 30  # seconds a retry of a just-rotated refresh token gets the same response
DEFAULT_FAMILY_LIFETIME = 90 * 24 * 3600  # seconds from the sign-in to the end of every token it led to
MAX_GRACE = 300


@dataclass(frozen=True)
class RotationPolicy:
    grace: int = DEFAULT_GRACE
    family_lifetime: int = DEFAULT_FAMILY_LIFETIME
    token_ttl: int = 30 * 24 * 3600  # idle lifetime of one refresh token

    def __post_init__(self) -> None:
        if not 0 <= self.grace <= MAX_GRACE:
            raise ValueError(f"the refresh grace window must be 0 to {MAX_GRACE} seconds, not {self.grace}")
        if not 3600 <= self.family_lifetime <= 366 * 24 * 3600:
            raise ValueError(f"a refresh-token family lives 3600 s to a year, not {self.family_lifetime} s")
        if self.token_ttl <= 0:
            raise ValueError("the refresh-token lifetime must be positive")

    def oldest_family(self, now: int) -> int:
        """Families created at or before this instant have reached their absolute lifetime."""
        return now - self.family_lifetime

    def expiry(self, now: int, family_created: int) -> int:
        """A new refresh token's expiry: its idle lifetime, never past its family's end."""
        return min(now + self.token_ttl, family_created + self.family_lifetime)


@dataclass(frozen=True)
class Attempt:
    """A refresh request: who presents the token, with which ``scope`` parameter and DPoP key, when."""

    client_id: str
    scope: str | None
    jkt: str | None
    now: int

    @property
    def digest(self) -> str:
        """What a retry must repeat exactly (NUL-separated: no value can contain NUL, printable ASCII only)."""
        text = "\x00".join((self.client_id, self.scope or "", self.jkt or ""))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    """The presented token's row and its family, as the database has them."""

    family_id: str
    used: bool
    expires_at: int
    rotated_at: int | None
    request_digest: str | None
    reply: str | None
    successor_used: bool | None  # None: no successor row (never rotated, or rotated before replies were kept)
    client_id: str
    sub: str
    scope: str
    sid: str | None
    revoked_at: int | None
    family_created: int
    dpop_jkt: str | None


class Outcome(enum.Enum):
    ROTATE = "rotate"  # claimed now: the new pair is the answer
    REPLAY = "replay"  # a retry within the grace window: the pair of the earlier rotation is the answer
    REUSE = "reuse"  # a used token presented again: revoke the family
    RACE = "race"  # another request claimed it between our read and our write: read again and decide
    INVALID = "invalid"  # unknown, expired, revoked, another client's, or the wrong DPoP key: invalid_grant


def claimable(row: Stored, attempt: Attempt, policy: RotationPolicy) -> bool:
    """Whether this attempt may rotate this (unused) token: the conditions the claiming statement checks."""
    return (not row.used and row.expires_at > attempt.now and row.revoked_at is None
            and row.client_id == attempt.client_id and row.family_created > policy.oldest_family(attempt.now)
            and (row.dpop_jkt is None or row.dpop_jkt == attempt.jkt))


def decide(row: Stored | None, claimed: bool, attempt: Attempt, policy: RotationPolicy) -> Outcome:
    """The outcome of presenting a token whose row is ``row`` (None: unknown) and which ``claimed`` says this
    request's conditional write did or did not rotate."""
    if claimed:
        return Outcome.ROTATE
    if row is None or row.revoked_at is not None:
        return Outcome.INVALID
    if not row.used:
        # The write claimed nothing although the token was unused when read: either a condition failed (then
        # the token is simply not valid for this request), or a concurrent request won the claim.
        return Outcome.RACE if claimable(row, attempt, policy) else Outcome.INVALID
    if (row.rotated_at is not None and 0 <= attempt.now - row.rotated_at <= policy.grace and row.reply
            and row.request_digest == attempt.digest and row.successor_used is False
            and row.family_created > policy.oldest_family(attempt.now)):
        return Outcome.REPLAY
    return Outcome.REUSE
