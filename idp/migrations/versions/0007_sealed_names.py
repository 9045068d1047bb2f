"""No name or phone number in clear: accounts gain ``name_enc``, ``phone_enc`` and the keyed ``phone_hash``, the
registry a keyed ``name_hash``; the clear columns become nullable (new rows leave them NULL) and a partial index
finds the rows still in clear, which ``idp.pii_seal`` seals after the migrations (it needs the IdP secret, which
a migration does not have).

Revision ID: 0007_sealed_names
Revises: 0006_refresh_grace
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_sealed_names"
down_revision = "0006_refresh_grace"
branch_labels = None
depends_on = None

_CLEAR_ACCOUNTS = "name IS NOT NULL OR phone IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("idp_accounts") as batch:
        batch.alter_column("name", existing_type=sa.String(200), nullable=True)
        batch.alter_column("phone", existing_type=sa.String(32), nullable=True)
        batch.add_column(sa.Column("name_enc", sa.Text))
        batch.add_column(sa.Column("phone_hash", sa.String(64)))
        batch.add_column(sa.Column("phone_enc", sa.Text))
        batch.create_unique_constraint("uq_idp_accounts_phone_hash", ["phone_hash"])
    op.create_index("ix_idp_accounts_clear", "idp_accounts", ["sub"], sqlite_where=sa.text(_CLEAR_ACCOUNTS),
                    postgresql_where=sa.text(_CLEAR_ACCOUNTS))
    with op.batch_alter_table("idp_registry_people") as batch:
        batch.alter_column("name", existing_type=sa.String(200), nullable=True)
        batch.add_column(sa.Column("name_hash", sa.String(64)))
    op.create_index("ix_idp_registry_people_clear", "idp_registry_people", ["id_hash"],
                    sqlite_where=sa.text("name IS NOT NULL"), postgresql_where=sa.text("name IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_idp_registry_people_clear", "idp_registry_people")
    with op.batch_alter_table("idp_registry_people") as batch:
        batch.drop_column("name_hash")
    op.drop_index("ix_idp_accounts_clear", "idp_accounts")
    with op.batch_alter_table("idp_accounts") as batch:
        batch.drop_constraint("uq_idp_accounts_phone_hash", type_="unique")
        batch.drop_column("phone_enc")
        batch.drop_column("phone_hash")
        batch.drop_column("name_enc")
