"""Translatable names of the domain's codes (roles, statuses, organization kinds)."""

from __future__ import annotations

from ehealth.access.models import (
    CabinetStatus,
    DocumentType,
    NoticeAction,
    NoticeKind,
    RequestStatus,
    ReviewDecision,
    Role,
)
from ehealth.audit.models import Outcome
from ehealth.i18n import N_, gettext
from ehealth.prescription.models import PrescriptionCategory, PrescriptionState
from ehealth.reference.models import Module, OrganizationKind

_LABELS: dict[str, str] = {
    Role.DOCTOR: N_("Doctor"),
    Role.NURSE: N_("Nurse"),
    Role.REGISTRAR: N_("Registrar"),
    Role.PHARMACIST: N_("Pharmacist"),
    Role.MANAGER: N_("Manager"),
    Role.ANALYST: N_("Ministry analyst"),
    Role.ADMIN: N_("Ministry administrator"),
    Role.INTEGRATOR: N_("Integrator (UZINFOCOM)"),
}
_STATUS: dict[str, str] = {
    CabinetStatus.ACTIVE: N_("Active"),
    CabinetStatus.BLOCKED: N_("Blocked"),
    CabinetStatus.ARCHIVED: N_("Archived"),
    CabinetStatus.PURGED: N_("Purged"),
}
_DOCUMENT: dict[str, str] = {DocumentType.PASSPORT: N_("Passport"), DocumentType.ID_CARD: N_("ID card")}
_KIND: dict[str, str] = {
    OrganizationKind.POLYCLINIC: N_("Polyclinic"),
    OrganizationKind.HOSPITAL: N_("Hospital"),
    OrganizationKind.PHARMACY: N_("Pharmacy"),
    OrganizationKind.MINISTRY: N_("Ministry"),
    OrganizationKind.INTEGRATOR: N_("Integrator"),
}

_METHOD: dict[str, str] = {"oneid": "OneID", "eimzo": "E-IMZO"}
_OUTCOME: dict[str, str] = {
    Outcome.SUCCESS: N_("Signed in"),
    Outcome.DENIED: N_("Refused"),
    Outcome.FAILED: N_("Failed"),
}
_MODULE: dict[str, str] = {
    Module.POLYCLINIC: N_("Elektron poliklinika (outpatient)"),
    Module.HOSPITAL: N_("Elektron shifoxona (hospital)"),
    Module.EMR: N_("Elektron tibbiy karta (medical record)"),
    Module.PRESCRIPTION: N_("Elektron retsept (e-prescription)"),
}
_REQUEST_STATUS: dict[str, str] = {
    RequestStatus.RECEIVED: N_("Received"),
    RequestStatus.IN_PROGRESS: N_("In progress"),
    RequestStatus.INSTALLED: N_("Installed"),
    RequestStatus.REJECTED: N_("Rejected"),
}
_NOTICE: dict[str, str] = {
    NoticeKind.TERMINATION: N_("Termination"),
    NoticeKind.TRANSFER: N_("Transfer"),
    NoticeAction.RIGHTS_UPDATED: N_("Rights updated"),
    NoticeAction.BLOCKED_ARCHIVED: N_("Blocked and archived"),
}
_DECISION: dict[str, str] = {
    ReviewDecision.CONFIRMED: N_("Confirmed"),
    ReviewDecision.RIGHTS_CHANGED: N_("Role changed"),
    ReviewDecision.BLOCKED: N_("Blocked"),
}
_PRESCRIPTION_STATE: dict[str, str] = {
    PrescriptionState.ACTIVE: N_("Active"),
    PrescriptionState.PARTIALLY_DISPENSED: N_("Partly dispensed"),
    PrescriptionState.DISPENSED: N_("Dispensed"),
    PrescriptionState.CANCELLED: N_("Cancelled by the doctor"),  # not "Cancelled": that msgid is an appointment's
    PrescriptionState.EXPIRED: N_("Expired"),
}
_PRESCRIPTION_CATEGORY: dict[str, str] = {
    PrescriptionCategory.REGULAR: N_("Regular"),
    PrescriptionCategory.CHRONIC: N_("Chronic"),
    PrescriptionCategory.REIMBURSED: N_("Reimbursed"),
    PrescriptionCategory.CONTROLLED: N_("Controlled"),
}


def role_label(role: str) -> str:
    """The role's name in the current language."""
    return gettext(_LABELS[role]) if role in _LABELS else role


def status_label(status: str) -> str:
    """The cabinet status in the current language."""
    return gettext(_STATUS[status]) if status in _STATUS else status


def document_label(kind: str) -> str:
    """The identity document type in the current language."""
    return gettext(_DOCUMENT[kind]) if kind in _DOCUMENT else kind


def organization_kind_label(kind: str) -> str:
    """The organization kind in the current language."""
    return gettext(_KIND[kind]) if kind in _KIND else kind


def method_label(method: str) -> str:
    """How someone signed in, in the current language (OneID and E-IMZO are names, not translated)."""
    return gettext(_METHOD[method]) if method in _METHOD else method


def outcome_label(outcome: str) -> str:
    """The result of a sign-in attempt in the current language."""
    return gettext(_OUTCOME[outcome]) if outcome in _OUTCOME else outcome


def module_label(module: str) -> str:
    """The module's name in the current language."""
    return gettext(_MODULE[module]) if module in _MODULE else module


def request_status_label(status: str) -> str:
    """Where an installation request stands, in the current language."""
    return gettext(_REQUEST_STATUS[status]) if status in _REQUEST_STATUS else status


def notice_label(code: str) -> str:
    """An employment notice's kind or the action taken on it, in the current language."""
    return gettext(_NOTICE[code]) if code in _NOTICE else code


def decision_label(decision: str) -> str:
    """An inventory review's decision in the current language."""
    return gettext(_DECISION[decision]) if decision in _DECISION else decision


def prescription_state_label(state: str) -> str:
    """Where a prescription stands (active, partly dispensed, ...), in the current language."""
    return gettext(_PRESCRIPTION_STATE[state]) if state in _PRESCRIPTION_STATE else state


def prescription_category_label(category: str) -> str:
    """A prescription's category (regular, chronic, reimbursed, controlled), in the current language."""
    return gettext(_PRESCRIPTION_CATEGORY[category]) if category in _PRESCRIPTION_CATEGORY else category
