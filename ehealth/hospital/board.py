"""The ward board (every bed with who lies in it) and bed occupancy per department, each in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ehealth.calendar import today as local_today
from ehealth.clinical import RecordStatus
from ehealth.hospital.models import Admission, BedAssignment
from ehealth.identifiers import TASHKENT
from ehealth.outbox import ClinicalEvent
from ehealth.patients.models import Patient
from ehealth.reference.models import Bed, Department, DepartmentKind, Ward

# A bed is taken while an active assignment has not ended (the partial unique index keeps it to one).
_OPEN = and_(
    BedAssignment.bed_id == Bed.id,
    BedAssignment.ended_at.is_(None),
    BedAssignment.status == RecordStatus.ACTIVE,
)
# The clinical tables whose writes change the board: a newer event of one of them means a new board.
BOARD_ENTITIES = ("admission", "bed_assignment", "discharge")
# Beds out of service are not offered, but one still holding a patient stays on the board and in the counts.
_COUNTED = or_(Bed.is_active.is_(True), BedAssignment.id.is_not(None))


@dataclass(frozen=True)
class BoardBed:
    """One bed of the board: where it is and who is in it (the patient fields are None when it is free)."""

    department_id: int
    department: str
    ward_id: int
    ward: str
    bed_id: int
    bed: str
    admission_id: int | None
    patient_id: int | None
    patient_name: str | None
    admitted_at: datetime | None
    days_in_hospital: int | None

    @property
    def free(self) -> bool:
        """Nobody is in the bed."""
        return self.admission_id is None


@dataclass(frozen=True)
class DepartmentOccupancy:
    """Beds of one department and how many are taken now."""

    department_id: int
    department: str
    beds: int
    occupied: int

    @property
    def free(self) -> int:
        """Beds nobody is in."""
        return self.beds - self.occupied

    @property
    def rate(self) -> float:
        """Share of the beds taken, 0.0-1.0 (0.0 for a department without beds)."""
        return self.occupied / self.beds if self.beds else 0.0


def bed_days(admitted_at: datetime, on: date) -> int:
    """Days in hospital as bed-days are counted: calendar days since admission in Tashkent, the first day is 1."""
    return max(1, (on - admitted_at.astimezone(TASHKENT).date()).days)


def ward_board(
    session: Session, organization_id: int, *, department_id: int | None = None, today: date | None = None
) -> list[BoardBed]:
    """Every bed of the organization (or of one department) with its current patient, or free."""
    on = today or local_today()
    query = (
        select(
            Department.id,
            Department.name,
            Ward.id,
            Ward.name,
            Bed.id,
            Bed.code,
            BedAssignment.admission_id,
            Patient.id,
            Patient.surname,
            Patient.given_name,
            Patient.patronymic,
            Admission.admitted_at,
        )
        .select_from(Bed)
        .join(Ward, Ward.id == Bed.ward_id)
        .join(Department, Department.id == Ward.department_id)
        .outerjoin(BedAssignment, _OPEN)
        .outerjoin(Admission, Admission.id == BedAssignment.admission_id)
        .outerjoin(Patient, Patient.id == BedAssignment.patient_id)
        .where(Bed.organization_id == organization_id, _COUNTED)
        .order_by(Department.name, Ward.name, func.length(Bed.code), Bed.code, Bed.id)
    )
    if department_id is not None:
        query = query.where(Department.id == department_id)
    board = []
    for row in session.execute(query):
        dept_id, dept, ward_id, ward, bed_id, code, admission_id, patient_id, surname, given, patronymic, when = row
        name = " ".join(part for part in (surname, given, patronymic) if part) or None
        board.append(
            BoardBed(
                department_id=dept_id,
                department=dept,
                ward_id=ward_id,
                ward=ward,
                bed_id=bed_id,
                bed=code,
                admission_id=admission_id,
                patient_id=patient_id,
                patient_name=name,
                admitted_at=when,
                days_in_hospital=bed_days(when, on) if when is not None else None,
            )
        )
    return board


def occupancy(session: Session, organization_id: int) -> list[DepartmentOccupancy]:
    """Beds, occupied, free and rate for each inpatient department (and any other that has beds) of the organization."""
    counted = (
        select(Bed.id.label("bed_id"), Ward.department_id.label("department_id"), BedAssignment.id.label("taken"))
        .join(Ward, Ward.id == Bed.ward_id)
        .outerjoin(BedAssignment, _OPEN)
        .where(Bed.organization_id == organization_id, _COUNTED)
        .subquery()
    )
    query = (
        select(Department.id, Department.name, func.count(counted.c.bed_id), func.count(counted.c.taken))
        .outerjoin(counted, counted.c.department_id == Department.id)
        .where(Department.organization_id == organization_id)
        .group_by(Department.id, Department.name, Department.kind)
        .having(or_(Department.kind == DepartmentKind.INPATIENT, func.count(counted.c.bed_id) > 0))
        .order_by(Department.name, Department.id)
    )
    return [DepartmentOccupancy(dept_id, name, beds, taken) for dept_id, name, beds, taken in session.execute(query)]


def board_version(session: Session, organization_id: int, *, after: int = 0) -> int:
    """The id of the organization's newest admission, bed or discharge event if newer than `after`, else `after`.

    A screen keeps the id its board was drawn at and redraws only when this moves on. Asking for events after the
    last one seen keeps the poll to the few rows written since (a range of the primary key), however long the
    organization's history.
    """
    newest = session.execute(
        select(func.max(ClinicalEvent.id)).where(
            ClinicalEvent.id > after,
            ClinicalEvent.organization_id == organization_id,
            ClinicalEvent.entity.in_(BOARD_ENTITIES),
        )
    ).scalar_one_or_none()
    return after if newest is None else newest
