"""MedicationRequest (one per prescription item) and MedicationDispense (UZ Core profiles)."""

from __future__ import annotations

from fhir.resources.codeableconcept import CodeableConcept
from fhir.resources.dosage import Dosage, DosageDoseAndRate
from fhir.resources.duration import Duration
from fhir.resources.identifier import Identifier
from fhir.resources.medicationdispense import MedicationDispense, MedicationDispensePerformer
from fhir.resources.medicationrequest import MedicationRequest, MedicationRequestDispenseRequest
from fhir.resources.period import Period
from fhir.resources.quantity import Quantity
from fhir.resources.timing import Timing, TimingRepeat

from api.fhir.clinical import icd10
from api.fhir.common import by_concept, coding, concept, date_time, decimal, ensure_active, meta, ref, text_concept
from api.fhir.identifiers import ATC_SYSTEM, IDENTIFIER_TYPE_SYSTEM, MEDICATION_REQUEST_CATEGORY
from ehealth.clinical import RecordStatus
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem, PrescriptionState
from ehealth.reference.models import Drug

# MedicationRequest status (http://hl7.org/fhir/CodeSystem/medicationrequest-status), bound by the IG's
# MedicationRequestStatusVS: a partly dispensed prescription is still active; an expired one has ended.
STATUS: dict[PrescriptionState, str] = {
    PrescriptionState.ACTIVE: "active",
    PrescriptionState.PARTIALLY_DISPENSED: "active",
    PrescriptionState.DISPENSED: "completed",
    PrescriptionState.CANCELLED: "cancelled",
    PrescriptionState.EXPIRED: "ended",
}
# MedicationRequest intent (medicationrequest-intent), bound by MedicationRequestIntentVS: a signed
# e-prescription is an order in every state (its state changes the status, never the intent).
INTENT: dict[PrescriptionState, str] = dict.fromkeys(PrescriptionState, "order")
# MedicationDispense status (http://hl7.org/fhir/CodeSystem/medicationdispense-status), bound by
# MedicationDispenseStatusVS. Only active dispenses are exported; the mapping is total for a later history.
DISPENSE_STATUS: dict[RecordStatus, str] = {
    RecordStatus.ACTIVE: "completed",
    RecordStatus.ENTERED_IN_ERROR: "entered-in-error",
    RecordStatus.SUPERSEDED: "unknown",
}


def medicine(drug: Drug, brand: str | None, strength: str, form: str) -> CodeableConcept:
    """The medicine as its ATC code (the IG's ATC code system) and its name as the prescription reads it."""
    name = " ".join(part for part in (drug.inn, f"({brand})" if brand else None, strength, form) if part)
    return CodeableConcept(coding=[coding(ATC_SYSTEM, drug.atc_code, drug.inn)], text=name)


def prescription_number(number: str) -> Identifier:
    """The prescription's number, as the IG's example carries a prescription ID (type PLAC, use official)."""
    return Identifier(use="official", type=concept(IDENTIFIER_TYPE_SYSTEM, "PLAC", "Placer Identifier"), value=number)


def medication_request(prescription: Prescription, item: PrescriptionItem, drug: Drug) -> MedicationRequest:
    """One medicine of a prescription; the items of one prescription share its number as groupIdentifier."""
    ensure_active(prescription)
    if item.prescription_id != prescription.id or item.drug_id != drug.id:
        raise ValueError(f"item {item.id} does not belong to prescription {prescription.id} with drug {drug.id}")
    days = Duration(value=decimal(item.duration_days), unit="d", system="http://unitsofmeasure.org", code="d")
    dosage = Dosage(
        text=f"{item.dose:g} {item.dose_unit}, {item.intakes_per_day}x/day, {item.duration_days} days, {item.route}",
        timing=Timing(
            repeat=TimingRepeat(frequency=item.intakes_per_day, period=decimal(1), periodUnit="d", boundsDuration=days)
        ),
        route=text_concept(item.route),
        doseAndRate=[DosageDoseAndRate(doseQuantity=Quantity(value=decimal(item.dose), unit=item.dose_unit))],
    )
    return MedicationRequest(
        id=str(item.id),
        meta=meta("MedicationRequest"),
        identifier=[prescription_number(f"{prescription.number}/{item.line}")],
        groupIdentifier=prescription_number(prescription.number),
        status=STATUS[prescription.state],
        statusChanged=prescription.cancelled_at,
        intent=INTENT[prescription.state],
        category=[concept(MEDICATION_REQUEST_CATEGORY, "outpatient", "Outpatient")],
        medication=by_concept(medicine(drug, item.brand, item.strength, item.form)),
        subject=ref("Patient", prescription.patient_id),
        encounter=ref("Encounter", prescription.encounter_id) if prescription.encounter_id is not None else None,
        authoredOn=prescription.issued_at,
        requester=ref("Practitioner", prescription.prescriber_id),
        reason=[by_concept(icd10(prescription.icd10_code))],
        dosageInstruction=[dosage],
        dispenseRequest=MedicationRequestDispenseRequest(
            validityPeriod=Period(
                start=date_time(prescription.issued_at.date()), end=date_time(prescription.valid_until)
            ),
            numberOfRepeatsAllowed=item.fills - 1,
            quantity=Quantity(value=decimal(item.quantity), unit=drug.unit),
        ),
    )


def medication_dispense(row: Dispense, drug: Drug) -> MedicationDispense:
    """Medicine handed over at a pharmacy against one prescription item (its MedicationRequest)."""
    ensure_active(row)
    if row.drug_id != drug.id:
        raise ValueError(f"dispense {row.id} is not of drug {drug.id}")
    return MedicationDispense(
        id=str(row.id),
        meta=meta("MedicationDispense"),
        status=DISPENSE_STATUS[row.status],
        medication=by_concept(medicine(drug, row.brand, row.strength, drug.form)),
        subject=ref("Patient", row.patient_id),
        performer=[
            MedicationDispensePerformer(actor=ref("Practitioner", row.created_by)),
            MedicationDispensePerformer(actor=ref("Organization", row.organization_id)),
        ],
        authorizingPrescription=[ref("MedicationRequest", row.item_id)],
        quantity=Quantity(value=decimal(row.quantity), unit=drug.unit),
        recorded=row.created_at,
        whenHandedOver=row.dispensed_at,
    )
