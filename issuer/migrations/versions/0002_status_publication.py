"""Publication driven by the database: the registry of status lists (found by authority through an index), the
dirty marks status changes write in their own transaction, and a partial index on the non-valid entries (a list
is rebuilt from them). Existing lists are registered from the credentials once, here.

Revision ID: 0002_status_publication
Revises: 0001_issuer_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_status_publication"
down_revision = "0001_issuer_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database from before migrations is brought to the baseline by create_all over today's models, which
    # already made these: create only what is missing.
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    if "issuer_status_lists" not in tables:
        _create_registry()
    if "issuer_status_dirty" not in tables:
        _create_dirty()
    if "ix_issuer_credentials_nonvalid" not in {ix["name"] for ix in inspector.get_indexes("issuer_credentials")}:
        op.create_index("ix_issuer_credentials_nonvalid", "issuer_credentials", ["status_uri", "status_idx", "status"],
                        unique=False, sqlite_where=sa.text("status != 0"), postgresql_where=sa.text("status != 0"))
    op.execute("INSERT INTO issuer_status_lists (uri, authority_id, created_at) "
               "SELECT status_uri, MIN(authority_id), MIN(issued_at) FROM issuer_credentials "
               "WHERE status_uri NOT IN (SELECT uri FROM issuer_status_lists) GROUP BY status_uri")


def _create_registry() -> None:
    op.create_table("issuer_status_lists",
    sa.Column("uri", sa.String(length=200), nullable=False),
    sa.Column("authority_id", sa.String(length=80), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint("uri")
    )
    op.create_index("ix_issuer_status_lists_authority_id", "issuer_status_lists", ["authority_id"], unique=False)


def _create_dirty() -> None:
    op.create_table("issuer_status_dirty",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("uri", sa.String(length=200), nullable=False),
    sa.Column("authority_id", sa.String(length=80), nullable=False),
    sa.Column("marked_at", sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )


def downgrade() -> None:
    op.drop_index("ix_issuer_credentials_nonvalid", table_name="issuer_credentials")
    op.drop_table("issuer_status_dirty")
    op.drop_index("ix_issuer_status_lists_authority_id", table_name="issuer_status_lists")
    op.drop_table("issuer_status_lists")
