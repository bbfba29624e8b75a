"""AuditEvent (UZ Core AuditEvent) from the portal's audit trail: who did what to whose record."""

from __future__ import annotations

from fhir.resources.auditevent import (
    AuditEvent as FhirAuditEvent,
)
from fhir.resources.auditevent import (
    AuditEventAgent,
    AuditEventEntity,
    AuditEventOutcome,
    AuditEventSource,
)
from fhir.resources.codeableconcept import CodeableConcept
from fhir.resources.reference import Reference

from api.fhir.common import coding, concept, meta, ref, text_concept
from api.fhir.identifiers import (
    DICOM_DCM,
    EXTRA_SECURITY_ROLE_TYPE,
    ISSUE_SEVERITY,
    RESTFUL_INTERACTION,
    SECURITY_SOURCE_TYPE,
    V3_ACT_REASON,
)
from ehealth.audit.models import AuditEvent, Outcome

# The outcome as the IG's examples code it (issue-severity, bound by AuditEventOutcomeVS): a refusal and a
# failure are both errors; the trail's detail says which.
OUTCOME: dict[Outcome, str] = {Outcome.SUCCESS: "success", Outcome.DENIED: "error", Outcome.FAILED: "error"}
# The trail names an action "<object>.<what happened>"; the last word says which CRUDE action it was
# (http://hl7.org/fhir/audit-event-action). Anything not listed is E (execute), e.g. a sign-in.
ACTION: dict[str, str] = {
    "issued": "C",
    "created": "C",
    "recorded": "C",
    "registered": "C",
    "viewed": "R",
    "opened": "R",
    "looked_up": "R",
    "listed": "R",
    "open_listed": "R",
    "searched": "R",
    "downloaded": "R",
    "exported": "R",
    "updated": "U",
    "corrected": "U",
    "cancelled": "U",
    "completed": "U",
    "dispensed": "U",
    "expired": "U",
    "merged": "U",
    "withdrawn": "D",
    "deleted": "D",
}
# DICOM audit event IDs (DCM), bound by the IG's AuditEventTypeVS: reading a record is a query; sign-ins are user
# authentication; everything else touches the patient record.
# The event's code as the IG's example codes a read (restful-interaction), by its CRUDE action; the trail's own
# action name goes in code.text.
INTERACTION: dict[str, str] = {"C": "create", "R": "read", "U": "update", "D": "delete", "E": "operation"}
QUERY, AUTHENTICATION, PATIENT_RECORD = (
    ("110112", "Query"),
    ("110114", "User Authentication"),
    ("110110", "Patient Record"),
)
# The trail's object types that are FHIR resources of this package, so that entity.what is a real reference.
RESOURCE_OF: dict[str, str] = {
    "patient": "Patient",
    "encounter": "Encounter",
    "condition": "Condition",
    "allergy": "AllergyIntolerance",
    "prescription_item": "MedicationRequest",
    "dispense": "MedicationDispense",
    "organization": "Organization",
    "cabinet": "Practitioner",
}
PORTAL = "Elektron sog'liqni saqlash portali"


def action_code(action: str) -> str:
    """The CRUDE code of one of the trail's action names."""
    return ACTION.get(action.rsplit(".", 1)[-1], "E")


def _category(action: str) -> tuple[str, str]:
    if action.startswith(("auth.", "signin", "login")):
        return AUTHENTICATION
    return QUERY if action_code(action) == "R" else PATIENT_RECORD


def audit_event(row: AuditEvent) -> FhirAuditEvent:
    """One audit event; an emergency access (break-the-glass) carries the ETREAT purpose of use."""
    code, display = _category(row.action)
    crude = action_code(row.action)
    emergency = "emergency" in row.action
    purpose = concept(V3_ACT_REASON, "ETREAT", "Emergency Treatment") if emergency else None
    agent = AuditEventAgent(
        type=concept(EXTRA_SECURITY_ROLE_TYPE, "humanuser", "human user"),
        # The portal's role names are not the IG's security role codes: the role is said in the display only.
        who=Reference(reference=f"Practitioner/{row.actor_id}", display=row.actor_role)
        if row.actor_id is not None
        else Reference(display="anonymous"),
        requestor=True,
        networkString=row.source_ip,
        authorization=[purpose] if purpose is not None else None,
    )
    what: Reference | None = None
    if row.object_type is not None and row.object_id is not None:
        kind = RESOURCE_OF.get(row.object_type)
        what = ref(kind, row.object_id) if kind else Reference(display=f"{row.object_type} {row.object_id}")
    return FhirAuditEvent(
        id=str(row.id),
        meta=meta("AuditEvent"),
        category=[concept(DICOM_DCM, code, display)],
        code=CodeableConcept(coding=[coding(RESTFUL_INTERACTION, INTERACTION[crude])], text=row.action),
        action=crude,
        occurredDateTime=row.at,
        recorded=row.at,
        outcome=AuditEventOutcome(
            code=coding(ISSUE_SEVERITY, OUTCOME[row.outcome]),
            detail=[text_concept(row.detail)] if row.detail else None,
        ),
        patient=ref("Patient", row.patient_id) if row.patient_id is not None else None,
        agent=[agent],
        source=AuditEventSource(
            observer=Reference(display=PORTAL),
            site=ref("Organization", row.organization_id) if row.organization_id is not None else None,
            type=[concept(SECURITY_SOURCE_TYPE, "4", "Application Server")],
        ),
        entity=[AuditEventEntity(what=what)] if what is not None else None,
    )
