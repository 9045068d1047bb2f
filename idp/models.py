"""Durable identity-provider state on the shared ``storage.sql.metadata``.

Accounts hold no personal data in clear (PIPL art. 28/51): the ID number, name and phone number are sealed
(``*_enc``: Fernet, or SM4-GCM in a 国密 hub, ``idp.secrets``) and found through keyed hashes (``id_hash``,
``phone_hash``); the registry keeps keyed hashes of ID number and name only. The clear ``name`` and ``phone``
columns of rows made before revision 0007 are emptied by ``idp.pii_seal`` (their partial indexes find them).
Alembic migrations in ``idp/migrations`` mirror these tables.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, text

from storage.sql import metadata

registry_people = Table(
    "idp_registry_people", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("name", String(200)),  # before revision 0007 only; NULL once sealed
    Column("name_hash", String(64)),  # keyed hash of the normalised name
    Index("ix_idp_registry_people_clear", "id_hash", sqlite_where=text("name IS NOT NULL"),
          postgresql_where=text("name IS NOT NULL")),
)

accounts = Table(
    "idp_accounts", metadata,
    Column("sub", String(64), primary_key=True),
    Column("name", String(200)),  # before revision 0007 only; NULL once sealed
    Column("name_enc", Text),
    Column("id_hash", String(64), nullable=False, unique=True),
    Column("id_enc", Text, nullable=False),
    Column("phone", String(32), unique=True),  # before revision 0007 only; NULL once sealed
    Column("phone_hash", String(64), unique=True),
    Column("phone_enc", Text),
    Column("password_hash", Text, nullable=False),
    Column("totp_enc", Text),
    Column("assurance", String(32), nullable=False),
    Column("created_at", Integer, nullable=False),
    Index("ix_idp_accounts_clear", "sub", sqlite_where=text("name IS NOT NULL OR phone IS NOT NULL"),
          postgresql_where=text("name IS NOT NULL OR phone IS NOT NULL")),
)

clients = Table(
    "idp_clients", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(128)),
    Column("auth_method", String(32), nullable=False),
    Column("redirect_uris", Text, nullable=False),  # JSON list
    Column("post_logout_redirect_uris", Text, nullable=False),  # JSON list
    Column("scopes", Text, nullable=False),  # space-separated
    Column("backchannel_logout_uri", Text),
    Column("jwks", Text),  # JSON, for private_key_jwt
    Column("id_token_alg", String(16)),  # OIDC Registration §2 id_token_signed_response_alg; NULL means ES256
    Column("subject_type", String(16)),  # OIDC Core §8: "public" or "pairwise"; NULL (older rows) means public
    Column("sector", String(255)),  # OIDC Core §8.1 sector identifier of a pairwise client (its redirect host)
    Column("first_party", Boolean),  # tongban's own apps (the wallet): the only holders of FIRST_PARTY_SCOPES
    Column("created_at", Integer, nullable=False),
)

consents = Table(
    "idp_consents", metadata,
    Column("sub", String(64), ForeignKey("idp_accounts.sub", ondelete="CASCADE"), primary_key=True),
    Column("client_id", String(64), ForeignKey("idp_clients.client_id", ondelete="CASCADE"), primary_key=True),
    Column("scope", String(64), primary_key=True),
    Column("granted_at", Integer, nullable=False),
)

token_families = Table(
    "idp_token_families", metadata,
    Column("family_id", String(64), primary_key=True),
    Column("sub", String(64), ForeignKey("idp_accounts.sub", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("scope", Text, nullable=False),
    Column("sid", String(64)),
    Column("auth_time", Integer, nullable=False),
    Column("acr", String(32)),
    Column("amr", String(64)),
    Column("created_at", Integer, nullable=False),
    Column("revoked_at", Integer),
    Column("revoked_reason", String(64)),
    Column("dpop_jkt", String(64)),  # RFC 9449 §5: refresh tokens of public clients are bound to the DPoP key
)

refresh_tokens = Table(
    "idp_refresh_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(64), ForeignKey("idp_token_families.family_id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("created_at", Integer, nullable=False),
    Column("expires_at", Integer, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
    # Set when the token is rotated (``idp.refresh_tokens``): when, which token replaced it, a digest of the
    # request that rotated it, and that response's token pair sealed under a key only the presented token opens,
    # so a retry of a lost response within the grace window gets the same pair back (RFC 9700 §4.14.2).
    Column("rotated_at", Integer),
    Column("successor_hash", String(64)),
    Column("request_digest", String(64)),
    Column("reply", Text),
)

audit_events = Table(
    "idp_audit_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Integer, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("sub", String(64)),
    Column("client_id", String(64)),
    Column("detail", Text),
    Column("prev_digest", String(64)),  # idp.audit: the hash chain (migration 0005)
    Column("digest", String(64)),
    Index("ix_idp_audit_events_at", "at"),
)

# WebAuthn credentials (passkeys, ``idp.passkeys``): what a later assertion is checked against. No personal data in
# clear: the credential id and public key are the authenticator's random values, the name the citizen gave it is
# sealed (``name_enc``, ``idp.secrets``). ``sign_count`` is an unsigned 32-bit counter (WebAuthn L3 §6.1.1): a
# BigInteger, since PostgreSQL's INTEGER stops at 2^31 - 1.
passkeys = Table(
    "idp_passkeys", metadata,
    Column("credential_id", String(1400), primary_key=True),  # base64url of at most 1023 bytes (§5.1 rawId)
    Column("sub", String(64), ForeignKey("idp_accounts.sub", ondelete="CASCADE"), nullable=False, index=True),
    Column("public_key", Text, nullable=False),  # base64url of the COSE_Key
    Column("sign_count", BigInteger, nullable=False),
    Column("transports", String(200), nullable=False),  # space-separated AuthenticatorTransport values
    Column("name_enc", Text, nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("last_used_at", Integer),
)
