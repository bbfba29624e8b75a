"""api access: organization clients with hashed secrets, bearer tokens (only their SHA-256 kept), rate counters

Tokens bind either a patient (after a OneID sign-in) or an organization's client; the per-minute counters hold the
rate limit across worker processes without a second store.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create api_client, api_token and api_rate_window."""
    op.create_table(
        "api_client",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.String(length=1000), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "revoked", name="status", native_enum=False, create_constraint=True, length=15),
            nullable=False,
        ),
        sa.Column(
            "created_at", db.UTCDateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("revoked_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'revoked') = (revoked_at IS NOT NULL)", name=op.f("ck_api_client_revoked_has_time")
        ),
        sa.CheckConstraint("secret_hash LIKE 'scrypt$%'", name=op.f("ck_api_client_secret_hashed")),
        sa.ForeignKeyConstraint(["created_by"], ["cabinet.id"], name=op.f("fk_api_client_created_by_cabinet")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"], name=op.f("fk_api_client_organization_id_organization")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_client_client_id")),
    )
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_client_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("patient", "client", name="kind", native_enum=False, create_constraint=True, length=15),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("holder_patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("api_client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("scopes", sa.String(length=1000), nullable=False),
        sa.Column("issued_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(kind = 'patient' AND holder_patient_id IS NOT NULL AND api_client_id IS NULL AND organization_id IS NULL) OR (kind = 'client' AND holder_patient_id IS NULL AND api_client_id IS NOT NULL AND organization_id IS NOT NULL)",
            name=op.f("ck_api_token_bound_to_its_kind"),
        ),
        sa.CheckConstraint("expires_at > issued_at", name=op.f("ck_api_token_expires_after_issue")),
        sa.CheckConstraint("length(token_hash) = 64", name=op.f("ck_api_token_token_hash_shape")),
        sa.ForeignKeyConstraint(
            ["api_client_id"], ["api_client.id"], name=op.f("fk_api_token_api_client_id_api_client")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"], name=op.f("fk_api_token_organization_id_organization")
        ),
        sa.ForeignKeyConstraint(
            ["holder_patient_id"], ["patient.id"], name=op.f("fk_api_token_holder_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_api_client_id"), ["api_client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_token_holder_patient_id"), ["holder_patient_id"], unique=False)

    op.create_table(
        "api_rate_window",
        sa.Column("token_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("window_minute", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_token.id"], name=op.f("fk_api_rate_window_token_id_api_token"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_id", "window_minute", name=op.f("pk_api_rate_window")),
    )
    with op.batch_alter_table("api_rate_window", schema=None) as batch_op:
        batch_op.create_index("ix_api_rate_window_window_minute", ["window_minute"], unique=False)


def downgrade() -> None:
    """Drop api_rate_window, api_token and api_client."""
    with op.batch_alter_table("api_rate_window", schema=None) as batch_op:
        batch_op.drop_index("ix_api_rate_window_window_minute")

    op.drop_table("api_rate_window")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_holder_patient_id"))
        batch_op.drop_index(batch_op.f("ix_api_token_api_client_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_client_organization_id"))

    op.drop_table("api_client")
