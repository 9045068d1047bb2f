"""DPoP (RFC 9449): a token family may be bound to the key of a public client.

Revision ID: 0002_dpop_binding
Revises: 0001_idp_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_dpop_binding"
down_revision = "0001_idp_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idp_token_families") as batch:
        batch.add_column(sa.Column("dpop_jkt", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("idp_token_families") as batch:
        batch.drop_column("dpop_jkt")
