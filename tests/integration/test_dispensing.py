"""Dispensing at the pharmacy, cancelling and expiry: never more than prescribed, never on a cancelled or expired
prescription, controlled medicines whole, reimbursed ones only at contracted pharmacies, tampering caught."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Role
from ehealth.calendar import today
from ehealth.errors import NotFound, ValidationError
from ehealth.outbox import ClinicalEvent
from ehealth.prescription.confirmation import ConfirmationBroken
from ehealth.prescription.dispensing import DispenseLine, dispense, find
from ehealth.prescription.lifecycle import cancel, expire_due, state_on
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem
from tests import emr_factories, factories
from tests.prescription_factories import CONFIRMER, Setting, generic, setting

AMOXICILLIN = "J01CA04"
AMLODIPINE = "C08CA01"
TRAMADOL = "N02AX02"


@pytest.fixture
def place(session: Session) -> Setting:
    """A doctor with an open visit, a patient and a contracted pharmacy."""
    return setting(session)


def _items(session: Session, prescription: Prescription) -> list[PrescriptionItem]:
    return list(
        session.execute(
            select(PrescriptionItem)
            .where(PrescriptionItem.prescription_id == prescription.id)
            .order_by(PrescriptionItem.line)
        ).scalars()
    )


def _line(item: PrescriptionItem, quantity: int, drug_id: int | None = None, batch: str = "AT2511001") -> DispenseLine:
    return DispenseLine(item.id, quantity, drug_id or item.drug_id, "20 kapsula", batch)


def _give(session: Session, place: Setting, prescription: Prescription, *lines: DispenseLine) -> list[Dispense]:
    return dispense(
        session, prescription.number, place.patient.pinfl, lines, actor=place.dispenser, confirmer=CONFIRMER
    )


def _events(session: Session, prescription: Prescription) -> list[str]:
    return list(
        session.execute(
            select(ClinicalEvent.kind)
            .where(ClinicalEvent.entity == "prescription", ClinicalEvent.entity_id == prescription.id)
            .order_by(ClinicalEvent.id)
        ).scalars()
    )


def test_find_needs_the_number_and_the_patient_s_pinfl(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    found = find(session, prescription.number.lower().replace("-", "-", 1), place.patient.pinfl, actor=place.dispenser)
    assert found.prescription.id == prescription.id and found.state == "active"
    assert [view.remaining for view in found.items] == [21]
    other = factories.patient(session)
    with pytest.raises(NotFound):
        find(session, prescription.number, other.pinfl, actor=place.dispenser)
    with pytest.raises(ValidationError):
        find(session, "12345", place.patient.pinfl, actor=place.dispenser)
    with pytest.raises(ValidationError):
        find(session, prescription.number, "123", actor=place.dispenser)


def test_only_a_pharmacist_of_a_pharmacy_finds_and_dispenses(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    with pytest.raises(ValidationError):
        find(session, prescription.number, place.patient.pinfl, actor=place.doctor)
    clinic_pharmacist = factories.cabinet(session, place.clinic.org, Role.PHARMACIST)
    (item,) = _items(session, prescription)
    with pytest.raises(ValidationError):
        dispense(
            session, prescription.number, place.patient.pinfl, [_line(item, 1)],
            actor=emr_factories.actor(clinic_pharmacist), confirmer=CONFIRMER,
        )  # fmt: skip


def test_partial_then_complete_dispensing_moves_the_state(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN), place.item(AMLODIPINE, duration_days=30)))
    first, second = _items(session, prescription)
    _give(session, place, prescription, _line(first, 10))
    assert prescription.state == "partially_dispensed" and first.dispensed_quantity == 10
    _give(session, place, prescription, _line(first, 11), _line(second, 30))
    assert prescription.state == "dispensed"
    assert _events(session, prescription) == [
        "prescription.created",
        "prescription.partially_dispensed",
        "prescription.dispensed",
    ]
    with pytest.raises(ValidationError):
        _give(session, place, prescription, _line(first, 1))
    given = session.execute(
        select(func.sum(Dispense.quantity)).where(Dispense.prescription_id == prescription.id)
    ).scalar_one()
    assert given == 21 + 30


def test_never_more_than_prescribed(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    (item,) = _items(session, prescription)
    with pytest.raises(ValidationError):
        _give(session, place, prescription, _line(item, 22))
    with pytest.raises(ValidationError):
        _give(session, place, prescription, _line(item, 0))
    with pytest.raises(ValidationError):
        _give(session, place, prescription, _line(item, 11), _line(item, 11))
    assert item.dispensed_quantity == 0 and prescription.state == "active"


def test_a_repeat_prescription_gives_every_fill(session: Session, place: Setting) -> None:
    prescription = place.issue(
        session, place.order(place.item(AMLODIPINE, duration_days=30), category="chronic", icd10="I10", repeats=1)
    )
    (item,) = _items(session, prescription)
    _give(session, place, prescription, _line(item, 30))
    assert prescription.state == "partially_dispensed"
    _give(session, place, prescription, _line(item, 30))
    assert prescription.state == "dispensed" and item.dispensed_quantity == 60


def test_a_controlled_medicine_is_dispensed_whole_only(session: Session, place: Setting) -> None:
    prescription = place.issue(
        session, place.order(place.item(TRAMADOL, duration_days=5), category="controlled", icd10="M54.5")
    )
    (item,) = _items(session, prescription)
    assert item.quantity == 10
    with pytest.raises(ValidationError):
        _give(session, place, prescription, _line(item, 5))
    _give(session, place, prescription, _line(item, 10))
    assert prescription.state == "dispensed"


def test_another_brand_of_the_same_medicine_may_be_given_but_not_another_strength(
    session: Session, place: Setting
) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    (item,) = _items(session, prescription)
    other_brand = generic(session, AMOXICILLIN, "Flemoksin Solutab")
    (given,) = _give(session, place, prescription, _line(item, 20, other_brand.id))
    assert (given.brand, given.drug_id) == ("Flemoksin Solutab", other_brand.id)
    with pytest.raises(ValidationError):
        _give(session, place, prescription, _line(item, 1, place.drugs[AMLODIPINE].id))
    with pytest.raises(ValidationError):
        _give(session, place, prescription, _line(item, 1, batch="?"))


def test_reimbursed_prescriptions_only_at_contracted_pharmacies(session: Session) -> None:
    place = setting(session, contracted=False)
    prescription = place.issue(
        session, place.order(place.item(AMLODIPINE, duration_days=30), category="reimbursed", icd10="I10")
    )
    (item,) = _items(session, prescription)
    with pytest.raises(ValidationError) as refused:
        _give(session, place, prescription, _line(item, 30))
    assert refused.value.params["number"] == prescription.number
    place.pharmacy.reimbursement_contract = True
    session.flush()
    _give(session, place, prescription, _line(item, 30))
    assert prescription.state == "dispensed"


def test_a_cancelled_prescription_cannot_be_dispensed(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    (item,) = _items(session, prescription)
    with pytest.raises(ValidationError):
        cancel(session, prescription.id, reason="  ", actor=place.doctor)
    cancel(session, prescription.id, reason="Bemor davolanishdan voz kechdi", actor=place.doctor)
    assert _events(session, prescription)[-1] == "prescription.cancelled"
    with pytest.raises(ValidationError):
        _give(session, place, prescription, _line(item, 1))
    with pytest.raises(ValidationError):
        cancel(session, prescription.id, reason="again", actor=place.doctor)


def test_who_may_cancel(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    stranger = factories.cabinet(session, factories.organization(session), Role.DOCTOR)
    for outsider in (emr_factories.actor(stranger), place.clinic.as_nurse, place.dispenser):
        with pytest.raises(ValidationError):
            cancel(session, prescription.id, reason="no", actor=outsider)
    cancel(session, prescription.id, reason="Dori almashtirildi", actor=emr_factories.actor(place.colleague))
    assert prescription.cancelled_by == place.colleague.id


def test_a_dispensed_prescription_cannot_be_cancelled(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    (item,) = _items(session, prescription)
    _give(session, place, prescription, _line(item, 21))
    with pytest.raises(ValidationError):
        cancel(session, prescription.id, reason="late", actor=place.doctor)


def test_expiry_happens_past_valid_until(session: Session, place: Setting) -> None:
    issued = utcnow() - timedelta(days=91)
    place.clinic.visit.started_at = issued - timedelta(minutes=20)
    session.flush()
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)), now=issued)
    (item,) = _items(session, prescription)
    assert prescription.valid_until < today()
    assert state_on(prescription, today()) == "expired"  # reads as expired before the sweep runs
    with pytest.raises(ValidationError):
        _give(session, place, prescription, _line(item, 1))
    fresh = place.issue(session, place.order(place.item(AMLODIPINE, duration_days=30)))
    assert expire_due(session, today=today()) == 1
    assert (prescription.state, fresh.state) == ("expired", "active")
    assert _events(session, prescription)[-1] == "prescription.expired"
    assert ("prescription.expired", "prescription", str(prescription.id)) in emr_factories.audit_actions(
        session, place.patient.id
    )
    assert expire_due(session, today=today()) == 0


def test_a_changed_item_no_longer_matches_its_confirmation(session: Session, place: Setting) -> None:
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    (item,) = _items(session, prescription)
    session.execute(update(PrescriptionItem).where(PrescriptionItem.id == item.id).values(quantity=40))
    session.expire_all()
    with pytest.raises(ConfirmationBroken):
        _give(session, place, prescription, _line(item, 1))


def test_a_rewritten_hash_does_not_fool_the_seal(session: Session, place: Setting) -> None:
    from ehealth.prescription import canonical
    from ehealth.prescription.dispensing import canonical_of

    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)))
    (item,) = _items(session, prescription)
    session.execute(update(PrescriptionItem).where(PrescriptionItem.id == item.id).values(quantity=40))
    session.expire_all()
    forged = canonical.content_hash(canonical_of(session, prescription, place.patient))
    session.execute(update(Prescription).where(Prescription.id == prescription.id).values(content_hash=forged))
    session.expire_all()
    with pytest.raises(ConfirmationBroken):
        _give(session, place, prescription, _line(item, 1))


def test_a_prescription_issued_with_a_local_time_still_matches_at_the_pharmacy(
    session: Session, place: Setting
) -> None:
    from ehealth.identifiers import TASHKENT

    prescription = place.issue(session, place.order(place.item(AMOXICILLIN)), now=utcnow().astimezone(TASHKENT))
    (item,) = _items(session, prescription)
    session.expire_all()
    _give(session, place, prescription, _line(item, 21))  # the seal, hashed in UTC, holds after the round trip
    assert prescription.state == "dispensed"
