"""Access to records (R-4, R-16): only inside the organization's work with the patient, or by flagged emergency
access with a reason; refusals are audited; managers and other non-clinical roles never read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.models import AuditEvent, Outcome
from ehealth.audit.trail import Actor
from ehealth.emr.access import AccessDenied, Basis, check_read, grant_emergency
from ehealth.emr.models import EmergencyAccess, Referral, ReferralKind
from ehealth.errors import ValidationError
from ehealth.reference.models import OrganizationKind
from tests import factories


def actor_of(cabinet: Cabinet) -> Actor:
    return Actor(cabinet.id, str(cabinet.role), cabinet.organization_id, "10.0.0.7")


def last(session: Session) -> AuditEvent:
    return session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()


def test_inside_the_organizations_work_with_the_patient(session: Session) -> None:
    clinic = factories.organization(session)
    doctor = factories.cabinet(session, clinic, Role.DOCTOR)
    nurse = factories.cabinet(session, clinic, Role.NURSE)
    patient = factories.patient(session)
    factories.encounter(session, clinic, doctor, patient)
    assert check_read(session, patient.id, actor=actor_of(doctor)).basis == Basis.ENCOUNTER
    assert check_read(session, patient.id, actor=actor_of(nurse)).basis == Basis.ENCOUNTER


def test_a_referral_opens_the_record_to_the_receiving_hospital(session: Session) -> None:
    clinic = factories.organization(session)
    hospital = factories.organization(session, OrganizationKind.HOSPITAL)
    doctor = factories.cabinet(session, clinic, Role.DOCTOR)
    hospital_doctor = factories.cabinet(session, hospital, Role.DOCTOR)
    patient = factories.patient(session)
    visit = factories.encounter(session, clinic, doctor, patient)
    with pytest.raises(AccessDenied):
        check_read(session, patient.id, actor=actor_of(hospital_doctor))
    session.add(
        Referral(
            patient_id=patient.id,
            organization_id=clinic.id,
            encounter_id=visit.id,
            kind=ReferralKind.HOSPITAL,
            target_organization_id=hospital.id,
            reason="Gospitalizatsiya",
            issued_at=utcnow(),
            created_by=doctor.id,
        )
    )
    session.flush()
    assert check_read(session, patient.id, actor=actor_of(hospital_doctor)).basis == Basis.REFERRAL


def test_outside_the_organization_is_refused_and_audited(session: Session) -> None:
    clinic, elsewhere = factories.organization(session), factories.organization(session)
    doctor = factories.cabinet(session, clinic, Role.DOCTOR)
    stranger = factories.cabinet(session, elsewhere, Role.DOCTOR)
    patient = factories.patient(session)
    factories.encounter(session, clinic, doctor, patient)
    with pytest.raises(AccessDenied):
        check_read(session, patient.id, actor=actor_of(stranger))
    event = last(session)
    assert (event.action, event.outcome, event.patient_id, event.actor_id) == (
        "emr.record.denied",
        Outcome.DENIED,
        patient.id,
        stranger.id,
    )


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ANALYST, Role.ADMIN, Role.INTEGRATOR])
def test_non_clinical_roles_never_read_even_in_their_own_organization(session: Session, role: Role) -> None:
    clinic = factories.organization(session)
    doctor = factories.cabinet(session, clinic, Role.DOCTOR)
    other = factories.cabinet(session, clinic, role)
    patient = factories.patient(session)
    factories.encounter(session, clinic, doctor, patient)
    with pytest.raises(AccessDenied):
        check_read(session, patient.id, actor=actor_of(other))
    with pytest.raises(AccessDenied):
        grant_emergency(session, patient.id, reason="Shoshilinch holat, bemor hushsiz", actor=actor_of(other))
    assert session.execute(select(EmergencyAccess)).first() is None


def test_emergency_access_needs_a_reason_is_flagged_and_expires(session: Session) -> None:
    clinic, elsewhere = factories.organization(session), factories.organization(session)
    doctor = factories.cabinet(session, clinic, Role.DOCTOR)
    emergency_doctor = factories.cabinet(session, elsewhere, Role.DOCTOR)
    patient = factories.patient(session)
    factories.encounter(session, clinic, doctor, patient)
    who = actor_of(emergency_doctor)
    with pytest.raises(ValidationError):
        grant_emergency(session, patient.id, reason="  kerak ", actor=who)
    grant = grant_emergency(session, patient.id, reason="Tez yordam: bemor hushsiz keltirildi", actor=who)
    event = last(session)
    assert (event.action, event.patient_id, event.outcome) == ("emr.emergency_access", patient.id, Outcome.SUCCESS)
    assert check_read(session, patient.id, actor=who).basis == Basis.EMERGENCY
    grant.expires_at = utcnow() - timedelta(seconds=1)
    grant.granted_at = grant.expires_at - timedelta(hours=1)
    session.flush()
    with pytest.raises(AccessDenied):
        check_read(session, patient.id, actor=who)
