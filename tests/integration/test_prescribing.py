"""Writing e-prescriptions: every blocking rule and warning of PRESCRIPTION.md, validity, quantities, the stored
confirmation, the patient's notification, the outbox and the audit trail."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ehealth.access.models import Role
from ehealth.audit.models import AuditEvent
from ehealth.calendar import today
from ehealth.emr.models import Allergy, EncounterState, Severity
from ehealth.errors import NotFound, ValidationError
from ehealth.outbox import ClinicalEvent
from ehealth.patients.models import Patient
from ehealth.prescription import canonical, safety
from ehealth.prescription.confirmation import check
from ehealth.prescription.dispensing import canonical_of
from ehealth.prescription.models import (
    NotificationState,
    PatientNotification,
    Prescription,
    PrescriptionCategory,
    PrescriptionItem,
    PrescriptionWarning,
)
from ehealth.prescription.numbers import looks_valid
from ehealth.prescription.prescribing import Acknowledgement, Rule, issue_with_session, review
from ehealth.prescription.rules import RULES
from tests import emr_factories, factories
from tests.prescription_factories import CONFIRMER, Setting, setting

AMOXICILLIN = "J01CA04"  # 500 mg capsules, 20 a pack; usually 1 x 3 a day for 7 days
AMLODIPINE = "C08CA01"  # 5 mg tablets, 30 a pack
TRAMADOL = "N02AX02"  # controlled
DIAZEPAM = "N05BA01"  # controlled
PARACETAMOL = "N02BE01"  # 500 mg tablets
SALBUTAMOL = "R03AC02"  # inhaler of 200 doses
CLARITHROMYCIN = "J01FA09"
ATORVASTATIN = "C10AA05"


@pytest.fixture
def place(session: Session) -> Setting:
    """A doctor with an open visit, a patient and a contracted pharmacy."""
    return setting(session)


def _count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _rules_of(session: Session, place: Setting, order: object) -> set[str]:
    return {problem.rule for problem in review(session, order, actor=place.doctor).problems}  # type: ignore[arg-type]


def test_an_antibiotic_is_issued_with_number_validity_quantity_and_confirmation(
    session: Session, place: Setting
) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    assert looks_valid(prescription.number)
    assert prescription.state == "active"
    assert prescription.valid_until == today() + timedelta(days=90)
    assert prescription.safety_version == safety.load().version
    (item,) = session.execute(
        select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id)
    ).scalars()
    assert (item.quantity, item.fills, item.dispensed_quantity) == (21, 1, 0)  # 1 capsule x 3 a day x 7 days
    assert item.inn == "Amoksitsillin" and item.brand is None  # prescribed by INN unless the doctor names the brand
    body = canonical_of(session, prescription, place.patient)
    assert json.loads(body)["patient_pinfl"] == place.patient.pinfl
    assert prescription.content_hash == canonical.content_hash(body)
    check(prescription, body, CONFIRMER)  # the seal holds
    assert prescription.signer == f"oneid:{place.clinic.doctor.id}"


def test_issuing_tells_the_patient_audits_and_feeds_the_outbox(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    note = session.execute(
        select(PatientNotification).where(PatientNotification.patient_id == place.patient.id)
    ).scalar_one()
    assert note.state == NotificationState.PENDING and note.recipient == "+998901234567"
    assert prescription.number in note.text and prescription.valid_until.strftime("%d.%m.%Y") in note.text
    kinds = session.execute(
        select(ClinicalEvent.kind).where(
            ClinicalEvent.entity == "prescription", ClinicalEvent.entity_id == prescription.id
        )
    ).scalars()
    assert list(kinds) == ["prescription.created"]
    actions = emr_factories.audit_actions(session, place.patient.id)
    assert ("prescription.issued", "prescription", str(prescription.id)) in actions


@pytest.mark.parametrize(
    ("category", "icd10", "atc", "days"),
    [("regular", "J18.9", AMOXICILLIN, 90), ("chronic", "I10", AMLODIPINE, 60), ("reimbursed", "I10", AMLODIPINE, 30),
     ("controlled", "M54.5", TRAMADOL, 15)],
)  # fmt: skip
def test_validity_follows_the_category(
    session: Session, place: Setting, category: str, icd10: str, atc: str, days: int
) -> None:
    prescription = place.issue(session, place.order(place.item(atc, duration_days=5), category=category, icd10=icd10))
    assert (
        prescription.valid_until
        == today() + timedelta(days=days)
        == today() + timedelta(days=RULES.validity_days[PrescriptionCategory(category)])
    )


def test_quantity_is_computed_and_editable_up_to_whole_packs(session: Session, place: Setting) -> None:
    assert _rules_of(session, place, place.order(place.item(AMOXICILLIN, quantity=40))) == set()  # two packs of 20
    assert _rules_of(session, place, place.order(place.item(AMOXICILLIN, quantity=41))) == {Rule.QUANTITY}
    assert _rules_of(session, place, place.order(place.item(AMOXICILLIN, quantity=0))) == {Rule.QUANTITY}
    # An inhaler counts doses: 2 puffs x 3 a day x 30 days = 180 doses, one inhaler of 200.
    inhaler = place.issue(session, place.order(place.item(SALBUTAMOL), category="chronic", icd10="J45.9"))
    assert (
        session.execute(
            select(PrescriptionItem.quantity).where(PrescriptionItem.prescription_id == inhaler.id)
        ).scalar_one()
        == 1
    )


def test_a_repeat_chronic_prescription_may_be_dispensed_several_fills(session: Session, place: Setting) -> None:
    prescription = place.issue(
        session, place.order(place.item(AMLODIPINE, duration_days=20), category="chronic", icd10="I10", repeats=2)
    )
    item = session.execute(
        select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id)
    ).scalar_one()
    assert (item.quantity, item.fills, item.prescribed_total) == (20, 3, 60)  # three 20-day courses in 60 days


@pytest.mark.parametrize(
    ("build", "rule"),
    [
        (lambda p: p.order(p.item(AMOXICILLIN), icd10="Q99.99"), Rule.ICD10),
        (lambda p: p.order(p.item(AMOXICILLIN), icd10="ZZZ"), Rule.ICD10),
        (lambda p: p.order(p.item(AMOXICILLIN, drug_id=999_999)), Rule.MEDICINE),
        (lambda p: p.order(p.item(AMOXICILLIN, drug_id=None)), Rule.MEDICINE),
        (lambda p: p.order(p.item(AMOXICILLIN, dose=0)), Rule.DOSE),
        (lambda p: p.order(p.item(AMOXICILLIN, dose=float("nan"))), Rule.DOSE),
        (lambda p: p.order(p.item(AMOXICILLIN, intakes_per_day=0)), Rule.INTAKES),
        (lambda p: p.order(p.item(AMOXICILLIN, intakes_per_day=13)), Rule.INTAKES),
        (lambda p: p.order(p.item(AMOXICILLIN, duration_days=91)), Rule.DURATION),
        (lambda p: p.order(p.item(AMLODIPINE, duration_days=31), category="reimbursed", icd10="I10"), Rule.DURATION),
        (lambda p: p.order(p.item(AMOXICILLIN, route="qulog'iga surtish")), Rule.ROUTE),
        (lambda p: p.order(), Rule.ITEMS),
        (lambda p: p.order(*(p.item(atc) for atc in ("J01CA04", "C08CA01", "C09AA02", "C07AB07", "C10AA05", "A02BC01"))), Rule.ITEMS),
        (lambda p: p.order(p.item(AMOXICILLIN), p.item(AMOXICILLIN)), Rule.REPEATED_LINE),
        (lambda p: p.order(p.item(TRAMADOL, duration_days=5)), Rule.CONTROLLED),
        (lambda p: p.order(p.item(AMOXICILLIN), category="controlled"), Rule.CONTROLLED),
        (lambda p: p.order(p.item(TRAMADOL, duration_days=5), p.item(DIAZEPAM, duration_days=5), category="controlled"), Rule.CONTROLLED),
        (lambda p: p.order(p.item(TRAMADOL, duration_days=8), category="controlled"), Rule.DURATION),
        (lambda p: p.order(p.item(AMLODIPINE), category="reimbursed", icd10="J18.9"), Rule.REIMBURSED),
        (lambda p: p.order(p.item(AMOXICILLIN), repeats=1), Rule.REPEATS),
        (lambda p: p.order(p.item(AMLODIPINE), category="chronic", icd10="I10", repeats=RULES.max_repeats + 1), Rule.REPEATS),
        (lambda p: p.order(p.item(AMOXICILLIN), category="weekly"), Rule.CATEGORY),
        (lambda p: p.order(p.item(AMLODIPINE, duration_days=30), category="chronic", icd10="I10", repeats=2), Rule.REPEATS),
    ],
)  # fmt: skip
def test_each_blocking_rule_stops_the_save_and_names_itself(
    session: Session, place: Setting, build: object, rule: str
) -> None:
    order = build(place)  # type: ignore[operator]
    assert rule in _rules_of(session, place, order)
    before = _count(session, Prescription)
    with pytest.raises(ValidationError) as refused:
        place.issue(session, order)
    assert refused.value.field == rule
    assert _count(session, Prescription) == before
    assert _count(session, PatientNotification) == 0


def test_an_invalid_pinfl_blocks(session: Session, place: Setting) -> None:
    broken = place.patient.pinfl[:13] + str((int(place.patient.pinfl[13]) + 1) % 10)
    session.execute(update(Patient).where(Patient.id == place.patient.id).values(pinfl=broken))
    session.expire_all()
    assert Rule.PINFL in _rules_of(session, place, place.order(place.item(AMOXICILLIN)))


def test_only_a_doctor_of_the_visit_s_organization_prescribes(session: Session, place: Setting) -> None:
    order = place.order(place.item(AMOXICILLIN))
    with pytest.raises(ValidationError):
        issue_with_session(session, order, (), actor=place.clinic.as_nurse, oneid=place.oneid(), confirmer=CONFIRMER)
    stranger = factories.cabinet(session, factories.organization(session), Role.DOCTOR)
    with pytest.raises(NotFound):
        review(session, order, actor=emr_factories.actor(stranger))
    assert _count(session, Prescription) == 0


def _warnings(session: Session, place: Setting, order: object) -> list[tuple[str, int]]:
    return [(str(w.rule), w.line) for w in review(session, order, actor=place.doctor).warnings]  # type: ignore[arg-type]


def test_duplicate_therapy_warns_and_needs_an_acknowledged_reason(session: Session, place: Setting) -> None:
    first = place.issue(session, place.order(place.item(AMOXICILLIN)))
    again = place.order(place.item(AMOXICILLIN))
    assert _warnings(session, place, again) == [("duplicate_therapy", 1)]
    (finding,) = review(session, again, actor=place.doctor).warnings
    assert first.number in finding.text()
    with pytest.raises(ValidationError):
        place.issue(session, again)
    with pytest.raises(ValidationError):
        place.issue(session, again, (Acknowledgement("duplicate_therapy", 1, "   "),))
    second = place.issue(session, again, (Acknowledgement("duplicate_therapy", 1, "The first course was lost"),))
    stored = session.execute(
        select(PrescriptionWarning).where(PrescriptionWarning.prescription_id == second.id)
    ).scalar_one()
    assert (stored.rule, stored.line, stored.reason) == ("duplicate_therapy", 1, "The first course was lost")
    assert stored.acknowledged_by == place.clinic.doctor.id
    assert json.loads(stored.detail)["params"]["number"] == first.number


def test_a_recorded_allergy_warns_across_its_class(session: Session, place: Setting) -> None:
    session.add(
        Allergy(
            patient_id=place.patient.id, organization_id=place.clinic.org.id, created_by=place.clinic.doctor.id,
            substance="Penitsillin", inn="Benzilpenitsillin", atc_code="J01CE01", severity=Severity.SEVERE,
            recorded_at=place.clinic.visit.started_at,
        )
    )  # fmt: skip
    session.flush()
    assert ("allergy", 1) in _warnings(session, place, place.order(place.item(AMOXICILLIN)))
    assert _warnings(session, place, place.order(place.item(CLARITHROMYCIN))) == []


def test_an_age_dose_limit_warns_for_a_child(session: Session) -> None:
    child = setting(session, born=today() - timedelta(days=3 * 365 + 30))
    adult = setting(session)
    heavy = {"dose": 2, "intakes_per_day": 4, "duration_days": 3}
    assert ("age_dose", 1) in _warnings(session, child, child.order(child.item(PARACETAMOL, **heavy), icd10="R50.9"))
    assert (
        _warnings(
            session,
            adult,
            adult.order(adult.item(PARACETAMOL, dose=1, intakes_per_day=3, duration_days=3), icd10="R50.9"),
        )
        == []
    )


def test_an_interaction_with_an_active_prescription_warns(session: Session, place: Setting) -> None:
    statin = place.issue(
        session, place.order(place.item(ATORVASTATIN, duration_days=30), category="chronic", icd10="I25.1")
    )
    found = review(session, place.order(place.item(CLARITHROMYCIN)), actor=place.doctor).warnings
    interaction = [w for w in found if w.rule == "interaction"]
    assert interaction and statin.number in interaction[0].text()


def test_a_correction_cancels_the_old_prescription_and_points_back(session: Session, place: Setting) -> None:
    old = place.issue(session, place.order(place.item(AMOXICILLIN)))
    new = place.issue(
        session, place.order(place.item(AMOXICILLIN, dose=2), replaces_id=old.id, replace_reason="Dozasi noto'g'ri")
    )  # no duplicate-therapy warning: the replaced prescription does not count
    assert new.replaces_id == old.id
    assert (old.state, old.cancel_reason, old.cancelled_by) == ("cancelled", "Dozasi noto'g'ri", place.clinic.doctor.id)


def test_a_prescription_on_a_visit_closed_long_ago_is_refused(session: Session, place: Setting) -> None:
    visit = place.clinic.visit
    visit.state = EncounterState.CLOSED
    visit.ended_at = visit.started_at - timedelta(hours=RULES.after_close_hours + 1)
    visit.started_at = visit.ended_at - timedelta(minutes=20)
    session.flush()
    with pytest.raises(ValidationError):
        place.issue(session, place.order(place.item(AMOXICILLIN)))


def test_audit_names_the_acting_doctor(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    event = session.execute(
        select(AuditEvent).where(
            AuditEvent.action == "prescription.issued", AuditEvent.object_id == str(prescription.id)
        )
    ).scalar_one()
    assert (event.actor_id, event.actor_role, event.patient_id) == (place.clinic.doctor.id, "doctor", place.patient.id)
    assert prescription.number in (event.detail or "")


def test_an_eprescription_only_medicine_is_recorded_no_other_way(session: Session, place: Setting) -> None:
    from ehealth.emr.entries import record_treatment

    def give(title: str) -> object:
        return record_treatment(
            session, encounter_id=place.clinic.visit.id, kind="medication", title=title,
            performed_at=place.clinic.visit.started_at + timedelta(minutes=5), actor=place.doctor,
        )  # fmt: skip

    with pytest.raises(ValidationError) as refused:
        give("Amoksil 500 mg 3 mahal")  # by brand
    assert refused.value.params["medicine"] == "Amoksitsillin"
    with pytest.raises(ValidationError):
        give("Prednizolon 5 mg")  # H02
    give("Paratsetamol 500 mg")  # sold over the counter: a plain treatment entry
    place.issue(session, place.order(place.item(AMOXICILLIN)))
    give("Amoksitsillin 500 mg, birinchi doza")  # now held on an e-prescription
