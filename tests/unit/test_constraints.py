"""The database refuses what the domain forbids, and the refusal reaches the user as a clear domain error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet, CabinetStatus, Role
from ehealth.clinical import RecordStatus
from ehealth.emr.models import ConditionKind, EncounterState
from ehealth.errors import ConstraintViolation
from ehealth.i18n import language
from ehealth.outbox import ClinicalDeletionRefused
from ehealth.patients.models import Patient, Sex
from ehealth.prescription.models import PrescriptionItem
from ehealth.reference.models import Bed, Department, DepartmentKind, OrganizationKind, Ward
from tests import factories


def assert_refused(session: Session, message: str) -> None:
    """Flushing fails with a ConstraintViolation whose English text is `message`."""
    with pytest.raises(ConstraintViolation) as refused:
        flush(session)
    with language("en"):
        assert str(refused.value) == message


def test_duplicate_pinfl_is_refused_with_its_own_message(session: Session) -> None:
    existing = factories.patient(session)
    session.add(
        Patient(
            pinfl=existing.pinfl,
            surname="X",
            given_name="Y",
            birth_date=existing.birth_date,
            sex=Sex.MALE,
            region_id=1726,
        )
    )
    assert_refused(session, "A patient with this PINFL is already registered.")


def test_check_constraint_message_comes_from_the_constraint(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    visit = factories.encounter(session, org, doctor, factories.patient(session))
    visit.state = EncounterState.CLOSED  # closed without an end time
    assert_refused(session, "A closed encounter needs its end time.")


def test_second_live_cabinet_for_same_person_and_role_is_refused(session: Session) -> None:
    org = factories.organization(session)
    first = factories.cabinet(session, org, Role.NURSE)
    twin = Cabinet(
        **{c: getattr(first, c) for c in ("organization_id", "surname", "given_name", "position", "department_name")},
        id_number="T99999999",
        document_type=first.document_type,
        document_series="AB",
        document_number="7654321",
        pinfl=first.pinfl,
        email="twin@example.uz",
        role=Role.NURSE,
    )
    session.add(twin)
    with pytest.raises(ConstraintViolation) as refused:
        flush(session)
    with language("en"):
        assert "already has a cabinet with this role" in str(refused.value)


def test_archived_cabinet_needs_retention_date(session: Session) -> None:
    org = factories.organization(session)
    row = factories.cabinet(session, org)
    row.status = CabinetStatus.ARCHIVED
    row.blocked_at = row.archived_at = utcnow()
    with pytest.raises(ConstraintViolation) as refused:
        flush(session)
    with language("en"):
        assert "kept until" in str(refused.value)


def test_one_patient_per_bed(session: Session) -> None:
    from ehealth.hospital.models import Admission, AdmissionType, BedAssignment, BedMoveReason

    org = factories.organization(session, OrganizationKind.HOSPITAL)
    doctor = factories.cabinet(session, org)
    department = Department(organization_id=org.id, name="Terapiya", kind=DepartmentKind.INPATIENT)
    session.add(department)
    session.flush()
    ward = Ward(organization_id=org.id, department_id=department.id, name="1")
    session.add(ward)
    session.flush()
    bed = Bed(organization_id=org.id, ward_id=ward.id, code="1-A")
    session.add(bed)
    session.flush()
    now = utcnow()
    for _ in range(2):
        who = factories.patient(session)
        stay = factories.encounter(session, org, doctor, who)
        admission = Admission(
            patient_id=who.id,
            organization_id=org.id,
            encounter_id=stay.id,
            department_id=department.id,
            admitted_at=now,
            admission_type=AdmissionType.EMERGENCY,
            icd10_code="J18.9",
            created_by=doctor.id,
        )
        session.add(admission)
        session.flush()
        session.add(
            BedAssignment(
                patient_id=who.id,
                organization_id=org.id,
                encounter_id=stay.id,
                admission_id=admission.id,
                department_id=department.id,
                bed_id=bed.id,
                reason=BedMoveReason.ADMISSION,
                started_at=now,
                created_by=doctor.id,
            )
        )
    assert_refused(session, "This bed is occupied.")


def test_dispensed_quantity_cannot_exceed_prescribed(session: Session) -> None:
    from ehealth.prescription.models import ConfirmationKind, Prescription, PrescriptionCategory
    from ehealth.reference.models import Drug, DrugCategory

    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    who = factories.patient(session)
    drug = Drug(
        inn="amoxicillin",
        form="capsule",
        strength="500 mg",
        unit="capsule",
        atc_code="J01CA04",
        category=DrugCategory.PRESCRIPTION,
    )
    rx = Prescription(
        patient_id=who.id,
        organization_id=org.id,
        number="RX-TEST-1",
        prescriber_id=doctor.id,
        icd10_code="J18.9",
        category=PrescriptionCategory.REGULAR,
        issued_at=utcnow(),
        valid_until=utcnow().date() + timedelta(days=90),
        confirmation=ConfirmationKind.ONEID,
        content_hash="0" * 64,
        created_by=doctor.id,
    )
    session.add_all([drug, rx])
    session.flush()
    session.add(
        PrescriptionItem(
            prescription_id=rx.id,
            patient_id=who.id,
            line=1,
            drug_id=drug.id,
            inn=drug.inn,
            form=drug.form,
            strength=drug.strength,
            dose=1,
            dose_unit="capsule",
            intakes_per_day=3,
            route="oral",
            duration_days=7,
            quantity=21,
            dispensed_quantity=22,
        )
    )
    assert_refused(session, "More cannot be dispensed than was prescribed.")


def test_clinical_rows_are_never_deleted(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    who = factories.patient(session)
    visit = factories.encounter(session, org, doctor, who)
    session.delete(visit)
    with pytest.raises(ClinicalDeletionRefused):
        session.flush()


def test_a_withdrawn_entry_needs_a_reason(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    who = factories.patient(session)
    visit = factories.encounter(session, org, doctor, who)
    diagnosis = factories.diagnosis(session, visit, "I10", ConditionKind.FINAL)
    diagnosis.status = RecordStatus.ENTERED_IN_ERROR
    assert_refused(session, "A corrected or withdrawn entry needs the reason and the time.")
