"""The doctor's queue: appointments booked ahead or walk-ins, their arrival, cancellation and no-show."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet, CabinetStatus, Role
from ehealth.audit.trail import Actor, record
from ehealth.calendar import day_bounds, is_working_day
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.identifiers import TASHKENT
from ehealth.patients.models import Patient, Sex
from ehealth.polyclinic.models import Appointment, AppointmentKind, AppointmentState

REASON_LENGTH = 300  # Appointment.reason
OPENS, CLOSES = time(8, 0), time(20, 0)  # the polyclinic's working hours, Tashkent time
QUEUE_LIMIT = 500  # far more than one doctor sees in a day; bounds the page's query all the same
QUEUE_ROLES = frozenset({Role.REGISTRAR, Role.NURSE, Role.DOCTOR})

# A patient waiting, in a visit, or expected: one such place per patient, doctor and day.
PENDING = frozenset({AppointmentState.BOOKED, AppointmentState.ARRIVED, AppointmentState.IN_VISIT})
# States that still hold a booked slot (a cancelled or missed appointment frees it).
HOLDS_SLOT = PENDING | {AppointmentState.DONE}

_NEXT: dict[AppointmentState, frozenset[AppointmentState]] = {
    AppointmentState.BOOKED: frozenset(
        {AppointmentState.ARRIVED, AppointmentState.IN_VISIT, AppointmentState.CANCELLED, AppointmentState.NO_SHOW}
    ),
    AppointmentState.ARRIVED: frozenset({AppointmentState.IN_VISIT, AppointmentState.CANCELLED}),
    AppointmentState.IN_VISIT: frozenset({AppointmentState.DONE}),
    AppointmentState.DONE: frozenset(),
    AppointmentState.CANCELLED: frozenset(),
    AppointmentState.NO_SHOW: frozenset(),
}
_REFUSED: dict[AppointmentState, str] = {
    AppointmentState.ARRIVED: N_("Only a booked appointment can be marked as arrived."),
    AppointmentState.IN_VISIT: N_("Only a booked or waiting patient can be taken into a visit."),
    AppointmentState.CANCELLED: N_("Only a booked or waiting appointment can be cancelled."),
    AppointmentState.NO_SHOW: N_("Only a booked appointment can be marked as a no-show."),
    AppointmentState.DONE: N_("Only an appointment in a visit can be marked done."),
    AppointmentState.BOOKED: N_("An appointment cannot go back to booked; book a new one."),
}


class CancelReason(StrEnum):
    """Why an appointment was cancelled: coded, so that no clinical text reaches the audit trail."""

    PATIENT_REQUEST = "patient_request"
    DOCTOR_UNAVAILABLE = "doctor_unavailable"
    RESCHEDULED = "rescheduled"
    BOOKED_IN_ERROR = "booked_in_error"
    OTHER = "other"


@dataclass(frozen=True)
class QueueEntry:
    """One line of a doctor's day: the appointment with the patient's name, age and sex."""

    appointment_id: int
    scheduled_at: datetime
    kind: AppointmentKind
    state: AppointmentState
    patient_id: int
    patient_name: str
    age: int
    sex: Sex
    reason: str | None
    encounter_id: int | None


def local_day(moment: datetime) -> date:
    """The Tashkent calendar day of an aware instant."""
    return moment.astimezone(TASHKENT).date()


def age_on(born: date, day: date) -> int:
    """Full years from `born` to `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_move(appointment: Appointment, target: AppointmentState) -> None:
    """Refuse, with the reason, a change of state the queue's state machine does not allow."""
    if target not in _NEXT[AppointmentState(appointment.state)]:
        raise DomainError(_REFUSED[target])


def move(appointment: Appointment, target: AppointmentState) -> None:
    """Change an appointment's state if the queue's state machine allows it, else refuse with the reason."""
    check_move(appointment, target)
    appointment.state = target


def require_staff(session: Session, actor: Actor, roles: Collection[Role], message: str) -> Cabinet:
    """The actor's cabinet if it is active, of the actor's organization and of one of `roles`; else refuse."""
    cabinet = None if actor.cabinet_id is None else session.get(Cabinet, actor.cabinet_id)
    if (
        cabinet is None
        or cabinet.status != CabinetStatus.ACTIVE
        or cabinet.role not in roles
        or actor.organization_id is None
        or cabinet.organization_id != actor.organization_id
    ):
        raise DomainError(message)
    return cabinet


def live_patient(session: Session, patient_id: int) -> Patient:
    """The patient, refusing one that does not exist or whose record was merged into another."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(N_("The patient does not exist."), field="patient_id")
    if patient.merged_into_id is not None:
        raise DomainError(
            N_("This patient record was merged into another; use the surviving record."), field="patient_id"
        )
    return patient


def _queue_staff(session: Session, actor: Actor) -> Cabinet:
    return require_staff(
        session, actor, QUEUE_ROLES, N_("Only the registrar, a nurse or a doctor of this organization can do this.")
    )


def _doctor(session: Session, practitioner_id: int, organization_id: int) -> Cabinet:
    # Locked: bookings of one doctor are serialized, so two registrars cannot both take the same slot.
    doctor = session.get(Cabinet, practitioner_id, with_for_update=True)
    if (
        doctor is None
        or doctor.role != Role.DOCTOR
        or doctor.status != CabinetStatus.ACTIVE
        or doctor.organization_id != organization_id
    ):
        raise ValidationError(N_("Choose an active doctor of your organization."), field="practitioner_id")
    return doctor


def _reason(reason: str | None) -> str | None:
    text = " ".join((reason or "").split())
    if len(text) > REASON_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field="reason", limit=REASON_LENGTH
        )
    return text or None


def _check_time(scheduled_at: datetime, now: datetime, week_days: int) -> datetime:
    """The appointment's minute, refused if it is not a future minute of working hours on a working day."""
    if scheduled_at.tzinfo is None:
        raise ValidationError(N_("The time must include its time zone."), field="scheduled_at")
    minute = scheduled_at.replace(second=0, microsecond=0)
    local = minute.astimezone(TASHKENT)
    if not is_working_day(local.date(), week_days=week_days):
        raise ValidationError(
            N_("Appointments are made on working days; {date} is a day off."),
            field="scheduled_at",
            date=local.date().isoformat(),
        )
    if not OPENS <= local.time() < CLOSES:
        raise ValidationError(N_("Appointments are made between 08:00 and 20:00 Tashkent time."), field="scheduled_at")
    if minute < now.replace(second=0, microsecond=0):
        raise ValidationError(N_("An appointment cannot be made in the past."), field="scheduled_at")
    return minute


def _refuse_second_place(session: Session, patient_id: int, practitioner_id: int, day: date) -> None:
    start, end = day_bounds(day)
    taken = session.execute(
        select(Appointment.id)
        .where(
            Appointment.practitioner_id == practitioner_id,
            Appointment.scheduled_at >= start,
            Appointment.scheduled_at < end,
            Appointment.patient_id == patient_id,
            Appointment.state.in_(PENDING),
        )
        .limit(1)
    ).first()
    if taken is not None:
        raise DomainError(
            N_("The patient is already in this doctor's queue on {date}."), field="patient_id", date=day.isoformat()
        )


def _refuse_taken_slot(session: Session, practitioner_id: int, minute: datetime) -> None:
    # A range rather than equality: rows written elsewhere may carry seconds.
    taken = session.execute(
        select(Appointment.id)
        .where(
            Appointment.practitioner_id == practitioner_id,
            Appointment.scheduled_at >= minute,
            Appointment.scheduled_at < minute + timedelta(minutes=1),
            Appointment.kind == AppointmentKind.BOOKED,
            Appointment.state.in_(HOLDS_SLOT),
        )
        .limit(1)
    ).first()
    if taken is not None:
        raise DomainError(
            N_("The doctor already has a patient booked at {time}."),
            field="scheduled_at",
            time=minute.astimezone(TASHKENT).strftime("%H:%M"),
        )


def book(
    session: Session,
    *,
    patient_id: int,
    practitioner_id: int,
    scheduled_at: datetime,
    reason: str | None,
    actor: Actor,
    week_days: int = 5,
) -> Appointment:
    """Book a patient to a doctor of the actor's organization at a free future minute of working hours."""
    staff = _queue_staff(session, actor)
    text = _reason(reason)
    minute = _check_time(scheduled_at, utcnow(), week_days)
    live_patient(session, patient_id)
    doctor = _doctor(session, practitioner_id, staff.organization_id)
    _refuse_taken_slot(session, doctor.id, minute)
    _refuse_second_place(session, patient_id, doctor.id, local_day(minute))
    appointment = Appointment(
        patient_id=patient_id,
        organization_id=staff.organization_id,
        practitioner_id=doctor.id,
        department_id=doctor.department_id,
        kind=AppointmentKind.BOOKED,
        state=AppointmentState.BOOKED,
        scheduled_at=minute,
        reason=text,
        created_by=staff.id,
    )
    session.add(appointment)
    flush(session)
    record(
        session,
        actor,
        "appointment.booked",
        patient_id=patient_id,
        object_type="appointment",
        object_id=appointment.id,
    )
    return appointment


def walk_in(
    session: Session, *, patient_id: int, practitioner_id: int, reason: str | None, actor: Actor
) -> Appointment:
    """Put a patient who came without an appointment in today's queue of a doctor, as arrived now."""
    staff = _queue_staff(session, actor)
    text = _reason(reason)
    now = utcnow()
    live_patient(session, patient_id)
    doctor = _doctor(session, practitioner_id, staff.organization_id)
    _refuse_second_place(session, patient_id, doctor.id, local_day(now))
    appointment = Appointment(
        patient_id=patient_id,
        organization_id=staff.organization_id,
        practitioner_id=doctor.id,
        department_id=doctor.department_id,
        kind=AppointmentKind.WALK_IN,
        state=AppointmentState.ARRIVED,
        scheduled_at=now,  # the arrival time: walk-ins take their turn among the booked patients by it
        reason=text,
        created_by=staff.id,
    )
    session.add(appointment)
    flush(session)
    record(
        session,
        actor,
        "appointment.walk_in",
        patient_id=patient_id,
        object_type="appointment",
        object_id=appointment.id,
    )
    return appointment


def _own_appointment(session: Session, appointment_id: int, actor: Actor) -> Appointment:
    appointment = session.get(Appointment, appointment_id, with_for_update=True)
    # Another organization's appointment is not shown to exist.
    if appointment is None or appointment.organization_id != actor.organization_id:
        raise NotFound(N_("The appointment does not exist."), field="appointment_id")
    return appointment


def _transition(
    session: Session, appointment: Appointment, target: AppointmentState, actor: Actor, detail: str | None = None
) -> Appointment:
    move(appointment, target)
    flush(session)
    record(
        session,
        actor,
        f"appointment.{target}",
        patient_id=appointment.patient_id,
        object_type="appointment",
        object_id=appointment.id,
        detail=detail,
    )
    return appointment


def arrive(session: Session, appointment_id: int, *, actor: Actor) -> Appointment:
    """Mark a booked patient as come, on the day of the appointment."""
    _queue_staff(session, actor)
    appointment = _own_appointment(session, appointment_id, actor)
    if appointment.state == AppointmentState.BOOKED and local_day(appointment.scheduled_at) != local_day(utcnow()):
        raise DomainError(N_("The patient can be marked as arrived only on the day of the appointment."))
    return _transition(session, appointment, AppointmentState.ARRIVED, actor)


def cancel(session: Session, appointment_id: int, *, reason: CancelReason | str, actor: Actor) -> Appointment:
    """Cancel a booked or waiting appointment, saying why (a coded reason); its slot becomes free."""
    try:
        code = CancelReason(reason)
    except ValueError:
        raise ValidationError(N_("Choose the reason for the cancellation."), field="reason") from None
    _queue_staff(session, actor)
    appointment = _own_appointment(session, appointment_id, actor)
    return _transition(session, appointment, AppointmentState.CANCELLED, actor, detail=str(code))


def no_show(session: Session, appointment_id: int, *, actor: Actor) -> Appointment:
    """Mark a booked patient as not come, once the appointment's time has passed."""
    _queue_staff(session, actor)
    appointment = _own_appointment(session, appointment_id, actor)
    if appointment.state == AppointmentState.BOOKED and appointment.scheduled_at > utcnow():
        raise DomainError(N_("A patient can be marked as not come only after the appointment time."))
    return _transition(session, appointment, AppointmentState.NO_SHOW, actor)


def todays_queue(session: Session, practitioner_id: int, day: date) -> list[QueueEntry]:
    """A doctor's appointments of `day` (cancelled ones left out) in time order, walk-ins at their arrival time."""
    start, end = day_bounds(day)
    rows = session.execute(
        select(Appointment, Patient)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.practitioner_id == practitioner_id,
            Appointment.scheduled_at >= start,
            Appointment.scheduled_at < end,
            Appointment.state != AppointmentState.CANCELLED,
        )
        .order_by(Appointment.scheduled_at, Appointment.id)
        .limit(QUEUE_LIMIT)
    ).all()
    return [
        QueueEntry(
            appointment_id=appointment.id,
            scheduled_at=appointment.scheduled_at,
            kind=AppointmentKind(appointment.kind),
            state=AppointmentState(appointment.state),
            patient_id=patient.id,
            patient_name=patient.full_name,
            age=age_on(patient.birth_date, day),
            sex=Sex(patient.sex),
            reason=appointment.reason,
            encounter_id=appointment.encounter_id,
        )
        for appointment, patient in rows
    ]


# --- what the pages read ----------------------------------------------------------------------------------------


def queue_day() -> date:
    """Today in Tashkent on the queue's clock: the day whose queue the pages show."""
    return local_day(utcnow())


def doctors(session: Session, organization_id: int) -> list[Cabinet]:
    """The organization's active doctors by name: whom a patient can be booked to."""
    query = (
        select(Cabinet)
        .where(
            Cabinet.organization_id == organization_id,
            Cabinet.role == Role.DOCTOR,
            Cabinet.status == CabinetStatus.ACTIVE,
        )
        .order_by(Cabinet.surname, Cabinet.given_name, Cabinet.id)
    )
    return list(session.execute(query).scalars())


def queue_signature(session: Session, practitioner_id: int, day: date) -> list[object]:
    """[appointments, newest change] of a doctor's day: only two numbers, so a page may ask every few seconds
    whether the queue changed (every booking, arrival, visit or cancellation changes one of them)."""
    start, end = day_bounds(day)
    count, newest = session.execute(
        select(func.count(Appointment.id), func.max(Appointment.updated_at)).where(
            Appointment.practitioner_id == practitioner_id,
            Appointment.scheduled_at >= start,
            Appointment.scheduled_at < end,
        )
    ).one()
    return [int(count), None if newest is None else str(newest)]
