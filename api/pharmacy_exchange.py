"""The pharmacy exchange of issue 8: a pharmacy's system finds a prescription's MedicationRequests by the
prescription number and the patient's PINFL, through the same dispensing service as the pharmacy page
(`ehealth.prescription.dispensing.find`, which audits the look-up).

A wrong pair answers an empty searchset Bundle (total 0), never which part was wrong; missing or malformed
parameters answer 400; an organization that is not a pharmacy answers 403. Routes are registered on `fhir_bp`.
"""

from __future__ import annotations

from fhir.resources.annotation import Annotation
from fhir.resources.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from flask import request
from flask.typing import ResponseReturnValue

from api.access.http import bearer, current_context, note_patient, operation_outcome
from api.fhir.identifiers import PINFL_SYSTEM
from api.fhir.medication import medication_request
from api.fhir_routes import _fhir, fhir_bp
from db import request_transaction
from ehealth.errors import NotFound, ValidationError
from ehealth.identifiers import validate_pinfl
from ehealth.prescription import dispensing
from ehealth.prescription.numbers import looks_valid, normalize
from ehealth.reference.models import Drug

BAD_SEARCH = (
    "Search by identifier=<prescription number> and patient.identifier="
    f"{PINFL_SYSTEM}|<PINFL>, both required, each once."
)


def _parameters() -> tuple[str, str] | None:
    """(number, PINFL) from the query, each checked as the service will check it; None when not usable."""
    numbers, patients = request.args.getlist("identifier"), request.args.getlist("patient.identifier")
    if len(numbers) != 1 or len(patients) != 1 or set(request.args) - {"identifier", "patient.identifier"}:
        return None
    number = numbers[0].rpartition("|")[2]  # a token search: `[system]|value` or the bare value
    system, bar, pinfl = patients[0].partition("|")
    if not bar or system != PINFL_SYSTEM:
        return None
    try:
        pinfl = validate_pinfl(pinfl)
    except ValidationError:
        return None
    return (number, pinfl) if looks_valid(normalize(number)) else None


@fhir_bp.get("/MedicationRequest")
@bearer("MedicationRequest.read")
def search_medication_request() -> ResponseReturnValue:
    """The items of the prescription with this number issued to the patient with this PINFL, as a searchset."""
    parameters = _parameters()
    if parameters is None:
        return operation_outcome(400, "invalid", BAD_SEARCH)
    number, pinfl = parameters
    context = current_context()
    actor = context.actor(request.remote_addr)
    entries: list[BundleEntry] = []
    base = request.host_url + "fhir"
    with request_transaction() as session:
        try:
            found = dispensing.find(session, number, pinfl, actor=actor)
        except NotFound:
            found = None
        except ValidationError as refusal:  # the parameters passed the service's checks: not a pharmacy
            return operation_outcome(403, "forbidden", refusal.msgid)
        if found is not None:
            note_patient(found.patient.id)
            for view in found.items:
                item = view.item
                drug = session.get(Drug, item.drug_id)
                assert drug is not None
                resource = medication_request(found.prescription, item, drug)
                total = item.quantity * item.fills
                resource.note = [
                    Annotation(
                        text=f"Dispensed {item.dispensed_quantity} of {total} {view.unit}; "
                        f"{view.remaining} left to dispense."
                    )
                ]
                entries.append(
                    BundleEntry(
                        fullUrl=f"{base}/MedicationRequest/{resource.id}",
                        resource=resource,
                        search=BundleEntrySearch(mode="match"),
                    )
                )
    link = BundleLink(relation="self", url=request.url)
    bundle = Bundle(type="searchset", total=len(entries), link=[link], entry=entries or None)
    return _fhir(bundle.model_dump_json())
