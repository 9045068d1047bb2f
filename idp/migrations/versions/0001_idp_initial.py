"""Identity provider: registry, accounts, clients, consents, token families, refresh tokens, audit.

Revision ID: 0001_idp_initial
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_idp_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idp_registry_people",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "idp_accounts",
        sa.Column("sub", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("id_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("id_enc", sa.Text, nullable=False),
        sa.Column("phone", sa.String(32), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("totp_enc", sa.Text),
        sa.Column("assurance", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
    )
    op.create_table(
        "idp_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(128)),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("redirect_uris", sa.Text, nullable=False),
        sa.Column("post_logout_redirect_uris", sa.Text, nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("backchannel_logout_uri", sa.Text),
        sa.Column("jwks", sa.Text),
        sa.Column("created_at", sa.Integer, nullable=False),
    )
    op.create_table(
        "idp_consents",
        sa.Column("sub", sa.String(64), sa.ForeignKey("idp_accounts.sub", ondelete="CASCADE"), primary_key=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("idp_clients.client_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("granted_at", sa.Integer, nullable=False),
    )
    op.create_table(
        "idp_token_families",
        sa.Column("family_id", sa.String(64), primary_key=True),
        sa.Column("sub", sa.String(64), sa.ForeignKey("idp_accounts.sub", ondelete="CASCADE"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("sid", sa.String(64)),
        sa.Column("auth_time", sa.Integer, nullable=False),
        sa.Column("acr", sa.String(32)),
        sa.Column("amr", sa.String(64)),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("revoked_at", sa.Integer),
        sa.Column("revoked_reason", sa.String(64)),
    )
    op.create_table(
        "idp_refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("family_id", sa.String(64), sa.ForeignKey("idp_token_families.family_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
    )
    op.create_index("ix_idp_refresh_tokens_family_id", "idp_refresh_tokens", ["family_id"])
    op.create_table(
        "idp_audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("sub", sa.String(64)),
        sa.Column("client_id", sa.String(64)),
        sa.Column("detail", sa.Text),
    )


def downgrade() -> None:
    for table in ("idp_audit_events", "idp_refresh_tokens", "idp_token_families", "idp_consents", "idp_clients",
                  "idp_accounts", "idp_registry_people"):
        op.drop_table(table)
