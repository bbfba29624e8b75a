"""The e-prescription pages' read-only lists: the catalogue search takes LIKE wildcards literally, a patient's and a
prescriber's lists give each prescription's state as of the day with what was dispensed, the register filters by
state and scope, and the encounter to prescribe from is only ever one of the doctor's organization."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.calendar import today
from ehealth.emr.models import Allergy, ConditionKind, EncounterState, Severity
from ehealth.errors import NotFound, ValidationError
from ehealth.prescription.dispensing import DispenseLine, dispense
from ehealth.prescription.lifecycle import cancel
from ehealth.prescription.models import Prescription, PrescriptionItem, PrescriptionState
from ehealth.prescription.registers import (
    correction_source,
    encounter_for_prescribing,
    own_prescription_number,
    patient_prescriptions,
    prescriber_register,
    search_catalogue,
)
from ehealth.reference.models import Drug, DrugCategory
from tests import emr_factories, factories
from tests.prescription_factories import CONFIRMER, Setting, setting

AMOXICILLIN = "J01CA04"
AMLODIPINE = "C08CA01"


@pytest.fixture
def place(session: Session) -> Setting:
    """A doctor with an open visit, a patient and a pharmacy."""
    return setting(session)


def _drug(session: Session, inn: str, brand: str | None = None, *, active: bool = True) -> Drug:
    row = Drug(
        inn=inn,
        brand=brand,
        form="tabletka",
        strength="10 mg",
        unit="tabletka",
        pack_size=10,
        atc_code="A01AA01",
        category=DrugCategory.PRESCRIPTION,
        is_active=active,
    )
    session.add(row)
    session.flush()
    return row


def test_the_catalogue_search_takes_wildcards_literally(session: Session) -> None:
    underscore = _drug(session, "Zqx_wv sirop")
    _drug(session, "Zqxawv sirop")  # "_" unescaped would match this one too
    percent = _drug(session, "Zqx 50% gel")
    _drug(session, "Zqx 50 mg gel")  # "%" unescaped would match this one too
    backslash = _drug(session, "Zqx\\b")
    by_brand = _drug(session, "Boshqa", brand="ZQXBRAND")
    _drug(session, "Zqx nofaol", active=False)
    assert search_catalogue(session, "x_w") == [underscore]
    assert search_catalogue(session, "50%") == [percent]
    assert search_catalogue(session, "x\\b") == [backslash]
    assert search_catalogue(session, "zqxbrand") == [by_brand]  # the brand, any case
    found = search_catalogue(session, "ZQX")
    assert by_brand in found and all(drug.is_active for drug in found)
    assert [drug.inn for drug in found] == sorted(drug.inn for drug in found)  # INN order
    assert search_catalogue(session, "z") == [] and search_catalogue(session, "  ") == []  # 2 characters at least
    assert len(search_catalogue(session, "zq", limit=2)) == 2


def test_lists_give_the_state_of_the_day_and_what_was_dispensed(session: Session, place: Setting) -> None:
    first = place.issue(session, place.order(place.item(AMOXICILLIN)))
    second = place.issue(session, place.order(place.item(AMLODIPINE), category="chronic", icd10="I10", repeats=1))
    [item] = session.query(PrescriptionItem).filter_by(prescription_id=first.id).all()
    line = DispenseLine(item.id, 10, item.drug_id, "20 kapsula", "AT2511001")
    dispense(session, first.number, place.patient.pinfl, [line], actor=place.dispenser, confirmer=CONFIRMER)
    day = today()

    rows = patient_prescriptions(session, place.patient.id, day=day)
    assert [row.number for row in rows] == [second.number, first.number]  # newest first
    by_number = {row.number: row for row in rows}
    partly = by_number[first.number]
    assert partly.state == PrescriptionState.PARTIALLY_DISPENSED and partly.left_to_dispense
    assert partly.items == ("Amoksitsillin 500 mg (10/21 kapsula)",)
    assert partly.prescriber == place.clinic.doctor.full_name and partly.patient == place.patient.full_name
    assert by_number[second.number].items == ("Amlodipin 5 mg (0/60 tabletka)",)  # 30 a fill, twice

    # Past valid-until a live prescription reads as expired, before any sweep marks it.
    later = patient_prescriptions(session, place.patient.id, day=first.valid_until + timedelta(days=1))
    assert {row.state for row in later} == {PrescriptionState.EXPIRED}
    assert not any(row.left_to_dispense for row in later)


def test_the_register_filters_by_scope_and_state(session: Session, place: Setting) -> None:
    mine = place.issue(session, place.order(place.item(AMOXICILLIN)))
    cancelled = place.issue(session, place.order(place.item(AMLODIPINE), icd10="I10"))
    cancel(session, cancelled.id, reason="Xato", actor=place.doctor)
    old = place.issue(session, place.order(place.item(AMLODIPINE, duration_days=10), icd10="I10"))
    session.execute(update(Prescription).where(Prescription.id == old.id).values(valid_until=date(2020, 1, 1)))
    session.expire_all()
    colleague = emr_factories.actor(place.colleague)
    day = today()

    def numbers(actor: object = place.doctor, scope: str = "mine", state: str | None = None) -> set[str]:
        return {row.number for row in prescriber_register(session, actor, scope=scope, state=state, day=day)}  # type: ignore[arg-type]

    assert numbers() == {mine.number, cancelled.number, old.number}
    assert numbers(state="active") == {mine.number}
    assert numbers(state="cancelled") == {cancelled.number}
    assert numbers(state="expired") == {old.number}  # still "active" in its row, past valid-until
    assert numbers(state="dispensed") == set()
    assert numbers(colleague) == set()
    assert numbers(colleague, "organization") == {mine.number, cancelled.number, old.number}
    [row] = prescriber_register(session, colleague, scope="organization", state="cancelled", day=day)
    assert row.cancel_reason == "Xato" and not row.left_to_dispense and row.encounter_id == place.clinic.visit.id
    with pytest.raises(ValidationError):
        numbers(state="lost")
    with pytest.raises(ValidationError):
        numbers(scope="everyone")
    with pytest.raises(ValidationError):  # a pharmacist has no register of prescriptions written
        numbers(place.dispenser)
    assert own_prescription_number(session, place.doctor, mine.number) == mine.number
    assert own_prescription_number(session, colleague, mine.number) is None


def test_the_encounter_to_prescribe_from_is_the_organization_s_own(session: Session, place: Setting) -> None:
    visit = place.clinic.visit
    here = factories.diagnosis(session, visit, "J18.9", ConditionKind.FINAL)
    # Of an earlier visit: hypertension (chronic: a disease of the reimbursement programme), a cold (not), and a
    # gastritis recorded when it had lasted over a year (chronic).
    earlier = factories.encounter(session, place.clinic.org, place.clinic.doctor, place.patient)
    factories.diagnosis(session, earlier, "I10", ConditionKind.FINAL)
    factories.diagnosis(session, earlier, "J06.9", ConditionKind.FINAL)
    gastritis = factories.diagnosis(session, earlier, "K29.5", ConditionKind.COMORBIDITY)
    gastritis.onset_date = (utcnow() - timedelta(days=400)).date()  # recorded when it had lasted over a year
    allergy = Allergy(
        patient_id=place.patient.id,
        organization_id=place.clinic.org.id,
        substance="Penitsillin",
        severity=Severity.SEVERE,
        recorded_at=utcnow(),
        created_by=place.clinic.doctor.id,
    )
    session.add(allergy)
    session.flush()

    found = encounter_for_prescribing(session, visit.id, place.doctor)
    assert (found.encounter.id, found.patient.id) == (visit.id, place.patient.id)
    assert [row.id for row in found.diagnoses] == [here.id]
    assert {row.icd10_code for row in found.chronic} == {"I10", "K29.5"}
    assert [row.substance for row in found.allergies] == ["Penitsillin"]

    other = emr_factories.clinic(session)
    with pytest.raises(NotFound):  # another organization's visit: not found, whatever its id
        encounter_for_prescribing(session, other.visit.id, place.doctor)
    with pytest.raises(NotFound):
        encounter_for_prescribing(session, 2**62, place.doctor)
    with pytest.raises(ValidationError):
        encounter_for_prescribing(session, visit.id, place.clinic.as_nurse)
    visit.started_at = utcnow() - timedelta(hours=40)
    visit.state, visit.ended_at = EncounterState.CLOSED, utcnow() - timedelta(hours=30)
    session.flush()
    with pytest.raises(ValidationError):  # closed more than a day ago
        encounter_for_prescribing(session, visit.id, place.doctor)


def test_a_correction_starts_only_from_a_live_prescription_the_doctor_may_cancel(
    session: Session, place: Setting
) -> None:
    issued = place.issue(session, place.order(place.item(AMOXICILLIN, duration_days=5), category="regular"))
    day = today()
    correction = correction_source(session, issued.id, patient_id=place.patient.id, actor=place.doctor, day=day)
    [item] = correction.items
    assert (item.drug.atc_code, item.duration_days, item.quantity, item.by_brand) == (AMOXICILLIN, 5, 15, False)
    colleague = emr_factories.actor(place.colleague)
    assert correction_source(session, issued.id, patient_id=place.patient.id, actor=colleague, day=day)
    stranger = emr_factories.clinic(session)
    for actor, patient_id in (
        (stranger.as_doctor, place.patient.id),  # another organization's doctor
        (place.doctor, stranger.patient.id),  # another patient
        (place.clinic.as_nurse, place.patient.id),
    ):
        with pytest.raises(NotFound):
            correction_source(session, issued.id, patient_id=patient_id, actor=actor, day=day)
    cancel(session, issued.id, reason="Xato", actor=place.doctor)
    with pytest.raises(ValidationError):
        correction_source(session, issued.id, patient_id=place.patient.id, actor=place.doctor, day=day)
