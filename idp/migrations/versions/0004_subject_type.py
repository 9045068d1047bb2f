"""Subject identifier type per client (OIDC Core §8; Registration §2 subject_type): public or pairwise; and
which clients are first party (the only ones that may hold the issuer's ``licences`` scope).

Clients registered before this revision keep ``public`` (NULL): their users are already known to them by the
public ``sub``, and changing it would orphan their accounts. New registrations default to pairwise.

Revision ID: 0004_subject_type
Revises: 0003_id_token_alg
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_subject_type"
down_revision = "0003_id_token_alg"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idp_clients") as batch:
        batch.add_column(sa.Column("subject_type", sa.String(16)))
        batch.add_column(sa.Column("sector", sa.String(255)))
        batch.add_column(sa.Column("first_party", sa.Boolean))
    # The web wallet, registered by `tongban init` before this revision, is the first-party client.
    op.execute(sa.text("UPDATE idp_clients SET first_party = :yes WHERE client_id = :wallet")
               .bindparams(yes=True, wallet="tongban-wallet"))


def downgrade() -> None:
    with op.batch_alter_table("idp_clients") as batch:
        batch.drop_column("first_party")
        batch.drop_column("sector")
        batch.drop_column("subject_type")
