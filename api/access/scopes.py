"""The scopes a token can carry, with what each allows; anything else is refused."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from ehealth.errors import ValidationError


class Holder(StrEnum):
    """Who may hold a scope: a patient (their own record) or an organization's system."""

    PATIENT = "patient"
    CLIENT = "client"


# The patient's own record, read-only: the token is bound to one patient and each route keeps to that patient.
PATIENT_OWN_READ = "patient/*.read"

SCOPES: dict[str, tuple[Holder, str]] = {
    PATIENT_OWN_READ: (Holder.PATIENT, "read the signed-in patient's own record (patient tokens only)"),
    "Patient.read": (Holder.CLIENT, "read patients the organization may see"),
    "Practitioner.read": (Holder.CLIENT, "read practitioners"),
    "Organization.read": (Holder.CLIENT, "read organizations"),
    "Encounter.read": (Holder.CLIENT, "read encounters"),
    "Condition.read": (Holder.CLIENT, "read diagnoses"),
    "Observation.read": (Holder.CLIENT, "read observations, laboratory and instrumental results"),
    "DiagnosticReport.read": (Holder.CLIENT, "read diagnostic reports"),
    "AllergyIntolerance.read": (Holder.CLIENT, "read allergies"),
    "Procedure.read": (Holder.CLIENT, "read procedures"),
    "MedicationRequest.read": (Holder.CLIENT, "read prescriptions (a pharmacy: by number and patient PINFL)"),
    "MedicationDispense.read": (Holder.CLIENT, "read dispensings"),
    "MedicationDispense.write": (Holder.CLIENT, "record a dispensing at the client's own pharmacy"),
    "AuditEvent.read": (Holder.CLIENT, "read the audit events of the client's own organization"),
}

UNKNOWN_SCOPE = "Unknown scope: {scope}."
NOT_FOR_HOLDER = "The scope {scope} is not available to {holder} tokens."
TOO_LONG = "Too many scopes requested."
MAX_SCOPE_TEXT = 1000  # the column that stores a token's or client's scopes


def parse(text: str | Iterable[str], holder: Holder | None = None) -> frozenset[str]:
    """The scopes of a space-separated string (RFC 6749 §3.3) or a list; unknown ones, or ones the holder may not
    have, are refused (ValidationError with field "scope")."""
    items = text.split() if isinstance(text, str) else [part for item in text for part in item.split()]
    for scope in items:
        if scope not in SCOPES:
            raise ValidationError(UNKNOWN_SCOPE, field="scope", scope=scope[:80])
        if holder is not None and SCOPES[scope][0] != holder:
            raise ValidationError(NOT_FOR_HOLDER, field="scope", scope=scope, holder=str(holder))
    scopes = frozenset(items)
    if len(render(scopes)) > MAX_SCOPE_TEXT:
        raise ValidationError(TOO_LONG, field="scope")
    return scopes


def render(scopes: Iterable[str]) -> str:
    """The space-separated form, sorted, as stored and as answered in a token response."""
    return " ".join(sorted(set(scopes)))


def satisfies(granted: Iterable[str], required: Iterable[str]) -> bool:
    """True when the granted scopes cover every required one. A patient's own-record scope covers any read scope:
    the route then answers only with that patient's data (the token's context carries the patient)."""
    have = frozenset(granted)
    needed = frozenset(required)
    if needed <= have:
        return True
    return PATIENT_OWN_READ in have and all(scope.endswith(".read") for scope in needed - have)
