"""The FHIR R5 read routes under /fhir (issue 8): the CapabilityStatement, Patient/$everything (a paged Bundle) and
one resource by type and id.

Who may read what is decided in one place, `_patient_readable`: a patient token reads only its own patient's record,
an organization client only patients its organization has a clinical relation with (an encounter, an admission, a
prescription issued or a dispense there), each resource type under its `X.read` scope (`bearer(...)`); any other id
answers 404, never 403, so ids cannot be probed. Organizations and practitioners are readable with any valid token.
Every read of patient data names the patient in the audit (`note_patient`), for "who saw my record".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fhir.resources.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from fhir.resources.capabilitystatement import (
    CapabilityStatement,
    CapabilityStatementImplementation,
    CapabilityStatementRest,
    CapabilityStatementRestResource,
    CapabilityStatementRestResourceInteraction,
    CapabilityStatementRestResourceOperation,
    CapabilityStatementRestSecurity,
    CapabilityStatementSoftware,
)
from fhir.resources.domainresource import DomainResource
from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, InternalServerError

from api.access import scopes as scope_rules
from api.access.http import bearer, current_context, note_patient, operation_outcome
from api.access.tokens import TokenContext
from api.fhir.clinical import INSTRUMENTAL_PREFIX, LAB_PREFIX, VITAL_PREFIX
from api.fhir.identifiers import PROFILE
from api.fhir.organization import organization, practitioner
from api.fhir.record import patient_record
from db import request_transaction
from ehealth.access.models import Cabinet
from ehealth.clinical import RecordStatus
from ehealth.emr.models import (
    Allergy,
    Condition,
    Encounter,
    InstrumentalResult,
    LabResult,
    Observation,
    TreatmentRecord,
)
from ehealth.hospital.models import Admission
from ehealth.patients.models import Patient
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem
from ehealth.reference.models import Organization

fhir_bp = Blueprint("fhir", __name__, url_prefix="/fhir")

FHIR_JSON = "application/fhir+json"
DEFAULT_COUNT, MAX_COUNT = 50, 200
NOT_FOUND = "There is no such resource, or it is not yours to read."
BAD_PAGING = "_count must be an integer from 1 to {max}, _offset an integer from 0."

# The patient-data types served one by one; each needs its own read scope. Organization and Practitioner are not
# patient data: any valid token reads them.
PATIENT_DATA_TYPES = (
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
SHARED_TYPES = ("Organization", "Practitioner")
# Where the patient of a resource id is found: (id prefix, table); the record builder decides what is exported.
_OWNER: dict[str, tuple[tuple[str, Any], ...]] = {
    "Encounter": (("", Encounter),),
    "Condition": (("", Condition),),
    "Observation": ((VITAL_PREFIX, Observation), (LAB_PREFIX, LabResult)),
    "DiagnosticReport": ((LAB_PREFIX, LabResult), (INSTRUMENTAL_PREFIX, InstrumentalResult)),
    "AllergyIntolerance": (("", Allergy),),
    "Procedure": (("", TreatmentRecord),),
    "MedicationRequest": (("", PrescriptionItem),),
    "MedicationDispense": (("", Dispense),),
}


def _fhir(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=status, mimetype=FHIR_JSON, headers=headers)


def _not_found() -> Response:
    return operation_outcome(404, "not-found", NOT_FOUND)


def _row_id(text: str, prefix: str = "") -> int | None:
    """The database id in a FHIR id (with the type's prefix), or None when it is not one of ours."""
    if not text.startswith(prefix):
        return None
    digits = text[len(prefix) :]
    if not digits.isdigit() or len(digits) > 18:
        return None
    return int(digits)


def _owner(session: Session, resource_type: str, resource_id: str) -> int | None:
    """The patient a patient-data resource id belongs to, or None when there is no such row."""
    if resource_type == "Patient":
        number = _row_id(resource_id)
        return number if number is not None and session.get(Patient, number) is not None else None
    for prefix, table in _OWNER[resource_type]:
        number = _row_id(resource_id, prefix)
        if number is not None:
            found: int | None = session.execute(select(table.patient_id).where(table.id == number)).scalar()
            return found
    return None


def _related(session: Session, organization_id: int, patient_id: int) -> bool:
    """True when the organization has a clinical relation with the patient: an encounter, an admission, a
    prescription issued or a dispense there (active records only: a withdrawn one proves nothing)."""
    for table in (Encounter, Admission, Prescription, Dispense):
        table_any: Any = table
        query = select(
            exists().where(
                table_any.organization_id == organization_id,
                table_any.patient_id == patient_id,
                table_any.status == RecordStatus.ACTIVE,
            )
        )
        if session.execute(query).scalar():
            return True
    return False


def _patient_readable(session: Session, context: TokenContext, patient_id: int) -> bool:
    """The access rule for patient data: the token's own patient, or a patient of the client's organization."""
    if context.patient_id is not None:
        return context.patient_id == patient_id
    return context.organization_id is not None and _related(session, context.organization_id, patient_id)


def _may_see_type(context: TokenContext, resource_type: str) -> bool:
    """Whether the token's scopes cover reading this type (patient tokens cover their own record)."""
    return resource_type in SHARED_TYPES or scope_rules.satisfies(context.scopes, {f"{resource_type}.read"})


def _record_of(session: Session, context: TokenContext, patient_id: int) -> list[DomainResource] | None:
    """The patient's record if this token may read it (noting the patient in the audit either way)."""
    note_patient(patient_id)
    if not _patient_readable(session, context, patient_id):
        return None
    return patient_record(session, patient_id)


def _read_patient_data(resource_type: str, resource_id: str) -> Response:
    context = current_context()
    with request_transaction() as session:
        patient_id = _owner(session, resource_type, resource_id)
        if patient_id is None:
            return _not_found()
        record = _record_of(session, context, patient_id)
    if record is None:
        return _not_found()
    for resource in record:
        if resource.get_resource_type() == resource_type and resource.id == resource_id:
            return _fhir(resource.model_dump_json())
    return _not_found()  # a withdrawn or superseded row is not part of the record


@fhir_bp.get("/metadata")
def metadata() -> Response:
    """The CapabilityStatement: public, as FHIR requires (every other route needs a bearer token)."""
    read = [CapabilityStatementRestResourceInteraction(code="read")]
    resources = [
        CapabilityStatementRestResource(
            type=name,
            profile=PROFILE[name],
            interaction=read,
            operation=[
                CapabilityStatementRestResourceOperation(
                    name="everything", definition="http://hl7.org/fhir/OperationDefinition/Patient-everything"
                )
            ]
            if name == "Patient"
            else None,
        )
        for name in (*PATIENT_DATA_TYPES, *SHARED_TYPES)
    ]
    statement = CapabilityStatement(
        status="active",
        date=datetime.now(UTC),
        kind="instance",
        software=CapabilityStatementSoftware(name="Elektron sog'liqni saqlash"),
        implementation=CapabilityStatementImplementation(
            description="The portal's FHIR R5 read API", url=request.host_url + "fhir"
        ),
        fhirVersion="5.0.0",
        format=["json"],
        rest=[
            CapabilityStatementRest(
                mode="server",
                security=CapabilityStatementRestSecurity(
                    description="OAuth 2.0 bearer tokens: client credentials at /api/v1/token, or a patient's token "
                    "bound to their own record."
                ),
                resource=resources,
            )
        ],
    )
    return _fhir(statement.model_dump_json())


def _paging() -> tuple[int, int] | None:
    """(_count, _offset) from the query, or None when either is not a valid number."""
    count_text = request.args.get("_count", str(DEFAULT_COUNT))
    offset_text = request.args.get("_offset", "0")
    if not (count_text.isdigit() and offset_text.isdigit()) or len(count_text) > 6 or len(offset_text) > 9:
        return None
    count, offset = int(count_text), int(offset_text)
    if not 1 <= count <= MAX_COUNT:
        return None
    return count, offset


@fhir_bp.get("/Patient/<resource_id>/$everything")
@bearer("Patient.read")
def everything(resource_id: str) -> ResponseReturnValue:
    """The patient's whole record as a searchset Bundle, paged by _count and _offset (with a `next` link); an
    organization client gets the types its scopes cover."""
    paging = _paging()
    if paging is None:
        return operation_outcome(400, "invalid", BAD_PAGING.format(max=MAX_COUNT))
    count, offset = paging
    context = current_context()
    with request_transaction() as session:
        patient_id = _owner(session, "Patient", resource_id)
        if patient_id is None:
            return _not_found()
        record = _record_of(session, context, patient_id)
    if record is None:
        return _not_found()
    visible = [resource for resource in record if _may_see_type(context, resource.get_resource_type())]
    base = request.host_url + "fhir"
    here = f"{base}/Patient/{resource_id}/$everything"

    def page(at: int) -> str:
        return f"{here}?_count={count}&_offset={at}"

    links = [BundleLink(relation="self", url=page(offset)), BundleLink(relation="first", url=page(0))]
    if offset > 0:
        links.append(BundleLink(relation="previous", url=page(max(offset - count, 0))))
    if offset + count < len(visible):
        links.append(BundleLink(relation="next", url=page(offset + count)))
    entries = [
        BundleEntry(
            fullUrl=f"{base}/{resource.get_resource_type()}/{resource.id}",
            resource=resource,
            search=BundleEntrySearch(mode="match" if resource.get_resource_type() == "Patient" else "include"),
        )
        for resource in visible[offset : offset + count]
    ]
    bundle = Bundle(type="searchset", total=len(visible), link=links, entry=entries or None)
    return _fhir(bundle.model_dump_json())


def _patient_data_route(resource_type: str) -> None:
    def read(resource_id: str) -> ResponseReturnValue:
        return _read_patient_data(resource_type, resource_id)

    read.__name__ = read.__qualname__ = f"read_{resource_type.lower()}"
    read.__doc__ = f"One {resource_type} of a patient this token may read."
    fhir_bp.add_url_rule(f"/{resource_type}/<resource_id>", view_func=bearer(f"{resource_type}.read")(read))


for _type in PATIENT_DATA_TYPES:
    _patient_data_route(_type)


@fhir_bp.get("/Organization/<resource_id>")
@bearer()
def read_organization(resource_id: str) -> ResponseReturnValue:
    """An organization: readable with any valid token."""
    number = _row_id(resource_id)
    with request_transaction() as session:
        row = session.get(Organization, number) if number is not None else None
        resource = organization(row) if row is not None else None
    return _fhir(resource.model_dump_json()) if resource is not None else _not_found()


@fhir_bp.get("/Practitioner/<resource_id>")
@bearer()
def read_practitioner(resource_id: str) -> ResponseReturnValue:
    """A member of staff, without their PINFL (as in a patient's record): readable with any valid token."""
    number = _row_id(resource_id)
    with request_transaction() as session:
        row = session.get(Cabinet, number) if number is not None else None
        resource = practitioner(row, national_id=False) if row is not None else None
    return _fhir(resource.model_dump_json()) if resource is not None else _not_found()


@fhir_bp.errorhandler(HTTPException)
@fhir_bp.errorhandler(InternalServerError)  # by its code too: the portal's own 500 handler would come first
def _http_error(error: HTTPException) -> Response:
    """An HTTP error inside a FHIR view as an OperationOutcome, not the portal's HTML page (never a traceback)."""
    code = error.code or 500
    return operation_outcome(code, "not-found" if code == 404 else "exception", error.description or error.name)


# The API's addresses: none of them may fall through to the portal's pages.
_API_PREFIXES = ("/fhir/", "/api/v1/")


@fhir_bp.before_app_request
def _unrouted() -> Response | None:
    """A path under /fhir/ or /api/v1/ that matches none of the API's routes never reaches an API view, so no API
    error handler can answer it (and the portal's catch-all page route would, with its HTML and a 200): answer 404
    or 405 here as an OperationOutcome."""
    rule = request.url_rule
    if not request.path.startswith(_API_PREFIXES) or (rule is not None and rule.rule.startswith(_API_PREFIXES)):
        return None
    failed = request.routing_exception
    if isinstance(failed, HTTPException) and failed.code == 405:
        allowed: list[str] | None = getattr(failed, "valid_methods", None)
        headers = {"Allow": ", ".join(sorted(allowed))} if allowed else None
        return operation_outcome(405, "not-supported", failed.description or failed.name, headers)
    if isinstance(failed, HTTPException) and failed.code != 404:
        return None  # a redirect (a trailing slash): let routing answer it
    return operation_outcome(404, "not-found", "There is no API route at this address.")


from api import pharmacy_exchange as _pharmacy_exchange  # noqa: E402, F401  (its routes join fhir_bp)
