"""Builders for hospital tests: departments, wards and beds, a hospital referral, and an actor for a cabinet."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.trail import Actor
from ehealth.emr.models import Referral, ReferralKind, ReferralState
from ehealth.patients.models import Patient
from ehealth.reference.models import Bed, Department, DepartmentKind, Organization, OrganizationKind, Ward
from tests import factories

_serial = itertools.count(1)


def actor(cabinet: Cabinet) -> Actor:
    """The actor a signed-in cabinet acts as."""
    return Actor(cabinet.id, str(cabinet.role), cabinet.organization_id, "10.0.0.7")


def department(
    session: Session, org: Organization, name: str | None = None, kind: DepartmentKind = DepartmentKind.INPATIENT
) -> Department:
    """A department of `org`."""
    row = Department(organization_id=org.id, name=name or f"Bo'lim {next(_serial)}", kind=kind)
    session.add(row)
    session.flush()
    return row


def ward(session: Session, dept: Department, name: str | None = None) -> Ward:
    """A ward of `dept`."""
    row = Ward(organization_id=dept.organization_id, department_id=dept.id, name=name or f"P{next(_serial)}")
    session.add(row)
    session.flush()
    return row


def beds(session: Session, room: Ward, count: int, *, active: bool = True) -> list[Bed]:
    """`count` beds numbered 1.. (after any the ward has) in `room`."""
    start = session.execute(select(func.count()).where(Bed.ward_id == room.id)).scalar_one()
    rows = [
        Bed(organization_id=room.organization_id, ward_id=room.id, code=str(start + n + 1), is_active=active)
        for n in range(count)
    ]
    session.add_all(rows)
    session.flush()
    return rows


@dataclass
class Hospital:
    """A hospital with a therapy and an intensive-care department, a doctor and a nurse."""

    org: Organization
    therapy: Department
    icu: Department
    therapy_beds: list[Bed]
    icu_beds: list[Bed]
    doctor: Cabinet
    nurse: Cabinet

    @property
    def as_doctor(self) -> Actor:
        """The doctor acting."""
        return actor(self.doctor)

    @property
    def as_nurse(self) -> Actor:
        """The nurse acting."""
        return actor(self.nurse)


def hospital(session: Session, therapy_beds: int = 3, icu_beds: int = 2) -> Hospital:
    """A hospital with beds in two departments and two of its staff."""
    org = factories.organization(session, OrganizationKind.HOSPITAL)
    therapy = department(session, org, "Terapiya")
    icu = department(session, org, "Reanimatsiya")
    return Hospital(
        org=org,
        therapy=therapy,
        icu=icu,
        therapy_beds=beds(session, ward(session, therapy, "101"), therapy_beds),
        icu_beds=beds(session, ward(session, icu, "R1"), icu_beds),
        doctor=factories.cabinet(session, org, Role.DOCTOR),
        nurse=factories.cabinet(session, org, Role.NURSE),
    )


def hospital_referral(
    session: Session,
    who: Patient,
    *,
    target: Organization | None = None,
    kind: ReferralKind = ReferralKind.HOSPITAL,
    issued_at: datetime | None = None,
) -> Referral:
    """A referral issued at a polyclinic visit of `who`."""
    poly = factories.organization(session, OrganizationKind.POLYCLINIC)
    gp = factories.cabinet(session, poly, Role.DOCTOR)
    issued = issued_at or utcnow() - timedelta(days=3)
    visit = factories.encounter(session, poly, gp, who, start=issued - timedelta(minutes=20))
    row = Referral(
        patient_id=who.id,
        organization_id=poly.id,
        encounter_id=visit.id,
        created_by=gp.id,
        kind=kind,
        state=ReferralState.ISSUED,
        target_organization_id=target.id if target is not None else None,
        icd10_code="I10",
        reason="Statsionar davolanish",
        issued_at=issued,
    )
    session.add(row)
    session.flush()
    return row
