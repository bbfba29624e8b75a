"""The pharmacy exchange (issue 8): a pharmacy's system searches MedicationRequest by prescription number and patient
PINFL through the pharmacy page's service (`dispensing.find`); a wrong pair is an empty Bundle, bad parameters 400,
a client without the scope 403, a non-pharmacy 403; what is left to dispense is visible and every resource
validates; the look-up is audited by the service and the call names the patient."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.medicationrequest import MedicationRequest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.access import tokens
from api.access.models import TokenKind
from api.fhir.identifiers import PINFL_SYSTEM
from ehealth.access.models import Role
from ehealth.audit.models import AuditEvent, Outcome
from ehealth.errors import ValidationError
from ehealth.prescription.dispensing import DispenseLine, dispense, find
from ehealth.prescription.models import PrescriptionItem
from ehealth.reference.models import Organization
from tests import emr_factories, factories, fhir_client, own_database
from tests.fhir_client import ADDRESS, auth, body, client_token, last_event_id
from tests.prescription_factories import CONFIRMER, setting

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine
# The portal and its test client (tests/fhir_client.py).
app = fhir_client.app
client = fhir_client.client


@dataclass
class World:
    number: str
    pinfl: str
    patient_id: int
    prescription_id: int
    item_ids: list[int]
    other_number: str
    other_pinfl: str
    pharmacy_id: int
    clinic_id: int


@pytest.fixture(scope="module")
def world(engine: Engine) -> World:
    """A prescription of two medicines, one partly dispensed at the pharmacy; another patient's prescription."""
    with Session(engine, expire_on_commit=False) as session:
        place = setting(session)
        prescription = place.issue(session, place.order(place.item("J01CA04"), place.item("C08CA01")))
        items = list(
            session.execute(
                select(PrescriptionItem)
                .where(PrescriptionItem.prescription_id == prescription.id)
                .order_by(PrescriptionItem.line)
            ).scalars()
        )
        line = DispenseLine(items[0].id, 2, items[0].drug_id, "20 kapsula", "AT2511001")
        dispense(session, prescription.number, place.patient.pinfl, [line], actor=place.dispenser, confirmer=CONFIRMER)
        other = setting(session)
        other_prescription = other.issue(session, other.order(other.item("J01CA04")))
        session.commit()
        return World(
            prescription.number,
            place.patient.pinfl,
            place.patient.id,
            prescription.id,
            [item.id for item in items],
            other_prescription.number,
            other.patient.pinfl,
            place.pharmacy.id,
            place.clinic.org.id,
        )


def search(client: FlaskClient, bearer_string: str, number: str, pinfl: str) -> TestResponse:
    query = f"identifier={quote(number)}&patient.identifier={quote(f'{PINFL_SYSTEM}|{pinfl}')}"
    return client.get(f"/fhir/MedicationRequest?{query}", headers=auth(bearer_string))


def events(engine: Engine, after: int) -> list[AuditEvent]:
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
        return list(session.execute(query).scalars())


def test_the_right_pair_finds_the_items_with_what_is_left(engine: Engine, world: World, client: FlaskClient) -> None:
    pharmacy = client_token(engine, client, world.pharmacy_id, "MedicationRequest.read")
    start = last_event_id(engine)
    answer = search(client, pharmacy, world.number, world.pinfl)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    bundle = Bundle.model_validate(body(answer))
    assert bundle.type == "searchset" and bundle.total == 2
    found = [MedicationRequest.model_validate(entry["resource"]) for entry in body(answer)["entry"]]
    assert [resource.id for resource in found] == [str(item_id) for item_id in world.item_ids]
    assert all(resource.groupIdentifier is not None for resource in found)
    assert {resource.groupIdentifier.value for resource in found if resource.groupIdentifier} == {world.number}
    notes = [" ".join(note.text or "" for note in resource.note or []) for resource in found]
    assert notes[0].startswith("Dispensed 2 of ") and notes[0].endswith("left to dispense.")
    assert notes[1].startswith("Dispensed 0 of ")
    audited = events(engine, start)
    # The service audits the look-up (the organization's system as actor); the call names the patient.
    looked_up = [e for e in audited if e.action == "prescription.looked_up"]
    assert [(e.outcome, e.actor_role, e.actor_id, e.organization_id, e.patient_id) for e in looked_up] == [
        (Outcome.SUCCESS, "api_client", None, world.pharmacy_id, world.patient_id)
    ]
    call = [e for e in audited if e.action == "api.fhir.search_medication_request"]
    assert [(e.outcome, e.patient_id) for e in call] == [(Outcome.SUCCESS, world.patient_id)]


def test_a_wrong_pair_is_an_empty_bundle_without_a_hint(engine: Engine, world: World, client: FlaskClient) -> None:
    pharmacy = client_token(engine, client, world.pharmacy_id, "MedicationRequest.read")
    for number, pinfl in ((world.number, world.other_pinfl), (world.other_number, world.pinfl)):
        start = last_event_id(engine)
        answer = search(client, pharmacy, number, pinfl)
        assert answer.status_code == 200
        bundle = body(answer)
        Bundle.model_validate(bundle)
        assert bundle["total"] == 0 and "entry" not in bundle
        assert "issue" not in bundle and "PINFL" not in answer.get_data(as_text=True).replace(PINFL_SYSTEM, "")
        looked_up = [e for e in events(engine, start) if e.action == "prescription.looked_up"]
        assert [(e.outcome, e.patient_id) for e in looked_up] == [(Outcome.FAILED, None)]


def test_missing_or_malformed_parameters_are_400(engine: Engine, world: World, client: FlaskClient) -> None:
    pharmacy = client_token(engine, client, world.pharmacy_id, "MedicationRequest.read")
    pinfl = quote(f"{PINFL_SYSTEM}|{world.pinfl}")
    for query in (
        "",
        f"identifier={world.number}",
        f"patient.identifier={pinfl}",
        f"identifier=nonsense&patient.identifier={pinfl}",
        f"identifier={world.number}&patient.identifier={world.pinfl}",  # no system
        f"identifier={world.number}&patient.identifier={quote('https://example.org/id|' + world.pinfl)}",
        f"identifier={world.number}&patient.identifier={quote(PINFL_SYSTEM + '|123')}",
        f"identifier={world.number}&identifier={world.number}&patient.identifier={pinfl}",
        f"identifier={world.number}&patient.identifier={pinfl}&name=x",
    ):
        answer = client.get(f"/fhir/MedicationRequest?{query}", headers=auth(pharmacy))
        assert answer.status_code == 400, query
        assert body(answer)["resourceType"] == "OperationOutcome"


def test_without_the_scope_or_outside_a_pharmacy_it_is_refused(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    no_scope = client_token(engine, client, world.clinic_id, "Patient.read")
    assert search(client, no_scope, world.number, world.pinfl).status_code == 403
    pharmacy_no_scope = client_token(engine, client, world.pharmacy_id, "MedicationDispense.read")
    assert search(client, pharmacy_no_scope, world.number, world.pinfl).status_code == 403
    clinic = client_token(engine, client, world.clinic_id, "MedicationRequest.read")
    refused = search(client, clinic, world.number, world.pinfl)
    assert refused.status_code == 403 and body(refused)["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/MedicationRequest?identifier={world.number}").status_code == 401


def test_the_page_and_the_api_refuse_a_clinic_alike(engine: Engine, world: World, client: FlaskClient) -> None:
    """The same rule through both doors: only a pharmacy looks prescriptions up (a pharmacist of a clinic on the
    page, a clinic's client over the API), with the same message; a system actor may look up but not dispense."""
    with Session(engine) as session:
        clinic = session.get_one(Organization, world.clinic_id)
        clinic_pharmacist = factories.cabinet(session, clinic, Role.PHARMACIST)
        with pytest.raises(ValidationError) as page_refusal:
            find(session, world.number, world.pinfl, actor=emr_factories.actor(clinic_pharmacist))
        session.rollback()
    clinic_client = client_token(engine, client, world.clinic_id, "MedicationRequest.read")
    refused = search(client, clinic_client, world.number, world.pinfl)
    assert refused.status_code == 403
    assert body(refused)["issue"][0]["diagnostics"] == page_refusal.value.msgid
    system = tokens.TokenContext(
        token_id=0, kind=TokenKind.CLIENT, scopes=frozenset(), organization_id=world.pharmacy_id
    ).actor(ADDRESS)
    with Session(engine) as session:
        found = find(session, world.number, world.pinfl, actor=system)
        assert [view.item.id for view in found.items] == world.item_ids
        item = found.items[1].item
        line = DispenseLine(item.id, 1, item.drug_id, "20 tabletka", "AT2511002")
        with pytest.raises(ValidationError):
            dispense(session, world.number, world.pinfl, [line], actor=system, confirmer=CONFIRMER)
        session.rollback()
