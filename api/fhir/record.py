"""A patient's whole record as FHIR resources, read from the database: only active records, each once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from fhir.resources.domainresource import DomainResource
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.fhir.clinical import (
    allergy,
    condition,
    instrumental_report,
    lab_observation,
    lab_report,
    observation,
    procedure,
)
from api.fhir.encounter import encounter
from api.fhir.medication import medication_dispense, medication_request
from api.fhir.organization import organization, practitioner
from api.fhir.patient import patient
from ehealth.access.models import Cabinet
from ehealth.clinical import RecordStatus
from ehealth.emr.models import (
    Allergy,
    Condition,
    Encounter,
    InstrumentalResult,
    LabResult,
    Observation,
    TreatmentKind,
    TreatmentRecord,
)
from ehealth.hospital.models import Admission, Discharge
from ehealth.patients.models import Patient
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem
from ehealth.reference.models import Drug, Organization

R = TypeVar("R")


def _active(session: Session, model: type[R], patient_id: int) -> list[R]:
    """The patient's active rows of one clinical table, oldest first (withdrawn ones are not the record)."""
    table: Any = model
    query = select(table).where(table.patient_id == patient_id, table.status == RecordStatus.ACTIVE)
    return list(session.execute(query.order_by(table.id)).scalars())


def _by_id(session: Session, model: type[R], ids: Iterable[int]) -> list[R]:
    table: Any = model
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return list(session.execute(select(table).where(table.id.in_(wanted)).order_by(table.id)).scalars())


def patient_record(session: Session, patient_id: int, *, staff_national_ids: bool = False) -> list[DomainResource]:
    """Patient, encounters, diagnoses, indicators, results, allergies, procedures, prescriptions and dispenses,
    with the organizations and practitioners they point at; staff PINFLs only when asked (an exchange partner)."""
    who = session.get(Patient, patient_id)
    if who is None:
        raise LookupError(f"no patient {patient_id}")
    encounters = _active(session, Encounter, patient_id)
    conditions = _active(session, Condition, patient_id)
    admissions = {row.encounter_id: row for row in _active(session, Admission, patient_id)}
    discharges = {row.encounter_id: row for row in _active(session, Discharge, patient_id)}
    outcome = {row.id: row.outcome for row in encounters}
    labs = _active(session, LabResult, patient_id)
    treatments = [row for row in _active(session, TreatmentRecord, patient_id) if row.kind == TreatmentKind.PROCEDURE]
    prescriptions = {row.id: row for row in _active(session, Prescription, patient_id)}
    items = [
        item
        for item in session.execute(
            select(PrescriptionItem).where(PrescriptionItem.patient_id == patient_id).order_by(PrescriptionItem.id)
        ).scalars()
        if item.prescription_id in prescriptions
    ]
    dispenses = _active(session, Dispense, patient_id)
    drugs = {row.id: row for row in _by_id(session, Drug, [i.drug_id for i in items] + [d.drug_id for d in dispenses])}

    resources: list[DomainResource] = [patient(who)]
    resources += [
        encounter(
            row,
            conditions=[c for c in conditions if c.encounter_id == row.id],
            admission=admissions.get(row.id),
            discharge=discharges.get(row.id),
        )
        for row in encounters
    ]
    resources += [condition(row, outcome.get(row.encounter_id)) for row in conditions]
    resources += [observation(row) for row in _active(session, Observation, patient_id)]
    for lab in labs:
        resources += [lab_observation(lab), lab_report(lab)]
    resources += [instrumental_report(row) for row in _active(session, InstrumentalResult, patient_id)]
    resources += [allergy(row) for row in _active(session, Allergy, patient_id)]
    resources += [procedure(row) for row in treatments]
    resources += [medication_request(prescriptions[item.prescription_id], item, drugs[item.drug_id]) for item in items]
    resources += [medication_dispense(row, drugs[row.drug_id]) for row in dispenses]

    # Every organization and practitioner a resource above points at, once each.
    cited = [ref for resource in resources for ref in _references(resource)]
    org_ids = [int(r.split("/")[1]) for r in cited if r.startswith("Organization/")]
    staff_ids = [int(r.split("/")[1]) for r in cited if r.startswith("Practitioner/")]
    resources += [organization(row) for row in _by_id(session, Organization, org_ids)]
    resources += [practitioner(row, national_id=staff_national_ids) for row in _by_id(session, Cabinet, staff_ids)]
    return resources


def _references(resource: DomainResource) -> list[str]:
    """Every literal reference inside a resource (walked through its JSON form, where they all look alike)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            value = node.get("reference")
            if isinstance(value, str):
                found.append(value)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(resource.model_dump(mode="json"))
    return found
