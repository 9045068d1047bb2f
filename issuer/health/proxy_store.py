"""Family-proxy invitations and the log of every health code issued, in SQL (on the shared metadata).

``health_issued``: one row per health code ever signed (the citizen's keyed hash, the proxy grant it was
fetched under, 0 for their own, and its expiry). ``health_codes`` keeps only the code *currently* bound per
holder; this log lets a status change suspend, and the end of a proxy revoke, every code still outstanding,
also one whose binding was lost (issue 8: a fetch racing an end once left such a code valid for 24 h).

``health_invitations``: the two-sided consent of a family proxy. Personal data kept to the minimum: the
inviter by the same keyed hash as ``health_status`` (their name is read from there when it is needed), the
invitee by a keyed hash of the number as typed (``invitee_key``: whoever holds that phone or ID number when
answering finds it), plus a masked form of the number (``138****8000``) for the inviter's own list. No raw
phone or ID number is stored, and nobody is looked up when inviting. Rows are purged 30 days after they expire.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from storage.sql import metadata

health_issued = Table(
    "health_issued", metadata,
    Column("elicence_id", String(120), primary_key=True),
    Column("subject_hash", String(64), nullable=False),
    Column("proxy_id", Integer, nullable=False),  # 0: the citizen's own code; else health_proxies.id
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_health_issued_subject", "subject_hash", "expires_at"),
    Index("ix_health_issued_proxy", "proxy_id"),
)

health_invitations = Table(
    "health_invitations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("public_id", String(32), nullable=False, unique=True),  # the opaque id the API shows
    Column("inviter_hash", String(64), nullable=False),  # health_status.subject_hash of the relative
    Column("recorded_by", String(200), nullable=False),  # "citizen:<sub>" of the inviter, copied to the grant
    Column("invitee_hash", String(64), nullable=False),  # invitee_key(...) of whom the number named
    Column("invitee_hint", String(24), nullable=False),  # the number as typed, masked
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("state", String(12), nullable=False),  # pending | accepted | declined | withdrawn
    Column("decided_at", BigInteger),
    Column("proxy_id", Integer),  # the grant made on acceptance
    Index("ix_health_invitations_inviter", "inviter_hash"),
    Index("ix_health_invitations_invitee", "invitee_hash"),
    Index("ix_health_invitations_expiry", "expires_at"),
)


def invitee_key(key: bytes, kind: str, value: str) -> str:
    """Whom an invitation is for: a keyed hash of the (normalised) phone or ID number it was sent to."""
    return hmac.new(key, f"health-invitee:{kind}:{value}".encode(), hashlib.sha256).hexdigest()


__all__ = ["health_invitations", "health_issued", "invitee_key"]
