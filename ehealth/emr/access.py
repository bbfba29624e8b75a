"""Who may open a patient's record (R-4, R-16): a clinician inside their organization's work with the patient, or
anyone clinical by an explicit, time-limited, flagged emergency access with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import CLINICAL_ROLES
from ehealth.audit.models import Outcome
from ehealth.audit.trail import Actor, record
from ehealth.emr.models import EmergencyAccess, Encounter, Referral, ReferralState
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.patients.models import Patient
from ehealth.polyclinic.models import Appointment
from ehealth.prescription.models import Dispense

EMERGENCY_MINUTES = 60  # long enough for one emergency; a new reason is asked after
REASON_LENGTH = 500


class Basis(StrEnum):
    """Why this user may open this record now; the audit trail keeps it with every read."""

    ENCOUNTER = "encounter"  # a visit or stay of the patient at the user's organization
    APPOINTMENT = "appointment"  # the patient is booked or queued there
    REFERRAL = "referral"  # the patient was referred to the user's organization
    DISPENSE = "dispense"  # the user's pharmacy dispensed to the patient
    EMERGENCY = "emergency"  # explicit emergency access, flagged


class AccessDenied(DomainError):
    """The record is outside the user's organization's work with the patient."""


@dataclass(frozen=True)
class Access:
    """A granted read: the patient and the basis to record with it."""

    patient_id: int
    basis: Basis


def _patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(N_("The patient does not exist."))
    return patient


def _work_with(session: Session, patient_id: int, organization_id: int) -> Basis | None:
    """The first kind of the organization's work with the patient, checked cheapest first."""
    checks = (
        (
            Basis.ENCOUNTER,
            select(Encounter.id).where(
                Encounter.patient_id == patient_id, Encounter.organization_id == organization_id
            ),
        ),
        (
            Basis.APPOINTMENT,
            select(Appointment.id).where(
                Appointment.patient_id == patient_id, Appointment.organization_id == organization_id
            ),
        ),
        (
            Basis.REFERRAL,
            select(Referral.id).where(
                Referral.patient_id == patient_id,
                Referral.target_organization_id == organization_id,
                Referral.state != ReferralState.CANCELLED,
            ),
        ),
        (
            Basis.DISPENSE,
            select(Dispense.id).where(Dispense.patient_id == patient_id, Dispense.organization_id == organization_id),
        ),
    )
    for basis, query in checks:
        if session.execute(select(exists(query))).scalar():
            return basis
    return None


def _emergency(session: Session, patient_id: int, cabinet_id: int, now: datetime) -> bool:
    query = select(EmergencyAccess.id).where(
        EmergencyAccess.patient_id == patient_id,
        EmergencyAccess.cabinet_id == cabinet_id,
        EmergencyAccess.expires_at > now,
    )
    return bool(session.execute(select(exists(query))).scalar())


def check_read(session: Session, patient_id: int, *, actor: Actor) -> Access:
    """Allow the read with its basis, or refuse it (the refusal is audited; the caller audits the read)."""
    _patient(session, patient_id)
    basis: Basis | None = None
    if actor.role in CLINICAL_ROLES and actor.cabinet_id is not None and actor.organization_id is not None:
        basis = _work_with(session, patient_id, actor.organization_id)
        if basis is None and _emergency(session, patient_id, actor.cabinet_id, utcnow()):
            basis = Basis.EMERGENCY
    if basis is None:
        record(session, actor, "emr.record.denied", outcome=Outcome.DENIED, patient_id=patient_id)
        raise AccessDenied(
            N_(
                "This record is outside your organization's work with the patient. In an emergency, open it with "
                "emergency access and give the reason."
            )
        )
    return Access(patient_id, basis)


def grant_emergency(session: Session, patient_id: int, *, reason: str, actor: Actor) -> EmergencyAccess:
    """Open the record for `EMERGENCY_MINUTES` to a clinician who says why; flagged in the audit trail."""
    _patient(session, patient_id)
    if actor.role not in CLINICAL_ROLES or actor.cabinet_id is None or actor.organization_id is None:
        record(session, actor, "emr.emergency_access", outcome=Outcome.DENIED, patient_id=patient_id)
        raise AccessDenied(N_("Only doctors, nurses, registrars and pharmacists may use emergency access."))
    text = " ".join(reason.split())
    if len(text) < 10:
        raise ValidationError(N_("Say why the record is needed (at least 10 characters)"), field="reason")
    if len(text) > REASON_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field="reason", limit=REASON_LENGTH
        )
    now = utcnow()
    grant = EmergencyAccess(
        cabinet_id=actor.cabinet_id,
        patient_id=patient_id,
        organization_id=actor.organization_id,
        reason=text,
        granted_at=now,
        expires_at=now + timedelta(minutes=EMERGENCY_MINUTES),
    )
    session.add(grant)
    flush(session)
    # The reason is the clinician's own words about why, not clinical content; the integrator reviews these.
    record(
        session,
        actor,
        "emr.emergency_access",
        patient_id=patient_id,
        object_type="emergency_access",
        object_id=grant.id,
        detail=text[:200],
    )
    return grant
