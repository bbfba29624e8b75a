"""An inpatient stay's admission, its bed assignments and transfers, and its discharge."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, enum_column, fk
from ehealth.emr.models import InEncounter
from ehealth.i18n import N_

ACTIVE = text("status = 'active'")


class AdmissionType(StrEnum):
    """How the patient came in."""

    EMERGENCY = "emergency"
    PLANNED = "planned"
    TRANSFER = "transfer"


class DischargeOutcome(StrEnum):
    """How the stay ended, as the daily bed report counts it."""

    RECOVERED = "recovered"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    WORSENED = "worsened"
    DIED = "died"
    TRANSFERRED = "transferred"


class BedMoveReason(StrEnum):
    """Why a patient was put in a bed."""

    ADMISSION = "admission"
    TRANSFER = "transfer"


class Admission(InEncounter, Base):
    """The start of an inpatient stay (its encounter has kind `inpatient`)."""

    __tablename__ = "admission"

    department_id: Mapped[int] = fk("department.id")
    admitted_at: Mapped[datetime]
    admission_type: Mapped[AdmissionType] = enum_column(AdmissionType, "admission_type")
    referral_id: Mapped[int | None] = fk("referral.id", nullable=True, index=False)
    icd10_code: Mapped[str] = mapped_column(String(8))

    __table_args__ = (
        *InEncounter.clinical_checks(),
        Index(
            "uq_admission_live_encounter",
            "encounter_id",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
            info={"message": N_("This stay already has an admission.")},
        ),
        Index("ix_admission_org_time", "organization_id", "admitted_at"),
    )


class BedAssignment(InEncounter, Base):
    """A patient in a bed from a time until a time (open while the patient is there)."""

    __tablename__ = "bed_assignment"

    admission_id: Mapped[int] = fk("admission.id")
    department_id: Mapped[int] = fk("department.id")
    bed_id: Mapped[int] = fk("bed.id")
    reason: Mapped[BedMoveReason] = enum_column(BedMoveReason, "reason")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    __table_args__ = (
        *InEncounter.clinical_checks(),
        CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name="ends_after_start",
            info={"message": N_("A bed cannot be left before it was taken.")},
        ),
        # One patient per bed and one bed per patient at a time.
        Index(
            "uq_bed_assignment_occupied_bed",
            "bed_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL AND status = 'active'"),
            postgresql_where=text("ended_at IS NULL AND status = 'active'"),
            info={"message": N_("This bed is occupied.")},
        ),
        Index(
            "uq_bed_assignment_open_admission",
            "admission_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL AND status = 'active'"),
            postgresql_where=text("ended_at IS NULL AND status = 'active'"),
            info={"message": N_("The patient is already in a bed; transfer instead.")},
        ),
    )


class Discharge(InEncounter, Base):
    """The end of an inpatient stay with its outcome and final diagnosis."""

    __tablename__ = "discharge"

    admission_id: Mapped[int] = fk("admission.id")
    discharged_at: Mapped[datetime]
    outcome: Mapped[DischargeOutcome] = enum_column(DischargeOutcome, "outcome")
    icd10_code: Mapped[str] = mapped_column(String(8))
    transferred_to_id: Mapped[int | None] = fk("organization.id", nullable=True, index=False)

    __table_args__ = (
        *InEncounter.clinical_checks(),
        Index(
            "uq_discharge_live_admission",
            "admission_id",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
            info={"message": N_("This stay has already been discharged.")},
        ),
        Index("ix_discharge_org_time", "organization_id", "discharged_at"),
    )
