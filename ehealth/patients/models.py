"""A patient: one row per person, keyed by PINFL."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, IntPk, OptTimestamp, Timestamp, UpdatedAt, enum_column, fk
from ehealth.i18n import N_


class Sex(StrEnum):
    """Sex as the PINFL encodes it."""

    MALE = "male"
    FEMALE = "female"


class Patient(Base):
    """A person known to the health system (R-11: PINFL, surname, given name, patronymic, birth date)."""

    __tablename__ = "patient"

    id: Mapped[IntPk]
    pinfl: Mapped[str] = mapped_column(String(14))
    surname: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = enum_column(Sex, "sex")
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"))
    registered_by_organization_id: Mapped[int | None] = fk("organization.id", nullable=True)
    created_by: Mapped[int | None] = fk("cabinet.id", nullable=True, index=False)
    # A duplicate record merged into another: kept (unmerge restores it), hidden from search.
    merged_into_id: Mapped[int | None] = fk("patient.id", nullable=True)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt] = mapped_column(index=True)

    __table_args__ = (
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_itself"),
        UniqueConstraint(
            "pinfl", name="uq_patient_pinfl", info={"message": N_("A patient with this PINFL is already registered.")}
        ),
        CheckConstraint("length(pinfl) = 14", name="pinfl_length", info={"message": N_("A PINFL has 14 digits.")}),
        # Search by name and birth date when the PINFL is not at hand.
        Index("ix_patient_name_birth", "surname", "given_name", "birth_date"),
        Index("ix_patient_birth_date", "birth_date"),
    )

    @property
    def full_name(self) -> str:
        """Surname, given name and patronymic."""
        return " ".join(part for part in (self.surname, self.given_name, self.patronymic) if part)


class PatientMerge(Base):
    """Two records of one person joined (R-13.1): every clinical row moved, listed so that unmerge is exact."""

    __tablename__ = "patient_merge"

    id: Mapped[IntPk]
    survivor_id: Mapped[int] = fk("patient.id")
    merged_id: Mapped[int] = fk("patient.id")
    reason: Mapped[str] = mapped_column(String(500))
    # {table name: [row ids moved from merged_id to survivor_id]}: what unmerge moves back, and nothing else.
    moved: Mapped[dict[str, list[int]]] = mapped_column(JSON)
    merged_by: Mapped[int] = fk("cabinet.id", index=False)
    merged_at: Mapped[Timestamp]
    undone_by: Mapped[int | None] = fk("cabinet.id", nullable=True, index=False)
    undone_at: Mapped[OptTimestamp]
    undo_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint("survivor_id <> merged_id", name="two_records"),
        CheckConstraint(
            "(undone_at IS NULL) = (undone_by IS NULL) AND (undone_at IS NULL) = (undo_reason IS NULL)",
            name="undo_complete",
            info={"message": N_("An undone merge needs who undid it, when and why.")},
        ),
    )
