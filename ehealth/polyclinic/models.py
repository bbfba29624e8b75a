"""Appointments: the registrar books a patient to a doctor for a time, or adds a walk-in to today's queue."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, IntPk, Timestamp, UpdatedAt, enum_column, fk
from ehealth.i18n import N_


class AppointmentKind(StrEnum):
    """Booked ahead, or come in without one."""

    BOOKED = "booked"
    WALK_IN = "walk_in"


class AppointmentState(StrEnum):
    """Where the patient stands in the doctor's queue."""

    BOOKED = "booked"
    ARRIVED = "arrived"
    IN_VISIT = "in_visit"
    DONE = "done"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Appointment(Base):
    """One place in a doctor's queue; the visit it leads to is an encounter."""

    __tablename__ = "appointment"

    id: Mapped[IntPk]
    patient_id: Mapped[int] = fk("patient.id")
    organization_id: Mapped[int] = fk("organization.id")
    practitioner_id: Mapped[int] = fk("cabinet.id", index=False)
    department_id: Mapped[int | None] = fk("department.id", nullable=True, index=False)
    kind: Mapped[AppointmentKind] = enum_column(AppointmentKind, "kind")
    state: Mapped[AppointmentState] = enum_column(AppointmentState, "state", default=AppointmentState.BOOKED)
    scheduled_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(String(300))
    encounter_id: Mapped[int | None] = fk("encounter.id", nullable=True, index=False)
    created_by: Mapped[int] = fk("cabinet.id", index=False)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        CheckConstraint(
            "state NOT IN ('in_visit', 'done') OR encounter_id IS NOT NULL",
            name="visit_has_encounter",
            info={"message": N_("A patient in a visit needs the visit's record.")},
        ),
        # Today's queue of one doctor, in time order.
        Index("ix_appointment_practitioner_time", "practitioner_id", "scheduled_at"),
        Index("ix_appointment_org_time", "organization_id", "scheduled_at"),
    )
