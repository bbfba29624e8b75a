"""An outpatient visit: opened from the queue or for a patient, findings written, closed with its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.trail import Actor, record
from ehealth.calendar import day_bounds
from ehealth.clinical import RecordStatus
from ehealth.emr.access import Basis, check_read
from ehealth.emr.models import (
    Allergy,
    Condition,
    Encounter,
    EncounterKind,
    EncounterState,
    Observation,
    Referral,
    ReferralKind,
    ReferralState,
    VisitOutcome,
)
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.patients.models import Patient
from ehealth.polyclinic.models import Appointment, AppointmentState
from ehealth.polyclinic.queue import check_move, live_patient, local_day, move, require_staff
from ehealth.reference.models import Organization

FINDINGS_LENGTH = 10_000  # a long examination fits; a pasted document does not
_DOCTORS = frozenset({Role.DOCTOR})
# A referral that was issued, whether or not it has been answered yet; a cancelled one does not count.
_ISSUED = (ReferralState.ISSUED, ReferralState.COMPLETED)


def _doctor(session: Session, actor: Actor) -> Cabinet:
    return require_staff(session, actor, _DOCTORS, N_("Only a doctor of this organization can work on its visits."))


def _open_visit_of(session: Session, encounter_id: int, actor: Actor) -> Encounter:
    """The actor's organization's open, valid outpatient visit, locked for the change."""
    visit = session.get(Encounter, encounter_id, with_for_update=True)
    if (
        visit is None
        or visit.organization_id != actor.organization_id
        or visit.kind != EncounterKind.OUTPATIENT
        or visit.status != RecordStatus.ACTIVE
    ):
        raise NotFound(N_("The visit does not exist."), field="encounter_id")
    if visit.state != EncounterState.OPEN:
        raise DomainError(N_("This visit is closed; it can no longer be changed."))
    return visit


def _findings(value: str | None, field: str) -> str | None:
    text = (value or "").strip()
    if len(text) > FINDINGS_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field=field, limit=FINDINGS_LENGTH
        )
    return text or None


def _refuse_second_open_visit(session: Session, patient_id: int, doctor: Cabinet) -> None:
    # A double click, or a visit forgotten open: one open visit per patient and doctor keeps the record whole.
    open_id = session.execute(
        select(Encounter.id)
        .where(
            Encounter.patient_id == patient_id,
            Encounter.practitioner_id == doctor.id,
            Encounter.organization_id == doctor.organization_id,
            Encounter.kind == EncounterKind.OUTPATIENT,
            Encounter.state == EncounterState.OPEN,
            Encounter.status == RecordStatus.ACTIVE,
        )
        .limit(1)
    ).first()
    if open_id is not None:
        raise DomainError(N_("This patient already has an open visit with you; continue it or close it first."))


def _queue_place(session: Session, appointment_id: int, doctor: Cabinet, now: datetime) -> Appointment:
    appointment = session.get(Appointment, appointment_id, with_for_update=True)
    if appointment is None or appointment.organization_id != doctor.organization_id:
        raise NotFound(N_("The appointment does not exist."), field="appointment_id")
    if appointment.practitioner_id != doctor.id:
        raise DomainError(N_("This appointment is in another doctor's queue."), field="appointment_id")
    check_move(appointment, AppointmentState.IN_VISIT)
    if local_day(appointment.scheduled_at) != local_day(now):
        raise DomainError(N_("A visit can be opened from an appointment only on the appointment's day."))
    return appointment


def open_visit(
    session: Session, *, appointment_id: int | None = None, patient_id: int | None = None, actor: Actor
) -> Encounter:
    """Start a visit: from an appointment in the doctor's own queue (which goes into the visit) or for a patient."""
    if (appointment_id is None) == (patient_id is None):
        raise ValidationError(N_("Open the visit either from an appointment or for a patient."), field="appointment_id")
    doctor = _doctor(session, actor)
    now = utcnow()
    appointment = None if appointment_id is None else _queue_place(session, appointment_id, doctor, now)
    who = appointment.patient_id if appointment is not None else patient_id
    assert who is not None  # exactly one of the two was given
    live_patient(session, who)
    _refuse_second_open_visit(session, who, doctor)
    visit = Encounter(
        patient_id=who,
        organization_id=doctor.organization_id,
        kind=EncounterKind.OUTPATIENT,
        state=EncounterState.OPEN,
        department_id=appointment.department_id if appointment is not None else doctor.department_id,
        practitioner_id=doctor.id,
        started_at=now,
        reason=appointment.reason if appointment is not None else None,
        created_by=doctor.id,
    )
    session.add(visit)
    flush(session)  # the appointment's CHECK wants the visit's id before it goes into the visit
    if appointment is not None:
        move(appointment, AppointmentState.IN_VISIT)
        appointment.encounter_id = visit.id
        flush(session)
    record(session, actor, "encounter.opened", patient_id=who, object_type="encounter", object_id=visit.id)
    return visit


def record_findings(
    session: Session, *, encounter_id: int, complaints: str | None, examination: str | None, actor: Actor
) -> Encounter:
    """Write the complaints and the examination of an open visit (its doctor or another doctor of the organization)."""
    _doctor(session, actor)
    said, found = _findings(complaints, "complaints"), _findings(examination, "examination")
    if said is None and found is None:
        raise ValidationError(N_("Write the complaints or the examination findings."), field="complaints")
    visit = _open_visit_of(session, encounter_id, actor)
    visit.complaints, visit.examination = said, found
    flush(session)
    record(
        session,
        actor,
        "encounter.findings_recorded",
        patient_id=visit.patient_id,
        object_type="encounter",
        object_id=visit.id,
    )
    return visit


def _has_diagnosis(session: Session, visit: Encounter) -> bool:
    found = session.execute(
        select(Condition.id).where(Condition.encounter_id == visit.id, Condition.status == RecordStatus.ACTIVE).limit(1)
    ).first()
    return found is not None


def _has_referral(session: Session, visit: Encounter, kind: ReferralKind | None) -> bool:
    query = select(Referral.id).where(
        Referral.encounter_id == visit.id,
        Referral.status == RecordStatus.ACTIVE,
        Referral.state.in_(_ISSUED),
    )
    if kind is not None:
        query = query.where(Referral.kind == kind)
    return session.execute(query.limit(1)).first() is not None


def _outcome(value: VisitOutcome | str | None) -> VisitOutcome:
    try:
        return VisitOutcome(value or "")
    except ValueError:
        raise ValidationError(N_("Choose the outcome of the visit."), field="outcome") from None


def _end_time(ended_at: datetime | None, visit: Encounter, now: datetime) -> datetime:
    end = now if ended_at is None else ended_at
    if end.tzinfo is None:
        raise ValidationError(N_("The time must include its time zone."), field="ended_at")
    if end < visit.started_at:
        raise ValidationError(N_("The visit cannot end before it started."), field="ended_at")
    if end > now:
        raise ValidationError(N_("The visit cannot end in the future."), field="ended_at")
    return end


def _linked_appointment(session: Session, visit: Encounter) -> Appointment | None:
    # appointment.encounter_id has no index: look in the doctor's day (indexed), where open_visit put it.
    start, end = day_bounds(local_day(visit.started_at))
    return session.execute(
        select(Appointment)
        .where(
            Appointment.practitioner_id == visit.practitioner_id,
            Appointment.scheduled_at >= start,
            Appointment.scheduled_at < end,
            Appointment.encounter_id == visit.id,
        )
        .with_for_update()
        .limit(1)
    ).scalar_one_or_none()


def close_visit(
    session: Session,
    *,
    encounter_id: int,
    outcome: VisitOutcome | str | None,
    actor: Actor,
    ended_at: datetime | None = None,
) -> Encounter:
    """End an open visit with its outcome once a diagnosis (and any referral the outcome implies) is recorded."""
    _doctor(session, actor)
    result = _outcome(outcome)
    visit = _open_visit_of(session, encounter_id, actor)
    end = _end_time(ended_at, visit, utcnow())
    if not _has_diagnosis(session, visit):
        raise DomainError(N_("Record at least one diagnosis before closing the visit."), field="diagnosis")
    if result == VisitOutcome.HOSPITALIZED and not _has_referral(session, visit, ReferralKind.HOSPITAL):
        raise DomainError(
            N_("A visit that ends in hospitalization needs a hospital referral issued in it."), field="outcome"
        )
    if result == VisitOutcome.REFERRED and not _has_referral(session, visit, None):
        raise DomainError(N_("A visit that ends in a referral needs a referral issued in it."), field="outcome")
    appointment = _linked_appointment(session, visit)
    if appointment is not None:
        move(appointment, AppointmentState.DONE)
    visit.state, visit.ended_at, visit.outcome = EncounterState.CLOSED, end, result
    flush(session)
    record(session, actor, "encounter.closed", patient_id=visit.patient_id, object_type="encounter", object_id=visit.id)
    return visit


# --- what the visit page reads ------------------------------------------------------------------------------------

ENTRIES_LIMIT = 200  # far more entries than one visit has; bounds the page's queries all the same


@dataclass(frozen=True)
class VisitEntries:
    """What has been entered in a visit so far: diagnoses, indicators (newest first) and referrals."""

    diagnoses: list[Condition]
    indicators: list[Observation]
    referrals: list[tuple[Referral, str | None]]  # with the name of the organization referred to


@dataclass(frozen=True)
class VisitView:
    """An open visit as its page shows it: the visit, the patient, their allergies in force and the entries."""

    visit: Encounter
    patient: Patient
    allergies: list[Allergy]
    entries: VisitEntries
    basis: Basis


def _visit_to_read(session: Session, encounter_id: int, actor: Actor) -> Encounter:
    """The actor's organization's open, valid outpatient visit (read, not locked)."""
    visit = session.get(Encounter, encounter_id)
    if (
        visit is None
        or visit.organization_id != actor.organization_id
        or visit.kind != EncounterKind.OUTPATIENT
        or visit.status != RecordStatus.ACTIVE
    ):
        raise NotFound(N_("The visit does not exist."), field="encounter_id")
    if visit.state != EncounterState.OPEN:
        raise DomainError(N_("This visit is closed; it can no longer be changed."))
    return visit


def visit_entries(session: Session, encounter_id: int, *, actor: Actor) -> VisitEntries:
    """The diagnoses, indicators and referrals in force of an open visit of the actor's organization."""
    visit = _visit_to_read(session, encounter_id, actor)
    diagnoses = session.execute(
        select(Condition)
        .where(Condition.encounter_id == visit.id, Condition.status == RecordStatus.ACTIVE)
        .order_by(Condition.recorded_at, Condition.id)
        .limit(ENTRIES_LIMIT)
    ).scalars()
    indicators = session.execute(
        select(Observation)
        .where(Observation.encounter_id == visit.id, Observation.status == RecordStatus.ACTIVE)
        .order_by(Observation.effective_at.desc(), Observation.id)
        .limit(ENTRIES_LIMIT)
    ).scalars()
    referrals = session.execute(
        select(Referral, Organization.name)
        .outerjoin(Organization, Organization.id == Referral.target_organization_id)
        .where(Referral.encounter_id == visit.id, Referral.status == RecordStatus.ACTIVE)
        .order_by(Referral.issued_at, Referral.id)
        .limit(ENTRIES_LIMIT)
    ).all()
    return VisitEntries(list(diagnoses), list(indicators), [(row, name) for row, name in referrals])


def visit_view(session: Session, encounter_id: int, *, actor: Actor) -> VisitView:
    """An open visit of the actor's organization with its patient, for its page; the read is audited with its basis.

    Raises NotFound for a visit that is not the organization's, DomainError for a closed one, and AccessDenied
    (audited) when the patient's record is outside the user's work (ehealth.emr.access).
    """
    visit = _visit_to_read(session, encounter_id, actor)
    access = check_read(session, visit.patient_id, actor=actor)
    patient = session.get_one(Patient, visit.patient_id)
    allergies = session.execute(
        select(Allergy)
        .where(Allergy.patient_id == patient.id, Allergy.status == RecordStatus.ACTIVE)
        .order_by(Allergy.recorded_at.desc(), Allergy.id.desc())
        .limit(ENTRIES_LIMIT)
    ).scalars()
    entries = visit_entries(session, visit.id, actor=actor)
    record(
        session,
        actor,
        "emr.record.read",
        patient_id=patient.id,
        object_type="encounter",
        object_id=visit.id,
        detail=f"visit; basis: {access.basis}",
    )
    return VisitView(visit, patient, list(allergies), entries, access.basis)
