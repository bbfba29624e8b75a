"""Builders for the medical record tests: a clinic with its staff and an open visit, referrals, a hospital stay,
a prescription, and reading the audit trail."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import Actor
from ehealth.emr.models import Encounter, EncounterKind, EncounterState, Referral, ReferralKind
from ehealth.hospital.models import Admission, AdmissionType, Discharge, DischargeOutcome
from ehealth.patients.models import Patient
from ehealth.prescription.models import (
    ConfirmationKind,
    Dispense,
    Prescription,
    PrescriptionCategory,
    PrescriptionItem,
)
from ehealth.reference.models import Department, DepartmentKind, Drug, DrugCategory, Organization, OrganizationKind
from tests import factories

_serial = itertools.count(1)


def actor(cabinet: Cabinet) -> Actor:
    """The actor a signed-in cabinet acts as."""
    return Actor(cabinet.id, str(cabinet.role), cabinet.organization_id, "10.0.0.9")


@dataclass
class Clinic:
    """A polyclinic with a doctor, a nurse and a registrar, a patient, and the patient's open visit."""

    org: Organization
    doctor: Cabinet
    nurse: Cabinet
    registrar: Cabinet
    patient: Patient
    visit: Encounter

    @property
    def as_doctor(self) -> Actor:
        """The doctor acting."""
        return actor(self.doctor)

    @property
    def as_nurse(self) -> Actor:
        """The nurse acting."""
        return actor(self.nurse)


def clinic(
    session: Session, kind: OrganizationKind = OrganizationKind.POLYCLINIC, patient: Patient | None = None
) -> Clinic:
    """A fresh organization of `kind` whose doctor has an open visit with a (new or given) patient."""
    org = factories.organization(session, kind)
    doctor = factories.cabinet(session, org, Role.DOCTOR)
    nurse = factories.cabinet(session, org, Role.NURSE)
    registrar = factories.cabinet(session, org, Role.REGISTRAR)
    who = patient or factories.patient(session, born=date(1970, 6, 15))
    visit = factories.encounter(session, org, doctor, who, start=utcnow() - timedelta(hours=1))
    return Clinic(org, doctor, nurse, registrar, who, visit)


def close(session: Session, visit: Encounter) -> None:
    """End a visit (as closing it would)."""
    visit.state, visit.ended_at = EncounterState.CLOSED, utcnow()
    session.flush()


def referral(session: Session, visit: Encounter, kind: ReferralKind, target: Organization | None = None) -> Referral:
    """An issued referral of `kind` from `visit`."""
    row = Referral(
        patient_id=visit.patient_id,
        organization_id=visit.organization_id,
        encounter_id=visit.id,
        kind=kind,
        target_organization_id=target.id if target is not None else None,
        reason="Tekshiruv uchun",
        issued_at=utcnow() - timedelta(minutes=50),
        created_by=visit.practitioner_id,
    )
    session.add(row)
    session.flush()
    return row


def department(session: Session, org: Organization, kind: DepartmentKind = DepartmentKind.INPATIENT) -> Department:
    """A department of `org`."""
    row = Department(organization_id=org.id, name=f"Terapiya {next(_serial)}", kind=kind)
    session.add(row)
    session.flush()
    return row


def hospital_stay(
    session: Session, patient: Patient, admitted: datetime, discharged: datetime, code: str = "J18.9"
) -> tuple[Encounter, Admission, Discharge]:
    """A finished inpatient stay of `patient` at a new hospital."""
    org = factories.organization(session, OrganizationKind.HOSPITAL)
    doctor = factories.cabinet(session, org, Role.DOCTOR)
    ward = department(session, org)
    stay = Encounter(
        patient_id=patient.id,
        organization_id=org.id,
        kind=EncounterKind.INPATIENT,
        state=EncounterState.CLOSED,
        department_id=ward.id,
        practitioner_id=doctor.id,
        started_at=admitted,
        ended_at=discharged,
        created_by=doctor.id,
    )
    session.add(stay)
    session.flush()
    common = {"patient_id": patient.id, "organization_id": org.id, "encounter_id": stay.id, "created_by": doctor.id}
    admission = Admission(
        **common, department_id=ward.id, admitted_at=admitted, admission_type=AdmissionType.EMERGENCY, icd10_code=code
    )
    session.add(admission)
    session.flush()
    discharge = Discharge(
        **common,
        admission_id=admission.id,
        discharged_at=discharged,
        outcome=DischargeOutcome.RECOVERED,
        icd10_code=code,
    )
    session.add(discharge)
    session.flush()
    return stay, admission, discharge


def prescription(session: Session, visit: Encounter, issued: datetime) -> Prescription:
    """A regular prescription of amlodipine issued in `visit`."""
    n = next(_serial)
    drug = Drug(
        inn="Amlodipine",
        brand=f"Norvask {n}",
        form="tablet",
        strength="5 mg",
        unit="tablet",
        pack_size=30,
        atc_code="C08CA01",
        category=DrugCategory.PRESCRIPTION,
    )
    session.add(drug)
    session.flush()
    row = Prescription(
        patient_id=visit.patient_id,
        organization_id=visit.organization_id,
        number=f"RX-T-{n:06d}",
        encounter_id=visit.id,
        prescriber_id=visit.practitioner_id,
        icd10_code="I10",
        category=PrescriptionCategory.REGULAR,
        issued_at=issued,
        valid_until=(issued + timedelta(days=30)).date(),
        confirmation=ConfirmationKind.ONEID,
        content_hash="0" * 64,
        created_by=visit.practitioner_id,
    )
    session.add(row)
    session.flush()
    session.add(
        PrescriptionItem(
            prescription_id=row.id,
            patient_id=visit.patient_id,
            line=1,
            drug_id=drug.id,
            inn="Amlodipine",
            brand=drug.brand,
            form="tablet",
            strength="5 mg",
            dose=5,
            dose_unit="mg",
            intakes_per_day=1,
            route="oral",
            duration_days=30,
            quantity=30,
        )
    )
    session.flush()
    return row


def dispense(session: Session, prescription_id: int, when: datetime) -> Dispense:
    """The whole of a prescription's first item handed over at a new pharmacy by its pharmacist."""
    item = session.execute(
        select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription_id, PrescriptionItem.line == 1)
    ).scalar_one()
    pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
    pharmacist = factories.cabinet(session, pharmacy, Role.PHARMACIST)
    row = Dispense(
        patient_id=item.patient_id,
        organization_id=pharmacy.id,
        created_by=pharmacist.id,
        prescription_id=prescription_id,
        item_id=item.id,
        drug_id=item.drug_id,
        quantity=item.quantity,
        brand=item.brand,
        strength=item.strength,
        pack="30 tablet",
        batch_number="AT2511001",
        dispensed_at=when,
    )
    item.dispensed_quantity = item.quantity
    session.add(row)
    session.flush()
    return row


def audit_actions(session: Session, patient_id: int) -> list[tuple[str, str | None, str | None]]:
    """(action, object type, object id) of the patient's audit events, oldest first."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id)
        .where(AuditEvent.patient_id == patient_id)
        .order_by(AuditEvent.id)
    ).all()
    return [(action, kind, object_id) for action, kind, object_id in rows]
