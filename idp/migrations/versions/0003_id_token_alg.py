"""ID token signing algorithm per client (OIDC Dynamic Client Registration §2 id_token_signed_response_alg).

Revision ID: 0003_id_token_alg
Revises: 0002_dpop_binding
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_id_token_alg"
down_revision = "0002_dpop_binding"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idp_clients") as batch:
        batch.add_column(sa.Column("id_token_alg", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("idp_clients") as batch:
        batch.drop_column("id_token_alg")
