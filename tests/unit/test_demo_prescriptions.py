"""Demo e-prescriptions satisfy the e-prescription rules, so that the real services accept the demo rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ehealth.access.models import Role
from ehealth.audit.trail import Actor
from ehealth.demo import DemoReport
from ehealth.demo.catalogue import DRUGS
from ehealth.demo.prescriptions import need_units as demo_need_units
from ehealth.demo.sign_in_people import demo_users
from ehealth.identifiers import TASHKENT
from ehealth.patients.models import Patient
from ehealth.prescription import canonical, safety
from ehealth.prescription.confirmation import ConfirmationBroken, Confirmer, check
from ehealth.prescription.dispensing import BATCH_RE, PACK_LENGTH, DispenseLine, canonical_of, dispense
from ehealth.prescription.models import (
    Dispense,
    Prescription,
    PrescriptionCategory,
    PrescriptionItem,
    PrescriptionState,
)
from ehealth.prescription.numbers import looks_valid
from ehealth.prescription.prescribing import need_units
from ehealth.prescription.rules import RULES
from ehealth.reference.models import Drug, DrugCategory, Organization, OrganizationKind
from settings import Settings
from tests.unit.test_demo import NOW, SEAL_KEY, TODAY, demo

__all__ = ["demo"]  # the shared module-scoped fixture: a fresh demo database per backend

Demo = tuple[Engine, DemoReport]


def _items_by_prescription(session: Session) -> dict[int, list[PrescriptionItem]]:
    found: dict[int, list[PrescriptionItem]] = defaultdict(list)
    for item in session.execute(select(PrescriptionItem).order_by(PrescriptionItem.line)).scalars():
        found[item.prescription_id].append(item)
    return found


# --- the catalogue and the pharmacies ----------------------------------------------------------------------------


def test_drug_rows_carry_dose_counting_and_usual_regimen(demo: Demo) -> None:
    engine, _report = demo
    with Session(engine) as session:
        drugs = {drug.atc_code: drug for drug in session.execute(select(Drug)).scalars()}
    assert len(drugs) == len(DRUGS)
    for spec in DRUGS:
        drug = drugs[spec.atc]
        assert spec.doses_per_pack % spec.pack_size == 0, spec.atc
        assert (drug.dose_unit, drug.doses_per_unit) == (spec.dose_unit, spec.doses_per_pack // spec.pack_size)
        assert (drug.usual_dose, drug.usual_intakes, drug.usual_days) == (spec.dose, spec.intakes, spec.days)
        assert drug.route == spec.route and drug.route in RULES.routes, spec.atc
    # An inhaler of 200 doses, a pack of 5 insulin pens of 300 XB each, tablets one by one.
    assert drugs["R03AC02"].doses_per_unit == 200
    assert drugs["A10AE04"].doses_per_unit == 300
    assert drugs["C08CA01"].doses_per_unit == 1


def test_pharmacies_hold_reimbursement_contracts(demo: Demo) -> None:
    engine, _report = demo
    with Session(engine) as session:
        orgs = list(session.execute(select(Organization).order_by(Organization.id)).scalars())
        pharmacist = next(cabinet for cabinet in demo_users(session) if cabinet.role == Role.PHARMACIST)
    pharmacies: dict[int, list[Organization]] = defaultdict(list)
    for org in orgs:
        if org.kind == OrganizationKind.PHARMACY:
            pharmacies[org.region_id].append(org)
        else:
            assert not org.reimbursement_contract, org.name
    assert len(pharmacies) == 14
    assert all(region[0].reimbursement_contract for region in pharmacies.values())  # each region's first pharmacy
    others = [org.reimbursement_contract for region in pharmacies.values() for org in region[1:]]
    assert 0.3 < sum(others) / len(others) < 0.9  # about 60% of the rest
    by_id = {org.id: org for org in orgs}
    assert by_id[pharmacist.organization_id].reimbursement_contract  # the demo sign-in pharmacist's (Tashkent)


# --- prescriptions ----------------------------------------------------------------------------------------------


def test_every_confirmation_checks_with_the_key_it_was_sealed_with(demo: Demo) -> None:
    engine, _report = demo
    confirmer = Confirmer(seal_key=SEAL_KEY)
    wrong = Confirmer(seal_key=b"another-portal-key")
    default = Confirmer(seal_key=Settings().confirmation_key.encode())
    version = safety.load().version
    with Session(engine) as session:
        patients = {patient.id: patient for patient in session.execute(select(Patient)).scalars()}
        prescriptions = list(session.execute(select(Prescription).order_by(Prescription.id)).scalars())
        assert len(prescriptions) > 200
        for prescription in prescriptions:
            body = canonical_of(session, prescription, patients[prescription.patient_id])
            assert canonical.content_hash(body) == prescription.content_hash
            check(prescription, body, confirmer)  # raises nothing
            assert prescription.confirmation == "oneid"
            assert prescription.signer == f"oneid:{prescription.prescriber_id}"
            assert prescription.safety_version == version
            with pytest.raises(ConfirmationBroken):
                check(prescription, body, wrong)
        # The key given to generate() is the one used, not the development default; and a changed row is caught.
        first = prescriptions[0]
        body = canonical_of(session, first, patients[first.patient_id])
        with pytest.raises(ConfirmationBroken):
            check(first, body, default)
        changed = body.replace(f'"number":"{first.number}"'.encode(), b'"number":"RX-0000-0000-0000"')
        assert changed != body
        with pytest.raises(ConfirmationBroken):
            check(first, changed, confirmer)


def test_numbers_are_unique_and_well_formed(demo: Demo) -> None:
    engine, _report = demo
    with Session(engine) as session:
        rows = session.execute(select(Prescription.number, Prescription.issued_at)).all()
    assert len({number for number, _issued in rows}) == len(rows)
    for number, issued in rows:
        assert looks_valid(number), number
        assert number.startswith(f"RX-{issued.astimezone(TASHKENT):%y%m}-")


def test_items_follow_the_category_rules_and_count_units(demo: Demo) -> None:
    engine, _report = demo
    specs = {spec.atc: spec for spec in DRUGS}
    with Session(engine) as session:
        drugs = {drug.id: drug for drug in session.execute(select(Drug)).scalars()}
        prescriptions = list(session.execute(select(Prescription)).scalars())
        items = _items_by_prescription(session)
    categories: Counter[str] = Counter()
    for prescription in prescriptions:
        category = PrescriptionCategory(prescription.category)
        categories[category] += 1
        lines = items[prescription.id]
        assert 1 <= len(lines) <= RULES.max_items
        issued_day = prescription.issued_at.astimezone(TASHKENT).date()
        assert prescription.valid_until == issued_day + timedelta(days=RULES.validity_days[category])
        assert prescription.repeats_allowed == 0 or category == PrescriptionCategory.CHRONIC
        assert 0 <= prescription.repeats_allowed <= RULES.max_repeats
        if category == PrescriptionCategory.CONTROLLED:
            assert len(lines) == 1
        if category == PrescriptionCategory.REIMBURSED:
            assert RULES.reimbursable(prescription.icd10_code), prescription.icd10_code
        for item in lines:
            drug = drugs[item.drug_id]
            assert (drug.category == DrugCategory.CONTROLLED) == (category == PrescriptionCategory.CONTROLLED)
            assert 1 <= item.duration_days <= RULES.max_course_days[category]
            assert item.route in RULES.routes and item.dose_unit == drug.dose_unit
            assert item.quantity == need_units(drug, item.dose, item.intakes_per_day, item.duration_days)
            spec = specs[drug.atc_code]
            assert item.quantity == demo_need_units(spec, item.dose, item.intakes_per_day, item.duration_days)
            assert item.fills == 1 + prescription.repeats_allowed
            assert item.brand == drug.brand
    assert all(categories[category] > 0 for category in PrescriptionCategory), categories


def test_controlled_prescriptions_hold_one_short_course(demo: Demo) -> None:
    engine, _report = demo
    with Session(engine) as session:
        controlled = list(
            session.execute(
                select(Prescription).where(Prescription.category == PrescriptionCategory.CONTROLLED)
            ).scalars()
        )
        items = _items_by_prescription(session)
        drugs = {drug.id: drug for drug in session.execute(select(Drug)).scalars()}
        handed: dict[int, list[int]] = defaultdict(list)
        for item_id, quantity in session.execute(select(Dispense.item_id, Dispense.quantity)):
            handed[item_id].append(quantity)
    assert controlled
    for prescription in controlled:
        (item,) = items[prescription.id]
        assert item.duration_days <= RULES.max_course_days[PrescriptionCategory.CONTROLLED] == 7
        assert drugs[item.drug_id].category == DrugCategory.CONTROLLED
        assert item.fills == 1 and prescription.repeats_allowed == 0
        # A controlled medicine is handed over whole, at once.
        assert handed[item.id] in ([], [item.quantity])


def test_reimbursed_prescriptions_are_dispensed_at_contracted_pharmacies(demo: Demo) -> None:
    engine, _report = demo
    with Session(engine) as session:
        contracted = {org.id: org.reimbursement_contract for org in session.execute(select(Organization)).scalars()}
        rows = session.execute(
            select(Prescription.icd10_code, Dispense.organization_id)
            .join(Dispense, Dispense.prescription_id == Prescription.id)
            .where(Prescription.category == PrescriptionCategory.REIMBURSED)
        ).all()
    assert rows
    for code, pharmacy_id in rows:
        assert RULES.reimbursable(code)
        assert contracted[pharmacy_id]
    assert not all(contracted.values())  # the rule is not vacuous: some pharmacies have no contract


def test_states_agree_with_dispensed_quantities_and_validity(demo: Demo) -> None:
    engine, _report = demo
    with Session(engine) as session:
        prescriptions = list(session.execute(select(Prescription)).scalars())
        items = _items_by_prescription(session)
        dispenses = list(session.execute(select(Dispense)).scalars())
        drug_ids = set(session.execute(select(Drug.id)).scalars())
    given: Counter[int] = Counter()
    by_prescription = {prescription.id: prescription for prescription in prescriptions}
    for row in dispenses:
        given[row.item_id] += row.quantity
        prescription = by_prescription[row.prescription_id]
        assert prescription.issued_at < row.dispensed_at <= NOW
        assert row.dispensed_at.astimezone(TASHKENT).date() <= prescription.valid_until
        assert row.pack and len(row.pack) <= PACK_LENGTH and BATCH_RE.match(row.batch_number)
        assert row.drug_id in drug_ids
    states: Counter[str] = Counter()
    refilled = 0
    for prescription in prescriptions:
        lines = items[prescription.id]
        for item in lines:
            assert item.dispensed_quantity == given[item.id]
            assert 0 <= item.dispensed_quantity <= item.quantity * item.fills
            refilled += item.dispensed_quantity > item.quantity
        complete = all(item.dispensed_quantity == item.quantity * item.fills for item in lines)
        some = any(item.dispensed_quantity > 0 for item in lines)
        live = prescription.valid_until >= TODAY
        state = PrescriptionState(prescription.state)
        states[state] += 1
        assert (state == PrescriptionState.DISPENSED) == complete, prescription.number
        expected = {
            PrescriptionState.DISPENSED: True,
            PrescriptionState.PARTIALLY_DISPENSED: some and live,
            PrescriptionState.ACTIVE: not some and live,
            PrescriptionState.EXPIRED: not live,
            PrescriptionState.CANCELLED: not some,
        }[state]
        assert expected, (prescription.number, state)
        if state == PrescriptionState.CANCELLED:
            assert prescription.cancelled_at and prescription.cancelled_by and prescription.cancel_reason
        else:
            assert prescription.cancelled_at is None and prescription.cancel_reason is None
    assert all(states[state] > 0 for state in PrescriptionState), states
    assert refilled > 0  # repeat prescriptions were dispensed beyond their first fill


def test_repeat_fills_come_about_a_month_apart(demo: Demo) -> None:
    engine, _report = demo
    with Session(engine) as session:
        rows = session.execute(
            select(PrescriptionItem.id, PrescriptionItem.quantity, Dispense.quantity, Dispense.dispensed_at)
            .join(Dispense, Dispense.item_id == PrescriptionItem.id)
            .where(PrescriptionItem.fills > 1)
            .order_by(PrescriptionItem.id, Dispense.dispensed_at)
        ).all()
    fills: dict[int, list[datetime]] = defaultdict(list)
    handed: Counter[int] = Counter()
    for item_id, quantity, part, moment in rows:
        # A fill starts whenever what was handed over so far is a whole number of fills.
        if handed[item_id] % quantity == 0:
            fills[item_id].append(moment)
        handed[item_id] += part
    gaps = [(later - earlier).days for moments in fills.values() for earlier, later in pairwise(moments)]
    assert gaps and all(24 <= gap <= 36 for gap in gaps), gaps


def test_the_pharmacy_service_dispenses_a_demo_prescription(demo: Demo) -> None:
    engine, _report = demo
    with Session(engine) as session:
        pharmacist = next(cabinet for cabinet in demo_users(session) if cabinet.role == Role.PHARMACIST)
        live = session.execute(
            select(Prescription, Patient)
            .join(Patient, Patient.id == Prescription.patient_id)
            .where(
                Prescription.state.in_([PrescriptionState.ACTIVE, PrescriptionState.PARTIALLY_DISPENSED]),
                Prescription.valid_until >= TODAY,
            )
            .order_by(Prescription.id)
        ).first()
        assert live is not None
        prescription, patient = live
        lines = [
            DispenseLine(item.id, item.remaining, item.drug_id, "1 quti", "AB1234")
            for item in _items_by_prescription(session)[prescription.id]
            if item.remaining
        ]
        actor = Actor(pharmacist.id, Role.PHARMACIST, pharmacist.organization_id)
        try:
            dispense(
                session,
                prescription.number,
                patient.pinfl,
                lines,
                actor=actor,
                confirmer=Confirmer(seal_key=SEAL_KEY),
                now=NOW,
            )
            assert prescription.state == PrescriptionState.DISPENSED
        finally:
            session.rollback()  # the shared demo database stays as generated
