"""Elektron shifoxona stays: admit a patient into a bed, move them between beds, discharge them with the outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.audit.trail import Actor, record
from ehealth.clinical import RecordStatus
from ehealth.emr.models import (
    Condition,
    ConditionKind,
    Encounter,
    EncounterKind,
    EncounterState,
    Referral,
    ReferralKind,
    ReferralState,
)
from ehealth.emr.referrals import complete_referral
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.hospital.models import (
    Admission,
    AdmissionType,
    BedAssignment,
    BedMoveReason,
    Discharge,
    DischargeOutcome,
)
from ehealth.i18n import N_
from ehealth.identifiers import TASHKENT, validate_icd10
from ehealth.patients.models import Patient
from ehealth.reference.models import Bed, Department, Organization, OrganizationKind, Ward

# A workstation's clock may run a little ahead of the server's; beyond this a time "from the future" is a typo.
CLOCK_SKEW = timedelta(minutes=5)
REASON_LENGTH = 300  # Encounter.reason
SUMMARY_LENGTH = 20_000  # a long discharge summary fits; a pasted document does not

E = TypeVar("E", bound=StrEnum)


# --- checks shared by the three steps -------------------------------------------------------------------------


def _place(actor: Actor) -> tuple[int, int]:
    """The acting cabinet and its organization; a stay is always recorded by someone of the hospital."""
    if actor.cabinet_id is None or actor.organization_id is None:
        raise DomainError(N_("Only a cabinet of a medical organization can record a hospital stay."))
    return actor.cabinet_id, actor.organization_id


def _moment(value: datetime, field: str, future: str, now: datetime) -> datetime:
    """`value` in UTC, refused when it has no time zone or lies in the future (beyond the clock skew)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(N_("The time must include its time zone."), field=field)
    if value > now + CLOCK_SKEW:
        raise ValidationError(future, field=field)
    return value.astimezone(UTC)


def _local(value: datetime) -> str:
    """A time as the users read it in messages (Tashkent)."""
    return value.astimezone(TASHKENT).strftime("%d.%m.%Y %H:%M")


def _choice(kind: type[E], value: E | str, field: str, message: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise ValidationError(message, field=field) from None


def _icd10(code: str, field: str) -> str:
    try:
        return validate_icd10(code)
    except ValidationError as error:
        error.field = field  # the form's field, not the validator's generic name
        raise


def _text(value: str | None, field: str, limit: int) -> str | None:
    text = " ".join(value.split()) if value else ""
    if len(text) > limit:
        raise ValidationError(N_("The text is too long: at most {limit} characters."), field=field, limit=limit)
    return text or None


def _department(session: Session, department_id: int, organization_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound(N_("The department does not exist."), field="department_id")
    if department.organization_id != organization_id:
        raise ValidationError(N_("The department belongs to another organization."), field="department_id")
    return department


def _free_bed(session: Session, bed_id: int, department: Department | None, organization_id: int) -> tuple[Bed, Ward]:
    """The bed with its ward, checked to be this organization's, in `department` (if given), in service and free."""
    found = session.execute(
        select(Bed, Ward, Department)
        .join(Ward, Ward.id == Bed.ward_id)
        .join(Department, Department.id == Ward.department_id)
        .where(Bed.id == bed_id)
    ).one_or_none()
    if found is None:
        raise NotFound(N_("The bed does not exist."), field="bed_id")
    bed, ward, owner = found
    if {bed.organization_id, ward.organization_id, owner.organization_id} != {organization_id}:
        raise ValidationError(N_("Bed {bed} belongs to another organization."), field="bed_id", bed=bed.code)
    if department is not None and owner.id != department.id:
        raise ValidationError(
            N_("Bed {bed} of ward {ward} is not in the department {department}."),
            field="bed_id",
            bed=bed.code,
            ward=ward.name,
            department=department.name,
        )
    if not bed.is_active:
        raise ValidationError(
            N_("Bed {bed} of ward {ward} is out of service."), field="bed_id", bed=bed.code, ward=ward.name
        )
    taken = select(BedAssignment.id).where(
        BedAssignment.bed_id == bed.id,
        BedAssignment.ended_at.is_(None),
        BedAssignment.status == RecordStatus.ACTIVE,
    )
    # Two people taking the same bed at once both pass this check; the partial unique index refuses the second
    # at flush (ConstraintViolation "This bed is occupied.").
    if session.execute(select(exists(taken))).scalar():
        raise ValidationError(N_("Bed {bed} of ward {ward} is occupied."), field="bed_id", bed=bed.code, ward=ward.name)
    return bed, ward


def _live_stay(session: Session, admission_id: int, organization_id: int) -> Admission:
    """The admission, locked, still open, at the actor's organization (another's stay is not visible)."""
    admission = session.get(Admission, admission_id, with_for_update=True)
    if admission is None or admission.organization_id != organization_id:
        raise NotFound(N_("The hospital stay does not exist."), field="admission_id")
    if admission.status != RecordStatus.ACTIVE:
        raise DomainError(N_("This stay was marked as entered in error and cannot be changed."), field="admission_id")
    discharged = select(Discharge.id).where(
        Discharge.admission_id == admission.id, Discharge.status == RecordStatus.ACTIVE
    )
    if session.execute(select(exists(discharged))).scalar():
        raise DomainError(N_("This stay has already been discharged."), field="admission_id")
    return admission


def _current_bed(session: Session, admission: Admission) -> BedAssignment:
    current = session.execute(
        select(BedAssignment).where(
            BedAssignment.admission_id == admission.id,
            BedAssignment.ended_at.is_(None),
            BedAssignment.status == RecordStatus.ACTIVE,
        )
    ).scalar_one_or_none()
    if current is None:
        raise DomainError(N_("This stay has no current bed."), field="admission_id")
    return current


# --- admission ------------------------------------------------------------------------------------------------


def _open_stay_exists(session: Session, patient_id: int, organization_id: int) -> bool:
    discharged = select(Discharge.id).where(
        Discharge.admission_id == Admission.id, Discharge.status == RecordStatus.ACTIVE
    )
    query = select(Admission.id).where(
        Admission.patient_id == patient_id,
        Admission.organization_id == organization_id,
        Admission.status == RecordStatus.ACTIVE,
        ~exists(discharged),
    )
    return bool(session.execute(select(exists(query))).scalar())


def _hospital_referral(session: Session, referral_id: int, patient_id: int, admitted_at: datetime) -> Referral:
    """The issued hospital referral of this patient that the admission answers (locked: one stay completes it)."""
    referral = session.get(Referral, referral_id, with_for_update=True)
    if referral is None:
        raise NotFound(N_("The referral does not exist."), field="referral_id")
    if referral.patient_id != patient_id:
        raise ValidationError(N_("This referral is for another patient."), field="referral_id")
    if referral.kind != ReferralKind.HOSPITAL:
        raise ValidationError(N_("This is not a referral to hospital."), field="referral_id")
    # Checked here as well as when it is completed: nothing of the stay is written for a referral already used.
    if referral.status != RecordStatus.ACTIVE:
        raise ValidationError(N_("This referral was withdrawn as entered in error."), field="referral_id")
    if referral.state == ReferralState.COMPLETED:
        raise ValidationError(N_("This referral has already been completed."), field="referral_id")
    if referral.state == ReferralState.CANCELLED:
        raise ValidationError(N_("This referral was cancelled."), field="referral_id")
    if referral.issued_at > admitted_at:
        raise ValidationError(N_("The referral was issued after the admission time."), field="referral_id")
    return referral


def admit(
    session: Session,
    *,
    patient_id: int,
    department_id: int,
    bed_id: int,
    admission_type: AdmissionType | str,
    admitted_at: datetime,
    icd10_code: str,
    actor: Actor,
    referral_id: int | None = None,
    reason: str | None = None,
) -> Admission:
    """Open an inpatient stay: its encounter, the admission with its diagnosis, and the first bed."""
    cabinet_id, organization_id = _place(actor)
    when = _moment(admitted_at, "admitted_at", N_("The admission time cannot be in the future."), utcnow())
    kind = _choice(AdmissionType, admission_type, "admission_type", N_("Choose how the patient came in."))
    code = _icd10(icd10_code, "icd10_code")
    text = _text(reason, "reason", REASON_LENGTH)
    # Locking the patient serialises two admissions of one person (no index can say "one open stay").
    patient = session.get(Patient, patient_id, with_for_update=True)
    if patient is None:
        raise NotFound(N_("The patient does not exist."), field="patient_id")
    if patient.merged_into_id is not None:
        raise ValidationError(
            N_("This patient record was merged into another; use the surviving record."), field="patient_id"
        )
    department = _department(session, department_id, organization_id)
    bed, _ward = _free_bed(session, bed_id, department, organization_id)
    if _open_stay_exists(session, patient.id, organization_id):
        raise ValidationError(
            N_("The patient is already in this hospital; transfer or discharge that stay first."), field="patient_id"
        )
    referral = _hospital_referral(session, referral_id, patient.id, when) if referral_id is not None else None

    common = {"patient_id": patient.id, "organization_id": organization_id, "created_by": cabinet_id}
    encounter = Encounter(
        **common,
        kind=EncounterKind.INPATIENT,
        state=EncounterState.OPEN,
        department_id=department.id,
        practitioner_id=cabinet_id,
        started_at=when,
        reason=text,
    )
    session.add(encounter)
    flush(session)
    admission = Admission(
        **common,
        encounter_id=encounter.id,
        department_id=department.id,
        admitted_at=when,
        admission_type=kind,
        referral_id=referral.id if referral is not None else None,
        icd10_code=code,
    )
    session.add(admission)
    flush(session)
    session.add(
        BedAssignment(
            **common,
            encounter_id=encounter.id,
            admission_id=admission.id,
            department_id=department.id,
            bed_id=bed.id,
            reason=BedMoveReason.ADMISSION,
            started_at=when,
        )
    )
    flush(session)
    if referral is not None:
        complete_referral(session, referral.id, completed_encounter_id=encounter.id, patient_id=patient.id, actor=actor)
    record(session, actor, "hospital.admitted", patient_id=patient.id, object_type="admission", object_id=admission.id)
    return admission


# --- transfer between beds ------------------------------------------------------------------------------------


def transfer(
    session: Session,
    *,
    admission_id: int,
    bed_id: int,
    department_id: int | None = None,
    moved_at: datetime,
    reason: BedMoveReason | str = BedMoveReason.TRANSFER,
    actor: Actor,
) -> BedAssignment:
    """Move an admitted patient to another bed (in another department if given): the old bed is freed then."""
    cabinet_id, organization_id = _place(actor)
    when = _moment(moved_at, "moved_at", N_("The transfer time cannot be in the future."), utcnow())
    why = _choice(BedMoveReason, reason, "reason", N_("Choose why the patient is moved."))
    if why == BedMoveReason.ADMISSION:
        raise ValidationError(N_("Choose why the patient is moved."), field="reason")
    admission = _live_stay(session, admission_id, organization_id)
    current = _current_bed(session, admission)
    if when < current.started_at:
        raise ValidationError(
            N_("The transfer cannot be before the patient took the current bed ({since})."),
            field="moved_at",
            since=_local(current.started_at),
        )
    if bed_id == current.bed_id:
        raise ValidationError(N_("The patient is already in this bed."), field="bed_id")
    department = _department(session, department_id, organization_id) if department_id is not None else None
    bed, ward = _free_bed(session, bed_id, department, organization_id)

    current.ended_at = when
    flush(session)  # free the old bed first: one open bed per stay is an index too
    assignment = BedAssignment(
        patient_id=admission.patient_id,
        organization_id=organization_id,
        created_by=cabinet_id,
        encounter_id=admission.encounter_id,
        admission_id=admission.id,
        department_id=ward.department_id,
        bed_id=bed.id,
        reason=why,
        started_at=when,
    )
    session.add(assignment)
    flush(session)
    record(
        session,
        actor,
        "hospital.transferred",
        patient_id=admission.patient_id,
        object_type="bed_assignment",
        object_id=assignment.id,
    )
    return assignment


# --- discharge ------------------------------------------------------------------------------------------------


def _transferred_to(session: Session, outcome: DischargeOutcome, target_id: int | None, organization_id: int) -> None:
    if outcome != DischargeOutcome.TRANSFERRED:
        if target_id is not None:
            raise ValidationError(
                N_("Name another organization only when the patient was transferred."), field="transferred_to_id"
            )
        return
    if target_id is None:
        raise ValidationError(N_("Name the hospital the patient was transferred to."), field="transferred_to_id")
    target = session.get(Organization, target_id)
    if target is None:
        raise NotFound(N_("The organization does not exist."), field="transferred_to_id")
    if target.id == organization_id:
        raise ValidationError(N_("A transfer goes to another hospital, not this one."), field="transferred_to_id")
    if target.kind != OrganizationKind.HOSPITAL:
        raise ValidationError(N_("A patient is transferred to another hospital."), field="transferred_to_id")


def discharge(
    session: Session,
    *,
    admission_id: int,
    discharged_at: datetime,
    outcome: DischargeOutcome | str,
    final_icd10: str,
    summary: str,
    actor: Actor,
    transferred_to_id: int | None = None,
) -> Discharge:
    """End a stay: final diagnosis with the summary, outcome, the bed freed and the encounter closed."""
    cabinet_id, organization_id = _place(actor)
    when = _moment(discharged_at, "discharged_at", N_("The discharge time cannot be in the future."), utcnow())
    result = _choice(DischargeOutcome, outcome, "outcome", N_("Choose the outcome of the stay."))
    code = _icd10(final_icd10, "final_icd10")
    text = (summary or "").strip()
    if not text:
        raise ValidationError(N_("Write the discharge summary."), field="summary")
    if len(text) > SUMMARY_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field="summary", limit=SUMMARY_LENGTH
        )
    admission = _live_stay(session, admission_id, organization_id)
    _transferred_to(session, result, transferred_to_id, organization_id)
    if when < admission.admitted_at:
        raise ValidationError(
            N_("The discharge cannot be before the admission ({admitted})."),
            field="discharged_at",
            admitted=_local(admission.admitted_at),
        )
    last_move = session.execute(
        select(func.max(BedAssignment.started_at)).where(
            BedAssignment.admission_id == admission.id, BedAssignment.status == RecordStatus.ACTIVE
        )
    ).scalar_one_or_none()
    if last_move is not None and when < last_move:
        raise ValidationError(
            N_("The discharge cannot be before the patient's last move to a bed ({moved})."),
            field="discharged_at",
            moved=_local(last_move),
        )
    encounter = session.get(Encounter, admission.encounter_id, with_for_update=True)
    assert encounter is not None  # the foreign key guarantees it

    common = {
        "patient_id": admission.patient_id,
        "organization_id": organization_id,
        "created_by": cabinet_id,
        "encounter_id": encounter.id,
    }
    # The schema has no column for the summary: it is the note of the final diagnosis it concludes.
    session.add(Condition(**common, icd10_code=code, kind=ConditionKind.FINAL, recorded_at=when, note=text))
    row = Discharge(
        **common,
        admission_id=admission.id,
        discharged_at=when,
        outcome=result,
        icd10_code=code,
        transferred_to_id=transferred_to_id,
    )
    session.add(row)
    for assignment in session.execute(
        select(BedAssignment).where(
            BedAssignment.admission_id == admission.id,
            BedAssignment.ended_at.is_(None),
            BedAssignment.status == RecordStatus.ACTIVE,
        )
    ).scalars():
        assignment.ended_at = when
    encounter.state, encounter.ended_at = EncounterState.CLOSED, when
    flush(session)
    record(
        session,
        actor,
        "hospital.discharged",
        patient_id=admission.patient_id,
        object_type="discharge",
        object_id=row.id,
    )
    return row


# --- reads for the forms ----------------------------------------------------------------------------------------

HOSPITAL_SEARCH_LIMIT = 20


def transfer_hospitals(
    session: Session, organization_id: int, typed: str, *, limit: int = HOSPITAL_SEARCH_LIMIT
) -> list[tuple[int, str]]:
    """Working hospitals other than this one whose name (Uzbek or Russian) contains `typed`: where to transfer to."""
    words = " ".join(typed.split())
    if not words:
        return []
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    query = (
        select(Organization.id, Organization.name)
        .where(
            Organization.kind == OrganizationKind.HOSPITAL,
            Organization.is_active.is_(True),
            Organization.id != organization_id,
            Organization.name.ilike(pattern, escape="\\") | Organization.name_ru.ilike(pattern, escape="\\"),
        )
        .order_by(Organization.name, Organization.id)
        .limit(limit)
    )
    return [(row_id, name) for row_id, name in session.execute(query)]
