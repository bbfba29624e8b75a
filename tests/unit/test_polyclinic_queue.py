"""The doctor's queue: booking rules, walk-ins, the appointment state machine, today's queue in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ehealth.access.models import Cabinet, Role
from ehealth.audit.trail import Actor, verify
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import language
from ehealth.patients.models import Patient, Sex
from ehealth.polyclinic import queue
from ehealth.polyclinic.models import Appointment, AppointmentKind, AppointmentState
from ehealth.polyclinic.queue import CancelReason, arrive, book, cancel, no_show, todays_queue, walk_in
from ehealth.reference.models import Organization
from tests import factories
from tests import polyclinic_factories as pf
from tests.polyclinic_factories import DAY, HOLIDAY, NEXT_DAY, SATURDAY, at


@dataclass
class World:
    org: Organization
    doctor: Cabinet
    registrar: Cabinet
    patient: Patient
    clock: pf.Clock

    @property
    def desk(self) -> Actor:
        return pf.actor(self.registrar)


@pytest.fixture
def world(session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org, Role.DOCTOR)
    doctor.department_id = pf.department(session, org).id
    registrar = factories.cabinet(session, org, Role.REGISTRAR)
    clock = pf.freeze(monkeypatch, at(DAY, 9))
    return World(org, doctor, registrar, factories.patient(session), clock)


def _book(session: Session, w: World, when: datetime, **overrides: object) -> Appointment:
    args: dict[str, object] = {
        "patient_id": w.patient.id,
        "practitioner_id": w.doctor.id,
        "scheduled_at": when,
        "reason": "Bosh og'rig'i",
        "actor": w.desk,
    }
    args.update(overrides)
    return book(session, **args)  # type: ignore[arg-type]


# --- booking ----------------------------------------------------------------------------------------------------


def test_book_a_free_minute(session: Session, world: World) -> None:
    appointment = _book(session, world, at(NEXT_DAY, 10, 30, 45), reason="  Bosh   og'rig'i ")
    assert appointment.id is not None
    assert appointment.scheduled_at == at(NEXT_DAY, 10, 30)  # to the minute
    assert (appointment.kind, appointment.state) == (AppointmentKind.BOOKED, AppointmentState.BOOKED)
    assert appointment.organization_id == world.org.id and appointment.department_id == world.doctor.department_id
    assert appointment.reason == "Bosh og'rig'i" and appointment.created_by == world.registrar.id
    assert pf.audit_actions(session, world.patient.id) == [("appointment.booked", "appointment", None)]
    event = pf.last_audit(session)
    assert (event.actor_id, event.organization_id, event.object_id) == (
        world.registrar.id,
        world.org.id,
        str(appointment.id),
    )
    assert list(verify(session)) == []


def test_a_doctor_or_a_nurse_may_book_too_and_the_reason_is_optional(session: Session, world: World) -> None:
    nurse = factories.cabinet(session, world.org, Role.NURSE)
    first = _book(session, world, at(NEXT_DAY, 8, 0), actor=pf.actor(world.doctor), reason=None)
    second = _book(
        session,
        world,
        at(NEXT_DAY, 19, 59),
        actor=pf.actor(nurse),
        reason="   ",
        patient_id=factories.patient(session).id,
    )
    assert first.reason is None and second.reason is None


@pytest.mark.parametrize(
    ("when", "field"),
    [
        (at(SATURDAY, 10), "scheduled_at"),
        (at(HOLIDAY, 10), "scheduled_at"),
        (at(NEXT_DAY, 7, 59), "scheduled_at"),
        (at(NEXT_DAY, 20, 0), "scheduled_at"),
        (at(DAY, 8, 30), "scheduled_at"),  # earlier today: the past
        (at(DAY, 8, 59, 59), "scheduled_at"),
        (datetime(2030, 3, 6, 10, 0), "scheduled_at"),  # naive: which zone?
    ],
)
def test_book_refuses_times_outside_working_hours_days_or_in_the_past(
    session: Session, world: World, when: datetime, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _book(session, world, when)
    assert refused.value.field == field
    assert pf.count(session, Appointment) == 0 and pf.audit_actions(session, world.patient.id) == []


def test_six_day_week_books_a_saturday(session: Session, world: World) -> None:
    assert _book(session, world, at(SATURDAY, 10), week_days=6).id is not None


def test_the_current_minute_is_not_the_past(session: Session, world: World) -> None:
    world.clock.now = at(DAY, 9, 0, 40)
    assert _book(session, world, at(DAY, 9, 0)).scheduled_at == at(DAY, 9, 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=st.integers(min_value=0, max_value=24 * 60 - 1))
def test_any_minute_of_a_working_day_is_bookable_exactly_in_working_hours(
    session: Session, world: World, minutes: int
) -> None:
    when = at(NEXT_DAY, 0) + timedelta(minutes=minutes)
    savepoint = session.begin_nested()
    try:
        _book(session, world, when)
        accepted = True
    except ValidationError as error:
        assert error.field == "scheduled_at"
        accepted = False
    finally:
        savepoint.rollback()
    assert accepted == (8 * 60 <= minutes < 20 * 60)


def test_book_refuses_a_practitioner_who_is_not_an_active_doctor_of_the_organization(
    session: Session, world: World
) -> None:
    nurse = factories.cabinet(session, world.org, Role.NURSE)
    elsewhere = factories.cabinet(session, factories.organization(session), Role.DOCTOR)
    blocked = factories.cabinet(session, world.org, Role.DOCTOR)
    pf.block(session, blocked)
    for practitioner in (nurse.id, elsewhere.id, blocked.id, 10**9):
        with pytest.raises(ValidationError) as refused:
            _book(session, world, at(NEXT_DAY, 10), practitioner_id=practitioner)
        assert refused.value.field == "practitioner_id"
    assert pf.count(session, Appointment) == 0


def test_book_refuses_actors_who_do_not_keep_the_queue(session: Session, world: World) -> None:
    manager = factories.cabinet(session, world.org, Role.MANAGER)
    other_desk = factories.cabinet(session, factories.organization(session), Role.REGISTRAR)
    blocked_desk = factories.cabinet(session, world.org, Role.REGISTRAR)
    pf.block(session, blocked_desk)
    lying = Actor(world.registrar.id, "registrar", other_desk.organization_id)  # cabinet of another organization
    for who in (pf.actor(manager), pf.actor(blocked_desk), lying, Actor(None, "system", None)):
        with pytest.raises(DomainError) as refused:
            _book(session, world, at(NEXT_DAY, 10), actor=who)
        assert type(refused.value) is DomainError and refused.value.field is None
    # Another polyclinic's registrar cannot book this polyclinic's doctor.
    with pytest.raises(ValidationError) as refused:
        _book(session, world, at(NEXT_DAY, 10), actor=pf.actor(other_desk))
    assert refused.value.field == "practitioner_id"
    assert pf.count(session, Appointment) == 0


def test_book_refuses_an_unknown_or_merged_patient(session: Session, world: World) -> None:
    with pytest.raises(NotFound):
        _book(session, world, at(NEXT_DAY, 10), patient_id=10**9)
    merged = factories.patient(session)
    merged.merged_into_id = world.patient.id
    session.flush()
    with pytest.raises(DomainError) as refused:
        _book(session, world, at(NEXT_DAY, 10), patient_id=merged.id)
    assert refused.value.field == "patient_id"
    assert pf.count(session, Appointment) == 0


def test_book_refuses_a_long_reason(session: Session, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        _book(session, world, at(NEXT_DAY, 10), reason="x" * 301)
    assert refused.value.field == "reason" and refused.value.params == {"limit": 300}
    assert _book(session, world, at(NEXT_DAY, 10), reason="x" * 300).reason == "x" * 300


def test_one_patient_per_doctor_minute_until_it_is_cancelled(session: Session, world: World) -> None:
    first = _book(session, world, at(NEXT_DAY, 10))
    other = factories.patient(session)
    with pytest.raises(DomainError) as refused:
        _book(session, world, at(NEXT_DAY, 10, 0, 30), patient_id=other.id)
    assert refused.value.field == "scheduled_at"
    with language("en"):
        assert str(refused.value) == "The doctor already has a patient booked at 10:00."
    assert pf.count(session, Appointment) == 1
    # Another doctor, or the next minute, is free; so is the minute once the first booking is cancelled.
    colleague = factories.cabinet(session, world.org, Role.DOCTOR)
    _book(session, world, at(NEXT_DAY, 10), patient_id=other.id, practitioner_id=colleague.id)
    cancel(session, first.id, reason=CancelReason.PATIENT_REQUEST, actor=world.desk)
    assert _book(session, world, at(NEXT_DAY, 10), patient_id=factories.patient(session).id).id is not None


def test_a_slot_is_not_taken_by_a_walk_in_or_a_no_show(session: Session, world: World) -> None:
    pf.appointment(session, world.doctor, factories.patient(session).id, at(DAY, 11), kind=AppointmentKind.WALK_IN,
                   state=AppointmentState.ARRIVED)  # fmt: skip
    pf.appointment(session, world.doctor, factories.patient(session).id, at(DAY, 12), state=AppointmentState.NO_SHOW)
    assert _book(session, world, at(DAY, 11)).id is not None
    assert _book(session, world, at(DAY, 12), patient_id=factories.patient(session).id).id is not None


def test_one_pending_place_per_patient_doctor_and_day(session: Session, world: World) -> None:
    first = _book(session, world, at(NEXT_DAY, 9))
    with pytest.raises(DomainError) as refused:
        _book(session, world, at(NEXT_DAY, 16))
    assert refused.value.field == "patient_id" and refused.value.params == {"date": "2030-03-06"}
    # Another doctor the same day, or the same doctor another day, is fine.
    colleague = factories.cabinet(session, world.org, Role.DOCTOR)
    _book(session, world, at(NEXT_DAY, 16), practitioner_id=colleague.id)
    _book(session, world, at(DAY, 16))
    cancel(session, first.id, reason="rescheduled", actor=world.desk)
    assert _book(session, world, at(NEXT_DAY, 17)).id is not None


def test_the_tashkent_day_decides_the_same_day(session: Session, world: World) -> None:
    # 19:30 Tashkent on the 6th and 08:00 on the 7th are the same UTC day but two days for the polyclinic.
    _book(session, world, at(NEXT_DAY, 19, 30))
    assert _book(session, world, at(date(2030, 3, 7), 8)).id is not None


# --- walk-ins ---------------------------------------------------------------------------------------------------


def test_walk_in_joins_todays_queue_as_arrived_now(session: Session, world: World) -> None:
    world.clock.now = at(DAY, 9, 12, 34)
    appointment = walk_in(
        session, patient_id=world.patient.id, practitioner_id=world.doctor.id, reason=None, actor=world.desk
    )
    assert (appointment.kind, appointment.state) == (AppointmentKind.WALK_IN, AppointmentState.ARRIVED)
    assert appointment.scheduled_at == at(DAY, 9, 12, 34)
    assert appointment.department_id == world.doctor.department_id
    assert pf.audit_actions(session, world.patient.id) == [("appointment.walk_in", "appointment", None)]


def test_walk_in_refused_when_the_patient_is_already_in_the_queue(session: Session, world: World) -> None:
    _book(session, world, at(DAY, 15))
    with pytest.raises(DomainError) as refused:
        walk_in(session, patient_id=world.patient.id, practitioner_id=world.doctor.id, reason=None, actor=world.desk)
    assert refused.value.field == "patient_id"
    assert pf.count(session, Appointment) == 1


def test_walk_in_checks_doctor_actor_and_patient(session: Session, world: World) -> None:
    nurse = factories.cabinet(session, world.org, Role.NURSE)
    with pytest.raises(ValidationError):
        walk_in(session, patient_id=world.patient.id, practitioner_id=nurse.id, reason=None, actor=world.desk)
    with pytest.raises(DomainError):
        walk_in(session, patient_id=world.patient.id, practitioner_id=world.doctor.id, reason=None,
                actor=pf.actor(factories.cabinet(session, world.org, Role.PHARMACIST)))  # fmt: skip
    with pytest.raises(NotFound):
        walk_in(session, patient_id=10**9, practitioner_id=world.doctor.id, reason=None, actor=world.desk)
    with pytest.raises(ValidationError):
        walk_in(session, patient_id=world.patient.id, practitioner_id=world.doctor.id, reason="x" * 301,
                actor=world.desk)  # fmt: skip
    assert pf.count(session, Appointment) == 0


# --- the state machine ------------------------------------------------------------------------------------------

ALLOWED = {
    "arrive": {AppointmentState.BOOKED},
    "cancel": {AppointmentState.BOOKED, AppointmentState.ARRIVED},
    "no_show": {AppointmentState.BOOKED},
}
RESULT = {"arrive": AppointmentState.ARRIVED, "cancel": AppointmentState.CANCELLED, "no_show": AppointmentState.NO_SHOW}


def _act(session: Session, w: World, action: str, appointment_id: int) -> Appointment:
    if action == "arrive":
        return arrive(session, appointment_id, actor=w.desk)
    if action == "cancel":
        return cancel(session, appointment_id, reason=CancelReason.OTHER, actor=w.desk)
    return no_show(session, appointment_id, actor=w.desk)


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("state", list(AppointmentState))
def test_transitions_follow_the_state_machine(
    session: Session, world: World, action: str, state: AppointmentState
) -> None:
    visit = factories.encounter(session, world.org, world.doctor, world.patient)
    needs_visit = state in (AppointmentState.IN_VISIT, AppointmentState.DONE)
    appointment = pf.appointment(session, world.doctor, world.patient.id, at(DAY, 8, 30), state=state,
                                 encounter_id=visit.id if needs_visit else None)  # fmt: skip
    if state in ALLOWED[action]:
        assert _act(session, world, action, appointment.id).state == RESULT[action]
        assert pf.audit_actions(session, world.patient.id)[-1][0] == f"appointment.{RESULT[action]}"
    else:
        with pytest.raises(DomainError) as refused:
            _act(session, world, action, appointment.id)
        assert type(refused.value) is DomainError and str(refused.value)
        session.refresh(appointment)
        assert appointment.state == state
        assert pf.audit_actions(session, world.patient.id) == []


def test_arrive_only_on_the_day_of_the_appointment(session: Session, world: World) -> None:
    tomorrow = _book(session, world, at(NEXT_DAY, 10))
    with pytest.raises(DomainError):
        arrive(session, tomorrow.id, actor=world.desk)
    assert tomorrow.state == AppointmentState.BOOKED
    world.clock.now = at(NEXT_DAY, 8, 5)  # early on the day: fine
    assert arrive(session, tomorrow.id, actor=world.desk).state == AppointmentState.ARRIVED


def test_no_show_only_after_the_appointment_time(session: Session, world: World) -> None:
    appointment = _book(session, world, at(DAY, 10))
    with pytest.raises(DomainError):
        no_show(session, appointment.id, actor=world.desk)
    world.clock.now = at(DAY, 10, 20)
    assert no_show(session, appointment.id, actor=world.desk).state == AppointmentState.NO_SHOW


def test_cancel_needs_a_coded_reason_kept_in_the_audit_trail(session: Session, world: World) -> None:
    appointment = _book(session, world, at(DAY, 10))
    for reason in ("", "bemor kasal", "PATIENT_REQUEST"):
        with pytest.raises(ValidationError) as refused:
            cancel(session, appointment.id, reason=reason, actor=world.desk)
        assert refused.value.field == "reason"
    assert appointment.state == AppointmentState.BOOKED
    cancel(session, appointment.id, reason="doctor_unavailable", actor=world.desk)
    assert pf.audit_actions(session, world.patient.id)[-1] == (
        "appointment.cancelled",
        "appointment",
        "doctor_unavailable",
    )


def test_another_organizations_appointment_is_not_found(session: Session, world: World) -> None:
    appointment = _book(session, world, at(DAY, 8, 30, 0) + timedelta(hours=1))
    stranger = World(world.org, world.doctor, factories.cabinet(session, factories.organization(session), Role.REGISTRAR),
                     world.patient, world.clock)  # fmt: skip
    for action in ALLOWED:
        with pytest.raises(NotFound):
            _act(session, stranger, action, appointment.id)
        with pytest.raises(NotFound):
            _act(session, world, action, 10**9)
    assert appointment.state == AppointmentState.BOOKED
    assert pf.audit_actions(session, world.patient.id) == [("appointment.booked", "appointment", None)]


# --- today's queue ----------------------------------------------------------------------------------------------


def test_todays_queue_in_time_order_with_the_patients(session: Session, world: World) -> None:
    woman = factories.patient(session, born=date(2000, 3, 6), sex=Sex.FEMALE)  # 29 on the 5th, 30 the next day
    late = _book(session, world, at(DAY, 11))
    early = _book(session, world, at(DAY, 9, 30), patient_id=woman.id)
    world.clock.now = at(DAY, 9, 10)
    walker = walk_in(session, patient_id=factories.patient(session).id, practitioner_id=world.doctor.id, reason="Yo'tal",
                     actor=world.desk)  # fmt: skip
    gone = _book(session, world, at(DAY, 10), patient_id=factories.patient(session).id)
    cancel(session, gone.id, reason="patient_request", actor=world.desk)
    missed = pf.appointment(session, world.doctor, factories.patient(session).id, at(DAY, 8, 15),
                            state=AppointmentState.NO_SHOW)  # fmt: skip
    # Not in this queue: another doctor's patient, and this doctor's patients of the next day.
    colleague = factories.cabinet(session, world.org, Role.DOCTOR)
    _book(session, world, at(DAY, 9, 45), practitioner_id=colleague.id)
    _book(session, world, at(NEXT_DAY, 9), patient_id=woman.id)
    entries = todays_queue(session, world.doctor.id, DAY)
    assert [e.appointment_id for e in entries] == [missed.id, walker.id, early.id, late.id]
    first_booked = entries[2]
    assert (first_booked.patient_name, first_booked.age, first_booked.sex) == (
        "Toshmatov Ali Valiyevich",
        29,
        Sex.FEMALE,
    )
    assert (first_booked.kind, first_booked.state) == (AppointmentKind.BOOKED, AppointmentState.BOOKED)
    assert (entries[1].kind, entries[1].state, entries[1].reason) == (
        AppointmentKind.WALK_IN,
        AppointmentState.ARRIVED,
        "Yo'tal",
    )
    assert entries[0].state == AppointmentState.NO_SHOW
    assert entries[3].age == 40 and entries[3].sex == Sex.MALE  # born 1990-01-01
    assert [e.age for e in todays_queue(session, world.doctor.id, NEXT_DAY)] == [30]


def test_todays_queue_is_one_bounded_query(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(12):
        pf.appointment(session, world.doctor, factories.patient(session).id, at(DAY, 8) + timedelta(minutes=15 * n))
    doctor_id = world.doctor.id
    session.expire_all()  # nothing cached: every row the queue shows comes from its one query
    with pf.statements(session) as sent:
        entries = todays_queue(session, doctor_id, DAY)
    assert len(entries) == 12 and len(sent) == 1 and "LIMIT" in sent[0].upper()
    monkeypatch.setattr(queue, "QUEUE_LIMIT", 5)
    assert [e.scheduled_at for e in todays_queue(session, world.doctor.id, DAY)] == [
        at(DAY, 8) + timedelta(minutes=15 * n) for n in range(5)
    ]
