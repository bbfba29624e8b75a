"""clinical core: appointments, patient merges, emergency access, visit fields, results linked to referrals

The doctor's queue (appointment), merged duplicate patients kept and hidden (patient.merged_into_id, patient_merge
with the rows moved, so that unmerge is exact), emergency access to a record outside one's organization, the
visit's complaints / examination / outcome, and lab and instrumental results pointing at the referral they answer.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _foreign_keys_off() -> None:
    """SQLite adds a foreign key by rebuilding the table, and dropping the old `patient` while foreign keys are
    enforced would refuse (every clinical row refers to it). Before Alembic's transaction starts, the PRAGMA holds."""
    if _sqlite():
        op.execute("PRAGMA foreign_keys=OFF")


def _foreign_keys_checked() -> None:
    """Prove that the rebuilds kept every reference whole, then ask for enforcement again."""
    if _sqlite():
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by rebuilding tables: {broken[:5]}")
        op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    """Apply this revision."""
    _foreign_keys_off()
    op.create_table(
        "emergency_access",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cabinet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column(
            "granted_at", db.UTCDateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("expires_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("expires_at > granted_at", name=op.f("ck_emergency_access_expires_after_grant")),
        sa.ForeignKeyConstraint(["cabinet_id"], ["cabinet.id"], name=op.f("fk_emergency_access_cabinet_id_cabinet")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"], name=op.f("fk_emergency_access_organization_id_organization")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_emergency_access_patient_id_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_access")),
    )
    with op.batch_alter_table("emergency_access", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_emergency_access_cabinet_id"), ["cabinet_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_emergency_access_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "patient_merge",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("survivor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("merged_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("merged_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "merged_at", db.UTCDateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("undone_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("undone_at", db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undo_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "(undone_at IS NULL) = (undone_by IS NULL) AND (undone_at IS NULL) = (undo_reason IS NULL)",
            name=op.f("ck_patient_merge_undo_complete"),
        ),
        sa.CheckConstraint("survivor_id <> merged_id", name=op.f("ck_patient_merge_two_records")),
        sa.ForeignKeyConstraint(["merged_by"], ["cabinet.id"], name=op.f("fk_patient_merge_merged_by_cabinet")),
        sa.ForeignKeyConstraint(["merged_id"], ["patient.id"], name=op.f("fk_patient_merge_merged_id_patient")),
        sa.ForeignKeyConstraint(["survivor_id"], ["patient.id"], name=op.f("fk_patient_merge_survivor_id_patient")),
        sa.ForeignKeyConstraint(["undone_by"], ["cabinet.id"], name=op.f("fk_patient_merge_undone_by_cabinet")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_merge")),
    )
    with op.batch_alter_table("patient_merge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_merge_merged_id"), ["merged_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patient_merge_survivor_id"), ["survivor_id"], unique=False)

    op.create_table(
        "appointment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("practitioner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("department_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("booked", "walk_in", name="kind", native_enum=False, create_constraint=True, length=15),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "booked",
                "arrived",
                "in_visit",
                "done",
                "cancelled",
                "no_show",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("scheduled_at", db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("encounter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "created_at", db.UTCDateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column(
            "updated_at", db.UTCDateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.CheckConstraint(
            "state NOT IN ('in_visit', 'done') OR encounter_id IS NOT NULL",
            name=op.f("ck_appointment_visit_has_encounter"),
        ),
        sa.ForeignKeyConstraint(["created_by"], ["cabinet.id"], name=op.f("fk_appointment_created_by_cabinet")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_appointment_department_id_department")
        ),
        sa.ForeignKeyConstraint(["encounter_id"], ["encounter.id"], name=op.f("fk_appointment_encounter_id_encounter")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"], name=op.f("fk_appointment_organization_id_organization")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_appointment_patient_id_patient")),
        sa.ForeignKeyConstraint(
            ["practitioner_id"], ["cabinet.id"], name=op.f("fk_appointment_practitioner_id_cabinet")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index("ix_appointment_org_time", ["organization_id", "scheduled_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointment_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointment_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_appointment_practitioner_time", ["practitioner_id", "scheduled_at"], unique=False)

    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complaints", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("examination", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "outcome",
                sa.Enum(
                    "recovered",
                    "improved",
                    "unchanged",
                    "follow_up",
                    "referred",
                    "hospitalized",
                    name="outcome",
                    native_enum=False,
                    create_constraint=True,
                    length=20,
                ),
                nullable=True,
            )
        )

    with op.batch_alter_table("instrumental_result", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("referral_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_instrumental_result_referral_id"), ["referral_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_instrumental_result_referral_id_referral"), "referral", ["referral_id"], ["id"]
        )

    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("referral_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_lab_result_referral_id"), ["referral_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_lab_result_referral_id_referral"), "referral", ["referral_id"], ["id"]
        )

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_patient_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_patient_merged_into_id_patient"), "patient", ["merged_into_id"], ["id"]
        )
        batch_op.create_check_constraint(
            op.f("ck_patient_not_merged_into_itself"), "merged_into_id IS NULL OR merged_into_id <> id"
        )
    _foreign_keys_checked()


def downgrade() -> None:
    """Revert this revision (merges, appointments and emergency access records are dropped with their tables)."""
    _foreign_keys_off()
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_patient_not_merged_into_itself"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_patient_merged_into_id_patient"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_patient_merged_into_id"))
        batch_op.drop_column("merged_into_id")

    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_lab_result_referral_id_referral"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_lab_result_referral_id"))
        batch_op.drop_column("referral_id")

    with op.batch_alter_table("instrumental_result", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_instrumental_result_referral_id_referral"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_instrumental_result_referral_id"))
        batch_op.drop_column("referral_id")

    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_encounter_outcome"), type_="check")  # it names the column dropped next
        batch_op.drop_column("outcome")
        batch_op.drop_column("examination")
        batch_op.drop_column("complaints")

    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_practitioner_time")
        batch_op.drop_index(batch_op.f("ix_appointment_patient_id"))
        batch_op.drop_index(batch_op.f("ix_appointment_organization_id"))
        batch_op.drop_index("ix_appointment_org_time")

    op.drop_table("appointment")
    with op.batch_alter_table("patient_merge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_merge_survivor_id"))
        batch_op.drop_index(batch_op.f("ix_patient_merge_merged_id"))

    op.drop_table("patient_merge")
    with op.batch_alter_table("emergency_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_access_patient_id"))
        batch_op.drop_index(batch_op.f("ix_emergency_access_cabinet_id"))

    op.drop_table("emergency_access")
    _foreign_keys_checked()
