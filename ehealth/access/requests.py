"""Installation requests (R-2, R-3): filed with every clause-2 field per person, due in 15 working days, approved
into cabinets or rejected with a reason."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import flush
from ehealth.access.models import (
    CLINICAL_ROLES,
    Cabinet,
    DocumentType,
    InstallationRequest,
    RequestedUser,
    RequestStatus,
    Role,
)
from ehealth.audit.trail import Actor, record
from ehealth.calendar import installation_due, working_days_between
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.identifiers import split_document, validate_email, validate_person_name, validate_pinfl
from ehealth.reference.models import Module, Organization, OrganizationKind, OrganizationModule

# Who an organization may ask access for: the module users of clause 6 and the organization's own manager.
REQUESTABLE_ROLES = CLINICAL_ROLES | {Role.MANAGER}
# Which modules each kind of organization may have installed.
MODULES_BY_KIND: dict[OrganizationKind, frozenset[Module]] = {
    OrganizationKind.POLYCLINIC: frozenset({Module.POLYCLINIC, Module.EMR, Module.PRESCRIPTION}),
    OrganizationKind.HOSPITAL: frozenset({Module.HOSPITAL, Module.EMR, Module.PRESCRIPTION}),
    OrganizationKind.PHARMACY: frozenset({Module.PRESCRIPTION}),
}


@dataclass(frozen=True)
class PersonEntry:
    """One person as typed into the request (or read from its Excel sheet), not yet validated."""

    surname: str
    given_name: str
    patronymic: str
    position: str
    department_name: str
    document_type: str
    document: str  # series and number, e.g. "AA1234567"
    pinfl: str
    email: str
    role: str


class RequestInvalid(DomainError):
    """The request was not saved: `errors` maps each row (0-based) to its fields' errors; `general` the rest."""

    def __init__(self, errors: dict[int, dict[str, ValidationError]], general: list[ValidationError]) -> None:
        count = sum(len(fields) for fields in errors.values()) + len(general)
        super().__init__(
            N_("The request has {count} errors and was not saved; correct them and send it again."), count=count
        )
        self.errors = errors
        self.general = general


def _required(value: str, field_name: str, message: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise ValidationError(message, field=field_name)
    return text


def _check_person(entry: PersonEntry, kind: OrganizationKind) -> tuple[dict[str, object], dict[str, ValidationError]]:
    """The clean values of one person and the error of each field that is wrong."""
    clean: dict[str, object] = {}
    errors: dict[str, ValidationError] = {}
    checks: dict[str, Callable[[], object]] = {
        "surname": lambda: validate_person_name(entry.surname, "surname"),
        "given_name": lambda: validate_person_name(entry.given_name, "given_name"),
        "patronymic": lambda: validate_person_name(entry.patronymic, "patronymic"),
        "position": lambda: _required(entry.position, "position", N_("Position is required")),
        "department_name": lambda: _required(entry.department_name, "department_name", N_("Department is required")),
        "document_type": lambda: _document_type(entry.document_type),
        "document_series": lambda: split_document(entry.document)[0],
        "document_number": lambda: split_document(entry.document)[1],
        "pinfl": lambda: validate_pinfl(entry.pinfl),
        "email": lambda: validate_email(entry.email),
        "role": lambda: _role(entry.role, kind),
    }
    for name, check in checks.items():
        try:
            clean[name] = check()
        except ValidationError as error:
            # One document, one message: the series and the number are a single field on the form.
            errors["document" if name.startswith("document_") and name != "document_type" else name] = error
    return clean, errors


def _document_type(value: str) -> DocumentType:
    try:
        return DocumentType(value)
    except ValueError:
        raise ValidationError(N_("Choose the identity document: passport or ID card"), field="document_type") from None


def _role(value: str, kind: OrganizationKind) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role not in REQUESTABLE_ROLES:
        raise ValidationError(N_("Choose a role this organization's staff may have"), field="role")
    if kind == OrganizationKind.PHARMACY and role not in (Role.PHARMACIST, Role.MANAGER):
        raise ValidationError(N_("A pharmacy may ask access only for pharmacists and its manager"), field="role")
    return role


def file_request(
    session: Session,
    *,
    organization_id: int,
    modules: list[str],
    people: list[PersonEntry],
    letter_number: str,
    contact_name: str,
    contact_phone: str,
    received_on: date,
    author: Actor,
    week_days: int = 5,
) -> InstallationRequest:
    """Record an organization's request; every row checked, and nothing saved unless all of it is right (R-2)."""
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(N_("The organization does not exist."))
    kind = OrganizationKind(organization.kind)
    errors_by_row: dict[int, dict[str, ValidationError]] = {}
    general: list[ValidationError] = []
    allowed = MODULES_BY_KIND.get(kind, frozenset())
    wanted = sorted(set(modules))
    if not wanted:
        general.append(ValidationError(N_("Choose at least one module"), field="modules"))
    elif any(module not in allowed for module in wanted):
        general.append(ValidationError(N_("This kind of organization cannot have these modules"), field="modules"))
    if not people:
        general.append(ValidationError(N_("List at least one person to be given access"), field="people"))
    for name, value in (
        ("letter_number", letter_number),
        ("contact_name", contact_name),
        ("contact_phone", contact_phone),
    ):
        if not value.strip():
            general.append(ValidationError(N_("This field is required"), field=name))
    rows: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(people):
        clean, errors = _check_person(entry, kind)
        pinfl = clean.get("pinfl")
        if isinstance(pinfl, str):
            if pinfl in seen:
                errors["pinfl"] = ValidationError(
                    N_("This PINFL is already in row {row} of the request"), field="pinfl", row=seen[pinfl] + 1
                )
            seen.setdefault(pinfl, index)
        if errors:
            errors_by_row[index] = errors
        rows.append(clean)
    if errors_by_row or general:
        raise RequestInvalid(errors_by_row, general)

    request = InstallationRequest(
        number=uuid.uuid4().hex[:20],  # replaced below by the human-readable number derived from the id
        organization_id=organization_id,
        modules=wanted,
        letter_number=letter_number.strip(),
        received_on=received_on,
        due_on=installation_due(received_on, week_days=week_days),
        status=RequestStatus.RECEIVED,
        contact_name=" ".join(contact_name.split()),
        contact_phone=contact_phone.strip(),
        created_by=author.cabinet_id,
    )
    session.add(request)
    flush(session)
    request.number = f"IR-{received_on.year}-{request.id:06d}"  # IR: installation request, as the demo numbers them
    for row in rows:
        session.add(RequestedUser(request_id=request.id, organization_id=organization_id, **row))
    flush(session)
    record(session, author, "installation_request.filed", object_type="installation_request", object_id=request.id)
    return request


def _open_request(session: Session, request_id: int) -> InstallationRequest:
    request = session.get(InstallationRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(N_("The installation request does not exist."))
    if request.status not in (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS):
        raise DomainError(N_("This request has already been decided."))
    return request


def approve(session: Session, request_id: int, *, admin: Actor, on: date) -> list[Cabinet]:
    """Install the modules and open a cabinet for every person of the request, with the role asked for."""
    request = _open_request(session, request_id)
    cabinets: list[Cabinet] = []
    for person in people_of(session, request.id):
        cabinet = Cabinet(
            id_number=uuid.uuid4().hex[:16],  # replaced below by the ID number derived from the id
            organization_id=request.organization_id,
            **{name: getattr(person, name) for name in _PERSON_FIELDS},
        )
        session.add(cabinet)
        flush(session)  # a live cabinet of the same person and role refuses the whole approval here
        cabinet.id_number = f"U{cabinet.id:08d}"
        person.cabinet_id = cabinet.id
        cabinets.append(cabinet)
        record(session, admin, "cabinet.created", object_type="cabinet", object_id=cabinet.id)
    installed = set(
        session.execute(
            select(OrganizationModule.module).where(OrganizationModule.organization_id == request.organization_id)
        ).scalars()
    )
    for module in request.modules:
        if module not in installed:
            session.add(OrganizationModule(organization_id=request.organization_id, module=Module(module)))
    request.status = RequestStatus.INSTALLED
    request.installed_on = on
    flush(session)
    record(session, admin, "installation_request.approved", object_type="installation_request", object_id=request.id)
    return cabinets


def reject(session: Session, request_id: int, *, admin: Actor, reason: str) -> InstallationRequest:
    """Refuse the request, saying why (the organization sees the reason)."""
    text = " ".join(reason.split())
    if not text:
        raise ValidationError(N_("Give the reason for rejecting the request"), field="reason")
    request = _open_request(session, request_id)
    request.status = RequestStatus.REJECTED
    request.rejection_reason = text
    flush(session)
    record(session, admin, "installation_request.rejected", object_type="installation_request", object_id=request.id)
    return request


@dataclass(frozen=True)
class QueueEntry:
    """An open request as the ministry's queue shows it."""

    request: InstallationRequest
    organization: str
    working_days_left: int  # negative: that many working days overdue

    @property
    def overdue(self) -> bool:
        """Past its due date (R-3)."""
        return self.working_days_left < 0


def queue(session: Session, today: date, *, week_days: int = 5) -> list[QueueEntry]:
    """Open requests, overdue first, then by due date (R-3)."""
    rows = session.execute(
        select(InstallationRequest, Organization.name)
        .join(Organization, Organization.id == InstallationRequest.organization_id)
        .where(InstallationRequest.status.in_([RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS]))
        .order_by(InstallationRequest.due_on, InstallationRequest.id)
    ).all()
    entries = []
    for request, name in rows:
        if request.due_on >= today:
            left = working_days_between(today, request.due_on, week_days=week_days)
        else:
            left = -working_days_between(request.due_on, today, week_days=week_days) or -1
        entries.append(QueueEntry(request, name, left))
    return entries


def requests_of(session: Session, organization_id: int, limit: int = 50) -> list[InstallationRequest]:
    """An organization's own requests, newest first (what its manager sees)."""
    return list(
        session.execute(
            select(InstallationRequest)
            .where(InstallationRequest.organization_id == organization_id)
            .order_by(InstallationRequest.id.desc())
            .limit(limit)
        ).scalars()
    )


def people_of(session: Session, request_id: int) -> list[RequestedUser]:
    """The people a request names, in the order they were listed."""
    return list(
        session.execute(
            select(RequestedUser).where(RequestedUser.request_id == request_id).order_by(RequestedUser.id)
        ).scalars()
    )


_PERSON_FIELDS = (
    "surname",
    "given_name",
    "patronymic",
    "position",
    "department_name",
    "document_type",
    "document_series",
    "document_number",
    "pinfl",
    "email",
    "role",
)
