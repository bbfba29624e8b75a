"""The record as FHIR R5 resources of the national profiles: every resource validates with fhir.resources and
survives a JSON round trip, identifiers and codes use the IG's systems, references point at the right rows,
withdrawn records are left out, and the patient's PINFL appears only in Patient.identifier."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fhir.resources.domainresource import DomainResource
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.fhir.audit import audit_event
from api.fhir.clinical import (
    allergy,
    condition,
    instrumental_report,
    lab_observation,
    lab_report,
    observation,
    procedure,
)
from api.fhir.common import NotExported
from api.fhir.encounter import encounter
from api.fhir.identifiers import ATC_SYSTEM, ICD10_SYSTEM, LOINC_SYSTEM, PINFL_SYSTEM, PROFILE, TAX_ID_SYSTEM
from api.fhir.medication import medication_dispense, medication_request
from api.fhir.organization import organization, practitioner
from api.fhir.patient import patient, pinfl_identifier
from api.fhir.record import patient_record
from db import utcnow
from ehealth.audit.models import AuditEvent
from ehealth.emr import entries
from ehealth.emr.corrections import withdraw
from ehealth.emr.models import (
    Allergy,
    Condition,
    Encounter,
    InstrumentalResult,
    LabResult,
    Observation,
    TreatmentRecord,
)
from ehealth.hospital.models import Admission, Discharge
from ehealth.prescription.dispensing import DispenseLine, dispense
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem
from ehealth.reference.models import Drug
from tests import emr_factories
from tests.prescription_factories import CONFIRMER, Setting, setting

AMOXICILLIN = "J01CA04"
AMLODIPINE = "C08CA01"


@dataclass
class Record:
    """A patient's visit with one row of every kind, a finished hospital stay, a prescription and its dispense."""

    place: Setting
    visit: Encounter
    diagnosis: Condition
    vitals: list[Observation]
    lab: LabResult
    study: InstrumentalResult
    treatment: TreatmentRecord
    withdrawn: TreatmentRecord
    allergy: Allergy
    stay: Encounter
    admission: Admission
    discharge: Discharge
    prescription: Prescription
    items: list[PrescriptionItem]
    given: Dispense


@pytest.fixture
def record(session: Session) -> Record:
    """The record, entered through the services the pages use."""
    place = setting(session)
    visit, doctor, nurse = place.clinic.visit, place.clinic.as_doctor, place.clinic.as_nurse
    now = utcnow()
    stay, admission, discharge = emr_factories.hospital_stay(
        session, place.patient, now - timedelta(days=10), now - timedelta(days=3)
    )
    diagnosis = entries.record_diagnosis(
        session, encounter_id=visit.id, icd10_code="J18.9", kind="final", note="O'ng tomonlama", actor=doctor
    )
    vitals = entries.record_indicators(
        session,
        encounter_id=visit.id,
        values={"pulse": 88, "temperature": 37.8, "bp_systolic": 128, "bp_diastolic": 82},
        effective_at=now - timedelta(minutes=45),
        actor=nurse,
    )
    lab = entries.record_lab_result(
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
    study = entries.record_instrumental_result(
        session,
        encounter_id=visit.id,
        modality="xray",
        study="Ko'krak qafasi rentgenografiyasi",
        conclusion="O'ng pastki bo'lakda infiltratsiya",
        performed_at=now - timedelta(minutes=35),
        actor=doctor,
    )
    treatment = entries.record_treatment(
        session,
        encounter_id=visit.id,
        kind="procedure",
        title="Ingalyatsiya",
        text="Salbutamol bilan",
        performed_at=now - timedelta(minutes=20),
        actor=doctor,
    )
    withdrawn = entries.record_treatment(
        session, encounter_id=visit.id, kind="procedure", title="Xato yozuv", performed_at=now, actor=doctor
    )
    withdraw(session, model=TreatmentRecord, row_id=withdrawn.id, reason="Boshqa bemor", actor=doctor)
    known = entries.record_allergy(
        session,
        patient_id=place.patient.id,
        substance="Ibuprofen",
        severity="severe",
        reaction="Eshakyem",
        atc_code="M01AE01",
        encounter_id=visit.id,
        actor=doctor,
    )
    prescription = place.issue(session, place.order(place.item(AMOXICILLIN), place.item(AMLODIPINE)))
    items = list(
        session.execute(
            select(PrescriptionItem)
            .where(PrescriptionItem.prescription_id == prescription.id)
            .order_by(PrescriptionItem.line)
        ).scalars()
    )
    line = DispenseLine(items[0].id, items[0].quantity, items[0].drug_id, "20 kapsula", "AT2511001")
    (given,) = dispense(
        session, prescription.number, place.patient.pinfl, [line], actor=place.dispenser, confirmer=CONFIRMER
    )
    session.refresh(prescription)
    return Record(
        place,
        visit,
        diagnosis,
        vitals,
        lab,
        study,
        treatment,
        withdrawn,
        known,
        stay,
        admission,
        discharge,
        prescription,
        items,
        given,
    )


def _valid(resource: DomainResource) -> dict[str, object]:
    """The resource round-trips through JSON into an equal model; returns its JSON form."""
    again = type(resource).model_validate_json(resource.model_dump_json())
    assert again == resource
    data: dict[str, object] = json.loads(resource.model_dump_json())
    assert data["meta"] == {"profile": [PROFILE[resource.get_resource_type()]]}
    return data


def _drug(session: Session, drug_id: int) -> Drug:
    row = session.get(Drug, drug_id)
    assert row is not None
    return row


def test_patient_carries_the_pinfl_on_the_national_system(session: Session, record: Record) -> None:
    who = record.place.patient
    data = _valid(patient(who))
    assert data["id"] == str(who.id)
    assert data["identifier"] == [
        {
            "use": "official",
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                        "code": "NI",
                        "display": "National unique individual identifier",
                    }
                ]
            },
            "system": "https://dhp.uz/fhir/core/sid/pid/uz/ni",
            "value": who.pinfl,
        }
    ]
    assert data["name"] == [
        {
            "use": "official",
            "text": "Toshmatov Ali Valiyevich",
            "family": "Toshmatov",
            "given": ["Ali"],
            "suffix": ["Valiyevich"],
        }
    ]
    assert data["gender"] == "male" and data["birthDate"] == who.birth_date.isoformat()
    assert data["telecom"] == [{"system": "phone", "value": "+998901234567", "use": "mobile"}]
    assert data["address"] == [{"use": "home", "type": "physical", "state": "1726", "country": "UZ"}]


def test_organization_and_practitioner(session: Session, record: Record) -> None:
    org = _valid(organization(record.place.clinic.org))
    assert org["identifier"][0]["system"] == TAX_ID_SYSTEM  # type: ignore[index]
    assert org["identifier"][0]["value"] == record.place.clinic.org.stir  # type: ignore[index]
    doctor = record.place.clinic.doctor
    staff = _valid(practitioner(doctor))
    assert staff["identifier"][0]["system"] == PINFL_SYSTEM  # type: ignore[index]
    assert "identifier" not in _valid(practitioner(doctor, national_id=False))


def test_encounters_point_at_patient_organization_practitioner_and_diagnoses(session: Session, record: Record) -> None:
    visit = _valid(encounter(record.visit, conditions=[record.diagnosis]))
    assert visit["status"] == "in-progress"
    assert visit["class"] == [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"}
            ]
        }
    ]
    assert visit["subject"] == {"reference": f"Patient/{record.place.patient.id}"}
    assert visit["serviceProvider"] == {"reference": f"Organization/{record.visit.organization_id}"}
    assert visit["participant"][0]["actor"] == {"reference": f"Practitioner/{record.visit.practitioner_id}"}  # type: ignore[index]
    assert visit["diagnosis"] == [{"condition": [{"reference": {"reference": f"Condition/{record.diagnosis.id}"}}]}]
    stay = _valid(encounter(record.stay, admission=record.admission, discharge=record.discharge))
    assert stay["status"] == "completed" and stay["class"][0]["coding"][0]["code"] == "IMP"  # type: ignore[index]
    assert stay["admission"] == {
        "admitSource": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/admit-source", "code": "emd"}]},
        "dischargeDisposition": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "home"}]
        },
    }


def test_clinical_resources_carry_icd10_loinc_and_atc(session: Session, record: Record) -> None:
    diagnosis = _valid(condition(record.diagnosis))
    assert diagnosis["code"] == {"coding": [{"system": ICD10_SYSTEM, "code": "J18.9"}]}
    assert diagnosis["verificationStatus"]["coding"][0]["code"] == "confirmed"  # type: ignore[index]
    assert diagnosis["encounter"] == {"reference": f"Encounter/{record.visit.id}"}
    pulse = next(row for row in record.vitals if row.code == "pulse")
    vital = _valid(observation(pulse))
    assert vital["id"] == f"vital-{pulse.id}" and vital["status"] == "final"
    assert vital["code"]["coding"][0] == {"system": LOINC_SYSTEM, "code": "8867-4", "display": "Heart rate"}  # type: ignore[index]
    assert vital["category"][0]["coding"][0]["code"] == "vital-signs"  # type: ignore[index]
    assert vital["valueQuantity"] == {
        "value": 88,
        "unit": "/min",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }
    lab = _valid(lab_observation(record.lab))
    assert lab["valueQuantity"] == {"value": 98, "unit": "g/L"}
    assert lab["interpretation"][0]["coding"][0]["code"] == "L"  # type: ignore[index]
    report = _valid(lab_report(record.lab))
    assert report["result"] == [{"reference": f"Observation/lab-{record.lab.id}"}]
    study = _valid(instrumental_report(record.study))
    assert study["conclusion"] == "O'ng pastki bo'lakda infiltratsiya"
    assert study["category"][0]["coding"][0]["code"] == "RAD"  # type: ignore[index]
    known = _valid(allergy(record.allergy))
    assert known["code"] == {"coding": [{"system": ATC_SYSTEM, "code": "M01AE01"}], "text": "Ibuprofen"}
    assert known["criticality"] == "high" and known["category"] == ["medication"]
    assert known["reaction"][0]["severity"] == "severe"  # type: ignore[index]
    done = _valid(procedure(record.treatment))
    assert done["code"] == {"text": "Ingalyatsiya"} and done["encounter"] == {
        "reference": f"Encounter/{record.visit.id}"
    }


def test_medication_requests_per_item_and_the_dispense(session: Session, record: Record) -> None:
    requests = [
        _valid(medication_request(record.prescription, item, _drug(session, item.drug_id))) for item in record.items
    ]
    assert [r["id"] for r in requests] == [str(item.id) for item in record.items]
    assert [r["medication"]["concept"]["coding"][0] for r in requests] == [  # type: ignore[index]
        {"system": ATC_SYSTEM, "code": AMOXICILLIN, "display": _drug(session, record.items[0].drug_id).inn},
        {"system": ATC_SYSTEM, "code": AMLODIPINE, "display": _drug(session, record.items[1].drug_id).inn},
    ]
    assert {r["status"] for r in requests} == {"active"}  # partly dispensed: still active
    assert {r["intent"] for r in requests} == {"order"}
    assert {json.dumps(r["groupIdentifier"]) for r in requests} == {
        json.dumps(
            {
                "use": "official",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "PLAC",
                            "display": "Placer Identifier",
                        }
                    ]
                },
                "value": record.prescription.number,
            }
        )
    }
    assert requests[0]["reason"] == [{"concept": {"coding": [{"system": ICD10_SYSTEM, "code": "J18.9"}]}}]
    assert requests[0]["requester"] == {"reference": f"Practitioner/{record.prescription.prescriber_id}"}
    handed = _valid(medication_dispense(record.given, _drug(session, record.given.drug_id)))
    assert handed["status"] == "completed"
    assert handed["authorizingPrescription"] == [{"reference": f"MedicationRequest/{record.items[0].id}"}]
    assert {"actor": {"reference": f"Organization/{record.place.pharmacy.id}"}} in handed["performer"]  # type: ignore[operator]
    assert handed["quantity"]["value"] == record.items[0].quantity  # type: ignore[index]


def test_withdrawn_records_are_not_exported(session: Session, record: Record) -> None:
    with pytest.raises(NotExported):
        procedure(record.withdrawn)
    ids = {f"{r.get_resource_type()}/{r.id}" for r in patient_record(session, record.place.patient.id)}
    assert f"Procedure/{record.treatment.id}" in ids
    assert f"Procedure/{record.withdrawn.id}" not in ids


def test_the_whole_record_validates_and_the_pinfl_is_only_in_patient_identifier(
    session: Session, record: Record
) -> None:
    resources = patient_record(session, record.place.patient.id)
    kinds = {r.get_resource_type() for r in resources}
    assert kinds == {
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "DiagnosticReport",
        "AllergyIntolerance",
        "Procedure",
        "MedicationRequest",
        "MedicationDispense",
        "Organization",
        "Practitioner",
    }
    keys = [f"{r.get_resource_type()}/{r.id}" for r in resources]
    assert len(keys) == len(set(keys))
    # Every reference in the record resolves inside it.
    for resource in resources:
        for reference in _references(_valid(resource)):
            assert reference in keys, reference
    pinfl = record.place.patient.pinfl
    for resource in resources:
        data = _valid(resource)
        if resource.get_resource_type() == "Patient":
            assert data.pop("identifier") == [pinfl_identifier(pinfl).model_dump(mode="json")]
        assert pinfl not in json.dumps(data), resource.get_resource_type()


def test_audit_events_of_the_record(session: Session, record: Record) -> None:
    rows = list(
        session.execute(
            select(AuditEvent).where(AuditEvent.patient_id == record.place.patient.id).order_by(AuditEvent.id)
        ).scalars()
    )
    assert rows
    for row in rows:
        data = _valid(audit_event(row))
        assert data["patient"] == {"reference": f"Patient/{record.place.patient.id}"}
        assert data["action"] in {"C", "R", "U", "D", "E"}
        assert data["outcome"]["code"]["system"] == "http://hl7.org/fhir/issue-severity"  # type: ignore[index]
        assert record.place.patient.pinfl not in json.dumps(data)
    issued = next(row for row in rows if row.action == "prescription.issued")
    data = _valid(audit_event(issued))
    assert data["action"] == "C"
    assert data["code"] == {
        "coding": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "create"}],
        "text": "prescription.issued",
    }


def _references(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [ref for child in node.values() for ref in _references(child)]
    if isinstance(node, list):
        return [ref for child in node for ref in _references(child)]
    return []
