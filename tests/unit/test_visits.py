"""Outpatient visits: opened from the doctor's own queue or for a patient, findings, closing with an outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.trail import Actor, verify
from ehealth.clinical import RecordStatus
from ehealth.emr.models import ConditionKind, Encounter, EncounterKind, EncounterState, ReferralKind, VisitOutcome
from ehealth.emr.referrals import cancel_referral, refer
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import language
from ehealth.patients.models import Patient
from ehealth.polyclinic.models import Appointment, AppointmentKind, AppointmentState
from ehealth.polyclinic.queue import CancelReason, book, cancel, walk_in
from ehealth.polyclinic.visits import close_visit, open_visit, record_findings
from ehealth.reference.models import Organization, OrganizationKind
from tests import factories
from tests import polyclinic_factories as pf
from tests.polyclinic_factories import DAY, NEXT_DAY, at


@dataclass
class World:
    org: Organization
    doctor: Cabinet
    registrar: Cabinet
    patient: Patient
    clock: pf.Clock

    @property
    def me(self) -> Actor:
        return pf.actor(self.doctor)

    @property
    def desk(self) -> Actor:
        return pf.actor(self.registrar)


@pytest.fixture
def world(session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org, Role.DOCTOR)
    doctor.department_id = pf.department(session, org).id
    clock = pf.freeze(monkeypatch, at(DAY, 9))
    return World(org, doctor, factories.cabinet(session, org, Role.REGISTRAR), factories.patient(session), clock)


def _booked(session: Session, w: World, when: datetime | None = None) -> Appointment:
    return book(session, patient_id=w.patient.id, practitioner_id=w.doctor.id, scheduled_at=when or at(DAY, 10),
                reason="Qon bosimi", actor=w.desk)  # fmt: skip


def _visit(session: Session, w: World) -> Encounter:
    return open_visit(session, patient_id=w.patient.id, actor=w.me)


# --- opening ----------------------------------------------------------------------------------------------------


def test_open_from_a_booked_appointment_of_today(session: Session, world: World) -> None:
    appointment = _booked(session, world)
    visit = open_visit(session, appointment_id=appointment.id, actor=world.me)
    assert (visit.kind, visit.state, visit.status) == (
        EncounterKind.OUTPATIENT,
        EncounterState.OPEN,
        RecordStatus.ACTIVE,
    )
    assert (visit.patient_id, visit.organization_id, visit.practitioner_id, visit.created_by) == (
        world.patient.id,
        world.org.id,
        world.doctor.id,
        world.doctor.id,
    )
    assert visit.started_at == at(DAY, 9) and visit.reason == "Qon bosimi"
    assert visit.department_id == world.doctor.department_id
    assert (appointment.state, appointment.encounter_id) == (AppointmentState.IN_VISIT, visit.id)
    assert pf.audit_actions(session, world.patient.id)[-1] == ("encounter.opened", "encounter", None)
    assert list(verify(session)) == []


def test_open_from_a_walk_in(session: Session, world: World) -> None:
    appointment = walk_in(session, patient_id=world.patient.id, practitioner_id=world.doctor.id, reason=None,
                          actor=world.desk)  # fmt: skip
    visit = open_visit(session, appointment_id=appointment.id, actor=world.me)
    assert (appointment.state, appointment.encounter_id, appointment.kind) == (
        AppointmentState.IN_VISIT,
        visit.id,
        AppointmentKind.WALK_IN,
    )


def test_open_directly_for_a_patient(session: Session, world: World) -> None:
    visit = _visit(session, world)
    assert visit.patient_id == world.patient.id and visit.reason is None and visit.state == EncounterState.OPEN
    assert pf.count(session, Appointment) == 0
    assert pf.audit_actions(session, world.patient.id) == [("encounter.opened", "encounter", None)]


def test_open_needs_exactly_one_of_appointment_and_patient(session: Session, world: World) -> None:
    appointment = _booked(session, world)
    for kwargs in ({}, {"appointment_id": appointment.id, "patient_id": world.patient.id}):
        with pytest.raises(ValidationError) as refused:
            open_visit(session, actor=world.me, **kwargs)
        assert refused.value.field == "appointment_id"
    assert pf.encounters_of(session, world.patient.id) == []


def test_only_a_doctor_of_the_organization_opens_a_visit(session: Session, world: World) -> None:
    appointment = _booked(session, world)
    nurse = factories.cabinet(session, world.org, Role.NURSE)
    blocked = factories.cabinet(session, world.org, Role.DOCTOR)
    pf.block(session, blocked)
    for who in (world.desk, pf.actor(nurse), pf.actor(blocked)):
        with pytest.raises(DomainError) as refused:
            open_visit(session, appointment_id=appointment.id, actor=who)
        assert type(refused.value) is DomainError
        with pytest.raises(DomainError):
            open_visit(session, patient_id=world.patient.id, actor=who)
    stranger = pf.actor(factories.cabinet(session, factories.organization(session), Role.DOCTOR))
    with pytest.raises(NotFound):
        open_visit(session, appointment_id=appointment.id, actor=stranger)
    assert appointment.state == AppointmentState.BOOKED
    assert pf.encounters_of(session, world.patient.id) == []


def test_an_appointment_in_another_doctors_queue_is_refused(session: Session, world: World) -> None:
    appointment = _booked(session, world)
    colleague = factories.cabinet(session, world.org, Role.DOCTOR)
    with pytest.raises(DomainError) as refused:
        open_visit(session, appointment_id=appointment.id, actor=pf.actor(colleague))
    assert refused.value.field == "appointment_id"
    assert appointment.state == AppointmentState.BOOKED and pf.encounters_of(session, world.patient.id) == []


def test_an_appointment_of_another_day_or_no_longer_waiting_is_refused(session: Session, world: World) -> None:
    tomorrow = _booked(session, world, at(NEXT_DAY, 10))
    with pytest.raises(DomainError):
        open_visit(session, appointment_id=tomorrow.id, actor=world.me)
    gone = _booked(session, world, at(DAY, 11))
    cancel(session, gone.id, reason=CancelReason.PATIENT_REQUEST, actor=world.desk)
    with pytest.raises(DomainError) as refused:
        open_visit(session, appointment_id=gone.id, actor=world.me)
    with language("en"):
        assert str(refused.value) == "Only a booked or waiting patient can be taken into a visit."
    first = open_visit(session, appointment_id=_booked(session, world, at(DAY, 12)).id, actor=world.me)
    assert tomorrow.state == AppointmentState.BOOKED and gone.state == AppointmentState.CANCELLED
    assert [e.id for e in pf.encounters_of(session, world.patient.id)] == [first.id]
    with pytest.raises(NotFound):
        open_visit(session, appointment_id=10**9, actor=world.me)


def test_one_open_visit_per_patient_and_doctor(session: Session, world: World) -> None:
    first = _visit(session, world)
    appointment = _booked(session, world)
    with pytest.raises(DomainError):
        _visit(session, world)
    with pytest.raises(DomainError):
        open_visit(session, appointment_id=appointment.id, actor=world.me)
    assert appointment.state == AppointmentState.BOOKED and appointment.encounter_id is None
    # Another doctor may see the patient meanwhile; once the first visit is closed, a new one may open.
    colleague = factories.cabinet(session, world.org, Role.DOCTOR)
    assert open_visit(session, patient_id=world.patient.id, actor=pf.actor(colleague)).id != first.id
    factories.diagnosis(session, first)
    close_visit(session, encounter_id=first.id, outcome="follow_up", actor=world.me)
    assert open_visit(session, appointment_id=appointment.id, actor=world.me).id is not None


def test_open_refuses_an_unknown_or_merged_patient(session: Session, world: World) -> None:
    with pytest.raises(NotFound):
        open_visit(session, patient_id=10**9, actor=world.me)
    merged = factories.patient(session)
    merged.merged_into_id = world.patient.id
    session.flush()
    with pytest.raises(DomainError) as refused:
        open_visit(session, patient_id=merged.id, actor=world.me)
    assert refused.value.field == "patient_id" and pf.encounters_of(session, merged.id) == []


# --- findings ---------------------------------------------------------------------------------------------------


def test_record_findings_by_the_visit_doctor_or_a_colleague(session: Session, world: World) -> None:
    visit = _visit(session, world)
    record_findings(session, encounter_id=visit.id, complaints="  Bosh og'rig'i\n3 kun  ", examination=None,
                    actor=world.me)  # fmt: skip
    assert (visit.complaints, visit.examination) == ("Bosh og'rig'i\n3 kun", None)
    colleague = factories.cabinet(session, world.org, Role.DOCTOR)
    record_findings(session, encounter_id=visit.id, complaints="Bosh og'rig'i", examination="AQB 150/95",
                    actor=pf.actor(colleague))  # fmt: skip
    assert (visit.complaints, visit.examination) == ("Bosh og'rig'i", "AQB 150/95")
    actions = pf.audit_actions(session, world.patient.id)
    assert actions[-2:] == [("encounter.findings_recorded", "encounter", None)] * 2  # no clinical text audited


def test_record_findings_refusals(session: Session, world: World) -> None:
    visit = _visit(session, world)
    with pytest.raises(ValidationError) as refused:
        record_findings(session, encounter_id=visit.id, complaints="  ", examination=None, actor=world.me)
    assert refused.value.field == "complaints"
    with pytest.raises(ValidationError) as refused:
        record_findings(session, encounter_id=visit.id, complaints="ok", examination="x" * 10_001, actor=world.me)
    assert refused.value.field == "examination" and refused.value.params == {"limit": 10_000}
    nurse = factories.cabinet(session, world.org, Role.NURSE)
    with pytest.raises(DomainError):
        record_findings(session, encounter_id=visit.id, complaints="a", examination=None, actor=pf.actor(nurse))
    stranger = pf.actor(factories.cabinet(session, factories.organization(session), Role.DOCTOR))
    with pytest.raises(NotFound):
        record_findings(session, encounter_id=visit.id, complaints="a", examination=None, actor=stranger)
    with pytest.raises(NotFound):
        record_findings(session, encounter_id=10**9, complaints="a", examination=None, actor=world.me)
    assert (visit.complaints, visit.examination) == (None, None)
    assert pf.audit_actions(session, world.patient.id) == [("encounter.opened", "encounter", None)]


def test_findings_of_a_closed_or_withdrawn_or_inpatient_encounter_are_refused(session: Session, world: World) -> None:
    visit = _visit(session, world)
    factories.diagnosis(session, visit)
    close_visit(session, encounter_id=visit.id, outcome="recovered", actor=world.me)
    with pytest.raises(DomainError) as refused:
        record_findings(session, encounter_id=visit.id, complaints="a", examination=None, actor=world.me)
    with language("en"):
        assert str(refused.value) == "This visit is closed; it can no longer be changed."
    withdrawn = factories.encounter(session, world.org, world.doctor, factories.patient(session))
    withdrawn.status, withdrawn.status_reason, withdrawn.status_changed_at = (
        RecordStatus.ENTERED_IN_ERROR, "Boshqa bemor", utcnow())  # fmt: skip
    stay = factories.encounter(session, world.org, world.doctor, factories.patient(session))
    stay.kind = EncounterKind.INPATIENT
    session.flush()
    for other in (withdrawn, stay):
        with pytest.raises(NotFound):
            record_findings(session, encounter_id=other.id, complaints="a", examination=None, actor=world.me)
    assert visit.complaints is None


# --- closing ----------------------------------------------------------------------------------------------------


def test_close_with_a_diagnosis_marks_the_appointment_done(session: Session, world: World) -> None:
    appointment = _booked(session, world)
    visit = open_visit(session, appointment_id=appointment.id, actor=world.me)
    factories.diagnosis(session, visit)
    world.clock.now = at(DAY, 9, 25)
    closed = close_visit(session, encounter_id=visit.id, outcome=VisitOutcome.IMPROVED, actor=world.me)
    assert (closed.state, closed.ended_at, closed.outcome) == (
        EncounterState.CLOSED,
        at(DAY, 9, 25),
        VisitOutcome.IMPROVED,
    )
    assert appointment.state == AppointmentState.DONE
    assert pf.audit_actions(session, world.patient.id)[-1] == ("encounter.closed", "encounter", None)
    assert list(verify(session)) == []


def test_close_at_a_given_time_by_a_colleague(session: Session, world: World) -> None:
    visit = _visit(session, world)
    factories.diagnosis(session, visit)
    world.clock.now = at(DAY, 12)
    colleague = pf.actor(factories.cabinet(session, world.org, Role.DOCTOR))
    close_visit(session, encounter_id=visit.id, outcome="follow_up", actor=colleague, ended_at=at(DAY, 9, 40))
    assert visit.ended_at == at(DAY, 9, 40) and visit.state == EncounterState.CLOSED


@pytest.mark.parametrize("outcome", [None, "", "cured", "HOSPITALIZED"])
def test_close_needs_an_outcome(session: Session, world: World, outcome: str | None) -> None:
    visit = _visit(session, world)
    factories.diagnosis(session, visit)
    with pytest.raises(ValidationError) as refused:
        close_visit(session, encounter_id=visit.id, outcome=outcome, actor=world.me)
    assert refused.value.field == "outcome" and visit.state == EncounterState.OPEN


def test_close_needs_an_active_diagnosis(session: Session, world: World) -> None:
    appointment = _booked(session, world)
    visit = open_visit(session, appointment_id=appointment.id, actor=world.me)
    with pytest.raises(DomainError) as refused:
        close_visit(session, encounter_id=visit.id, outcome="recovered", actor=world.me)
    assert refused.value.field == "diagnosis"
    with language("en"):
        assert str(refused.value) == "Record at least one diagnosis before closing the visit."
    wrong = factories.diagnosis(session, visit, "J06.9")
    wrong.status, wrong.status_reason, wrong.status_changed_at = RecordStatus.ENTERED_IN_ERROR, "Xato", utcnow()
    other_visit = factories.encounter(session, world.org, world.doctor, world.patient)
    factories.diagnosis(session, other_visit)  # a diagnosis of another visit does not count
    with pytest.raises(DomainError):
        close_visit(session, encounter_id=visit.id, outcome="recovered", actor=world.me)
    assert (visit.state, visit.ended_at, visit.outcome) == (EncounterState.OPEN, None, None)
    assert appointment.state == AppointmentState.IN_VISIT
    assert "encounter.closed" not in [a for a, _t, _d in pf.audit_actions(session, world.patient.id)]
    factories.diagnosis(session, visit, "J06.9", kind=ConditionKind.PRELIMINARY)
    assert (
        close_visit(session, encounter_id=visit.id, outcome="recovered", actor=world.me).state == EncounterState.CLOSED
    )


def _hospital(session: Session) -> Organization:
    return factories.organization(session, OrganizationKind.HOSPITAL)


def test_hospitalized_needs_an_issued_hospital_referral(session: Session, world: World) -> None:
    visit = _visit(session, world)
    factories.diagnosis(session, visit)
    refer(session, encounter_id=visit.id, kind="lab", reason="Umumiy qon tahlili", actor=world.me)
    with pytest.raises(DomainError) as refused:
        close_visit(session, encounter_id=visit.id, outcome="hospitalized", actor=world.me)
    assert refused.value.field == "outcome" and visit.state == EncounterState.OPEN
    withdrawn = refer(session, encounter_id=visit.id, kind="hospital", reason="Gipertonik kriz",
                      target_organization_id=_hospital(session).id, actor=world.me)  # fmt: skip
    cancel_referral(session, withdrawn.id, actor=world.me)
    with pytest.raises(DomainError):
        close_visit(session, encounter_id=visit.id, outcome="hospitalized", actor=world.me)
    refer(session, encounter_id=visit.id, kind=ReferralKind.HOSPITAL, reason="Gipertonik kriz",
          target_organization_id=_hospital(session).id, actor=world.me)  # fmt: skip
    assert close_visit(session, encounter_id=visit.id, outcome="hospitalized", actor=world.me).outcome == (
        VisitOutcome.HOSPITALIZED
    )


def test_referred_needs_any_issued_referral(session: Session, world: World) -> None:
    visit = _visit(session, world)
    factories.diagnosis(session, visit)
    with pytest.raises(DomainError) as refused:
        close_visit(session, encounter_id=visit.id, outcome="referred", actor=world.me)
    assert refused.value.field == "outcome"
    refer(session, encounter_id=visit.id, kind="consultation", reason="Kardiolog", actor=world.me)
    assert (
        close_visit(session, encounter_id=visit.id, outcome="referred", actor=world.me).outcome == VisitOutcome.REFERRED
    )


@pytest.mark.parametrize(
    "ended_at",
    [at(DAY, 8, 59), at(DAY, 9, 30), datetime(2030, 3, 5, 9, 10)],  # the last one naive
)
def test_close_refuses_an_end_before_the_start_in_the_future_or_without_zone(
    session: Session, world: World, ended_at: datetime
) -> None:
    visit = _visit(session, world)  # started at 09:00
    factories.diagnosis(session, visit)
    world.clock.now = at(DAY, 9, 20)
    with pytest.raises(ValidationError) as refused:
        close_visit(session, encounter_id=visit.id, outcome="recovered", actor=world.me, ended_at=ended_at)
    assert refused.value.field == "ended_at" and visit.state == EncounterState.OPEN


def test_close_refusals_of_actor_and_state(session: Session, world: World) -> None:
    visit = _visit(session, world)
    factories.diagnosis(session, visit)
    with pytest.raises(DomainError):
        close_visit(session, encounter_id=visit.id, outcome="recovered", actor=world.desk)
    stranger = pf.actor(factories.cabinet(session, factories.organization(session), Role.DOCTOR))
    with pytest.raises(NotFound):
        close_visit(session, encounter_id=visit.id, outcome="recovered", actor=stranger)
    assert visit.state == EncounterState.OPEN
    close_visit(session, encounter_id=visit.id, outcome="recovered", actor=world.me)
    with pytest.raises(DomainError):
        close_visit(session, encounter_id=visit.id, outcome="improved", actor=world.me)
    assert visit.outcome == VisitOutcome.RECOVERED
    assert [a for a, _t, _d in pf.audit_actions(session, world.patient.id)] == ["encounter.opened", "encounter.closed"]


def test_close_after_midnight_still_finds_the_appointment(session: Session, world: World) -> None:
    world.clock.now = at(DAY, 23, 50)
    appointment = walk_in(session, patient_id=world.patient.id, practitioner_id=world.doctor.id, reason=None,
                          actor=world.desk)  # fmt: skip
    visit = open_visit(session, appointment_id=appointment.id, actor=world.me)
    factories.diagnosis(session, visit)
    world.clock.now = at(NEXT_DAY, 0, 20)
    close_visit(session, encounter_id=visit.id, outcome="improved", actor=world.me)
    assert appointment.state == AppointmentState.DONE
