"""Referrals: issued in an open visit, cancelled by the issuing organization, completed by the answer, listed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.trail import SYSTEM, Actor, verify
from ehealth.clinical import RecordStatus
from ehealth.emr.models import Encounter, EncounterState, Referral, ReferralKind, ReferralState
from ehealth.emr.referrals import cancel_referral, complete_referral, open_referrals, refer
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import language
from ehealth.patients.models import Patient
from ehealth.reference.models import Organization, OrganizationKind
from tests import factories
from tests import polyclinic_factories as pf
from tests.polyclinic_factories import DAY, at


@dataclass
class World:
    org: Organization
    doctor: Cabinet
    patient: Patient
    visit: Encounter
    hospital: Organization
    clock: pf.Clock

    @property
    def me(self) -> Actor:
        return pf.actor(self.doctor)


@pytest.fixture
def world(session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org, Role.DOCTOR)
    patient = factories.patient(session)
    visit = factories.encounter(session, org, doctor, patient)
    clock = pf.freeze(monkeypatch, at(DAY, 9))
    return World(org, doctor, patient, visit, factories.organization(session, OrganizationKind.HOSPITAL), clock)


def _refer(session: Session, w: World, **overrides: object) -> Referral:
    args: dict[str, object] = {"encounter_id": w.visit.id, "kind": "lab", "reason": "Umumiy qon tahlili", "actor": w.me}
    args.update(overrides)
    return refer(session, **args)  # type: ignore[arg-type]


def _hospital_referral(session: Session, w: World) -> Referral:
    return _refer(session, w, kind="hospital", reason="Rejali gospitalizatsiya", icd10_code="I10",
                  target_organization_id=w.hospital.id)  # fmt: skip


# --- issuing ----------------------------------------------------------------------------------------------------


def test_refer_to_the_laboratory(session: Session, world: World) -> None:
    referral = _refer(session, world, reason="  Umumiy   qon tahlili ", icd10_code=" e11.9 ")
    assert (referral.kind, referral.state, referral.status) == (
        ReferralKind.LAB,
        ReferralState.ISSUED,
        RecordStatus.ACTIVE,
    )
    assert (referral.patient_id, referral.organization_id, referral.encounter_id, referral.created_by) == (
        world.patient.id,
        world.org.id,
        world.visit.id,
        world.doctor.id,
    )
    assert (referral.reason, referral.icd10_code, referral.issued_at) == ("Umumiy qon tahlili", "E11.9", at(DAY, 9))
    assert referral.target_organization_id is None and referral.completed_at is None
    assert pf.audit_actions(session, world.patient.id) == [("referral.issued", "referral", None)]
    assert list(verify(session)) == []


def test_refer_to_a_hospital_needs_a_working_hospital(session: Session, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        _refer(session, world, kind="hospital")
    assert refused.value.field == "target_organization_id"
    closed_hospital = factories.organization(session, OrganizationKind.HOSPITAL)
    closed_hospital.is_active = False
    session.flush()
    for target in (factories.organization(session).id, closed_hospital.id, 10**9):
        with pytest.raises(ValidationError) as refused:
            _refer(session, world, kind="hospital", target_organization_id=target)
        assert refused.value.field == "target_organization_id"
    assert pf.count(session, Referral) == 0
    referral = _hospital_referral(session, world)
    assert (referral.kind, referral.target_organization_id) == (ReferralKind.HOSPITAL, world.hospital.id)


def test_other_referrals_may_name_a_polyclinic_or_hospital_only(session: Session, world: World) -> None:
    pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
    with pytest.raises(ValidationError) as refused:
        _refer(session, world, kind="consultation", target_organization_id=pharmacy.id)
    assert refused.value.field == "target_organization_id"
    other_polyclinic = factories.organization(session)
    assert _refer(session, world, kind="consultation", target_organization_id=other_polyclinic.id).id is not None
    assert _refer(session, world, kind="instrumental", target_organization_id=world.hospital.id).id is not None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "pharmacy"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 301}, "reason"),
        ({"icd10_code": "X"}, "icd10_code"),
        ({"icd10_code": "E11.99"}, "icd10_code"),
        ({"icd10_code": "IV"}, "icd10_code"),
    ],
)
def test_refer_refuses_bad_values(session: Session, world: World, overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _refer(session, world, **overrides)
    assert refused.value.field == field and str(refused.value)
    assert pf.count(session, Referral) == 0 and pf.audit_actions(session, world.patient.id) == []


def test_refer_only_in_an_open_visit_of_the_organization_by_its_doctor(session: Session, world: World) -> None:
    nurse = factories.cabinet(session, world.org, Role.NURSE)
    with pytest.raises(DomainError):
        _refer(session, world, actor=pf.actor(nurse))
    with pytest.raises(DomainError):
        _refer(session, world, actor=SYSTEM)
    stranger = pf.actor(factories.cabinet(session, factories.organization(session), Role.DOCTOR))
    with pytest.raises(NotFound):
        _refer(session, world, actor=stranger)
    with pytest.raises(NotFound):
        _refer(session, world, encounter_id=10**9)
    withdrawn = factories.encounter(session, world.org, world.doctor, world.patient)
    withdrawn.status, withdrawn.status_reason, withdrawn.status_changed_at = (
        RecordStatus.ENTERED_IN_ERROR, "Xato", utcnow())  # fmt: skip
    closed = factories.encounter(session, world.org, world.doctor, world.patient)
    closed.state, closed.ended_at = EncounterState.CLOSED, utcnow()
    session.flush()
    with pytest.raises(NotFound):
        _refer(session, world, encounter_id=withdrawn.id)
    with pytest.raises(DomainError) as refused:
        _refer(session, world, encounter_id=closed.id)
    with language("en"):
        assert str(refused.value) == "This visit is closed; it can no longer be changed."
    assert pf.count(session, Referral) == 0
    colleague = factories.cabinet(session, world.org, Role.DOCTOR)
    assert _refer(session, world, actor=pf.actor(colleague)).created_by == colleague.id


# --- cancelling -------------------------------------------------------------------------------------------------


def test_cancel_an_issued_referral(session: Session, world: World) -> None:
    referral = _refer(session, world)
    assert cancel_referral(session, referral.id, actor=world.me).state == ReferralState.CANCELLED
    assert pf.audit_actions(session, world.patient.id)[-1] == ("referral.cancelled", "referral", None)
    with pytest.raises(DomainError) as refused:
        cancel_referral(session, referral.id, actor=world.me)
    with language("en"):
        assert str(refused.value) == "This referral was cancelled."


def test_cancel_refusals(session: Session, world: World) -> None:
    referral = _refer(session, world)
    stranger = pf.actor(factories.cabinet(session, factories.organization(session), Role.DOCTOR))
    with pytest.raises(NotFound):
        cancel_referral(session, referral.id, actor=stranger)
    with pytest.raises(NotFound):
        cancel_referral(session, 10**9, actor=world.me)
    with pytest.raises(DomainError):
        cancel_referral(session, referral.id, actor=pf.actor(factories.cabinet(session, world.org, Role.REGISTRAR)))
    assert referral.state == ReferralState.ISSUED
    answer = factories.encounter(session, world.org, world.doctor, world.patient)
    complete_referral(session, referral.id, completed_encounter_id=answer.id, actor=world.me)
    with pytest.raises(DomainError) as refused:
        cancel_referral(session, referral.id, actor=world.me)
    with language("en"):
        assert str(refused.value) == "This referral has already been completed."
    assert str(referral.state) == "completed"  # str(): mypy keeps the earlier narrowing


# --- completing -------------------------------------------------------------------------------------------------


def test_complete_by_the_answering_encounter(session: Session, world: World) -> None:
    referral = _hospital_referral(session, world)
    hospital_doctor = factories.cabinet(session, world.hospital, Role.DOCTOR)
    stay = factories.encounter(session, world.hospital, hospital_doctor, world.patient)
    world.clock.now = at(DAY, 14)
    done = complete_referral(session, referral.id, completed_encounter_id=stay.id, actor=pf.actor(hospital_doctor))
    assert (done.state, done.completed_at, done.completed_encounter_id) == (
        ReferralState.COMPLETED,
        at(DAY, 14),
        stay.id,
    )
    assert pf.audit_actions(session, world.patient.id)[-1] == ("referral.completed", "referral", None)
    assert list(verify(session)) == []


def test_complete_without_an_encounter_by_the_system(session: Session, world: World) -> None:
    referral = _refer(session, world)
    done = complete_referral(session, referral.id, patient_id=world.patient.id, actor=SYSTEM)
    assert done.state == ReferralState.COMPLETED and done.completed_encounter_id is None


def test_complete_refuses_another_patient(session: Session, world: World) -> None:
    referral = _refer(session, world)
    other = factories.patient(session)
    with pytest.raises(DomainError) as refused:
        complete_referral(session, referral.id, patient_id=other.id, actor=SYSTEM)
    assert refused.value.field == "referral_id"
    their_visit = factories.encounter(session, world.org, world.doctor, other)
    with pytest.raises(DomainError) as refused:
        complete_referral(session, referral.id, completed_encounter_id=their_visit.id, actor=world.me)
    with language("en"):
        assert str(refused.value) == "This referral is for another patient."
    with pytest.raises(NotFound):
        complete_referral(session, referral.id, completed_encounter_id=10**9, actor=world.me)
    assert (referral.state, referral.completed_at, referral.completed_encounter_id) == (
        ReferralState.ISSUED,
        None,
        None,
    )
    assert [a for a, _t, _d in pf.audit_actions(session, world.patient.id)] == ["referral.issued"]


def test_complete_refuses_a_referral_no_longer_issued(session: Session, world: World) -> None:
    done = _refer(session, world)
    complete_referral(session, done.id, actor=SYSTEM)
    cancelled = _refer(session, world)
    cancel_referral(session, cancelled.id, actor=world.me)
    withdrawn = _refer(session, world)
    withdrawn.status, withdrawn.status_reason, withdrawn.status_changed_at = (
        RecordStatus.ENTERED_IN_ERROR, "Xato", utcnow())  # fmt: skip
    session.flush()
    for referral in (done, cancelled, withdrawn):
        with pytest.raises(DomainError):
            complete_referral(session, referral.id, actor=SYSTEM)
    with pytest.raises(NotFound):
        complete_referral(session, 10**9, actor=SYSTEM)
    assert (cancelled.state, withdrawn.state) == (ReferralState.CANCELLED, ReferralState.ISSUED)


# --- open referrals ---------------------------------------------------------------------------------------------


def test_open_referrals_lists_the_issued_ones_oldest_first(session: Session, world: World) -> None:
    lab = _refer(session, world)
    world.clock.now = at(DAY, 9, 5)
    hospital = _hospital_referral(session, world)
    world.clock.now = at(DAY, 9, 10)
    lab_later = _refer(session, world, reason="Qanda glyukoza")
    cancel_referral(session, _refer(session, world).id, actor=world.me)
    complete_referral(session, _refer(session, world).id, actor=SYSTEM)
    # Another patient's referral is not listed.
    other = factories.patient(session)
    _refer(session, world, encounter_id=factories.encounter(session, world.org, world.doctor, other).id)
    lab_desk = pf.actor(factories.cabinet(session, world.hospital, Role.DOCTOR))
    assert open_referrals(session, world.patient.id, actor=lab_desk) == [lab, hospital, lab_later]
    assert open_referrals(session, world.patient.id, kind="lab", actor=lab_desk) == [lab, lab_later]
    assert open_referrals(session, world.patient.id, kind=ReferralKind.HOSPITAL, actor=lab_desk) == [hospital]
    assert open_referrals(session, world.patient.id, kind="consultation", actor=lab_desk) == []
    event = pf.last_audit(session)
    assert (event.action, event.patient_id, event.actor_id) == (
        "referral.open_listed",
        world.patient.id,
        lab_desk.cabinet_id,
    )


def test_open_referrals_refusals(session: Session, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        open_referrals(session, world.patient.id, kind="xray", actor=world.me)
    assert refused.value.field == "kind"
    with pytest.raises(NotFound):
        open_referrals(session, 10**9, actor=world.me)
