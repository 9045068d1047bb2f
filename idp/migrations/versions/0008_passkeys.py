"""Passkeys (WebAuthn Level 3): one row per registered credential, keyed by its id, owned by an account ``sub``
(``idp.passkeys``). The name the citizen gave it is sealed like every other personal value (``name_enc``).

Revision ID: 0008_passkeys
Revises: 0007_sealed_names
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_passkeys"
down_revision = "0007_sealed_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idp_passkeys",
        sa.Column("credential_id", sa.String(1400), primary_key=True),
        sa.Column("sub", sa.String(64), sa.ForeignKey("idp_accounts.sub", ondelete="CASCADE"), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("transports", sa.String(200), nullable=False),
        sa.Column("name_enc", sa.Text, nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("last_used_at", sa.Integer),
    )
    op.create_index("ix_idp_passkeys_sub", "idp_passkeys", ["sub"])


def downgrade() -> None:
    op.drop_index("ix_idp_passkeys_sub", table_name="idp_passkeys")
    op.drop_table("idp_passkeys")
