"""Refresh-token rotation that survives a lost response: each rotated token records when it was rotated, its
successor, a digest of the rotating request and that response's token pair, sealed under a key derived from the
rotated token itself (``idp.refresh_tokens``). Older rows keep NULLs: a retry of one of them is a reuse.

Revision ID: 0006_refresh_grace
Revises: 0005_audit_chain
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_refresh_grace"
down_revision = "0005_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idp_refresh_tokens") as batch:
        batch.add_column(sa.Column("rotated_at", sa.Integer))
        batch.add_column(sa.Column("successor_hash", sa.String(64)))
        batch.add_column(sa.Column("request_digest", sa.String(64)))
        batch.add_column(sa.Column("reply", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("idp_refresh_tokens") as batch:
        batch.drop_column("reply")
        batch.drop_column("request_digest")
        batch.drop_column("successor_hash")
        batch.drop_column("rotated_at")
