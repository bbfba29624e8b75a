"""Confirming a prescription with E-IMZO: the doctor signs the canonical JSON, E-IMZO-SERVER (its simulator over
HTTP) verifies it, and dispensing checks the signature again; tampering, foreign keys and replays are refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auth.eimzo import EimzoConfig, EimzoError, verify_attached
from auth.simulators import eimzo as simulator
from db import utcnow
from ehealth.errors import ValidationError
from ehealth.prescription.confirmation import ConfirmationBroken, Confirmer
from ehealth.prescription.dispensing import DispenseLine, dispense
from ehealth.prescription.models import PrescriptionDraft, PrescriptionItem
from ehealth.prescription.prescribing import issue_signed, prepare_signature
from settings import Settings
from tests.prescription_factories import SEAL_KEY, Setting, setting


@pytest.fixture(scope="module")
def sim(database_url: str) -> Iterator[simulator.RunningSimulator]:
    """An E-IMZO-SERVER simulator on loopback."""
    running = simulator.start(database_url, settings=Settings(environment="development", database_url=database_url))
    yield running
    running.stop()


@pytest.fixture
def confirmer(sim: simulator.RunningSimulator) -> Confirmer:
    """Confirmations checked with the simulator's verification."""
    return Confirmer(seal_key=SEAL_KEY, verify_pkcs7=partial(verify_attached, EimzoConfig(sim.url, timeout=5)))


@pytest.fixture
def place(session: Session) -> Setting:
    """A doctor with an open visit, a patient and a contracted pharmacy."""
    return setting(session)


def _signed_by_doctor(sim: simulator.RunningSimulator, place: Setting, content: str) -> str:
    doctor = place.clinic.doctor
    return simulator.sign(sim.state.key(doctor.pinfl or "", doctor.full_name), content.encode())


def test_the_doctor_signs_the_canonical_json_and_the_pharmacy_checks_it(
    session: Session, place: Setting, sim: simulator.RunningSimulator, confirmer: Confirmer
) -> None:
    draft = prepare_signature(session, place.order(place.item("J01CA04")), (), actor=place.doctor)
    body = json.loads(draft.content)
    assert body["patient_pinfl"] == place.patient.pinfl and body["items"][0]["quantity"] == 21
    pkcs7 = _signed_by_doctor(sim, place, draft.content)
    prescription = issue_signed(session, draft.token, pkcs7, actor=place.doctor, confirmer=confirmer)
    assert (prescription.confirmation, prescription.number) == ("eimzo", body["number"])
    assert prescription.signature == pkcs7 and (prescription.signer or "").startswith("eimzo:")
    item = session.execute(
        select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id)
    ).scalar_one()
    line = DispenseLine(item.id, 21, item.drug_id, "20 kapsula", "AT2511001")
    dispense(session, prescription.number, place.patient.pinfl, [line], actor=place.dispenser, confirmer=confirmer)
    assert prescription.state == "dispensed"


def test_a_signed_prescription_whose_rows_changed_is_refused(
    session: Session, place: Setting, sim: simulator.RunningSimulator, confirmer: Confirmer
) -> None:
    draft = prepare_signature(session, place.order(place.item("J01CA04")), (), actor=place.doctor)
    prescription = issue_signed(
        session, draft.token, _signed_by_doctor(sim, place, draft.content), actor=place.doctor, confirmer=confirmer
    )
    item = session.execute(
        select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id)
    ).scalar_one()
    session.execute(
        update(PrescriptionItem).where(PrescriptionItem.id == item.id).values(duration_days=14, quantity=42)
    )
    session.expire_all()
    line = DispenseLine(item.id, 1, item.drug_id, "20 kapsula", "AT2511001")
    with pytest.raises(ConfirmationBroken):
        dispense(session, prescription.number, place.patient.pinfl, [line], actor=place.dispenser, confirmer=confirmer)


def test_someone_else_s_key_other_content_and_replays_are_refused(
    session: Session, place: Setting, sim: simulator.RunningSimulator, confirmer: Confirmer
) -> None:
    draft = prepare_signature(session, place.order(place.item("J01CA04")), (), actor=place.doctor)
    stranger = sim.state.key("30101900000011", "Begonaxonova Dilnoza")
    with pytest.raises(ValidationError):
        issue_signed(
            session,
            draft.token,
            simulator.sign(stranger, draft.content.encode()),
            actor=place.doctor,
            confirmer=confirmer,
        )
    altered = draft.content.replace('"quantity":21', '"quantity":40')
    with pytest.raises(ValidationError):
        issue_signed(
            session, draft.token, _signed_by_doctor(sim, place, altered), actor=place.doctor, confirmer=confirmer
        )
    with pytest.raises(ValidationError):  # another doctor cannot complete this doctor's draft
        issue_signed(
            session,
            draft.token,
            _signed_by_doctor(sim, place, draft.content),
            actor=place.clinic.as_nurse,
            confirmer=confirmer,
        )
    pkcs7 = _signed_by_doctor(sim, place, draft.content)
    issue_signed(session, draft.token, pkcs7, actor=place.doctor, confirmer=confirmer)
    with pytest.raises(ValidationError):
        issue_signed(session, draft.token, pkcs7, actor=place.doctor, confirmer=confirmer)


def test_an_expired_draft_is_refused(
    session: Session, place: Setting, sim: simulator.RunningSimulator, confirmer: Confirmer
) -> None:
    draft = prepare_signature(session, place.order(place.item("J01CA04")), (), actor=place.doctor)
    session.execute(
        update(PrescriptionDraft)
        .where(PrescriptionDraft.id == draft.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    session.expire_all()
    with pytest.raises(ValidationError):
        issue_signed(
            session, draft.token, _signed_by_doctor(sim, place, draft.content), actor=place.doctor, confirmer=confirmer
        )


def test_a_forged_signature_blob_is_refused_at_dispensing(
    session: Session, place: Setting, sim: simulator.RunningSimulator, confirmer: Confirmer
) -> None:
    draft = prepare_signature(session, place.order(place.item("J01CA04")), (), actor=place.doctor)
    prescription = issue_signed(
        session, draft.token, _signed_by_doctor(sim, place, draft.content), actor=place.doctor, confirmer=confirmer
    )
    # Someone replaces the signature with one made by a key the CA never issued, over the same content.
    from cryptography.hazmat.primitives.asymmetric import ec

    rogue_state = simulator.SimulatorState(ec.generate_private_key(ec.SECP256R1()), sim.state.ca, 60)
    rogue = simulator._issue(rogue_state, place.clinic.doctor.pinfl or "", "Rogue")
    prescription.signature = simulator.sign(rogue, draft.content.encode())
    session.flush()
    item = session.execute(
        select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id)
    ).scalar_one()
    line = DispenseLine(item.id, 1, item.drug_id, "20 kapsula", "AT2511001")
    with pytest.raises(EimzoError):
        dispense(session, prescription.number, place.patient.pinfl, [line], actor=place.dispenser, confirmer=confirmer)
