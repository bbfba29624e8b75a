"""One patient's medical record as a timeline (R-11, R-13): every organization and module, newest first.

Corrected and withdrawn entries stay on the timeline, marked by their status, so that the history of an entry
shows every version. One query per kind of entry (names joined in), whatever the size of the record.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from ehealth.access.models import Cabinet
from ehealth.audit.trail import Actor, record
from ehealth.calendar import today
from ehealth.clinical import ClinicalRecord, RecordStatus
from ehealth.emr.access import check_read
from ehealth.emr.icd10_search import describe
from ehealth.emr.indicators import RULES, number_text
from ehealth.emr.models import (
    Allergy,
    Condition,
    ConditionKind,
    Encounter,
    EncounterKind,
    EncounterState,
    Flag,
    Indicator,
    InstrumentalResult,
    LabResult,
    Modality,
    Observation,
    Referral,
    ReferralKind,
    ReferralState,
    Severity,
    TreatmentKind,
    TreatmentRecord,
)
from ehealth.errors import ValidationError
from ehealth.hospital.models import Admission, AdmissionType, Discharge, DischargeOutcome
from ehealth.i18n import N_, current_language, gettext
from ehealth.outbox import ClinicalEvent
from ehealth.prescription.lifecycle import state_on
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem, PrescriptionState
from ehealth.reference.models import Department, Drug, Organization

MAX_LIMIT = 5_000  # a record longer than this is read page by page, not at once
SEPARATOR = " · "


class TimelineKind(StrEnum):
    """What a timeline item is."""

    ENCOUNTER = "encounter"
    DIAGNOSIS = "diagnosis"
    INDICATOR = "indicator"
    LAB = "lab"
    INSTRUMENTAL = "instrumental"
    TREATMENT = "treatment"
    ALLERGY = "allergy"
    REFERRAL = "referral"
    ADMISSION = "admission"
    DISCHARGE = "discharge"
    PRESCRIPTION = "prescription"
    DISPENSE = "dispense"


@dataclass(frozen=True)
class TimelineItem:
    """One entry of the record as the timeline shows it, its text in the reader's language."""

    when: datetime
    kind: TimelineKind
    title: str
    detail: str
    organization: str
    author: str  # the full name of the cabinet that made the entry
    encounter_id: int | None
    status: RecordStatus
    id: int  # the entry's id in its own table (history, corrections)
    replaces_id: int | None
    flag: Flag | None = None  # indicators and laboratory results
    organization_id: int | None = None  # the organization that made the entry (only it corrects the entry)
    status_reason: str | None = None  # why a corrected or withdrawn entry was retired


_ENCOUNTER_TITLES = {EncounterKind.OUTPATIENT: N_("Outpatient visit"), EncounterKind.INPATIENT: N_("Inpatient stay")}
_ENCOUNTER_STATES = {EncounterState.OPEN: N_("in progress"), EncounterState.CANCELLED: N_("cancelled")}
_CONDITION_KINDS = {
    ConditionKind.PRELIMINARY: N_("Preliminary diagnosis"),
    ConditionKind.FINAL: N_("Final diagnosis"),
    ConditionKind.COMORBIDITY: N_("Accompanying diagnosis"),
}
_FLAGS = {Flag.NORMAL: N_("normal"), Flag.LOW: N_("low"), Flag.HIGH: N_("high"), Flag.CRITICAL: N_("critical")}
_MODALITIES = {
    Modality.XRAY: N_("X-ray"),
    Modality.ULTRASOUND: N_("Ultrasound"),
    Modality.ECG: N_("ECG"),
    Modality.CT: N_("CT"),
    Modality.MRI: N_("MRI"),
    Modality.ENDOSCOPY: N_("Endoscopy"),
}
_TREATMENT_KINDS = {
    TreatmentKind.PROCEDURE: N_("Procedure"),
    TreatmentKind.MEDICATION: N_("Medication given"),
    TreatmentKind.NOTE: N_("Clinical note"),
}
_SEVERITIES = {Severity.MILD: N_("mild"), Severity.MODERATE: N_("moderate"), Severity.SEVERE: N_("severe")}
_REFERRAL_TITLES = {
    ReferralKind.LAB: N_("Referral to the laboratory"),
    ReferralKind.INSTRUMENTAL: N_("Referral for an instrumental study"),
    ReferralKind.HOSPITAL: N_("Referral to hospital"),
    ReferralKind.CONSULTATION: N_("Referral for a consultation"),
}
_REFERRAL_STATES = {
    ReferralState.ISSUED: N_("issued"),
    ReferralState.COMPLETED: N_("completed"),
    ReferralState.CANCELLED: N_("cancelled"),
}
_ADMISSION_TYPES = {
    AdmissionType.EMERGENCY: N_("emergency admission"),
    AdmissionType.PLANNED: N_("planned admission"),
    AdmissionType.TRANSFER: N_("transferred from another hospital"),
}
_DISCHARGE_OUTCOMES = {
    DischargeOutcome.RECOVERED: N_("recovered"),
    DischargeOutcome.IMPROVED: N_("improved"),
    DischargeOutcome.UNCHANGED: N_("unchanged"),
    DischargeOutcome.WORSENED: N_("worsened"),
    DischargeOutcome.DIED: N_("died"),
    DischargeOutcome.TRANSFERRED: N_("transferred to another hospital"),
}
_PRESCRIPTION_STATES = {
    PrescriptionState.ACTIVE: N_("active"),
    PrescriptionState.PARTIALLY_DISPENSED: N_("partly dispensed"),
    PrescriptionState.DISPENSED: N_("dispensed"),
    PrescriptionState.CANCELLED: N_("cancelled"),
    PrescriptionState.EXPIRED: N_("expired"),
}


def _label(labels: dict[Any, str], value: object) -> str:
    message = labels.get(value)
    return gettext(message) if message else str(value or "")


def _join(*parts: str | None) -> str:
    return SEPARATOR.join(part for part in parts if part)


def _diagnosis(code: str | None) -> str:
    """ "I10 Essential (primary) hypertension" in the reader's language (the code alone if it is not in ICD-10)."""
    return f"{code} {describe(code, current_language())}".strip() if code else ""


def _measured(value: float | None, unit: str | None) -> str:
    return "" if value is None else " ".join(part for part in (number_text(value), unit) if part)


# --- the queries: one per kind of entry -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where one kind of timeline item comes from."""

    kind: TimelineKind
    model: type[ClinicalRecord]
    when: Any  # the column the item is dated by
    item: Callable[[Any, Sequence[Any]], tuple[str, str]]  # (row, extra columns) → (title, detail)
    extras: Callable[[Select[Any]], Select[Any]] | None = None  # adds columns (and their joins) to the query
    flag: bool = False


def _encounter_extras(query: Select[Any]) -> Select[Any]:
    practitioner = aliased(Cabinet)
    return (
        query.add_columns(Department.name, practitioner)
        .outerjoin(Department, Department.id == Encounter.department_id)
        .outerjoin(practitioner, practitioner.id == Encounter.practitioner_id)
    )


def _encounter(row: Encounter, extra: Sequence[Any]) -> tuple[str, str]:
    department, practitioner = extra
    state = _ENCOUNTER_STATES.get(EncounterState(row.state))
    return _label(_ENCOUNTER_TITLES, row.kind), _join(
        gettext(state) if state else None,
        department,
        practitioner.full_name if practitioner is not None else None,
        row.reason,
    )


def _condition(row: Condition, _extra: Sequence[Any]) -> tuple[str, str]:
    onset = (
        gettext(N_("since {date}"), date=row.onset_date.strftime("%d.%m.%Y")) if row.onset_date is not None else None
    )
    return _diagnosis(row.icd10_code), _join(_label(_CONDITION_KINDS, row.kind), onset, row.note)


def _observation(row: Observation, _extra: Sequence[Any]) -> tuple[str, str]:
    rule = RULES.get(Indicator(row.code))
    flag = _label(_FLAGS, row.flag) if row.flag not in (None, Flag.NORMAL) else None
    return gettext(rule.label) if rule else str(row.code), _join(_measured(row.value, row.unit), flag)


def _lab_result(row: LabResult, _extra: Sequence[Any]) -> tuple[str, str]:
    value = _join(_measured(row.value_numeric, row.unit), row.value_text)
    reference = None
    if row.reference_low is not None or row.reference_high is not None:
        low = "" if row.reference_low is None else number_text(row.reference_low)
        high = "" if row.reference_high is None else number_text(row.reference_high)
        reference = gettext(N_("reference {low}-{high}"), low=low, high=high)
    flag = _label(_FLAGS, row.flag) if row.flag not in (None, Flag.NORMAL) else None
    return row.test_name, _join(value, reference, flag)


def _instrumental(row: InstrumentalResult, _extra: Sequence[Any]) -> tuple[str, str]:
    return f"{_label(_MODALITIES, row.modality)}: {row.study}", row.conclusion


def _treatment(row: TreatmentRecord, _extra: Sequence[Any]) -> tuple[str, str]:
    return row.title, _join(_label(_TREATMENT_KINDS, row.kind), row.text)


def _allergy(row: Allergy, _extra: Sequence[Any]) -> tuple[str, str]:
    title = gettext(N_("Allergy: {substance}"), substance=row.substance)
    return title, _join(_label(_SEVERITIES, row.severity), row.reaction)


def _referral_extras(query: Select[Any]) -> Select[Any]:
    target = aliased(Organization)
    return query.add_columns(target.name).outerjoin(target, target.id == Referral.target_organization_id)


def _referral(row: Referral, extra: Sequence[Any]) -> tuple[str, str]:
    (target,) = extra
    return _label(_REFERRAL_TITLES, row.kind), _join(
        _label(_REFERRAL_STATES, row.state), target, _diagnosis(row.icd10_code), row.reason
    )


def _admission_extras(query: Select[Any]) -> Select[Any]:
    return query.add_columns(Department.name).outerjoin(Department, Department.id == Admission.department_id)


def _admission(row: Admission, extra: Sequence[Any]) -> tuple[str, str]:
    (department,) = extra
    return gettext(N_("Admission to hospital")), _join(
        department, _label(_ADMISSION_TYPES, row.admission_type), _diagnosis(row.icd10_code)
    )


def _discharge(row: Discharge, _extra: Sequence[Any]) -> tuple[str, str]:
    return gettext(N_("Discharge from hospital")), _join(
        _label(_DISCHARGE_OUTCOMES, row.outcome), _diagnosis(row.icd10_code)
    )


def _prescription(row: Prescription, extra: Sequence[Any]) -> tuple[str, str]:
    (medicines,) = extra
    title = gettext(N_("Prescription {number}"), number=row.number)
    # A live prescription past valid-until reads as expired even before the periodic sweep marks it.
    state = state_on(row, today())
    return title, _join(_label(_PRESCRIPTION_STATES, state), medicines, _diagnosis(row.icd10_code))


def _dispense_extras(query: Select[Any]) -> Select[Any]:
    return (
        query.add_columns(Prescription.number, PrescriptionItem.inn, Drug.unit)
        .join(Prescription, Prescription.id == Dispense.prescription_id)
        .join(PrescriptionItem, PrescriptionItem.id == Dispense.item_id)
        .join(Drug, Drug.id == Dispense.drug_id)
    )


def _dispense(row: Dispense, extra: Sequence[Any]) -> tuple[str, str]:
    number, inn, unit = extra
    medicine = f"{inn} {row.strength}" + (f" ({row.brand})" if row.brand else "")
    return gettext(N_("Dispensed at the pharmacy")), _join(
        gettext(N_("Prescription {number}"), number=number),
        medicine,
        f"{row.quantity} {unit}",
        gettext(N_("batch {batch}"), batch=row.batch_number),
    )


_SOURCES: tuple[_Source, ...] = (
    _Source(TimelineKind.ENCOUNTER, Encounter, Encounter.started_at, _encounter, _encounter_extras),
    _Source(TimelineKind.DIAGNOSIS, Condition, Condition.recorded_at, _condition),
    _Source(TimelineKind.INDICATOR, Observation, Observation.effective_at, _observation, flag=True),
    _Source(TimelineKind.LAB, LabResult, LabResult.resulted_at, _lab_result, flag=True),
    _Source(TimelineKind.INSTRUMENTAL, InstrumentalResult, InstrumentalResult.performed_at, _instrumental),
    _Source(TimelineKind.TREATMENT, TreatmentRecord, TreatmentRecord.performed_at, _treatment),
    _Source(TimelineKind.ALLERGY, Allergy, Allergy.recorded_at, _allergy),
    _Source(TimelineKind.REFERRAL, Referral, Referral.issued_at, _referral, _referral_extras),
    _Source(TimelineKind.ADMISSION, Admission, Admission.admitted_at, _admission, _admission_extras),
    _Source(TimelineKind.DISCHARGE, Discharge, Discharge.discharged_at, _discharge),
    _Source(TimelineKind.PRESCRIPTION, Prescription, Prescription.issued_at, _prescription),
    _Source(TimelineKind.DISPENSE, Dispense, Dispense.dispensed_at, _dispense, _dispense_extras),
)


def _organization_name(organization: Organization) -> str:
    if current_language() == "ru" and organization.name_ru:
        return organization.name_ru
    return organization.name


def _medicines(session: Session, prescription_ids: Iterable[int]) -> dict[int, str]:
    """ "Amlodipine 5 mg, Metformin 500 mg" per prescription: one query for all of them."""
    ids = list(prescription_ids)
    if not ids:
        return {}
    lines: dict[int, list[str]] = {}
    query = (
        select(PrescriptionItem.prescription_id, PrescriptionItem.inn, PrescriptionItem.strength)
        .where(PrescriptionItem.prescription_id.in_(ids))
        .order_by(PrescriptionItem.prescription_id, PrescriptionItem.line)
    )
    for prescription_id, inn, strength in session.execute(query):
        lines.setdefault(prescription_id, []).append(f"{inn} {strength}")
    return {key: ", ".join(value) for key, value in lines.items()}


def _items(session: Session, source: _Source, patient_id: int, limit: int) -> list[TimelineItem]:
    model: Any = source.model
    author = aliased(Cabinet)
    query = (
        select(model, Organization, author)
        .join(Organization, Organization.id == model.organization_id)
        .outerjoin(author, author.id == model.created_by)
        .where(model.patient_id == patient_id)
        .order_by(source.when.desc(), model.id.desc())
        .limit(limit)
    )
    if source.extras is not None:
        query = source.extras(query)
    rows = [tuple(found) for found in session.execute(query)]
    medicines = _medicines(session, (row[0].id for row in rows)) if model is Prescription else {}
    items = []
    for row, organization, cabinet, *extra in rows:
        title, detail = source.item(row, [medicines.get(row.id, "")] if model is Prescription else extra)
        items.append(
            TimelineItem(
                when=getattr(row, source.when.key),
                kind=source.kind,
                title=title,
                detail=detail,
                organization=_organization_name(organization),
                author=cabinet.full_name if cabinet is not None else "",
                encounter_id=row.id if model is Encounter else getattr(row, "encounter_id", None),
                status=RecordStatus(row.status),
                id=row.id,
                replaces_id=row.replaces_id,
                flag=Flag(row.flag) if source.flag and row.flag is not None else None,
                organization_id=row.organization_id,
                status_reason=row.status_reason,
            )
        )
    return items


def _kinds(kinds: Collection[str] | None) -> set[TimelineKind]:
    if kinds is None:
        return set(TimelineKind)
    try:
        return {TimelineKind(kind) for kind in kinds}
    except ValueError:
        raise ValidationError(N_("Choose what to show from the list."), field="kinds") from None


def timeline(
    session: Session, patient_id: int, *, actor: Actor, kinds: Collection[str] | None = None, limit: int = 500
) -> list[TimelineItem]:
    """The patient's record, newest first: at most `limit` items of the `kinds` asked for (all by default)."""
    wanted = _kinds(kinds)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(N_("Show between 1 and {limit} entries."), field="limit", limit=MAX_LIMIT)
    access = check_read(session, patient_id, actor=actor)
    items: list[TimelineItem] = []
    for source in _SOURCES:
        if source.kind in wanted:
            items.extend(_items(session, source, patient_id, limit))
    items.sort(key=lambda item: (item.when, item.id), reverse=True)
    record(
        session,
        actor,
        "emr.record.read",
        patient_id=patient_id,
        object_type="patient",
        object_id=patient_id,
        detail=f"timeline; basis: {access.basis}",
    )
    return items[:limit]


# --- what the record page reads besides the timeline -----------------------------------------------------------

# The entries corrected through ehealth.emr.corrections, and how the timeline words them.
_ENTRY_TEXT: dict[type[ClinicalRecord], Callable[[Any, Sequence[Any]], tuple[str, str]]] = {
    source.model: source.item
    for source in _SOURCES
    if source.model in (Condition, Observation, LabResult, InstrumentalResult, TreatmentRecord, Allergy)
}


def entry_text(row: ClinicalRecord) -> tuple[str, str]:
    """(title, detail) of a correctable entry as the timeline words it, for the versions of its history."""
    return _ENTRY_TEXT[type(row)](row, ())


def active_allergies(session: Session, patient_id: int, *, actor: Actor) -> list[Allergy]:
    """The patient's allergies in force (not corrected or withdrawn), most severe first, for the record's header."""
    check_read(session, patient_id, actor=actor)
    rank = {Severity.SEVERE: 0, Severity.MODERATE: 1, Severity.MILD: 2}
    rows = session.execute(
        select(Allergy)
        .where(Allergy.patient_id == patient_id, Allergy.status == RecordStatus.ACTIVE)
        .order_by(Allergy.recorded_at.desc(), Allergy.id.desc())
        .limit(MAX_LIMIT)
    ).scalars()
    return sorted(rows, key=lambda row: rank.get(Severity(row.severity), len(rank)))


def newest_change(session: Session, patient_id: int) -> int | None:
    """The id of the newest clinical_event of the patient: a page compares it to tell that the record changed.

    Only a number, read from the outbox without touching the record, so a page may ask every few seconds.
    """
    return session.execute(
        select(func.max(ClinicalEvent.id)).where(ClinicalEvent.patient_id == patient_id)
    ).scalar_one_or_none()
