"""report exports: the Excel and PDF exports users asked for, with their progress and, once done, the file

Kept in the database so that whichever worker process serves the next poll can show the progress and hand the file
over.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create report_export."""
    op.create_table(
        "report_export",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("cabinet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("report_key", sa.String(length=40), nullable=False),
        sa.Column(
            "format",
            sa.Enum("xlsx", "pdf", name="format", native_enum=False, create_constraint=True, length=12),
            nullable=False,
        ),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.SmallInteger(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_report_export_progress_range")),
        sa.ForeignKeyConstraint(["cabinet_id"], ["cabinet.id"], name=op.f("fk_report_export_cabinet_id_cabinet")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"], name=op.f("fk_report_export_organization_id_organization")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_export")),
        sa.UniqueConstraint("token", name=op.f("uq_report_export_token")),
    )
    with op.batch_alter_table("report_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_export_cabinet_id"), ["cabinet_id"], unique=False)
        batch_op.create_index("ix_report_export_state", ["state", "id"], unique=False)


def downgrade() -> None:
    """Drop report_export."""
    with op.batch_alter_table("report_export", schema=None) as batch_op:
        batch_op.drop_index("ix_report_export_state")
        batch_op.drop_index(batch_op.f("ix_report_export_cabinet_id"))

    op.drop_table("report_export")
