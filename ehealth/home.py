"""The figures each role sees first on its home page, from the operational database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from ehealth.access.inventory import count_not_reviewed_within_a_year
from ehealth.access.models import (
    Cabinet,
    CabinetStatus,
    EmploymentNotice,
    InstallationRequest,
    InventoryCampaign,
    InventoryReview,
    RequestStatus,
    Role,
)
from ehealth.calendar import day_bounds
from ehealth.clinical import ClinicalRecord, RecordStatus
from ehealth.emr.models import Encounter, EncounterKind
from ehealth.hospital.models import BedAssignment
from ehealth.i18n import N_
from ehealth.patients.models import Patient
from ehealth.prescription.models import Dispense, Prescription
from ehealth.reference.models import Organization


@dataclass(frozen=True)
class Figure:
    """One number on a home page; `label` is a msgid translated where it is shown."""

    label: str
    value: int


@dataclass(frozen=True)
class Viewer:
    """Whose home page it is."""

    cabinet_id: int
    role: Role
    organization_id: int


def _count(session: Session, query: Select[int]) -> int:
    return session.execute(query).scalar_one()


def _live(model: type[ClinicalRecord]) -> ColumnElement[bool]:
    """Only rows in force: corrected and withdrawn entries do not count."""
    return model.status == RecordStatus.ACTIVE


def _clinician(session: Session, who: Viewer, today: date) -> list[Figure]:
    start, end = day_bounds(today)
    month_start, _ = day_bounds(today.replace(day=1))
    in_org = Encounter.organization_id == who.organization_id
    today_q = and_(Encounter.started_at >= start, Encounter.started_at < end, _live(Encounter))
    figures = [
        Figure(N_("Visits today in my organization"), _count(session, select(func.count()).where(in_org, today_q))),
    ]
    if who.role == Role.DOCTOR:
        mine = Encounter.practitioner_id == who.cabinet_id
        figures.append(Figure(N_("My visits today"), _count(session, select(func.count()).where(mine, today_q))))
        issued = select(func.count()).where(
            Prescription.prescriber_id == who.cabinet_id, Prescription.issued_at >= month_start, _live(Prescription)
        )
        figures.append(Figure(N_("Prescriptions I issued this month"), _count(session, issued)))
    if who.role in (Role.DOCTOR, Role.NURSE):
        in_beds = select(func.count()).where(
            BedAssignment.organization_id == who.organization_id,
            BedAssignment.ended_at.is_(None),
            _live(BedAssignment),
        )
        figures.append(Figure(N_("Patients in hospital beds now"), _count(session, in_beds)))
    if who.role == Role.REGISTRAR:
        registered = select(func.count()).where(Patient.registered_by_organization_id == who.organization_id)
        figures.append(Figure(N_("Patients registered by my organization"), _count(session, registered)))
    return figures


def _pharmacist(session: Session, who: Viewer, today: date) -> list[Figure]:
    start, end = day_bounds(today)
    month_start, _ = day_bounds(today.replace(day=1))
    here = and_(Dispense.organization_id == who.organization_id, _live(Dispense))
    return [
        Figure(
            N_("Dispenses today at this pharmacy"),
            _count(
                session, select(func.count()).where(here, Dispense.dispensed_at >= start, Dispense.dispensed_at < end)
            ),
        ),
        Figure(
            N_("Dispenses this month at this pharmacy"),
            _count(session, select(func.count()).where(here, Dispense.dispensed_at >= month_start)),
        ),
    ]


def _manager(session: Session, who: Viewer, today: date) -> list[Figure]:
    month_start, _ = day_bounds(today.replace(day=1))
    mine = and_(Encounter.organization_id == who.organization_id, Encounter.started_at >= month_start, _live(Encounter))
    return [
        Figure(
            N_("Outpatient visits this month"),
            _count(session, select(func.count()).where(mine, Encounter.kind == EncounterKind.OUTPATIENT)),
        ),
        Figure(
            N_("Hospital stays begun this month"),
            _count(session, select(func.count()).where(mine, Encounter.kind == EncounterKind.INPATIENT)),
        ),
        Figure(
            N_("Active cabinets of my organization"),
            _count(
                session,
                select(func.count()).where(
                    Cabinet.organization_id == who.organization_id, Cabinet.status == CabinetStatus.ACTIVE
                ),
            ),
        ),
    ]


def _analyst(session: Session, _who: Viewer, today: date) -> list[Figure]:
    month_start, _ = day_bounds(today.replace(day=1))
    return [
        Figure(N_("Patients in the national registry"), _count(session, select(func.count()).select_from(Patient))),
        Figure(N_("Organizations"), _count(session, select(func.count()).select_from(Organization))),
        Figure(
            N_("Prescriptions issued this month"),
            _count(session, select(func.count()).where(Prescription.issued_at >= month_start, _live(Prescription))),
        ),
    ]


def _admin(session: Session, _who: Viewer, today: date) -> list[Figure]:
    open_request = InstallationRequest.status.in_([RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS])
    pending_notice = EmploymentNotice.action.is_(None)
    return [
        Figure(N_("Open installation requests"), _count(session, select(func.count()).where(open_request))),
        Figure(
            N_("Installation requests past their due date"),
            _count(session, select(func.count()).where(open_request, InstallationRequest.due_on < today)),
        ),
        Figure(N_("Employment notices awaiting action"), _count(session, select(func.count()).where(pending_notice))),
        Figure(
            N_("Employment notices past their due date"),
            _count(session, select(func.count()).where(pending_notice, EmploymentNotice.action_due_on < today)),
        ),
    ]


def _integrator(session: Session, _who: Viewer, today: date) -> list[Figure]:
    active = Cabinet.status == CabinetStatus.ACTIVE
    campaign = session.execute(select(InventoryCampaign.id).where(InventoryCampaign.year == today.year)).scalar()
    reviewed = _count(session, select(func.count()).where(InventoryReview.campaign_id == campaign)) if campaign else 0
    return [
        Figure(N_("Active cabinets"), _count(session, select(func.count()).where(active))),
        Figure(N_("Cabinets reviewed in this year's inventory"), reviewed),
        Figure(
            N_("Active cabinets not reviewed in the last 12 months"),
            count_not_reviewed_within_a_year(session, today),
        ),
    ]


_BY_ROLE: dict[Role, Callable[[Session, Viewer, date], list[Figure]]] = {
    Role.DOCTOR: _clinician,
    Role.NURSE: _clinician,
    Role.REGISTRAR: _clinician,
    Role.PHARMACIST: _pharmacist,
    Role.MANAGER: _manager,
    Role.ANALYST: _analyst,
    Role.ADMIN: _admin,
    Role.INTEGRATOR: _integrator,
}


def summary(session: Session, who: Viewer, today: date) -> list[Figure]:
    """The home-page figures for `who` on `today` (Tashkent date)."""
    return _BY_ROLE[who.role](session, who, today)
