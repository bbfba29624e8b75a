"""Entries in an encounter (R-11, R-13.2-6): each rule refuses with its field and writes nothing; what is accepted
carries patient, organization and author, completes the referral it answers, and is audited with the patient."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.audit.models import AuditEvent
from ehealth.clinical import RecordStatus
from ehealth.emr import entries
from ehealth.emr.models import (
    Allergy,
    Condition,
    ConditionKind,
    Flag,
    Indicator,
    InstrumentalResult,
    LabResult,
    Observation,
    ReferralKind,
    ReferralState,
    TreatmentRecord,
)
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import language
from ehealth.outbox import ClinicalEvent
from tests import emr_factories as ef
from tests import factories


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """These tests read the refusals' English wording (the portal's default language is Uzbek)."""
    with language("en"):
        yield


def count(session: Session, model: Any) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def audited(session: Session, action: str) -> list[tuple[int | None, str | None]]:
    rows = session.execute(
        select(AuditEvent.patient_id, AuditEvent.object_id).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()
    return [(patient_id, object_id) for patient_id, object_id in rows]


def refused(error: pytest.ExceptionInfo[ValidationError], field: str) -> str:
    assert error.value.field == field
    with language("en"):
        return str(error.value)


# --- indicators -----------------------------------------------------------------------------------------------


def test_indicators_are_recorded_with_unit_flag_range_and_author(session: Session) -> None:
    c = ef.clinic(session)
    when = utcnow() - timedelta(minutes=5)
    rows = entries.record_indicators(
        session,
        encounter_id=c.visit.id,
        values={"bp_systolic": 150, "bp_diastolic": 95, "pulse": 72, "temperature": 38.2, "spo2": 97},
        effective_at=when,
        actor=c.as_nurse,
    )
    found = {str(row.code): row for row in rows}
    assert set(found) == {"bp_systolic", "bp_diastolic", "pulse", "temperature", "spo2"}
    assert (found["bp_systolic"].unit, found["bp_systolic"].flag) == ("mmHg", Flag.HIGH)
    assert (found["temperature"].value, found["temperature"].flag) == (38.2, Flag.HIGH)
    assert (found["pulse"].reference_low, found["pulse"].reference_high, found["pulse"].flag) == (60, 100, Flag.NORMAL)
    for row in rows:
        assert (row.patient_id, row.organization_id, row.encounter_id) == (c.patient.id, c.org.id, c.visit.id)
        assert row.created_by == c.nurse.id and row.effective_at == when and row.status == RecordStatus.ACTIVE
    assert audited(session, "emr.indicator.recorded") == [(c.patient.id, str(row.id)) for row in rows]
    # The outbox hears of every clinical insert in the same transaction.
    events = session.execute(
        select(func.count()).where(ClinicalEvent.entity == "observation", ClinicalEvent.patient_id == c.patient.id)
    ).scalar_one()
    assert events == len(rows)


def test_body_mass_index_is_computed_from_weight_and_height(session: Session) -> None:
    c = ef.clinic(session)
    rows = entries.record_indicators(
        session, encounter_id=c.visit.id, values={"weight": 70, "height": 175}, effective_at=utcnow(), actor=c.as_nurse
    )
    index = next(row for row in rows if row.code == Indicator.BMI)
    assert (index.value, index.unit, index.flag) == (22.9, "kg/m²", Flag.NORMAL)
    assert len(rows) == 3


def test_body_mass_index_uses_a_height_measured_earlier_in_the_encounter(session: Session) -> None:
    c = ef.clinic(session)
    earlier = utcnow() - timedelta(minutes=30)
    first = entries.record_indicators(
        session, encounter_id=c.visit.id, values={"height": 160}, effective_at=earlier, actor=c.as_nurse
    )
    assert [row.code for row in first] == [Indicator.HEIGHT]  # no weight yet: no index
    rows = entries.record_indicators(
        session, encounter_id=c.visit.id, values={"weight": 90}, effective_at=utcnow(), actor=c.as_nurse
    )
    index = next(row for row in rows if row.code == Indicator.BMI)
    assert (index.value, index.flag) == (35.2, Flag.HIGH)
    # Another encounter's height is not this one's.
    other = factories.encounter(session, c.org, c.doctor, c.patient)
    alone = entries.record_indicators(
        session, encounter_id=other.id, values={"weight": 90}, effective_at=utcnow(), actor=c.as_nurse
    )
    assert [row.code for row in alone] == [Indicator.WEIGHT]


def test_body_mass_index_is_never_typed(session: Session) -> None:
    c = ef.clinic(session)
    with pytest.raises(ValidationError) as error:
        entries.record_indicators(
            session, encounter_id=c.visit.id, values={"pulse": 70, "bmi": 22}, effective_at=utcnow(), actor=c.as_nurse
        )
    assert "computed from weight and height" in refused(error, "bmi")
    assert count(session, Observation) == 0


def test_an_impossible_weight_and_height_pair_is_refused(session: Session) -> None:
    c = ef.clinic(session)
    with pytest.raises(ValidationError) as error:
        entries.record_indicators(
            session,
            encounter_id=c.visit.id,
            values={"weight": 1, "height": 200},
            effective_at=utcnow(),
            actor=c.as_nurse,
        )
    assert "check both" in refused(error, "weight")
    assert count(session, Observation) == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"temperature": 24.9}, "temperature"),
        ({"pulse": 400}, "pulse"),
        ({"spo2": 101}, "spo2"),
        ({"bp_systolic": 120, "bp_diastolic": 20, "height": 17.5}, "height"),  # metres typed as decimetres
        ({"glucose": 55}, "glucose"),
        ({"cholesterol": 5}, "cholesterol"),
        ({}, "values"),
    ],
)
def test_one_impossible_value_refuses_the_whole_set(session: Session, values: dict[str, float], field: str) -> None:
    c = ef.clinic(session)
    with pytest.raises(ValidationError) as error:
        entries.record_indicators(
            session,
            encounter_id=c.visit.id,
            values={"pulse": 70, **values} if values else {},
            effective_at=utcnow(),
            actor=c.as_nurse,
        )
    assert error.value.field == field
    assert count(session, Observation) == 0 and audited(session, "emr.indicator.recorded") == []


def test_diastolic_must_be_below_systolic(session: Session) -> None:
    c = ef.clinic(session)
    now = utcnow()
    with pytest.raises(ValidationError) as error:
        entries.record_indicators(
            session,
            encounter_id=c.visit.id,
            values={"bp_systolic": 90, "bp_diastolic": 90},
            effective_at=now,
            actor=c.as_nurse,
        )
    assert "lower than systolic" in refused(error, "bp_diastolic")
    # Measured together but entered one after the other: the systolic already recorded at that moment counts.
    entries.record_indicators(
        session, encounter_id=c.visit.id, values={"bp_systolic": 100}, effective_at=now, actor=c.as_nurse
    )
    with pytest.raises(ValidationError):
        entries.record_indicators(
            session, encounter_id=c.visit.id, values={"bp_diastolic": 110}, effective_at=now, actor=c.as_nurse
        )
    later = entries.record_indicators(
        session, encounter_id=c.visit.id, values={"bp_diastolic": 70}, effective_at=now, actor=c.as_nurse
    )
    assert [row.value for row in later] == [70]


def test_times_in_the_future_beyond_the_clock_skew_are_refused(session: Session) -> None:
    c = ef.clinic(session)
    slightly_ahead = utcnow() + timedelta(minutes=4)
    entries.record_indicators(
        session, encounter_id=c.visit.id, values={"pulse": 70}, effective_at=slightly_ahead, actor=c.as_nurse
    )
    for when, message in (
        (utcnow() + timedelta(minutes=6), "future"),
        (datetime(1969, 1, 1, tzinfo=UTC), "born"),
        (datetime(2024, 1, 1, 10, 0), "time zone"),  # naive: the point of the check
    ):
        with pytest.raises(ValidationError) as error:
            entries.record_indicators(
                session, encounter_id=c.visit.id, values={"pulse": 70}, effective_at=when, actor=c.as_nurse
            )
        assert message in refused(error, "effective_at")
    assert count(session, Observation) == 1


def test_entries_only_in_an_open_encounter_of_the_own_organization(session: Session) -> None:
    c = ef.clinic(session)
    other = ef.clinic(session)
    with pytest.raises(NotFound):  # another organization's visit is not shown to exist
        entries.record_indicators(
            session, encounter_id=other.visit.id, values={"pulse": 70}, effective_at=utcnow(), actor=c.as_nurse
        )
    with pytest.raises(NotFound):
        entries.record_indicators(
            session, encounter_id=10**9, values={"pulse": 70}, effective_at=utcnow(), actor=c.as_nurse
        )
    with pytest.raises(DomainError, match="doctor or a nurse"):  # a registrar enters no clinical data
        entries.record_indicators(
            session, encounter_id=c.visit.id, values={"pulse": 70}, effective_at=utcnow(), actor=ef.actor(c.registrar)
        )
    ef.close(session, c.visit)
    with pytest.raises(DomainError) as error:
        entries.record_indicators(
            session, encounter_id=c.visit.id, values={"pulse": 70}, effective_at=utcnow(), actor=c.as_nurse
        )
    assert error.value.field == "encounter_id"
    withdrawn = ef.clinic(session)
    withdrawn.visit.status, withdrawn.visit.status_reason, withdrawn.visit.status_changed_at = (
        RecordStatus.ENTERED_IN_ERROR,
        "Boshqa bemor",
        utcnow(),
    )
    session.flush()
    with pytest.raises(DomainError):
        entries.record_treatment(
            session,
            encounter_id=withdrawn.visit.id,
            kind="note",
            title="Ko'rik",
            performed_at=utcnow(),
            actor=withdrawn.as_doctor,
        )
    assert count(session, Observation) == 0 and count(session, TreatmentRecord) == 0


# --- diagnoses ------------------------------------------------------------------------------------------------


def test_a_diagnosis_is_recorded_with_its_canonical_code(session: Session) -> None:
    c = ef.clinic(session)
    row = entries.record_diagnosis(
        session,
        encounter_id=c.visit.id,
        icd10_code=" е11.9 ",
        kind="final",
        onset_date=date(2020, 5, 1),
        note=" 2019 yildan ",
        actor=c.as_doctor,
    )
    assert (row.icd10_code, row.kind, row.onset_date, row.note) == (
        "E11.9",
        ConditionKind.FINAL,
        date(2020, 5, 1),
        "2019 yildan",
    )
    assert row.recorded_at <= utcnow() and row.created_by == c.doctor.id
    assert audited(session, "emr.diagnosis.recorded") == [(c.patient.id, str(row.id))]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"icd10_code": "X999"}, "icd10_code"),
        ({"icd10_code": "E10-E14"}, "icd10_code"),
        ({"icd10_code": ""}, "icd10_code"),
        ({"kind": "probable"}, "kind"),
        ({"onset_date": date.today() + timedelta(days=2)}, "onset_date"),
        ({"onset_date": date(1960, 1, 1)}, "onset_date"),  # before the patient was born
    ],
)
def test_a_wrong_diagnosis_is_refused(session: Session, arguments: dict[str, Any], field: str) -> None:
    c = ef.clinic(session)
    with pytest.raises(ValidationError) as error:
        entries.record_diagnosis(
            session, encounter_id=c.visit.id, **{"icd10_code": "I10", "kind": "final", **arguments}, actor=c.as_doctor
        )
    assert error.value.field == field
    assert count(session, Condition) == 0


def test_one_final_diagnosis_per_encounter(session: Session) -> None:
    c = ef.clinic(session)
    final = entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="I10", kind="final", actor=c.as_doctor
    )
    entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="E11.9", kind="comorbidity", actor=c.as_doctor
    )
    entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="E66.9", kind="comorbidity", actor=c.as_doctor
    )
    entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="J06.9", kind="preliminary", actor=c.as_doctor
    )
    with pytest.raises(ValidationError) as error:
        entries.record_diagnosis(session, encounter_id=c.visit.id, icd10_code="I11.9", kind="final", actor=c.as_doctor)
    assert "already has a final diagnosis (I10)" in refused(error, "kind")
    # Another encounter has its own final diagnosis.
    other = factories.encounter(session, c.org, c.doctor, c.patient)
    entries.record_diagnosis(session, encounter_id=other.id, icd10_code="I11.9", kind="final", actor=c.as_doctor)
    # A final diagnosis withdrawn as entered in error leaves room for the right one.
    final.status, final.status_reason, final.status_changed_at = RecordStatus.ENTERED_IN_ERROR, "Xato", utcnow()
    session.flush()
    entries.record_diagnosis(session, encounter_id=c.visit.id, icd10_code="I11.9", kind="final", actor=c.as_doctor)
    assert count(session, Condition) == 6


def test_only_a_doctor_records_a_diagnosis(session: Session) -> None:
    c = ef.clinic(session)
    with pytest.raises(DomainError, match="Only a doctor"):
        entries.record_diagnosis(session, encounter_id=c.visit.id, icd10_code="I10", kind="final", actor=c.as_nurse)
    assert count(session, Condition) == 0


# --- laboratory and instrumental results ----------------------------------------------------------------------


def lab(session: Session, c: ef.Clinic, **arguments: Any) -> LabResult:
    now = utcnow()
    values: dict[str, Any] = {
        "test_code": "hgb",
        "test_name": "Gemoglobin",
        "collected_at": now - timedelta(minutes=40),
        "resulted_at": now - timedelta(minutes=5),
        "value_numeric": 135,
        "unit": "g/L",
        "reference_low": 120,
        "reference_high": 160,
    }
    return entries.record_lab_result(session, encounter_id=c.visit.id, **{**values, **arguments}, actor=c.as_nurse)


def test_a_lab_result_is_flagged_against_its_range(session: Session) -> None:
    c = ef.clinic(session)
    normal = lab(session, c)
    assert (normal.test_code, normal.flag, normal.referral_id) == ("HGB", Flag.NORMAL, None)
    assert lab(session, c, value_numeric=98).flag == Flag.LOW
    assert lab(session, c, value_numeric=171).flag == Flag.HIGH
    assert lab(session, c, reference_low=None, value_numeric=200).flag == Flag.HIGH  # one end of the range is enough
    text = lab(session, c, value_numeric=None, value_text="manfiy", unit=None, reference_low=None, reference_high=None)
    assert (text.value_text, text.flag) == ("manfiy", None)
    assert lab(session, c, reference_low=None, reference_high=None).flag is None
    assert [patient for patient, _ in audited(session, "emr.lab_result.recorded")] == [c.patient.id] * 6


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"value_numeric": None}, "value_numeric"),
        ({"value_numeric": float("nan")}, "value_numeric"),
        ({"test_name": "  "}, "test_name"),
        ({"test_code": ""}, "test_code"),
        ({"reference_low": 170}, "reference_low"),
        ({"resulted_at": utcnow() - timedelta(hours=2)}, "resulted_at"),  # before the sample was taken
        ({"resulted_at": utcnow() + timedelta(hours=1)}, "resulted_at"),
        ({"collected_at": utcnow() + timedelta(hours=1), "resulted_at": utcnow() + timedelta(hours=2)}, "collected_at"),
        ({"value_text": "x" * 201, "value_numeric": None}, "value_text"),
    ],
)
def test_a_wrong_lab_result_is_refused(session: Session, arguments: dict[str, Any], field: str) -> None:
    c = ef.clinic(session)
    with pytest.raises(ValidationError) as error:
        lab(session, c, **arguments)
    assert error.value.field == field
    assert count(session, LabResult) == 0


def test_a_lab_result_completes_the_lab_referral_it_answers(session: Session) -> None:
    c = ef.clinic(session)
    referral = ef.referral(session, c.visit, ReferralKind.LAB)
    row = lab(session, c, referral_id=referral.id)
    assert row.referral_id == referral.id
    assert referral.state == ReferralState.COMPLETED and referral.completed_at is not None
    assert referral.completed_encounter_id == c.visit.id
    assert audited(session, "referral.completed") == [(c.patient.id, str(referral.id))]
    with pytest.raises(ValidationError) as error:  # one result completes it; the next has nothing to answer
        lab(session, c, referral_id=referral.id)
    assert error.value.field == "referral_id"


def test_a_lab_result_refuses_a_referral_that_it_cannot_answer(session: Session) -> None:
    c = ef.clinic(session)
    stranger = ef.clinic(session)
    foreign = ef.referral(session, stranger.visit, ReferralKind.LAB)
    study = ef.referral(session, c.visit, ReferralKind.INSTRUMENTAL)
    for referral_id, message in ((foreign.id, "another patient"), (study.id, "not a laboratory referral")):
        with pytest.raises(ValidationError) as error:
            lab(session, c, referral_id=referral_id)
        assert message in refused(error, "referral_id")
    with pytest.raises(NotFound):
        lab(session, c, referral_id=10**9)
    assert count(session, LabResult) == 0
    assert (foreign.state, study.state) == (ReferralState.ISSUED, ReferralState.ISSUED)


def test_an_instrumental_result_needs_its_conclusion_and_completes_its_referral(session: Session) -> None:
    c = ef.clinic(session)
    referral = ef.referral(session, c.visit, ReferralKind.INSTRUMENTAL)
    arguments: dict[str, Any] = {
        "encounter_id": c.visit.id,
        "modality": "ecg",
        "study": "EKG 12 tarmoqli",
        "conclusion": "Sinus ritmi, 72/min.\nChap qorincha gipertrofiyasi belgilari.",
        "performed_at": utcnow() - timedelta(minutes=10),
    }
    for wrong, field in (
        ({"modality": "pet"}, "modality"),
        ({"conclusion": " "}, "conclusion"),
        ({"study": ""}, "study"),
    ):
        with pytest.raises(ValidationError) as error:
            entries.record_instrumental_result(
                session, **{**arguments, **wrong}, referral_id=referral.id, actor=c.as_doctor
            )
        assert error.value.field == field
    assert count(session, InstrumentalResult) == 0 and referral.state == ReferralState.ISSUED
    lab_referral = ef.referral(session, c.visit, ReferralKind.LAB)
    with pytest.raises(ValidationError, match="instrumental"):
        entries.record_instrumental_result(session, **arguments, referral_id=lab_referral.id, actor=c.as_doctor)
    row = entries.record_instrumental_result(session, **arguments, referral_id=referral.id, actor=c.as_doctor)
    assert row.conclusion.count("\n") == 1  # line breaks of a conclusion are kept
    assert str(referral.state) == "completed" and referral.completed_at is not None  # str(): mypy narrowed it
    assert audited(session, "emr.instrumental_result.recorded") == [(c.patient.id, str(row.id))]


# --- treatment and allergies ----------------------------------------------------------------------------------


def test_treatment_entries(session: Session) -> None:
    c = ef.clinic(session)
    row = entries.record_treatment(
        session,
        encounter_id=c.visit.id,
        kind="medication",
        title="Seftriakson 1 g m/i",
        performed_at=utcnow(),
        actor=c.as_nurse,
    )
    assert (row.kind, row.title, row.text) == ("medication", "Seftriakson 1 g m/i", None)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "surgery"}, "kind"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
    ]
    for wrong, field in cases:
        with pytest.raises(ValidationError) as error:
            entries.record_treatment(
                session,
                encounter_id=c.visit.id,
                **{"kind": "note", "title": "Ko'rik", "performed_at": utcnow(), **wrong},
                actor=c.as_nurse,
            )
        assert error.value.field == field
    assert count(session, TreatmentRecord) == 1
    assert audited(session, "emr.treatment.recorded") == [(c.patient.id, str(row.id))]


def test_allergies_in_an_encounter_or_outside_any(session: Session) -> None:
    c = ef.clinic(session)
    outside = entries.record_allergy(
        session,
        patient_id=c.patient.id,
        substance=" Penitsillin ",
        severity="severe",
        atc_code="j01c a",
        actor=c.as_doctor,
    )
    assert (outside.substance, outside.atc_code, outside.encounter_id, outside.organization_id) == (
        "Penitsillin",
        "J01CA",
        None,
        c.org.id,
    )
    inside = entries.record_allergy(
        session,
        patient_id=c.patient.id,
        substance="Ibuprofen",
        inn="ibuprofen",
        atc_code="M01AE01",
        reaction="Eshakyem",
        severity="moderate",
        encounter_id=c.visit.id,
        actor=c.as_nurse,
    )
    assert inside.encounter_id == c.visit.id and inside.recorded_at <= utcnow()
    assert audited(session, "emr.allergy.recorded") == [(c.patient.id, str(outside.id)), (c.patient.id, str(inside.id))]


def test_a_wrong_allergy_is_refused(session: Session) -> None:
    c = ef.clinic(session)
    other = ef.clinic(session, patient=factories.patient(session))
    base: dict[str, Any] = {"patient_id": c.patient.id, "substance": "Aspirin", "severity": "mild"}
    for wrong, field in (
        ({"substance": ""}, "substance"),
        ({"severity": "fatal"}, "severity"),
        ({"atc_code": "1234"}, "atc_code"),
        ({"atc_code": "J01CA4"}, "atc_code"),
    ):
        with pytest.raises(ValidationError) as error:
            entries.record_allergy(session, **{**base, **wrong}, actor=c.as_doctor)
        assert error.value.field == field
    # The encounter must be the patient's, of the doctor's organization, and open.
    same_org_other_patient = factories.encounter(session, c.org, c.doctor, other.patient)
    with pytest.raises(ValidationError) as error:
        entries.record_allergy(session, **base, encounter_id=same_org_other_patient.id, actor=c.as_doctor)
    assert error.value.field == "encounter_id"
    with pytest.raises(NotFound):
        entries.record_allergy(session, **base, encounter_id=other.visit.id, actor=c.as_doctor)
    with pytest.raises(NotFound):
        entries.record_allergy(session, **{**base, "patient_id": 10**9}, actor=c.as_doctor)
    assert count(session, Allergy) == 0
