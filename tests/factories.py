"""Minimal valid rows for tests that need an organization, a cabinet, a patient or an encounter."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, DocumentType, Role
from ehealth.emr.models import Condition, ConditionKind, Encounter, EncounterKind
from ehealth.identifiers import make_pinfl
from ehealth.patients.models import Patient, Sex
from ehealth.reference.models import Organization, OrganizationKind

_serial = itertools.count(1)
TASHKENT_CITY = 1726


def organization(session: Session, kind: OrganizationKind = OrganizationKind.POLYCLINIC) -> Organization:
    """A licensed organization in Tashkent city."""
    n = next(_serial)
    row = Organization(
        name=f"Test {kind} {n}",
        kind=kind,
        stir=f"{200000000 + n}",
        licence_number=f"L-{n:05d}",
        licence_date=date(2024, 1, 1),
        licence_valid_until=date(2029, 1, 1),
        region_id=TASHKENT_CITY,
    )
    session.add(row)
    session.flush()
    return row


def cabinet(session: Session, org: Organization, role: Role = Role.DOCTOR) -> Cabinet:
    """An active cabinet of `role` in `org`."""
    n = next(_serial)
    row = Cabinet(
        id_number=f"T{n:08d}",
        organization_id=org.id,
        surname="Karimov",
        given_name="Aziz",
        patronymic="Botirovich",
        position="Terapevt",
        department_name="Terapiya",
        document_type=DocumentType.PASSPORT,
        document_series="AA",
        document_number=f"{n:07d}",
        pinfl=make_pinfl(date(1985, 5, 17), "male", 1 + n % 999, 1 + n // 999),
        email=f"user{n}@example.uz",
        role=role,
    )
    session.add(row)
    session.flush()
    return row


def patient(session: Session, born: date = date(1990, 1, 1), sex: Sex = Sex.MALE) -> Patient:
    """A registered patient with a valid PINFL."""
    n = next(_serial)
    row = Patient(
        pinfl=make_pinfl(born, sex.value, 1 + n % 999, 1 + n // 999),
        surname="Toshmatov",
        given_name="Ali",
        patronymic="Valiyevich",
        birth_date=born,
        sex=sex,
        region_id=TASHKENT_CITY,
    )
    session.add(row)
    session.flush()
    return row


def encounter(
    session: Session, org: Organization, doctor: Cabinet, who: Patient, start: datetime | None = None
) -> Encounter:
    """An open outpatient visit."""
    started = start or utcnow() - timedelta(minutes=30)
    row = Encounter(
        patient_id=who.id,
        organization_id=org.id,
        kind=EncounterKind.OUTPATIENT,
        practitioner_id=doctor.id,
        started_at=started,
        created_by=doctor.id,
    )
    session.add(row)
    session.flush()
    return row


def diagnosis(
    session: Session, visit: Encounter, code: str = "I10", kind: ConditionKind = ConditionKind.FINAL
) -> Condition:
    """A diagnosis entered in `visit` by its practitioner."""
    row = Condition(
        patient_id=visit.patient_id,
        organization_id=visit.organization_id,
        encounter_id=visit.id,
        icd10_code=code,
        kind=kind,
        recorded_at=utcnow() - timedelta(minutes=1),
        created_by=visit.practitioner_id,
    )
    session.add(row)
    session.flush()
    return row
