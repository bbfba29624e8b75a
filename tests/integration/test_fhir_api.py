"""The FHIR read routes (issue 8): the public CapabilityStatement, a patient's own resources and paged
Patient/$everything (every resource validates with fhir.resources, every entry once across pages), 404 for anything
not the caller's, 401 for a forged or expired token, the organization client's scope (403) and relation (404) rules,
OperationOutcome errors, and an audit row naming the patient for every read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fhir.resources import get_fhir_model_class
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.patient import Patient as FhirPatient
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api import fhir_routes
from api.access.http import unguarded_routes
from api.fhir.record import patient_record
from db import utcnow
from ehealth.audit.models import AuditEvent, Outcome
from ehealth.emr import entries
from ehealth.prescription.dispensing import DispenseLine, dispense
from ehealth.prescription.models import PrescriptionItem
from tests import factories, fhir_client, own_database
from tests.fhir_client import ADDRESS, auth, body, client_token, last_event_id, patient_token
from tests.prescription_factories import CONFIRMER, setting

database_url = own_database.database_url
engine = own_database.engine
# The portal and its test client (tests/fhir_client.py).
app = fhir_client.app
client = fhir_client.client

PATIENT_TYPES = (
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "DiagnosticReport",
    "AllergyIntolerance",
    "Procedure",
    "MedicationRequest",
    "MedicationDispense",
)


@dataclass
class World:
    patient_id: int
    pinfl: str
    other_patient_id: int
    other_pinfl: str
    clinic_id: int
    pharmacy_id: int
    stranger_id: int
    doctor_id: int


@pytest.fixture(scope="module")
def world(engine: Engine) -> World:
    """A patient with one record of every kind (and a few days of indicators, for paging), another patient, the
    clinic and pharmacy that treated the first, and an organization that never did."""
    with Session(engine, expire_on_commit=False) as session:
        place = setting(session)
        visit, doctor, nurse = place.clinic.visit, place.clinic.as_doctor, place.clinic.as_nurse
        now = utcnow()
        entries.record_diagnosis(session, encounter_id=visit.id, icd10_code="J18.9", kind="final", actor=doctor)
        for hours in range(6):
            entries.record_indicators(
                session,
                encounter_id=visit.id,
                values={"pulse": 80 + hours, "temperature": 37.1, "bp_systolic": 125, "bp_diastolic": 80},
                effective_at=now - timedelta(minutes=50 - hours),
                actor=nurse,
            )
        entries.record_lab_result(
            session,
            encounter_id=visit.id,
            test_code="HGB",
            test_name="Gemoglobin",
            collected_at=now - timedelta(minutes=40),
            resulted_at=now - timedelta(minutes=30),
            value_numeric=98,
            unit="g/L",
            reference_low=120,
            reference_high=160,
            actor=nurse,
        )
        entries.record_instrumental_result(
            session,
            encounter_id=visit.id,
            modality="xray",
            study="Ko'krak qafasi rentgenografiyasi",
            conclusion="Infiltratsiya",
            performed_at=now - timedelta(minutes=35),
            actor=doctor,
        )
        entries.record_treatment(
            session,
            encounter_id=visit.id,
            kind="procedure",
            title="Ingalyatsiya",
            performed_at=now - timedelta(minutes=20),
            actor=doctor,
        )
        entries.record_allergy(
            session, patient_id=place.patient.id, substance="Ibuprofen", severity="severe", actor=doctor
        )
        prescription = place.issue(session, place.order(place.item("J01CA04"), place.item("C08CA01")))
        item = session.execute(
            select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id).limit(1)
        ).scalar_one()
        line = DispenseLine(item.id, item.quantity, item.drug_id, "20 kapsula", "AT2511001")
        dispense(session, prescription.number, place.patient.pinfl, [line], actor=place.dispenser, confirmer=CONFIRMER)
        other = factories.patient(session)
        stranger = factories.organization(session)
        session.commit()
        return World(
            place.patient.id,
            place.patient.pinfl,
            other.id,
            other.pinfl,
            place.clinic.org.id,
            place.pharmacy.id,
            stranger.id,
            place.clinic.doctor.id,
        )


def fhir_events(engine: Engine, after: int = 0) -> list[AuditEvent]:
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action.like("api.fhir.%"), AuditEvent.id > after)
        return list(session.execute(query.order_by(AuditEvent.id)).scalars())


def pages(client: FlaskClient, bearer_string: str, first: str) -> list[dict[str, Any]]:
    """Every page of a $everything Bundle, following its `next` links."""
    found: list[dict[str, Any]] = []
    url: str | None = first
    while url is not None:
        answer = client.get(url, headers=auth(bearer_string))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        bundle = body(answer)
        found.append(bundle)
        links = {link["relation"]: link["url"] for link in bundle.get("link", [])}
        following = links.get("next")
        url = None if following is None else f"{urlsplit(following).path}?{urlsplit(following).query}"
        assert len(found) < 50
    return found


def everything(client: FlaskClient, bearer_string: str, patient_id: int, count: int) -> list[dict[str, Any]]:
    """The entries of $everything across all pages, each page validated as a Bundle."""
    bundles = pages(client, bearer_string, f"/fhir/Patient/{patient_id}/$everything?_count={count}")
    entries_seen: list[dict[str, Any]] = []
    for bundle in bundles:
        get_fhir_model_class("Bundle").model_validate(bundle)
        assert bundle["type"] == "searchset"
        assert len(bundle.get("entry", [])) <= count
        entries_seen += bundle.get("entry", [])
    totals = {bundle["total"] for bundle in bundles}
    assert totals == {len(entries_seen)}
    return entries_seen


def test_metadata_is_a_public_capability_statement(client: FlaskClient) -> None:
    answer = client.get("/fhir/metadata")
    assert answer.status_code == 200
    statement = CapabilityStatement.model_validate(body(answer))
    assert statement.fhirVersion == "5.0.0" and statement.kind == "instance"
    assert statement.rest is not None
    served = {resource.type for resource in statement.rest[0].resource or []}
    assert served == {*PATIENT_TYPES, "Organization", "Practitioner"}


def test_errors_under_fhir_are_operation_outcomes(engine: Engine, world: World, client: FlaskClient) -> None:
    # No API address falls through to the portal's pages (their HTML shell with a 200), signed in or not.
    for path in ("/fhir/Nothing/here/at/all", "/api/v1/nothing", "/api/v1/token/extra"):
        nowhere = client.get(path)
        assert nowhere.status_code == 404 and body(nowhere)["resourceType"] == "OperationOutcome", path
    wrong_method = client.post("/fhir/metadata")
    assert wrong_method.status_code == 405 and body(wrong_method)["resourceType"] == "OperationOutcome"
    assert "GET" in wrong_method.headers["Allow"]
    bearer_string = patient_token(engine, world.pinfl)
    for query in ("_count=0", "_count=201", "_count=abc", "_offset=-1", "_offset=x", "_count=2.5"):
        answer = client.get(f"/fhir/Patient/{world.patient_id}/$everything?{query}", headers=auth(bearer_string))
        assert answer.status_code == 400, query
        assert body(answer)["resourceType"] == "OperationOutcome"
    for path in ("/fhir/Patient/999999999", "/fhir/Observation/nonsense", "/fhir/Organization/abc"):
        missing = client.get(path, headers=auth(bearer_string))
        assert missing.status_code == 404 and body(missing)["resourceType"] == "OperationOutcome"


def test_a_failure_inside_a_route_is_a_json_500_and_audited(
    engine: Engine, world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(fhir_routes, "patient_record", broken)
    bearer_string = patient_token(engine, world.pinfl)
    start = last_event_id(engine)
    answer = client.get(f"/fhir/Patient/{world.patient_id}", headers=auth(bearer_string))
    assert answer.status_code == 500
    assert body(answer)["resourceType"] == "OperationOutcome" and "boom" not in answer.get_data(as_text=True)
    (event,) = fhir_events(engine, start)
    assert (event.outcome, event.patient_id) == (Outcome.FAILED, world.patient_id)


def test_a_patient_reads_their_own_record_and_everything_pages_over_it(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    bearer_string = patient_token(engine, world.pinfl)
    own = client.get(f"/fhir/Patient/{world.patient_id}", headers=auth(bearer_string))
    assert own.status_code == 200
    patient = FhirPatient.model_validate(body(own))
    assert patient.id == str(world.patient_id)

    with Session(engine) as session:
        expected = {(r.get_resource_type(), r.id) for r in patient_record(session, world.patient_id)}
    assert {kind for kind, _ in expected} >= {*PATIENT_TYPES, "Organization", "Practitioner"}
    seen = everything(client, bearer_string, world.patient_id, count=7)
    keys = [(entry["resource"]["resourceType"], entry["resource"]["id"]) for entry in seen]
    assert len(keys) == len(set(keys)) == len(expected) and set(keys) == expected
    assert len(seen) > 2 * 7  # several pages
    for entry in seen:
        resource = entry["resource"]
        kind, ident = resource["resourceType"], resource["id"]
        get_fhir_model_class(kind).model_validate(resource)
        assert str(entry["fullUrl"]).endswith(f"/fhir/{kind}/{ident}")
    # One page with everything gives the same entries in the same order; each resource reads by itself too.
    (whole,) = pages(client, bearer_string, f"/fhir/Patient/{world.patient_id}/$everything?_count=200")
    assert [(e["resource"]["resourceType"], e["resource"]["id"]) for e in whole["entry"]] == keys
    assert "next" not in {link["relation"] for link in whole["link"]}
    for kind, ident in keys:
        single = client.get(f"/fhir/{kind}/{ident}", headers=auth(bearer_string))
        assert single.status_code == 200, (kind, ident)
        assert get_fhir_model_class(kind).model_validate(body(single)).model_dump()["id"] == ident
    # An offset past the end is an empty last page that still counts the total.
    past = client.get(
        f"/fhir/Patient/{world.patient_id}/$everything?_count=5&_offset={len(keys) + 5}", headers=auth(bearer_string)
    )
    assert past.status_code == 200 and body(past)["total"] == len(keys) and "entry" not in body(past)


def test_another_patients_data_is_not_found(engine: Engine, world: World, client: FlaskClient) -> None:
    """The other patient's token tries every resource of the first patient's record: 404, never 403."""
    mine = patient_token(engine, world.pinfl)
    (whole,) = pages(client, mine, f"/fhir/Patient/{world.patient_id}/$everything?_count=200")
    theirs = patient_token(engine, world.other_pinfl)
    start = last_event_id(engine)
    paths = [f"/fhir/Patient/{world.patient_id}/$everything"]
    for entry in whole["entry"]:
        kind, ident = entry["resource"]["resourceType"], entry["resource"]["id"]
        if kind in PATIENT_TYPES:
            paths.append(f"/fhir/{kind}/{ident}")
    for path in paths:
        answer = client.get(path, headers=auth(theirs))
        assert answer.status_code == 404, path
        assert body(answer)["resourceType"] == "OperationOutcome"
    events = fhir_events(engine, start)
    assert len(events) == len(paths)
    assert {(event.outcome, event.patient_id) for event in events} == {(Outcome.DENIED, world.other_patient_id)}
    # Their own Patient, with their own token, is fine.
    assert client.get(f"/fhir/Patient/{world.other_patient_id}", headers=auth(theirs)).status_code == 200


def test_forged_and_expired_tokens_are_refused(engine: Engine, world: World, client: FlaskClient) -> None:
    expired = patient_token(engine, world.pinfl, lifetime=timedelta(minutes=5), now=utcnow() - timedelta(minutes=10))
    for bearer_string in ("forged-" + "x" * 40, expired):
        for path in (f"/fhir/Patient/{world.patient_id}", f"/fhir/Patient/{world.patient_id}/$everything"):
            answer = client.get(path, headers=auth(bearer_string))
            assert answer.status_code == 401
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            assert body(answer)["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Patient/{world.patient_id}").status_code == 401
    assert client.get(f"/fhir/Organization/{world.clinic_id}").status_code == 401


def test_an_organization_client_needs_the_scope_and_a_relation(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    path = f"/fhir/Patient/{world.patient_id}"
    no_scope = client_token(engine, client, world.clinic_id, "Organization.read")
    assert client.get(path, headers=auth(no_scope)).status_code == 403
    assert client.get(path + "/$everything", headers=auth(no_scope)).status_code == 403
    # Organizations and practitioners: any valid token.
    assert client.get(f"/fhir/Organization/{world.clinic_id}", headers=auth(no_scope)).status_code == 200
    practitioner = client.get(f"/fhir/Practitioner/{world.doctor_id}", headers=auth(no_scope))
    assert practitioner.status_code == 200 and "identifier" not in body(practitioner)

    stranger = client_token(engine, client, world.stranger_id, "Patient.read Encounter.read")
    start = last_event_id(engine)
    assert client.get(path, headers=auth(stranger)).status_code == 404
    assert client.get(path + "/$everything", headers=auth(stranger)).status_code == 404
    denied = fhir_events(engine, start)
    assert [(e.outcome, e.patient_id, e.organization_id) for e in denied] == [
        (Outcome.DENIED, world.patient_id, world.stranger_id)
    ] * 2

    clinic = client_token(engine, client, world.clinic_id, "Patient.read Encounter.read")
    pharmacy = client_token(engine, client, world.pharmacy_id, "Patient.read MedicationDispense.read")
    for related, organization_id in ((clinic, world.clinic_id), (pharmacy, world.pharmacy_id)):
        start = last_event_id(engine)
        answer = client.get(path, headers=auth(related))
        assert answer.status_code == 200
        get_fhir_model_class("Patient").model_validate(body(answer))
        (event,) = fhir_events(engine, start)
        assert (event.outcome, event.patient_id, event.organization_id, event.actor_role) == (
            Outcome.SUCCESS,
            world.patient_id,
            organization_id,
            "api_client",
        )
    # $everything for a client holds only the types its scopes cover (organizations and practitioners always).
    (bundle,) = pages(client, clinic, f"/fhir/Patient/{world.patient_id}/$everything?_count=200")
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert kinds == {"Patient", "Encounter", "Organization", "Practitioner"}
    # A type outside its scopes is refused for the related client too.
    with Session(engine) as session:
        record = patient_record(session, world.patient_id)
    condition = next(r for r in record if r.get_resource_type() == "Condition")
    assert client.get(f"/fhir/Condition/{condition.id}", headers=auth(clinic)).status_code == 403


def test_every_read_is_audited_with_the_patient(engine: Engine, world: World, client: FlaskClient) -> None:
    bearer_string = patient_token(engine, world.pinfl)
    start = last_event_id(engine)
    paths = [
        f"/fhir/Patient/{world.patient_id}",
        f"/fhir/Patient/{world.patient_id}/$everything?_count=3",
        f"/fhir/Patient/{world.patient_id}/$everything?_count=3&_offset=3",
    ]
    for path in paths:
        assert client.get(path, headers=auth(bearer_string)).status_code == 200
    events = fhir_events(engine, start)
    assert [event.action for event in events] == ["api.fhir.read_patient", "api.fhir.everything", "api.fhir.everything"]
    assert {(e.outcome, e.patient_id, e.actor_role, e.source_ip) for e in events} == {
        (Outcome.SUCCESS, world.patient_id, "api_patient", ADDRESS)
    }


def test_no_fhir_route_but_metadata_is_unguarded(client: FlaskClient) -> None:
    server = client.application
    assert unguarded_routes(server) == []
    fhir_rules = {rule.rule for rule in server.url_map.iter_rules() if rule.rule.startswith("/fhir")}
    assert "/fhir/metadata" in fhir_rules and len(fhir_rules) == len(PATIENT_TYPES) + 5
