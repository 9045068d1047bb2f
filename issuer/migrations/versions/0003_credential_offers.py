"""Credential Offers (OpenID4VCI 1.0 §4.1) with pre-authorized codes: ``issuer_offers`` (``issuer.offers``).

Revision ID: 0003_credential_offers
Revises: 0002_status_publication
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_credential_offers"
down_revision = "0002_status_publication"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database brought to the baseline by create_all over today's models already has the table.
    if "issuer_offers" in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table("issuer_offers",
    sa.Column("code_hash", sa.String(length=64), nullable=False),
    sa.Column("offer_id", sa.String(length=43), nullable=False),
    sa.Column("record_id", sa.String(length=40), nullable=False),
    sa.Column("configurations", sa.JSON(), nullable=False),
    sa.Column("tx_code_hash", sa.String(length=64), nullable=True),
    sa.Column("attempts", sa.SmallInteger(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=False),
    sa.Column("document", sa.Text(), nullable=True),
    sa.Column("used_at", sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint("code_hash"),
    sa.UniqueConstraint("offer_id")
    )


def downgrade() -> None:
    op.drop_table("issuer_offers")
