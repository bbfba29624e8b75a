"""e-prescription: repeat fills, confirmation signer, acknowledged warnings, signing drafts, patient notifications

Drugs learn how their doses are counted and their usual regimen (for the prescribing form and the quantity
arithmetic); pharmacies carry the reimbursement contract flag; an item may be dispensed `fills` times its
quantity (repeat chronic prescriptions), so its "never more than prescribed" check now reads quantity * fills.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _foreign_keys(on: bool) -> None:
    """SQLite changes a CHECK by rebuilding the table; drug and prescription_item are referred to by other tables,
    so the rebuild runs with enforcement off and the references are proven whole afterwards."""
    if not _sqlite():
        return
    if on:
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by rebuilding tables: {broken[:5]}")
    op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade() -> None:
    """Add the e-prescription tables and columns; widen the dispensed-quantity check to repeat fills."""
    _foreign_keys(on=False)
    op.create_table(
        "patient_notification",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column(
            "state",
            sa.Enum("pending", "sent", "failed", name="state", native_enum=False, create_constraint=True, length=15),
            nullable=False,
        ),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_patient_notification_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_notification")),
    )
    with op.batch_alter_table("patient_notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_notification_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_patient_notification_state", ["state", "id"], unique=False)

    op.create_table(
        "prescription_draft",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("cabinet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("acknowledgements", sa.Text(), nullable=False),
        sa.Column("created_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["cabinet_id"], ["cabinet.id"], name=op.f("fk_prescription_draft_cabinet_id_cabinet")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_prescription_draft_patient_id_patient")),
        sa.ForeignKeyConstraint(
            ["prescription_id"], ["prescription.id"], name=op.f("fk_prescription_draft_prescription_id_prescription")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescription_draft")),
        sa.UniqueConstraint("token", name=op.f("uq_prescription_draft_token")),
    )
    with op.batch_alter_table("prescription_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prescription_draft_cabinet_id"), ["cabinet_id"], unique=False)

    op.create_table(
        "prescription_warning",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.SmallInteger(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("acknowledged_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("acknowledged_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(trim(reason)) > 0", name=op.f("ck_prescription_warning_reason_given")),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["cabinet.id"], name=op.f("fk_prescription_warning_acknowledged_by_cabinet")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"], ["prescription.id"], name=op.f("fk_prescription_warning_prescription_id_prescription")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescription_warning")),
    )
    with op.batch_alter_table("prescription_warning", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prescription_warning_prescription_id"), ["prescription_id"], unique=False)

    with op.batch_alter_table("drug", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dose_unit", sa.String(length=20), server_default="", nullable=False))
        batch_op.add_column(sa.Column("doses_per_unit", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("usual_dose", sa.Float(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("usual_intakes", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("usual_days", sa.SmallInteger(), server_default="7", nullable=False))
        batch_op.add_column(sa.Column("route", sa.String(length=20), server_default="", nullable=False))
        batch_op.create_check_constraint(op.f("ck_drug_doses_per_unit_positive"), "doses_per_unit > 0")

    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reimbursement_contract", sa.Boolean(), server_default="0", nullable=False))

    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signer", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("safety_version", sa.String(length=20), nullable=True))

    with op.batch_alter_table("prescription_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fills", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.drop_constraint(op.f("ck_prescription_item_dispensed_within_quantity"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_prescription_item_dispensed_within_quantity"),
            "dispensed_quantity >= 0 AND dispensed_quantity <= quantity * fills",
        )
        batch_op.create_check_constraint(op.f("ck_prescription_item_fills_range"), "fills BETWEEN 1 AND 13")
    _foreign_keys(on=True)


def downgrade() -> None:
    """Drop the e-prescription additions; refused while a repeat item has been dispensed beyond one fill."""
    over = (
        op.get_bind()
        .exec_driver_sql("SELECT count(*) FROM prescription_item WHERE dispensed_quantity > quantity")
        .scalar_one()
    )
    if over:
        raise RuntimeError(f"{over} repeat items were dispensed beyond one fill; the old check cannot hold them")
    _foreign_keys(on=False)
    with op.batch_alter_table("prescription_item", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_prescription_item_fills_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_prescription_item_dispensed_within_quantity"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_prescription_item_dispensed_within_quantity"),
            "dispensed_quantity >= 0 AND dispensed_quantity <= quantity",
        )
        batch_op.drop_column("fills")

    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.drop_column("safety_version")
        batch_op.drop_column("signer")

    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("reimbursement_contract")

    with op.batch_alter_table("drug", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_drug_doses_per_unit_positive"), type_="check")
        batch_op.drop_column("route")
        batch_op.drop_column("usual_days")
        batch_op.drop_column("usual_intakes")
        batch_op.drop_column("usual_dose")
        batch_op.drop_column("doses_per_unit")
        batch_op.drop_column("dose_unit")

    with op.batch_alter_table("prescription_warning", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescription_warning_prescription_id"))

    op.drop_table("prescription_warning")
    with op.batch_alter_table("prescription_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescription_draft_cabinet_id"))

    op.drop_table("prescription_draft")
    with op.batch_alter_table("patient_notification", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_notification_state")
        batch_op.drop_index(batch_op.f("ix_patient_notification_patient_id"))

    op.drop_table("patient_notification")
    _foreign_keys(on=True)
