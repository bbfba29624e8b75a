"""Referrals: issued in an open visit to the laboratory, a study, a hospital or a consultant; answered or cancelled."""

from __future__ import annotations

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet, CabinetStatus, Role
from ehealth.audit.trail import Actor, record
from ehealth.clinical import RecordStatus
from ehealth.emr.models import Encounter, EncounterState, Referral, ReferralKind, ReferralState
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.identifiers import validate_icd10
from ehealth.patients.models import Patient
from ehealth.reference.models import Organization, OrganizationKind

REASON_LENGTH = 300  # Referral.reason
TARGET_LIMIT = 50  # organizations offered at once: the doctor types more of the name to narrow them
OPEN_LIMIT = 200  # a patient's open referrals fit many times over; bounds the query all the same
# Where a patient can be sent: a lab, study or consultant works inside a polyclinic or a hospital.
_TARGET_KINDS = frozenset({OrganizationKind.POLYCLINIC, OrganizationKind.HOSPITAL})
_ALREADY: dict[ReferralState, str] = {
    ReferralState.COMPLETED: N_("This referral has already been completed."),
    ReferralState.CANCELLED: N_("This referral was cancelled."),
}


def _doctor(session: Session, actor: Actor) -> Cabinet:
    """The actor's cabinet if it is an active doctor's of the actor's organization."""
    cabinet = None if actor.cabinet_id is None else session.get(Cabinet, actor.cabinet_id)
    if (
        cabinet is None
        or cabinet.status != CabinetStatus.ACTIVE
        or cabinet.role != Role.DOCTOR
        or actor.organization_id is None
        or cabinet.organization_id != actor.organization_id
    ):
        raise DomainError(N_("Only a doctor of this organization can issue or cancel its referrals."))
    return cabinet


def _kind(value: ReferralKind | str) -> ReferralKind:
    try:
        return ReferralKind(value)
    except ValueError:
        raise ValidationError(
            N_("Choose the kind of referral: laboratory, instrumental study, hospital or consultation."), field="kind"
        ) from None


def _reason(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise ValidationError(N_("Give the reason for the referral."), field="reason")
    if len(text) > REASON_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field="reason", limit=REASON_LENGTH
        )
    return text


def _icd10(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return validate_icd10(value)
    except ValidationError as error:
        # The validator names its field "icd10"; here the form's field is the argument's name.
        raise ValidationError(error.msgid, field="icd10_code", **error.params) from None


def _target(session: Session, kind: ReferralKind, target_id: int | None) -> int | None:
    if target_id is None:
        if kind == ReferralKind.HOSPITAL:
            raise ValidationError(N_("Choose the hospital the patient is referred to."), field="target_organization_id")
        return None
    target = session.get(Organization, target_id)
    if target is None or not target.is_active:
        raise ValidationError(
            N_("The organization referred to does not exist or no longer works."), field="target_organization_id"
        )
    if kind == ReferralKind.HOSPITAL and target.kind != OrganizationKind.HOSPITAL:
        raise ValidationError(N_("A hospital referral must go to a hospital."), field="target_organization_id")
    if target.kind not in _TARGET_KINDS:
        raise ValidationError(
            N_("A patient can be referred only to a polyclinic or a hospital."), field="target_organization_id"
        )
    return target.id


def refer(
    session: Session,
    *,
    encounter_id: int,
    kind: ReferralKind | str,
    reason: str,
    icd10_code: str | None = None,
    target_organization_id: int | None = None,
    actor: Actor,
) -> Referral:
    """Issue a referral in an open visit or stay of the doctor's organization."""
    doctor = _doctor(session, actor)
    referral_kind = _kind(kind)
    text = _reason(reason)
    code = _icd10(icd10_code)
    target_id = _target(session, referral_kind, target_organization_id)
    visit = session.get(Encounter, encounter_id)
    if visit is None or visit.organization_id != doctor.organization_id or visit.status != RecordStatus.ACTIVE:
        raise NotFound(N_("The visit does not exist."), field="encounter_id")
    if visit.state != EncounterState.OPEN:
        raise DomainError(N_("This visit is closed; it can no longer be changed."))
    referral = Referral(
        patient_id=visit.patient_id,
        organization_id=visit.organization_id,
        encounter_id=visit.id,
        kind=referral_kind,
        state=ReferralState.ISSUED,
        target_organization_id=target_id,
        icd10_code=code,
        reason=text,
        issued_at=utcnow(),
        created_by=doctor.id,
    )
    session.add(referral)
    flush(session)
    record(
        session, actor, "referral.issued", patient_id=referral.patient_id, object_type="referral", object_id=referral.id
    )
    return referral


def _locked(session: Session, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id, with_for_update=True)
    if referral is None:
        raise NotFound(N_("The referral does not exist."), field="referral_id")
    return referral


def _check_issued(referral: Referral) -> None:
    """Refuse a referral that no longer waits for an answer, saying what became of it."""
    if referral.status != RecordStatus.ACTIVE:
        raise DomainError(N_("This referral was withdrawn as entered in error."))
    if referral.state != ReferralState.ISSUED:
        raise DomainError(_ALREADY[ReferralState(referral.state)])


def cancel_referral(session: Session, referral_id: int, *, actor: Actor) -> Referral:
    """Withdraw an issued referral that is no longer needed (a doctor of the issuing organization)."""
    doctor = _doctor(session, actor)
    referral = _locked(session, referral_id)
    # Another organization's referral is not shown to exist here.
    if referral.organization_id != doctor.organization_id:
        raise NotFound(N_("The referral does not exist."), field="referral_id")
    _check_issued(referral)
    referral.state = ReferralState.CANCELLED
    flush(session)
    record(
        session,
        actor,
        "referral.cancelled",
        patient_id=referral.patient_id,
        object_type="referral",
        object_id=referral.id,
    )
    return referral


def complete_referral(
    session: Session,
    referral_id: int,
    *,
    completed_encounter_id: int | None = None,
    patient_id: int | None = None,
    actor: Actor,
) -> Referral:
    """Mark an issued referral answered (by a result or an admission), in the visit or stay that answered it.

    `patient_id`, when given, is the patient of the answering result or admission and must be the referral's.
    """
    referral = _locked(session, referral_id)
    _check_issued(referral)
    if patient_id is not None and patient_id != referral.patient_id:
        raise DomainError(N_("This referral is for another patient."), field="referral_id")
    if completed_encounter_id is not None:
        answer = session.get(Encounter, completed_encounter_id)
        if answer is None or answer.status != RecordStatus.ACTIVE:
            raise NotFound(N_("The visit does not exist."), field="completed_encounter_id")
        if answer.patient_id != referral.patient_id:
            raise DomainError(N_("This referral is for another patient."), field="referral_id")
    referral.state = ReferralState.COMPLETED
    referral.completed_at = utcnow()
    referral.completed_encounter_id = completed_encounter_id
    flush(session)
    record(
        session,
        actor,
        "referral.completed",
        patient_id=referral.patient_id,
        object_type="referral",
        object_id=referral.id,
    )
    return referral


def open_referrals(
    session: Session, patient_id: int, *, kind: ReferralKind | str | None = None, actor: Actor
) -> list[Referral]:
    """A patient's issued referrals still waiting for an answer, oldest first (what a lab or hospital acts on)."""
    wanted = None if kind is None else _kind(kind)
    if session.get(Patient, patient_id) is None:
        raise NotFound(N_("The patient does not exist."), field="patient_id")
    query = select(Referral).where(
        Referral.patient_id == patient_id,
        Referral.state == ReferralState.ISSUED,
        Referral.status == RecordStatus.ACTIVE,
    )
    if wanted is not None:
        query = query.where(Referral.kind == wanted)
    referrals = list(session.execute(query.order_by(Referral.issued_at, Referral.id).limit(OPEN_LIMIT)).scalars())
    record(session, actor, "referral.open_listed", patient_id=patient_id, object_type="patient", object_id=patient_id)
    return referrals


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def referral_targets(
    session: Session,
    kind: ReferralKind | str,
    *,
    search: str | None = None,
    region_id: int | None = None,
    limit: int = TARGET_LIMIT,
) -> list[Organization]:
    """The working organizations a referral of `kind` may go to (hospitals for a hospital referral, else hospitals
    and polyclinics), whose name has `search` in it; those of `region_id` first, then by name."""
    wanted = _kind(kind)
    kinds = {OrganizationKind.HOSPITAL} if wanted == ReferralKind.HOSPITAL else set(_TARGET_KINDS)
    query = select(Organization).where(Organization.kind.in_(kinds), Organization.is_active.is_(True))
    text = " ".join((search or "").split())
    if text:
        pattern = _like(text)
        query = query.where(
            or_(Organization.name.ilike(pattern, escape="\\"), Organization.name_ru.ilike(pattern, escape="\\"))
        )
    nearest = (case((Organization.region_id == region_id, 0), else_=1),) if region_id is not None else ()
    query = query.order_by(*nearest, Organization.name, Organization.id).limit(max(1, min(limit, TARGET_LIMIT)))
    return list(session.execute(query).scalars())
