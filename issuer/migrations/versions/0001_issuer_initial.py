"""Issuer baseline: issued credentials and their counters, the register, the personal-data keys, /admin"s
sessions, health codes (statuses, audit, bound codes, proxies, invitations, the issued-code log, staff,
re-issue runs). The tables as ``create_all`` made them when migrations began: a database from before is
brought to this point and stamped here (``issuer.migrate``).

Revision ID: 0001_issuer_initial
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_issuer_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("admin_sessions",
    sa.Column("id_hash", sa.String(length=64), nullable=False),
    sa.Column("sub", sa.String(length=200), nullable=False),
    sa.Column("idp_sid", sa.String(length=64), nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("subject_hash", sa.String(length=64), nullable=False),
    sa.Column("id_token", sa.Text(), nullable=False),
    sa.Column("csrf", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("last_seen", sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint("id_hash")
    )
    op.create_index("ix_admin_sessions_idp_sid", "admin_sessions", ["idp_sid"], unique=False)
    op.create_index("ix_admin_sessions_sub", "admin_sessions", ["sub"], unique=False)

    op.create_table("authority_staff",
    sa.Column("subject_hash", sa.String(length=64), nullable=False),
    sa.Column("authority_id", sa.String(length=80), nullable=False),
    sa.Column("role", sa.String(length=40), nullable=False),
    sa.Column("granted_at", sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint("subject_hash", "authority_id")
    )
    op.create_table("health_audit",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("subject_hash", sa.String(length=64), nullable=False),
    sa.Column("at", sa.BigInteger(), nullable=False),
    sa.Column("actor", sa.String(length=200), nullable=False),
    sa.Column("old_colour", sa.String(length=8), nullable=True),
    sa.Column("new_colour", sa.String(length=8), nullable=False),
    sa.Column("reason", sa.String(length=400), nullable=False),
    sa.Column("reason_enc", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_index("ix_health_audit_subject_hash", "health_audit", ["subject_hash"], unique=False)

    op.create_table("health_codes",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("subject_hash", sa.String(length=64), nullable=False),
    sa.Column("proxy_id", sa.Integer(), nullable=False),
    sa.Column("device_jwk", sa.Text(), nullable=False),
    sa.Column("device_kid", sa.String(length=64), nullable=False),
    sa.Column("elicence_id", sa.String(length=120), nullable=False),
    sa.Column("views", sa.Text(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("issued_at", sa.BigInteger(), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=False),
    sa.Column("views_enc", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("subject_hash", "proxy_id", name="uq_health_code_holder")
    )
    op.create_table("health_invitations",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("public_id", sa.String(length=32), nullable=False),
    sa.Column("inviter_hash", sa.String(length=64), nullable=False),
    sa.Column("recorded_by", sa.String(length=200), nullable=False),
    sa.Column("invitee_hash", sa.String(length=64), nullable=False),
    sa.Column("invitee_hint", sa.String(length=24), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=False),
    sa.Column("state", sa.String(length=12), nullable=False),
    sa.Column("decided_at", sa.BigInteger(), nullable=True),
    sa.Column("proxy_id", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("public_id")
    )
    op.create_index("ix_health_invitations_expiry", "health_invitations", ["expires_at"], unique=False)
    op.create_index("ix_health_invitations_invitee", "health_invitations", ["invitee_hash"], unique=False)
    op.create_index("ix_health_invitations_inviter", "health_invitations", ["inviter_hash"], unique=False)

    op.create_table("health_issued",
    sa.Column("elicence_id", sa.String(length=120), nullable=False),
    sa.Column("subject_hash", sa.String(length=64), nullable=False),
    sa.Column("proxy_id", sa.Integer(), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint("elicence_id")
    )
    op.create_index("ix_health_issued_proxy", "health_issued", ["proxy_id"], unique=False)
    op.create_index("ix_health_issued_subject", "health_issued", ["subject_hash", "expires_at"], unique=False)

    op.create_table("health_proxies",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("relative_hash", sa.String(length=64), nullable=False),
    sa.Column("relative_name", sa.String(length=200), nullable=False),
    sa.Column("proxy_hash", sa.String(length=64), nullable=False),
    sa.Column("proxy_name", sa.String(length=200), nullable=False),
    sa.Column("granted_at", sa.BigInteger(), nullable=False),
    sa.Column("granted_via", sa.String(length=16), nullable=False),
    sa.Column("recorded_by", sa.String(length=200), nullable=False),
    sa.Column("ended_at", sa.BigInteger(), nullable=True),
    sa.Column("ended_by", sa.String(length=200), nullable=True),
    sa.Column("names_enc", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_index("ix_health_proxies_proxy", "health_proxies", ["proxy_hash"], unique=False)
    op.create_index("ix_health_proxies_relative", "health_proxies", ["relative_hash"], unique=False)

    op.create_table("health_reissue_runs",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("started_at", sa.BigInteger(), nullable=False),
    sa.Column("cutoff_id", sa.Integer(), nullable=False),
    sa.Column("last_id", sa.Integer(), nullable=False),
    sa.Column("done", sa.Integer(), nullable=False),
    sa.Column("finished_at", sa.BigInteger(), nullable=True),
    sa.Column("open_slot", sa.SmallInteger(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("open_slot", name="uq_health_reissue_one_open_run")
    )
    op.create_table("health_status",
    sa.Column("subject_hash", sa.String(length=64), nullable=False),
    sa.Column("id_number", sa.String(length=18), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("colour", sa.String(length=8), nullable=False),
    sa.Column("reason", sa.String(length=400), nullable=False),
    sa.Column("region", sa.String(length=6), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("updated_at", sa.BigInteger(), nullable=False),
    sa.Column("updated_by", sa.String(length=200), nullable=False),
    sa.Column("person_enc", sa.Text(), nullable=True),
    sa.Column("reason_enc", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("subject_hash")
    )
    op.create_table("issuer_counters",
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("next_value", sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint("name")
    )
    op.create_table("issuer_credentials",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("elicence_id", sa.String(length=120), nullable=False),
    sa.Column("licence_type", sa.String(length=40), nullable=False),
    sa.Column("authority_id", sa.String(length=80), nullable=False),
    sa.Column("holder_kid", sa.String(length=64), nullable=False),
    sa.Column("status_uri", sa.String(length=200), nullable=False),
    sa.Column("status_idx", sa.BigInteger(), nullable=False),
    sa.Column("status", sa.SmallInteger(), nullable=False),
    sa.Column("issued_at", sa.BigInteger(), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=False),
    sa.Column("claims", sa.JSON(), nullable=False),
    sa.Column("signed_kid", sa.String(length=64), nullable=True),
    sa.Column("needs_reissue_at", sa.BigInteger(), nullable=True),
    sa.Column("claims_enc", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("elicence_id"),
    sa.UniqueConstraint("status_uri", "status_idx", name="uq_issuer_status_entry")
    )
    op.create_table("issuer_pii_keys",
    sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("key_id", sa.String(length=16), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("sealed_at", sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint("version")
    )
    op.create_table("issuer_record_issues",
    sa.Column("record_id", sa.String(length=40), nullable=False),
    sa.Column("elicence_id", sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint("record_id")
    )
    op.create_table("issuer_records",
    sa.Column("record_id", sa.String(length=40), nullable=False),
    sa.Column("licence_type", sa.String(length=40), nullable=False),
    sa.Column("authority_id", sa.String(length=80), nullable=False),
    sa.Column("holder_id_number", sa.String(length=18), nullable=False),
    sa.Column("claims", sa.JSON(), nullable=False),
    sa.Column("updated_at", sa.BigInteger(), nullable=False),
    sa.Column("holder_hash", sa.String(length=64), nullable=True),
    sa.Column("data_enc", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("record_id"),
    sa.UniqueConstraint("licence_type", "holder_id_number", name="uq_issuer_record_holder")
    )
    op.create_index("ix_issuer_records_holder_id_number", "issuer_records", ["holder_id_number"], unique=False)
    op.create_index("uq_issuer_record_holder_hash", "issuer_records", ["licence_type", "holder_hash"], unique=True)



def downgrade() -> None:
    op.drop_index("uq_issuer_record_holder_hash", table_name="issuer_records")
    op.drop_index("ix_issuer_records_holder_id_number", table_name="issuer_records")

    op.drop_table("issuer_records")
    op.drop_table("issuer_record_issues")
    op.drop_table("issuer_pii_keys")
    op.drop_table("issuer_credentials")
    op.drop_table("issuer_counters")
    op.drop_table("health_status")
    op.drop_table("health_reissue_runs")
    op.drop_index("ix_health_proxies_relative", table_name="health_proxies")
    op.drop_index("ix_health_proxies_proxy", table_name="health_proxies")

    op.drop_table("health_proxies")
    op.drop_index("ix_health_issued_subject", table_name="health_issued")
    op.drop_index("ix_health_issued_proxy", table_name="health_issued")

    op.drop_table("health_issued")
    op.drop_index("ix_health_invitations_inviter", table_name="health_invitations")
    op.drop_index("ix_health_invitations_invitee", table_name="health_invitations")
    op.drop_index("ix_health_invitations_expiry", table_name="health_invitations")

    op.drop_table("health_invitations")
    op.drop_table("health_codes")
    op.drop_index("ix_health_audit_subject_hash", table_name="health_audit")

    op.drop_table("health_audit")
    op.drop_table("authority_staff")
    op.drop_index("ix_admin_sessions_sub", table_name="admin_sessions")
    op.drop_index("ix_admin_sessions_idp_sid", table_name="admin_sessions")

    op.drop_table("admin_sessions")
