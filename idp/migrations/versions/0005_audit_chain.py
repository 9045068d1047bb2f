"""Audit events as a hash chain (``idp.audit``): each entry carries the previous entry's digest and its own.

Entries written before this revision keep NULL digests: ``tongban audit verify`` counts them as before the chain
began; the first entry written after it starts the chain.

Revision ID: 0005_audit_chain
Revises: 0004_subject_type
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_audit_chain"
down_revision = "0004_subject_type"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idp_audit_events") as batch:
        batch.add_column(sa.Column("prev_digest", sa.String(64)))
        batch.add_column(sa.Column("digest", sa.String(64)))
        batch.create_index("ix_idp_audit_events_at", ["at"])


def downgrade() -> None:
    with op.batch_alter_table("idp_audit_events") as batch:
        batch.drop_index("ix_idp_audit_events_at")
        batch.drop_column("digest")
        batch.drop_column("prev_digest")
