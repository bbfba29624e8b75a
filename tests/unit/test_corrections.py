"""Corrections (R-13, R-17): the old entry is kept superseded and its successor points back to it, held to the
rules of recording; withdrawal marks entered in error; only active entries, with a reason, by their organization;
body mass index follows its weight and height; history shows the chain; all audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Role
from ehealth.clinical import RecordStatus
from ehealth.emr import entries
from ehealth.emr.access import AccessDenied
from ehealth.emr.corrections import correct, history, withdraw
from ehealth.emr.models import (
    Allergy,
    Condition,
    ConditionKind,
    Encounter,
    Flag,
    Indicator,
    LabResult,
    Observation,
    ReferralKind,
    TreatmentRecord,
)
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import language
from tests import emr_factories as ef
from tests import factories


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """These tests read the refusals' English wording (the portal's default language is Uzbek)."""
    with language("en"):
        yield


def count(session: Session, model: Any) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def measure(session: Session, c: ef.Clinic, **values: float) -> dict[Indicator, Observation]:
    rows = entries.record_indicators(
        session, encounter_id=c.visit.id, values=values, effective_at=utcnow() - timedelta(minutes=5), actor=c.as_nurse
    )
    return {Indicator(row.code): row for row in rows}


def active_bmi(session: Session, visit: Encounter) -> list[Observation]:
    return list(
        session.execute(
            select(Observation).where(
                Observation.encounter_id == visit.id,
                Observation.code == Indicator.BMI,
                Observation.status == RecordStatus.ACTIVE,
            )
        ).scalars()
    )


def test_a_correction_supersedes_the_entry_and_writes_its_successor(session: Session) -> None:
    c = ef.clinic(session)
    old = entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="J06.9", kind="final", note="ORVI", actor=c.as_doctor
    )
    new = correct(
        session,
        model=Condition,
        row_id=old.id,
        changes={"icd10_code": "j18.9"},
        reason="  Rentgen pnevmoniyani ko'rsatdi ",
        actor=c.as_doctor,
    )
    assert (old.status, old.status_reason) == (RecordStatus.SUPERSEDED, "Rentgen pnevmoniyani ko'rsatdi")
    assert old.status_changed_at is not None and old.icd10_code == "J06.9"
    assert (new.status, new.replaces_id, new.icd10_code) == (RecordStatus.ACTIVE, old.id, "J18.9")
    # What was not corrected is carried over: the encounter, the kind, the note, the time of the diagnosis.
    assert (new.encounter_id, new.kind, new.note, new.recorded_at) == (c.visit.id, "final", "ORVI", old.recorded_at)
    assert new.created_by == c.doctor.id and new.id != old.id
    assert ef.audit_actions(session, c.patient.id)[-1] == ("emr.diagnosis.corrected", "condition", str(new.id))


def test_history_is_the_chain_from_the_first_version_to_the_last(session: Session) -> None:
    c = ef.clinic(session)
    first = measure(session, c, pulse=70)[Indicator.PULSE]
    second = correct(
        session, model=Observation, row_id=first.id, changes={"value": 170}, reason="Xato", actor=c.as_nurse
    )
    third = correct(
        session, model=Observation, row_id=second.id, changes={"value": 107}, reason="Yana xato", actor=c.as_nurse
    )
    assert (second.flag, third.flag) == (Flag.CRITICAL, Flag.HIGH)  # flagged anew by the recording rules
    for row in (first, second, third):
        assert [version.id for version in history(session, Observation, row.id, actor=c.as_nurse)] == [
            first.id,
            second.id,
            third.id,
        ]
    assert [row.status for row in (first, second, third)] == [RecordStatus.SUPERSEDED] * 2 + [RecordStatus.ACTIVE]
    assert ef.audit_actions(session, c.patient.id)[-1] == ("emr.history.read", "observation", str(third.id))
    with pytest.raises(NotFound):
        history(session, Observation, 10**9, actor=c.as_nurse)
    stranger = factories.cabinet(session, factories.organization(session), Role.DOCTOR)
    with pytest.raises(AccessDenied):  # outside the organization's work with the patient
        history(session, Observation, third.id, actor=ef.actor(stranger))


def test_a_correction_is_held_to_the_rules_of_recording(session: Session) -> None:
    c = ef.clinic(session)
    rows = measure(session, c, pulse=70, bp_systolic=120, bp_diastolic=80)
    diagnosis = entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="I10", kind="final", actor=c.as_doctor
    )
    lab = entries.record_lab_result(
        session,
        encounter_id=c.visit.id,
        test_code="GLU",
        test_name="Glyukoza",
        collected_at=utcnow() - timedelta(minutes=30),
        resulted_at=utcnow() - timedelta(minutes=10),
        value_numeric=5.1,
        actor=c.as_nurse,
    )
    cases: list[tuple[type[Any], int, dict[str, Any], str, Any]] = [
        (Observation, rows[Indicator.PULSE].id, {"value": 900}, "pulse", c.as_nurse),
        (Observation, rows[Indicator.BP_DIASTOLIC].id, {"value": 130}, "bp_diastolic", c.as_nurse),
        (
            Observation,
            rows[Indicator.PULSE].id,
            {"effective_at": utcnow() + timedelta(hours=1)},
            "effective_at",
            c.as_nurse,
        ),
        (Condition, diagnosis.id, {"icd10_code": "I10.99"}, "icd10_code", c.as_doctor),
        (Condition, diagnosis.id, {"kind": "likely"}, "kind", c.as_doctor),
        (LabResult, lab.id, {"resulted_at": utcnow() - timedelta(hours=3)}, "resulted_at", c.as_nurse),
        (LabResult, lab.id, {"value_numeric": None}, "value_numeric", c.as_nurse),
    ]
    for model, row_id, changes, field, who in cases:
        with pytest.raises(ValidationError) as error:
            correct(session, model=model, row_id=row_id, changes=changes, reason="Tuzatish", actor=who)
        assert error.value.field == field, changes
    assert all(row.status == RecordStatus.ACTIVE for row in rows.values())
    assert diagnosis.status == RecordStatus.ACTIVE and lab.status == RecordStatus.ACTIVE
    assert count(session, Observation) == 3 and count(session, Condition) == 1 and count(session, LabResult) == 1


def test_one_final_diagnosis_holds_through_corrections(session: Session) -> None:
    c = ef.clinic(session)
    final = entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="I10", kind="final", actor=c.as_doctor
    )
    other = entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="E11.9", kind="comorbidity", actor=c.as_doctor
    )
    # The final diagnosis corrected stays final: it does not count against its own successor.
    final = correct(
        session,
        model=Condition,
        row_id=final.id,
        changes={"icd10_code": "I11.9"},
        reason="Aniqlandi",
        actor=c.as_doctor,
    )
    with pytest.raises(ValidationError) as error:
        correct(
            session, model=Condition, row_id=other.id, changes={"kind": "final"}, reason="Asosiy", actor=c.as_doctor
        )
    assert error.value.field == "kind"
    correct(
        session,
        model=Condition,
        row_id=final.id,
        changes={"kind": ConditionKind.COMORBIDITY},
        reason="Yo'ldosh",
        actor=c.as_doctor,
    )
    promoted = correct(
        session, model=Condition, row_id=other.id, changes={"kind": "final"}, reason="Asosiy", actor=c.as_doctor
    )
    assert promoted.kind == ConditionKind.FINAL


def test_what_a_correction_may_change(session: Session) -> None:
    c = ef.clinic(session)
    pulse = measure(session, c, pulse=70)[Indicator.PULSE]
    for changes, field in (
        ({"code": "temperature"}, "code"),
        ({"patient_id": 1}, "patient_id"),
        ({"created_by": c.doctor.id}, "created_by"),
        ({}, "changes"),
        ({"value": 70}, "changes"),  # changes nothing
        ({"value": 70.4}, "changes"),  # stored as 70: changes nothing either
    ):
        with pytest.raises(ValidationError) as error:
            correct(session, model=Observation, row_id=pulse.id, changes=changes, reason="Tuzatish", actor=c.as_nurse)
        assert error.value.field == field
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(ValidationError) as error:
            correct(session, model=Observation, row_id=pulse.id, changes={"value": 80}, reason=reason, actor=c.as_nurse)
        assert error.value.field == "reason"
        with pytest.raises(ValidationError):
            withdraw(session, model=Observation, row_id=pulse.id, reason=reason, actor=c.as_nurse)
    assert pulse.status == RecordStatus.ACTIVE and count(session, Observation) == 1


def test_only_the_organization_that_made_an_entry_corrects_it(session: Session) -> None:
    c = ef.clinic(session)
    elsewhere = ef.clinic(session, patient=c.patient)
    pulse = measure(session, c, pulse=70)[Indicator.PULSE]
    with pytest.raises(DomainError, match="organization that made"):
        correct(
            session, model=Observation, row_id=pulse.id, changes={"value": 80}, reason="Xato", actor=elsewhere.as_doctor
        )
    with pytest.raises(DomainError, match="organization that made"):
        withdraw(session, model=Observation, row_id=pulse.id, reason="Xato", actor=elsewhere.as_doctor)
    with pytest.raises(DomainError):  # nor a registrar of the same organization
        withdraw(session, model=Observation, row_id=pulse.id, reason="Xato", actor=ef.actor(c.registrar))
    diagnosis = entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="I10", kind="final", actor=c.as_doctor
    )
    with pytest.raises(DomainError, match="Only a doctor"):
        correct(
            session,
            model=Condition,
            row_id=diagnosis.id,
            changes={"icd10_code": "I11.9"},
            reason="Xato",
            actor=c.as_nurse,
        )
    assert pulse.status == RecordStatus.ACTIVE and diagnosis.status == RecordStatus.ACTIVE


def test_only_the_latest_version_is_corrected_or_withdrawn(session: Session) -> None:
    c = ef.clinic(session)
    pulse = measure(session, c, pulse=70)[Indicator.PULSE]
    correct(session, model=Observation, row_id=pulse.id, changes={"value": 80}, reason="Xato", actor=c.as_nurse)
    with pytest.raises(DomainError, match="already been corrected or withdrawn"):
        correct(session, model=Observation, row_id=pulse.id, changes={"value": 90}, reason="Xato", actor=c.as_nurse)
    treatment = entries.record_treatment(
        session, encounter_id=c.visit.id, kind="note", title="Ko'rik", performed_at=utcnow(), actor=c.as_doctor
    )
    withdraw(session, model=TreatmentRecord, row_id=treatment.id, reason="Boshqa bemorga yozilgan", actor=c.as_doctor)
    with pytest.raises(DomainError):
        withdraw(session, model=TreatmentRecord, row_id=treatment.id, reason="Yana", actor=c.as_doctor)
    with pytest.raises(NotFound):
        withdraw(session, model=TreatmentRecord, row_id=10**9, reason="Yana", actor=c.as_doctor)


def test_withdraw_marks_entered_in_error_and_is_audited(session: Session) -> None:
    c = ef.clinic(session)
    allergy = entries.record_allergy(
        session, patient_id=c.patient.id, substance="Yong'oq", severity="mild", actor=c.as_doctor
    )
    withdrawn = withdraw(session, model=Allergy, row_id=allergy.id, reason="Boshqa bemorniki", actor=c.as_nurse)
    assert withdrawn is allergy
    assert (allergy.status, allergy.status_reason) == (RecordStatus.ENTERED_IN_ERROR, "Boshqa bemorniki")
    assert allergy.status_changed_at is not None and count(session, Allergy) == 1  # kept, never deleted
    assert ef.audit_actions(session, c.patient.id)[-1] == ("emr.allergy.withdrawn", "allergy", str(allergy.id))
    assert [row.id for row in history(session, Allergy, allergy.id, actor=c.as_nurse)] == [allergy.id]


def test_a_closed_visit_can_still_be_corrected(session: Session) -> None:
    c = ef.clinic(session)
    diagnosis = entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="I10", kind="final", actor=c.as_doctor
    )
    ef.close(session, c.visit)
    new = correct(
        session,
        model=Condition,
        row_id=diagnosis.id,
        changes={"icd10_code": "I11.9"},
        reason="Aniqlandi",
        actor=c.as_doctor,
    )
    assert new.encounter_id == c.visit.id


def test_a_lab_result_correction_keeps_its_referral(session: Session) -> None:
    c = ef.clinic(session)
    referral = ef.referral(session, c.visit, ReferralKind.LAB)
    lab = entries.record_lab_result(
        session,
        encounter_id=c.visit.id,
        test_code="HGB",
        test_name="Gemoglobin",
        collected_at=utcnow() - timedelta(minutes=30),
        resulted_at=utcnow() - timedelta(minutes=10),
        value_numeric=130,
        reference_low=120,
        reference_high=160,
        referral_id=referral.id,
        actor=c.as_nurse,
    )
    new = correct(
        session,
        model=LabResult,
        row_id=lab.id,
        changes={"value_numeric": 103},
        reason="Qayta o'lchandi",
        actor=c.as_nurse,
    )
    assert (new.referral_id, new.flag, new.reference_low) == (referral.id, Flag.LOW, 120)


def test_body_mass_index_follows_a_corrected_weight(session: Session) -> None:
    c = ef.clinic(session)
    rows = measure(session, c, weight=70, height=175)
    old_index = rows[Indicator.BMI]
    new_weight = correct(
        session,
        model=Observation,
        row_id=rows[Indicator.WEIGHT].id,
        changes={"value": 80},
        reason="Tarozi xato",
        actor=c.as_nurse,
    )
    (index,) = active_bmi(session, c.visit)
    assert (index.value, index.replaces_id, index.flag) == (26.1, old_index.id, Flag.HIGH)
    assert (old_index.status, old_index.status_reason) == (RecordStatus.SUPERSEDED, "Tarozi xato")
    actions = [action for action, _type, _id in ef.audit_actions(session, c.patient.id)]
    assert actions[-2:] == ["emr.indicator.corrected", "emr.indicator.corrected"]
    # A correction that would make the index impossible is refused whole.
    with pytest.raises(ValidationError) as error:
        correct(
            session, model=Observation, row_id=new_weight.id, changes={"value": 0.5}, reason="Xato", actor=c.as_nurse
        )
    assert error.value.field == "weight"
    assert new_weight.status == RecordStatus.ACTIVE and active_bmi(session, c.visit) == [index]


def test_body_mass_index_is_withdrawn_with_its_height(session: Session) -> None:
    c = ef.clinic(session)
    rows = measure(session, c, weight=70, height=175)
    pulse = measure(session, c, pulse=70)[Indicator.PULSE]
    withdraw(session, model=Observation, row_id=rows[Indicator.HEIGHT].id, reason="Boshqa bemorniki", actor=c.as_nurse)
    assert rows[Indicator.BMI].status == RecordStatus.ENTERED_IN_ERROR
    assert active_bmi(session, c.visit) == []
    assert rows[Indicator.WEIGHT].status == RecordStatus.ACTIVE and pulse.status == RecordStatus.ACTIVE


def test_body_mass_index_is_not_corrected_or_withdrawn_by_itself(session: Session) -> None:
    c = ef.clinic(session)
    index = measure(session, c, weight=70, height=175)[Indicator.BMI]
    with pytest.raises(DomainError, match="follows weight and height"):
        correct(session, model=Observation, row_id=index.id, changes={"value": 25}, reason="Xato", actor=c.as_nurse)
    with pytest.raises(DomainError, match="follows weight and height"):
        withdraw(session, model=Observation, row_id=index.id, reason="Xato", actor=c.as_nurse)
    assert index.status == RecordStatus.ACTIVE


def test_an_unrelated_index_is_left_alone(session: Session) -> None:
    c = ef.clinic(session)
    first = measure(session, c, weight=70, height=175)
    other_visit = factories.encounter(session, c.org, c.doctor, c.patient)
    other = entries.record_indicators(
        session,
        encounter_id=other_visit.id,
        values={"weight": 60, "height": 160},
        effective_at=utcnow(),
        actor=c.as_nurse,
    )
    correct(
        session,
        model=Observation,
        row_id=first[Indicator.WEIGHT].id,
        changes={"value": 72},
        reason="Xato",
        actor=c.as_nurse,
    )
    assert all(row.status == RecordStatus.ACTIVE for row in other)
