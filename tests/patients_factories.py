"""A patient with one row in every table that holds a patient's data (for merge tests)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.emr.models import (
    Allergy,
    EmergencyAccess,
    Encounter,
    EncounterKind,
    Indicator,
    InstrumentalResult,
    LabResult,
    Modality,
    Observation,
    Referral,
    ReferralKind,
    Severity,
    TreatmentKind,
    TreatmentRecord,
)
from ehealth.hospital.models import Admission, AdmissionType, BedAssignment, BedMoveReason, Discharge, DischargeOutcome
from ehealth.patients.models import Patient
from ehealth.polyclinic.models import Appointment, AppointmentKind
from ehealth.prescription.models import (
    ConfirmationKind,
    Dispense,
    NotificationState,
    PatientNotification,
    Prescription,
    PrescriptionCategory,
    PrescriptionDraft,
    PrescriptionItem,
)
from ehealth.reference.models import (
    Bed,
    Department,
    DepartmentKind,
    Drug,
    DrugCategory,
    Organization,
    OrganizationKind,
    Ward,
)
from tests import factories

_serial = itertools.count(1)


@dataclass(frozen=True)
class Setting:
    """Where the records are made: a polyclinic, a hospital with a bed, a pharmacy, a drug and their staff."""

    polyclinic: Organization
    doctor: Cabinet
    hospital: Organization
    hospital_doctor: Cabinet
    department: Department
    pharmacy: Organization
    pharmacist: Cabinet
    drug: Drug


def setting(session: Session) -> Setting:
    """Organizations, staff and reference rows for `full_record`."""
    n = next(_serial)
    polyclinic = factories.organization(session)
    hospital = factories.organization(session, OrganizationKind.HOSPITAL)
    pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
    department = Department(organization_id=hospital.id, name=f"Terapiya {n}", kind=DepartmentKind.INPATIENT)
    drug = Drug(
        inn="amlodipine",
        form="tablet",
        strength="5 mg",
        unit="tablet",
        atc_code="C08CA01",
        category=DrugCategory.PRESCRIPTION,
    )
    session.add_all([department, drug])
    session.flush()
    return Setting(
        polyclinic,
        factories.cabinet(session, polyclinic, Role.DOCTOR),
        hospital,
        factories.cabinet(session, hospital, Role.DOCTOR),
        department,
        pharmacy,
        factories.cabinet(session, pharmacy, Role.PHARMACIST),
        drug,
    )


def _bed(session: Session, where: Setting) -> Bed:
    n = next(_serial)
    ward = Ward(organization_id=where.hospital.id, department_id=where.department.id, name=f"W{n}")
    session.add(ward)
    session.flush()
    bed = Bed(organization_id=where.hospital.id, ward_id=ward.id, code=f"B{n}")
    session.add(bed)
    session.flush()
    return bed


def full_record(session: Session, where: Setting, who: Patient) -> None:
    """One row of `who` in every table with a patient_id: visits, results, prescriptions, a hospital stay."""
    now = utcnow()
    n = next(_serial)
    visit = factories.encounter(session, where.polyclinic, where.doctor, who)
    factories.diagnosis(session, visit)
    clinical = {
        "patient_id": who.id,
        "organization_id": where.polyclinic.id,
        "created_by": where.doctor.id,
    }
    in_visit = clinical | {"encounter_id": visit.id}
    session.add_all(
        [
            Observation(**in_visit, code=Indicator.PULSE, value=72, unit="/min", effective_at=now),
            LabResult(
                **in_visit,
                test_code="GLU",
                test_name="Glucose",
                value_numeric=5.1,
                unit="mmol/L",
                collected_at=now - timedelta(hours=2),
                resulted_at=now,
            ),
            InstrumentalResult(
                **in_visit, modality=Modality.ECG, study="ECG", conclusion="Sinus rhythm", performed_at=now
            ),
            TreatmentRecord(**in_visit, kind=TreatmentKind.NOTE, title="Advice", performed_at=now),
            Allergy(**clinical, substance="Penicillin", severity=Severity.MODERATE, recorded_at=now),
            Referral(**in_visit, kind=ReferralKind.LAB, reason="Glucose", issued_at=now),
            Appointment(
                patient_id=who.id,
                organization_id=where.polyclinic.id,
                practitioner_id=where.doctor.id,
                kind=AppointmentKind.BOOKED,
                scheduled_at=now + timedelta(days=1),
                created_by=where.doctor.id,
            ),
            EmergencyAccess(
                cabinet_id=where.hospital_doctor.id,
                patient_id=who.id,
                organization_id=where.hospital.id,
                reason="Brought in unconscious",
                expires_at=now + timedelta(hours=4),
            ),
        ]
    )
    prescription = Prescription(
        **in_visit,
        number=f"RX-T-{n:08d}",
        prescriber_id=where.doctor.id,
        icd10_code="I10",
        category=PrescriptionCategory.REGULAR,
        issued_at=now,
        valid_until=now.date() + timedelta(days=30),
        confirmation=ConfirmationKind.ONEID,
        content_hash="0" * 64,
    )
    session.add(prescription)
    session.flush()
    item = PrescriptionItem(
        prescription_id=prescription.id,
        patient_id=who.id,
        line=1,
        drug_id=where.drug.id,
        inn="amlodipine",
        form="tablet",
        strength="5 mg",
        dose=1,
        dose_unit="tablet",
        intakes_per_day=1,
        route="oral",
        duration_days=30,
        quantity=30,
        dispensed_quantity=30,
    )
    session.add(item)
    session.flush()
    session.add(
        Dispense(
            patient_id=who.id,
            organization_id=where.pharmacy.id,
            created_by=where.pharmacist.id,
            prescription_id=prescription.id,
            item_id=item.id,
            drug_id=where.drug.id,
            quantity=30,
            strength="5 mg",
            pack="30 tablets",
            batch_number=f"B{n}",
            dispensed_at=now,
        )
    )
    # The patient was told the number by SMS, and another prescription waits for the doctor's E-IMZO signature.
    session.add(
        PatientNotification(
            patient_id=who.id, channel="sms", recipient="+998901234567", kind="prescription.issued",
            text=f"{prescription.number}", state=NotificationState.SENT, attempts=1, created_at=now, sent_at=now,
        )
    )  # fmt: skip
    session.add(
        PrescriptionDraft(
            token=f"draft-{n}-{who.id}", cabinet_id=where.doctor.id, patient_id=who.id, content="{}",
            acknowledgements="{}", created_at=now, expires_at=now + timedelta(minutes=30),
        )
    )  # fmt: skip
    stay = Encounter(
        patient_id=who.id,
        organization_id=where.hospital.id,
        kind=EncounterKind.INPATIENT,
        department_id=where.department.id,
        practitioner_id=where.hospital_doctor.id,
        started_at=now - timedelta(days=3),
        created_by=where.hospital_doctor.id,
    )
    session.add(stay)
    session.flush()
    in_stay = {
        "patient_id": who.id,
        "organization_id": where.hospital.id,
        "created_by": where.hospital_doctor.id,
        "encounter_id": stay.id,
    }
    admission = Admission(
        **in_stay,
        department_id=where.department.id,
        admitted_at=now - timedelta(days=3),
        admission_type=AdmissionType.PLANNED,
        icd10_code="I10",
    )
    session.add(admission)
    session.flush()
    session.add_all(
        [
            BedAssignment(
                **in_stay,
                admission_id=admission.id,
                department_id=where.department.id,
                bed_id=_bed(session, where).id,
                reason=BedMoveReason.ADMISSION,
                started_at=now - timedelta(days=3),
                ended_at=now,
            ),
            Discharge(
                **in_stay,
                admission_id=admission.id,
                discharged_at=now,
                outcome=DischargeOutcome.IMPROVED,
                icd10_code="I10",
            ),
        ]
    )
    session.flush()
