"""Entries of the medical record (R-11, R-13.2-6): indicators, diagnoses, laboratory and instrumental results,
treatment and allergies. Each is checked whole before anything is written, then flushed and audited with its
patient.

The `clean_*` functions hold the rules of each kind of entry. Recording here and correcting in
ehealth.emr.corrections both go through them, so a correction is held to the rules of the entry it replaces.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet, CabinetStatus, Role
from ehealth.audit.trail import Actor, record
from ehealth.calendar import today
from ehealth.clinical import ClinicalRecord, RecordStatus
from ehealth.emr.indicators import bmi, check, indicator, number_text
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
from ehealth.emr.referrals import complete_referral
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.identifiers import TASHKENT, validate_icd10
from ehealth.patients.models import Patient

# A terminal's clock may run a little ahead of the server's; a time further ahead is a typing error.
CLOCK_SKEW = timedelta(minutes=5)
TEXT_LENGTH = 20_000  # a long conclusion or note fits; a pasted document does not
CLINICIANS = frozenset({Role.DOCTOR, Role.NURSE})
DOCTORS = frozenset({Role.DOCTOR})
# The name of each kind of entry in audit actions: emr.<name>.recorded / .corrected / .withdrawn.
AUDIT_NAMES: dict[type[ClinicalRecord], str] = {
    Observation: "indicator",
    Condition: "diagnosis",
    LabResult: "lab_result",
    InstrumentalResult: "instrumental_result",
    TreatmentRecord: "treatment",
    Allergy: "allergy",
}
# ATC levels 2-5 (J01, J01C, J01CA, J01CA04): an allergy may be to one medicine or to its whole group.
_ATC_RE = re.compile(r"^[A-Z]\d\d(?:[A-Z](?:[A-Z](?:\d\d)?)?)?$")
_BLOOD_PRESSURE = {Indicator.BP_SYSTOLIC: Indicator.BP_DIASTOLIC, Indicator.BP_DIASTOLIC: Indicator.BP_SYSTOLIC}
_BODY = (Indicator.WEIGHT, Indicator.HEIGHT)

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class EntryContext:
    """What the rules of an entry look at besides its own fields."""

    session: Session
    patient: Patient
    encounter: Encounter | None
    replacing_id: int | None = None  # the row a correction replaces: it does not count against its successor


# --- who, where and when --------------------------------------------------------------------------------------


def clinician(session: Session, actor: Actor, roles: Collection[Role] = CLINICIANS) -> Cabinet:
    """The actor's cabinet if it is active, of the actor's organization and of one of `roles`; else refuse."""
    cabinet = None if actor.cabinet_id is None else session.get(Cabinet, actor.cabinet_id)
    if (
        cabinet is None
        or cabinet.status != CabinetStatus.ACTIVE
        or actor.organization_id is None
        or cabinet.organization_id != actor.organization_id
    ):
        raise DomainError(N_("Only a doctor or a nurse of this organization can make entries in its records."))
    if cabinet.role not in roles:
        if roles == DOCTORS:
            raise DomainError(N_("Only a doctor can record or correct a diagnosis."))
        raise DomainError(N_("Only a doctor or a nurse of this organization can make entries in its records."))
    return cabinet


def patient_of(session: Session, patient_id: int) -> Patient:
    """The patient, refusing one that does not exist or whose record was merged into another."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(N_("The patient does not exist."), field="patient_id")
    if patient.merged_into_id is not None:
        raise DomainError(
            N_("This patient record was merged into another; use the surviving record."), field="patient_id"
        )
    return patient


def open_encounter(session: Session, encounter_id: int, cabinet: Cabinet) -> Encounter:
    """The cabinet's organization's open, valid encounter, locked so that it cannot close under the new entry."""
    encounter = session.get(Encounter, encounter_id, with_for_update=True)
    if encounter is None or encounter.organization_id != cabinet.organization_id:
        # Another organization's encounter is not shown to exist here.
        raise NotFound(N_("The encounter does not exist."), field="encounter_id")
    if encounter.status != RecordStatus.ACTIVE or encounter.state != EncounterState.OPEN:
        raise DomainError(N_("Entries can be added only to an open encounter."), field="encounter_id")
    return encounter


OPEN_ENCOUNTERS_LIMIT = 50  # a patient has one or two open at a time; bounds a neglected list all the same


def open_encounters(session: Session, patient_id: int, *, actor: Actor) -> list[Encounter]:
    """The open, valid encounters of the actor's organization with the patient, newest first: where its staff
    can make entries now (what an entry form offers; recording checks the chosen one again)."""
    if actor.organization_id is None:
        return []
    query = (
        select(Encounter)
        .where(
            Encounter.patient_id == patient_id,
            Encounter.organization_id == actor.organization_id,
            Encounter.state == EncounterState.OPEN,
            Encounter.status == RecordStatus.ACTIVE,
        )
        .order_by(Encounter.started_at.desc(), Encounter.id.desc())
        .limit(OPEN_ENCOUNTERS_LIMIT)
    )
    return list(session.execute(query).scalars())


def clean_time(ctx: EntryContext, value: datetime, field: str) -> datetime:
    """A moment of the patient's care: with its time zone, not in the future, not before the patient was born."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(N_("The time must include its time zone."), field=field)
    if value > utcnow() + CLOCK_SKEW:
        raise ValidationError(N_("The time cannot be in the future."), field=field)
    if value.astimezone(TASHKENT).date() < ctx.patient.birth_date:
        raise ValidationError(N_("The time cannot be before the patient was born."), field=field)
    return value


def _choice(kind: type[E], value: E | str, field: str, message: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise ValidationError(message, field=field) from None


def _line(value: str | None, field: str, limit: int, *, required: bool) -> str | None:
    """One line of text with its spaces tidied; None when empty and allowed to be."""
    text = " ".join(value.split()) if value else ""
    if not text and required:
        raise ValidationError(N_("This field is required"), field=field)
    if len(text) > limit:
        raise ValidationError(N_("The text is too long: at most {limit} characters."), field=field, limit=limit)
    return text or None


def _block(value: str | None, field: str, *, required: bool) -> str | None:
    """Free text whose line breaks matter (a conclusion, a note)."""
    text = (value or "").strip()
    if not text and required:
        raise ValidationError(N_("This field is required"), field=field)
    if len(text) > TEXT_LENGTH:
        raise ValidationError(N_("The text is too long: at most {limit} characters."), field=field, limit=TEXT_LENGTH)
    return text or None


def _number(value: float | None, field: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(N_("Enter a number"), field=field) from None
    if not math.isfinite(number):
        raise ValidationError(N_("Enter a number"), field=field)
    return number


# --- the rules of each kind of entry --------------------------------------------------------------------------


def _same_time_partner(ctx: EntryContext, code: Indicator, effective_at: datetime) -> float | None:
    """The active value of `code` measured at the same moment in the same encounter, if any."""
    assert ctx.encounter is not None
    query = select(Observation.value).where(
        Observation.encounter_id == ctx.encounter.id,
        Observation.code == code,
        Observation.status == RecordStatus.ACTIVE,
        Observation.effective_at == effective_at,
    )
    if ctx.replacing_id is not None:
        query = query.where(Observation.id != ctx.replacing_id)
    return ctx.session.execute(query.order_by(Observation.id.desc()).limit(1)).scalar_one_or_none()


def clean_observation(
    ctx: EntryContext,
    *,
    code: Indicator | str,
    value: float,
    effective_at: datetime,
    same_time: Mapping[Indicator, float] | None = None,
) -> dict[str, Any]:
    """One indicator: possible value in its unit, flagged; diastolic below the systolic measured with it."""
    kind = indicator(code)
    if kind == Indicator.BMI:
        raise ValidationError(
            N_("Body mass index is computed from weight and height; it is not entered."), field=kind.value
        )
    number, unit, flag, low, high = check(kind, value)
    when = clean_time(ctx, effective_at, "effective_at")
    if kind in _BLOOD_PRESSURE:
        partner = _BLOOD_PRESSURE[kind]
        other = (same_time or {}).get(partner)
        if other is None:
            other = _same_time_partner(ctx, partner, when)
        systolic, diastolic = (number, other) if kind == Indicator.BP_SYSTOLIC else (other, number)
        if systolic is not None and diastolic is not None and diastolic >= systolic:
            raise ValidationError(
                N_("Diastolic pressure ({diastolic} mmHg) must be lower than systolic ({systolic} mmHg)."),
                field=Indicator.BP_DIASTOLIC.value,
                diastolic=number_text(diastolic),
                systolic=number_text(systolic),
            )
    return {
        "code": kind,
        "value": number,
        "unit": unit,
        "flag": flag,
        "reference_low": low,
        "reference_high": high,
        "effective_at": when,
    }


def bmi_fields(weight: float, height: float, effective_at: datetime) -> dict[str, Any]:
    """The columns of the body mass index computed from `weight` and `height`, or refuse an impossible pair."""
    value = bmi(weight, height)
    try:
        number, unit, flag, low, high = check(Indicator.BMI, value)
    except ValidationError:
        raise ValidationError(
            N_(
                "Weight {weight} kg and height {height} cm give a body mass index of {bmi} kg/m², "
                "which is not possible; check both."
            ),
            field=Indicator.WEIGHT.value,
            weight=number_text(weight),
            height=number_text(height),
            bmi=number_text(value),
        ) from None
    return {
        "code": Indicator.BMI,
        "value": number,
        "unit": unit,
        "flag": flag,
        "reference_low": low,
        "reference_high": high,
        "effective_at": effective_at,
    }


@dataclass(frozen=True)
class Measure:
    """A weight or height of the encounter as the body mass index rule sees it."""

    code: Indicator
    value: float
    effective_at: datetime
    id: int  # 0 for a value not yet written


def nearest(measures: Iterable[Measure], code: Indicator, at: datetime) -> Measure | None:
    """The `code` measure a body mass index at `at` is computed from: the latest at or before `at`, else the next."""
    candidates = [m for m in measures if m.code == code]
    # At the same moment, the value being written (id 0) wins over one already recorded, then the newest row.
    before = [m for m in candidates if m.effective_at <= at]
    if before:
        return max(before, key=lambda m: (m.effective_at, m.id or math.inf))
    after = [m for m in candidates if m.effective_at > at]
    return min(after, key=lambda m: (m.effective_at, -(m.id or math.inf))) if after else None


def body_measures(session: Session, encounter_id: int) -> list[Observation]:
    """The active weights, heights and body mass indexes of an encounter (a few rows)."""
    return list(
        session.execute(
            select(Observation).where(
                Observation.encounter_id == encounter_id,
                Observation.code.in_((*_BODY, Indicator.BMI)),
                Observation.status == RecordStatus.ACTIVE,
            )
        ).scalars()
    )


def as_measures(rows: Iterable[Observation]) -> list[Measure]:
    """The weights and heights among `rows`."""
    return [Measure(Indicator(row.code), row.value, row.effective_at, row.id) for row in rows if row.code in _BODY]


def clean_condition(
    ctx: EntryContext,
    *,
    icd10_code: str,
    kind: ConditionKind | str,
    onset_date: date | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """A diagnosis: a WHO ICD-10 code, its kind (one final per encounter), an onset that has already happened."""
    assert ctx.encounter is not None
    try:
        code = validate_icd10(icd10_code)
    except ValidationError as error:
        error.field = "icd10_code"  # the form's field, not the validator's generic name
        raise
    condition_kind = _choice(
        ConditionKind, kind, "kind", N_("Choose the kind of diagnosis: preliminary, final or accompanying.")
    )
    if onset_date is not None:
        if onset_date > today():
            raise ValidationError(N_("The onset date cannot be in the future."), field="onset_date")
        if onset_date < ctx.patient.birth_date:
            raise ValidationError(N_("The onset date cannot be before the patient was born."), field="onset_date")
    if condition_kind == ConditionKind.FINAL:
        query = select(Condition.icd10_code).where(
            Condition.encounter_id == ctx.encounter.id,
            Condition.kind == ConditionKind.FINAL,
            Condition.status == RecordStatus.ACTIVE,
        )
        if ctx.replacing_id is not None:
            query = query.where(Condition.id != ctx.replacing_id)
        existing = ctx.session.execute(query.limit(1)).scalar_one_or_none()
        if existing is not None:
            raise ValidationError(
                N_("This encounter already has a final diagnosis ({code}); correct it instead of adding another."),
                field="kind",
                code=existing,
            )
    return {
        "icd10_code": code,
        "kind": condition_kind,
        "onset_date": onset_date,
        "note": _block(note, "note", required=False),
    }


def _range_flag(value: float | None, low: float | None, high: float | None) -> Flag | None:
    if value is None or (low is None and high is None):
        return None
    if low is not None and value < low:
        return Flag.LOW
    if high is not None and value > high:
        return Flag.HIGH
    return Flag.NORMAL


def clean_lab_result(
    ctx: EntryContext,
    *,
    test_code: str,
    test_name: str,
    collected_at: datetime,
    resulted_at: datetime,
    value_numeric: float | None = None,
    value_text: str | None = None,
    unit: str | None = None,
    reference_low: float | None = None,
    reference_high: float | None = None,
) -> dict[str, Any]:
    """A laboratory result: a number or a text, flagged against the range given with it; sampled before resulted."""
    code = _line(test_code, "test_code", 20, required=True)
    assert code is not None
    name = _line(test_name, "test_name", 120, required=True)
    numeric = _number(value_numeric, "value_numeric")
    text = _line(value_text, "value_text", 200, required=False)
    if numeric is None and text is None:
        raise ValidationError(N_("A laboratory result needs a value."), field="value_numeric")
    low = _number(reference_low, "reference_low")
    high = _number(reference_high, "reference_high")
    if low is not None and high is not None and low > high:
        raise ValidationError(
            N_("The lower end of the reference range cannot be above the upper end."), field="reference_low"
        )
    collected = clean_time(ctx, collected_at, "collected_at")
    resulted = clean_time(ctx, resulted_at, "resulted_at")
    if resulted < collected:
        raise ValidationError(N_("A result cannot come before its sample was taken."), field="resulted_at")
    return {
        "test_code": code.upper(),
        "test_name": name,
        "value_numeric": numeric,
        "value_text": text,
        "unit": _line(unit, "unit", 20, required=False),
        "reference_low": low,
        "reference_high": high,
        "flag": _range_flag(numeric, low, high),
        "collected_at": collected,
        "resulted_at": resulted,
    }


def clean_instrumental_result(
    ctx: EntryContext, *, modality: Modality | str, study: str, conclusion: str, performed_at: datetime
) -> dict[str, Any]:
    """An instrumental study: its modality, what was studied and the conclusion."""
    return {
        "modality": _choice(Modality, modality, "modality", N_("Choose the kind of study.")),
        "study": _line(study, "study", 160, required=True),
        "conclusion": _block(conclusion, "conclusion", required=True),
        "performed_at": clean_time(ctx, performed_at, "performed_at"),
    }


def _outside_eprescription(ctx: EntryContext, title: str) -> None:
    """Refuse an outpatient medication entry naming an e-prescription-only medicine (ATC J01, H02, H03 in phase 1)
    that the patient holds no e-prescription for: such medicines are prescribed in no other way (R-12)."""
    from ehealth.prescription.lifecycle import LIVE_STATES  # noqa: PLC0415  (prescription imports emr models)
    from ehealth.prescription.models import Prescription, PrescriptionItem  # noqa: PLC0415
    from ehealth.prescription.rules import RULES  # noqa: PLC0415
    from ehealth.reference.models import Drug  # noqa: PLC0415

    if ctx.encounter is None or ctx.encounter.kind != EncounterKind.OUTPATIENT:
        return  # in hospital the ward gives medicines from its own stock: that is treatment, not a prescription
    named = title.casefold()
    groups = [Drug.atc_code.startswith(prefix) for prefix in RULES.eprescription_only_atc]
    catalogue = ctx.session.execute(select(Drug.inn, Drug.brand).where(or_(*groups)).distinct()).all()
    hits = {inn for inn, brand in catalogue if inn.casefold() in named or (brand and brand.casefold() in named)}
    if not hits:
        return
    held = set(
        ctx.session.execute(
            select(PrescriptionItem.inn)
            .join(Prescription, Prescription.id == PrescriptionItem.prescription_id)
            .where(Prescription.patient_id == ctx.patient.id, Prescription.state.in_(LIVE_STATES))
        ).scalars()
    )
    missing = sorted(hits - held)
    if missing:
        raise ValidationError(
            N_("{medicine} is prescribed only by e-prescription: write the e-prescription first."),
            field="title",
            medicine=missing[0],
        )


def clean_treatment(
    ctx: EntryContext, *, kind: TreatmentKind | str, title: str, performed_at: datetime, text: str | None = None
) -> dict[str, Any]:
    """An entry of the course of treatment: a procedure, a medication given or a note."""
    chosen = _choice(TreatmentKind, kind, "kind", N_("Choose procedure, medication or note."))
    named = _line(title, "title", 200, required=True) or ""
    if chosen == TreatmentKind.MEDICATION:
        _outside_eprescription(ctx, named)
    return {
        "kind": chosen,
        "title": named,
        "text": _block(text, "text", required=False),
        "performed_at": clean_time(ctx, performed_at, "performed_at"),
    }


def clean_allergy(
    ctx: EntryContext,
    *,
    substance: str,
    severity: Severity | str,
    reaction: str | None = None,
    inn: str | None = None,
    atc_code: str | None = None,
) -> dict[str, Any]:
    """An allergy: the substance (with its INN or ATC code, for prescribing to check against) and the reaction."""
    atc = _line(atc_code, "atc_code", 7, required=False)
    if atc is not None:
        atc = atc.replace(" ", "").upper()
        if not _ATC_RE.match(atc):
            raise ValidationError(
                N_("An ATC code is a letter, 2 digits, then optional letters and digits, like J01CA04."),
                field="atc_code",
            )
    return {
        "substance": _line(substance, "substance", 120, required=True),
        "severity": _choice(Severity, severity, "severity", N_("Choose how severe the reaction is.")),
        "reaction": _line(reaction, "reaction", 200, required=False),
        "inn": _line(inn, "inn", 120, required=False),
        "atc_code": atc,
    }


# --- recording ------------------------------------------------------------------------------------------------


def _in_encounter(
    session: Session, encounter_id: int, actor: Actor, roles: Collection[Role] = CLINICIANS
) -> EntryContext:
    cabinet = clinician(session, actor, roles)
    encounter = open_encounter(session, encounter_id, cabinet)
    return EntryContext(session, patient_of(session, encounter.patient_id), encounter)


def _write(session: Session, row: ClinicalRecord, actor: Actor) -> None:
    session.add(row)
    flush(session)
    record(
        session,
        actor,
        f"emr.{AUDIT_NAMES[type(row)]}.recorded",
        patient_id=row.patient_id,
        object_type=row.__tablename__,  # type: ignore[attr-defined]
        object_id=row.id,
    )


def _write_answer(session: Session, row: LabResult | InstrumentalResult, referral: int | None, actor: Actor) -> None:
    """Write a result and mark the referral it answers (if any) completed by the result's encounter."""
    _write(session, row, actor)
    if referral is not None:
        complete_referral(
            session, referral, completed_encounter_id=row.encounter_id, patient_id=row.patient_id, actor=actor
        )


def _entry_columns(ctx: EntryContext, actor: Actor) -> dict[str, Any]:
    assert ctx.encounter is not None
    return {
        "patient_id": ctx.encounter.patient_id,
        "organization_id": ctx.encounter.organization_id,
        "encounter_id": ctx.encounter.id,
        "created_by": actor.cabinet_id,
    }


def _referral_answered(ctx: EntryContext, referral_id: int | None, kind: ReferralKind, wrong_kind: str) -> int | None:
    """The issued referral of this patient and kind that a result answers (locked: one result completes it)."""
    if referral_id is None:
        return None
    referral = ctx.session.get(Referral, referral_id, with_for_update=True)
    if referral is None:
        raise NotFound(N_("The referral does not exist."), field="referral_id")
    if referral.patient_id != ctx.patient.id:
        raise ValidationError(N_("This referral is for another patient."), field="referral_id")
    if referral.kind != kind:
        raise ValidationError(wrong_kind, field="referral_id")
    if referral.status != RecordStatus.ACTIVE or referral.state != ReferralState.ISSUED:
        raise ValidationError(N_("This referral has already been used or was cancelled."), field="referral_id")
    return referral.id


def record_indicators(
    session: Session, *, encounter_id: int, values: Mapping[str, float], effective_at: datetime, actor: Actor
) -> list[Observation]:
    """Record indicators measured together; body mass index added when weight and height are known. All or none."""
    ctx = _in_encounter(session, encounter_id, actor)
    if not values:
        raise ValidationError(N_("Enter at least one indicator."), field="values")
    kinds = {indicator(code): value for code, value in values.items()}
    # Each value alone first, so that the pair rule below compares the values as they will be stored.
    single: dict[Indicator, float] = {
        kind: check(kind, value)[0] for kind, value in kinds.items() if kind != Indicator.BMI
    }
    cleaned = [
        clean_observation(ctx, code=kind, value=kinds[kind], effective_at=effective_at, same_time=single)
        for kind in Indicator
        if kind in kinds
    ]
    when = cleaned[0]["effective_at"]
    if any(kind in single for kind in _BODY):
        assert ctx.encounter is not None
        given = [Measure(kind, single[kind], when, 0) for kind in _BODY if kind in single]
        known = [*given, *as_measures(body_measures(session, ctx.encounter.id))]
        weight, height = (nearest(known, kind, when) for kind in _BODY)
        if weight is not None and height is not None:
            cleaned.append(bmi_fields(weight.value, height.value, when))
    rows = [Observation(**_entry_columns(ctx, actor), **fields) for fields in cleaned]
    for row in rows:
        _write(session, row, actor)
    return rows


def record_diagnosis(
    session: Session,
    *,
    encounter_id: int,
    icd10_code: str,
    kind: ConditionKind | str,
    onset_date: date | None = None,
    note: str | None = None,
    actor: Actor,
) -> Condition:
    """Record a preliminary, final or accompanying diagnosis (a doctor's; one final per encounter)."""
    ctx = _in_encounter(session, encounter_id, actor, DOCTORS)
    fields = clean_condition(ctx, icd10_code=icd10_code, kind=kind, onset_date=onset_date, note=note)
    row = Condition(**_entry_columns(ctx, actor), **fields, recorded_at=utcnow())
    _write(session, row, actor)
    return row


def record_lab_result(
    session: Session,
    *,
    encounter_id: int,
    test_code: str,
    test_name: str,
    collected_at: datetime,
    resulted_at: datetime,
    value_numeric: float | None = None,
    value_text: str | None = None,
    unit: str | None = None,
    reference_low: float | None = None,
    reference_high: float | None = None,
    referral_id: int | None = None,
    actor: Actor,
) -> LabResult:
    """Record a laboratory result; the laboratory referral it answers, if any, is marked completed."""
    ctx = _in_encounter(session, encounter_id, actor)
    fields = clean_lab_result(
        ctx,
        test_code=test_code,
        test_name=test_name,
        collected_at=collected_at,
        resulted_at=resulted_at,
        value_numeric=value_numeric,
        value_text=value_text,
        unit=unit,
        reference_low=reference_low,
        reference_high=reference_high,
    )
    referral = _referral_answered(ctx, referral_id, ReferralKind.LAB, N_("This is not a laboratory referral."))
    row = LabResult(**_entry_columns(ctx, actor), **fields, referral_id=referral)
    _write_answer(session, row, referral, actor)
    return row


def record_instrumental_result(
    session: Session,
    *,
    encounter_id: int,
    modality: Modality | str,
    study: str,
    conclusion: str,
    performed_at: datetime,
    referral_id: int | None = None,
    actor: Actor,
) -> InstrumentalResult:
    """Record an instrumental study and its conclusion; the referral it answers, if any, is marked completed."""
    ctx = _in_encounter(session, encounter_id, actor)
    fields = clean_instrumental_result(
        ctx, modality=modality, study=study, conclusion=conclusion, performed_at=performed_at
    )
    referral = _referral_answered(
        ctx, referral_id, ReferralKind.INSTRUMENTAL, N_("This is not a referral for an instrumental study.")
    )
    row = InstrumentalResult(**_entry_columns(ctx, actor), **fields, referral_id=referral)
    _write_answer(session, row, referral, actor)
    return row


def record_treatment(
    session: Session,
    *,
    encounter_id: int,
    kind: TreatmentKind | str,
    title: str,
    performed_at: datetime,
    text: str | None = None,
    actor: Actor,
) -> TreatmentRecord:
    """Record a procedure, a medication given or a clinical note of the course of treatment."""
    ctx = _in_encounter(session, encounter_id, actor)
    fields = clean_treatment(ctx, kind=kind, title=title, performed_at=performed_at, text=text)
    row = TreatmentRecord(**_entry_columns(ctx, actor), **fields)
    _write(session, row, actor)
    return row


def record_allergy(
    session: Session,
    *,
    patient_id: int,
    substance: str,
    severity: Severity | str,
    reaction: str | None = None,
    inn: str | None = None,
    atc_code: str | None = None,
    encounter_id: int | None = None,
    actor: Actor,
) -> Allergy:
    """Record a patient's allergy, in an open encounter of the patient or outside any."""
    cabinet = clinician(session, actor)
    patient = patient_of(session, patient_id)
    encounter = None if encounter_id is None else open_encounter(session, encounter_id, cabinet)
    if encounter is not None and encounter.patient_id != patient.id:
        raise ValidationError(N_("This encounter is another patient's."), field="encounter_id")
    ctx = EntryContext(session, patient, encounter)
    fields = clean_allergy(ctx, substance=substance, severity=severity, reaction=reaction, inn=inn, atc_code=atc_code)
    row = Allergy(
        patient_id=patient.id,
        organization_id=cabinet.organization_id,
        encounter_id=encounter_id,
        created_by=cabinet.id,
        recorded_at=utcnow(),
        **fields,
    )
    _write(session, row, actor)
    return row
