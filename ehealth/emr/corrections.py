"""Corrections of the medical record (R-13, R-17): nothing is edited in place or deleted. A correction marks the
entry superseded and writes its successor (replaces_id) under the rules of recording; a withdrawal marks it
entered in error. Either needs a reason and the organization that made the entry.

A body mass index follows its weight and height: correcting or withdrawing one of them recomputes (or withdraws)
every body mass index of the encounter that was computed from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet
from ehealth.audit.trail import Actor, record
from ehealth.clinical import ClinicalRecord, RecordStatus
from ehealth.emr.access import check_read
from ehealth.emr.entries import (
    AUDIT_NAMES,
    CLINICIANS,
    DOCTORS,
    EntryContext,
    Measure,
    as_measures,
    bmi_fields,
    body_measures,
    clean_allergy,
    clean_condition,
    clean_instrumental_result,
    clean_lab_result,
    clean_observation,
    clean_treatment,
    clinician,
    nearest,
)
from ehealth.emr.models import (
    Allergy,
    Condition,
    Encounter,
    Indicator,
    InstrumentalResult,
    LabResult,
    Observation,
    TreatmentRecord,
)
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.patients.models import Patient

REASON_LENGTH = 500  # ClinicalRecord.status_reason
R = TypeVar("R", bound=ClinicalRecord)


@dataclass(frozen=True)
class Correctable:
    """What a correction of one kind of entry may change, and the rules the result must meet."""

    fields: tuple[str, ...]  # the columns a correction may change
    fixed: tuple[str, ...]  # columns the rules read but a correction keeps (an indicator's code)
    clean: Callable[..., dict[str, Any]]
    doctors_only: bool = False


CORRECTABLE: dict[type[ClinicalRecord], Correctable] = {
    Condition: Correctable(("icd10_code", "kind", "onset_date", "note"), (), clean_condition, doctors_only=True),
    Observation: Correctable(("value", "effective_at"), ("code",), clean_observation),
    LabResult: Correctable(
        (
            "test_code",
            "test_name",
            "value_numeric",
            "value_text",
            "unit",
            "reference_low",
            "reference_high",
            "collected_at",
            "resulted_at",
        ),
        (),
        clean_lab_result,
    ),
    InstrumentalResult: Correctable(("modality", "study", "conclusion", "performed_at"), (), clean_instrumental_result),
    TreatmentRecord: Correctable(("kind", "title", "text", "performed_at"), (), clean_treatment),
    Allergy: Correctable(("substance", "inn", "atc_code", "reaction", "severity"), (), clean_allergy),
}
# Bookkeeping columns a successor gets anew rather than from the row it replaces.
_RENEWED = frozenset(
    {"id", "status", "status_reason", "status_changed_at", "created_at", "updated_at", "created_by", "replaces_id"}
)


def _spec(model: type[ClinicalRecord]) -> Correctable:
    spec = CORRECTABLE.get(model)
    if spec is None:
        raise ValueError(f"{model.__name__} entries are not corrected through ehealth.emr.corrections")
    return spec


def _reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationError(N_("Give the reason"), field="reason")
    if len(text) > REASON_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field="reason", limit=REASON_LENGTH
        )
    return text


def _active_own(session: Session, model: type[R], row_id: int, cabinet: Cabinet) -> R:
    """The entry, locked, if it is active and the cabinet's organization made it."""
    row = session.get(model, row_id, with_for_update=True)
    if row is None:
        raise NotFound(N_("The entry does not exist."), field="row_id")
    if row.organization_id != cabinet.organization_id:
        raise DomainError(N_("Only the organization that made an entry can correct or withdraw it."))
    if row.status != RecordStatus.ACTIVE:
        raise DomainError(N_("This entry has already been corrected or withdrawn; only its latest version can be."))
    return row


def _context(session: Session, row: ClinicalRecord) -> EntryContext:
    encounter_id: int | None = getattr(row, "encounter_id", None)
    # Locked like recording locks it: two corrections of one encounter's final diagnosis do not cross.
    encounter = None if encounter_id is None else session.get(Encounter, encounter_id, with_for_update=True)
    patient = session.get(Patient, row.patient_id)
    assert patient is not None  # a clinical row's patient is a foreign key
    return EntryContext(session, patient, encounter, replacing_id=row.id)


def _retire(row: ClinicalRecord, status: RecordStatus, reason: str, now: datetime) -> None:
    row.status = status
    row.status_reason = reason
    row.status_changed_at = now


def _successor(model: type[R], old: R, fields: Mapping[str, Any], actor: Actor) -> R:
    """A new row carrying `old`'s other columns, the corrected `fields`, and the link back to `old`."""
    kept = {
        attr.key: getattr(old, attr.key)
        for attr in inspect(model).column_attrs
        if attr.key not in _RENEWED and attr.key not in fields
    }
    renewed = {"replaces_id": old.id, "created_by": actor.cabinet_id, "status": RecordStatus.ACTIVE}
    return model(**kept, **fields, **renewed)


def _audit(session: Session, actor: Actor, row: ClinicalRecord, verb: str, detail: str | None = None) -> None:
    record(
        session,
        actor,
        f"emr.{AUDIT_NAMES[type(row)]}.{verb}",
        patient_id=row.patient_id,
        object_type=row.__tablename__,  # type: ignore[attr-defined]
        object_id=row.id,
        detail=detail,  # ids only: the reason may hold clinical content, and it stays on the row
    )


# --- body mass index follows its weight and height ------------------------------------------------------------


def _bmi_follow_ups(
    session: Session, old: Observation, new: Mapping[str, Any] | None
) -> list[tuple[Observation, dict[str, Any] | None]]:
    """Each body mass index of the encounter computed from `old`, with its recomputed columns (None: withdraw)."""
    if old.code not in (Indicator.WEIGHT, Indicator.HEIGHT):
        return []
    rows = body_measures(session, old.encounter_id)
    before = as_measures(rows)
    after = [m for m in before if m.id != old.id]
    if new is not None:
        after.append(Measure(old.code, new["value"], new["effective_at"], 0))
    changes: list[tuple[Observation, dict[str, Any] | None]] = []
    for derived in (row for row in rows if row.code == Indicator.BMI):
        used = nearest(before, Indicator(old.code), derived.effective_at)
        weight, height = (nearest(after, code, derived.effective_at) for code in (Indicator.WEIGHT, Indicator.HEIGHT))
        successor = weight if old.code == Indicator.WEIGHT else height
        # Only an index that was computed from `old`, or will be from its successor (id 0), follows it.
        if not ((used is not None and used.id == old.id) or (successor is not None and successor.id == 0)):
            continue
        if weight is None or height is None:
            changes.append((derived, None))
            continue
        fields = bmi_fields(weight.value, height.value, derived.effective_at)
        if fields["value"] != derived.value:
            changes.append((derived, fields))
    return changes


def _apply_bmi(
    session: Session,
    changes: list[tuple[Observation, dict[str, Any] | None]],
    reason: str,
    actor: Actor,
    now: datetime,
) -> None:
    for derived, fields in changes:
        if fields is None:
            _retire(derived, RecordStatus.ENTERED_IN_ERROR, reason, now)
            flush(session)
            _audit(session, actor, derived, "withdrawn")
            continue
        _retire(derived, RecordStatus.SUPERSEDED, reason, now)
        flush(session)
        successor = _successor(Observation, derived, fields, actor)
        session.add(successor)
        flush(session)
        _audit(session, actor, successor, "corrected", detail=f"replaces {derived.id}")


# --- the three services ---------------------------------------------------------------------------------------


def _refuse_derived(model: type[ClinicalRecord], row: ClinicalRecord) -> None:
    if model is Observation and getattr(row, "code", None) == Indicator.BMI:
        raise DomainError(
            N_("Body mass index follows weight and height; correct or withdraw those instead."), field="row_id"
        )


def correct(
    session: Session,
    *,
    model: type[R],
    row_id: int,
    changes: Mapping[str, Any],
    reason: str,
    actor: Actor,
) -> R:
    """Replace an active entry by a corrected one (the old one superseded, kept, and linked from the new)."""
    spec = _spec(model)
    text = _reason(reason)
    cabinet = clinician(session, actor, DOCTORS if spec.doctors_only else CLINICIANS)
    if not changes:
        raise ValidationError(N_("Say what to correct."), field="changes")
    for name in changes:
        if name not in spec.fields:
            raise ValidationError(N_("{name} cannot be changed by a correction."), field=name, name=name)
    old = _active_own(session, model, row_id, cabinet)
    _refuse_derived(model, old)
    ctx = _context(session, old)
    inputs = {name: getattr(old, name) for name in (*spec.fields, *spec.fixed)} | dict(changes)
    fields = spec.clean(ctx, **inputs)
    if all(fields[name] == getattr(old, name) for name in fields):
        raise ValidationError(N_("The correction changes nothing."), field="changes")
    follow_ups = _bmi_follow_ups(session, old, fields) if isinstance(old, Observation) else []
    now = utcnow()
    _retire(old, RecordStatus.SUPERSEDED, text, now)
    flush(session)
    new = _successor(model, old, fields, actor)
    session.add(new)
    flush(session)
    _audit(session, actor, new, "corrected", detail=f"replaces {old.id}")
    _apply_bmi(session, follow_ups, text, actor, now)
    return new


def withdraw(session: Session, *, model: type[R], row_id: int, reason: str, actor: Actor) -> R:
    """Mark an active entry as entered in error (kept, shown struck out), saying why."""
    spec = _spec(model)
    text = _reason(reason)
    cabinet = clinician(session, actor, DOCTORS if spec.doctors_only else CLINICIANS)
    row = _active_own(session, model, row_id, cabinet)
    _refuse_derived(model, row)
    follow_ups = _bmi_follow_ups(session, row, None) if isinstance(row, Observation) else []
    now = utcnow()
    _retire(row, RecordStatus.ENTERED_IN_ERROR, text, now)
    flush(session)
    _audit(session, actor, row, "withdrawn")
    _apply_bmi(session, follow_ups, text, actor, now)
    return row


HISTORY_LIMIT = 1_000  # far beyond any real chain of corrections; bounds a damaged one all the same


def history(session: Session, model: type[R], row_id: int, *, actor: Actor) -> list[R]:
    """Every version of an entry, oldest first: the row, those it replaced and those that replaced it."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(N_("The entry does not exist."), field="row_id")
    access = check_read(session, row.patient_id, actor=actor)
    chain = [row]
    while chain[0].replaces_id is not None and len(chain) < HISTORY_LIMIT:
        earlier = session.get(model, chain[0].replaces_id)
        assert earlier is not None  # replaces_id is a foreign key
        chain.insert(0, earlier)
    while len(chain) < HISTORY_LIMIT:
        later = session.execute(
            select(model).where(model.replaces_id == chain[-1].id).order_by(model.id).limit(1)
        ).scalar_one_or_none()
        if later is None:
            break
        chain.append(later)
    record(
        session,
        actor,
        "emr.history.read",
        patient_id=row.patient_id,
        object_type=row.__tablename__,  # type: ignore[attr-defined]
        object_id=row.id,
        detail=f"basis: {access.basis}",
    )
    return chain
