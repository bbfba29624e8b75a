"""Read-only lists of the e-prescription pages: the catalogue search, a patient's prescriptions, a prescriber's
register, the visit or stay a doctor prescribes from, and the prescription a correction starts from.

Nothing here writes. Each list is one query for the prescriptions (names joined in) and one for all their items,
whatever the number of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased

from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.trail import Actor
from ehealth.clinical import RecordStatus
from ehealth.emr.models import Allergy, Condition, ConditionKind, Encounter, EncounterKind, EncounterState
from ehealth.errors import NotFound, ValidationError
from ehealth.hospital.models import Admission, Discharge
from ehealth.i18n import N_
from ehealth.patients.models import Patient
from ehealth.prescription.lifecycle import LIVE_STATES, state_on
from ehealth.prescription.models import (
    ConfirmationKind,
    Prescription,
    PrescriptionCategory,
    PrescriptionItem,
    PrescriptionState,
)
from ehealth.prescription.prescribing import NOT_A_DOCTOR
from ehealth.prescription.rules import RULES, PrescriptionRules
from ehealth.reference.models import Drug

SEARCH_MIN = 2  # fewer typed characters would match most of the catalogue
SEARCH_LENGTH = 100
REGISTER_LIMIT = 200
PATIENT_LIMIT = 100
CONDITIONS_LIMIT = 500
# A diagnosis recorded when the disease had already lasted this long is a chronic one (the usual 3-month rule).
CHRONIC_AFTER = timedelta(days=90)
Scope = Literal["mine", "organization"]
SCOPES: tuple[str, ...] = ("mine", "organization")
LIKE_ESCAPE = "\\"

NOT_FOUND = N_("The visit or hospital stay to prescribe from was not found in your organization.")
NO_CORRECTION = N_("This prescription cannot be corrected here: it is another patient's, or you may not cancel it.")


@dataclass(frozen=True)
class PrescriptionRow:
    """One prescription as the lists show it; `state` is as of the day asked (past valid-until: expired)."""

    id: int
    number: str
    issued_at: datetime
    valid_until: date
    category: PrescriptionCategory
    state: PrescriptionState
    icd10_code: str
    confirmation: ConfirmationKind
    prescriber: str
    patient_id: int
    patient: str
    encounter_id: int | None
    items: tuple[str, ...]  # "INN strength (dispensed/total unit)"
    left_to_dispense: bool
    cancel_reason: str | None = None


@dataclass(frozen=True)
class PrescribingContext:
    """The visit or stay a doctor prescribes from, its patient, and what the diagnosis may be chosen from."""

    encounter: Encounter
    patient: Patient
    diagnoses: list[Condition]  # active diagnoses of this encounter, as recorded
    chronic: list[Condition]  # the patient's active chronic conditions, one per code, newest first
    allergies: list[Allergy]  # allergies in force
    # A stay's diagnoses at admission and, once discharged, the final one (a stay records them there, not as
    # Condition rows).
    stay_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CorrectedItem:
    """One medicine of the prescription being corrected, as the form prefills it."""

    drug: Drug
    dose: float
    intakes_per_day: int
    duration_days: int
    route: str
    quantity: int
    by_brand: bool


@dataclass(frozen=True)
class Correction:
    """The live prescription a correction replaces, with its lines."""

    prescription: Prescription
    items: list[CorrectedItem]


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", f"{LIKE_ESCAPE}%").replace("_", f"{LIKE_ESCAPE}_")
    return f"%{escaped}%"


def search_catalogue(session: Session, text: str, limit: int = 20) -> list[Drug]:
    """Active medicines whose INN or brand contains `text` (any case, at least 2 characters), by INN."""
    needle = " ".join(text.split())[:SEARCH_LENGTH]
    if len(needle) < SEARCH_MIN:
        return []
    pattern = _like(needle)
    query = (
        select(Drug)
        .where(
            Drug.is_active.is_(True),
            or_(Drug.inn.ilike(pattern, escape=LIKE_ESCAPE), Drug.brand.ilike(pattern, escape=LIKE_ESCAPE)),
        )
        .order_by(Drug.inn, Drug.brand, Drug.strength, Drug.id)
        .limit(max(1, min(limit, 100)))
    )
    return list(session.execute(query).scalars())


def _item_text(item: PrescriptionItem, unit: str) -> str:
    return f"{item.inn} {item.strength} ({item.dispensed_quantity}/{item.prescribed_total} {unit})"


def _items(session: Session, prescription_ids: Sequence[int]) -> dict[int, list[tuple[PrescriptionItem, str]]]:
    """Every item of the prescriptions (one query), with its medicine's unit, by prescription, in line order."""
    found: dict[int, list[tuple[PrescriptionItem, str]]] = defaultdict(list)
    if not prescription_ids:
        return found
    rows = session.execute(
        select(PrescriptionItem, Drug.unit)
        .join(Drug, Drug.id == PrescriptionItem.drug_id)
        .where(PrescriptionItem.prescription_id.in_(prescription_ids))
        .order_by(PrescriptionItem.prescription_id, PrescriptionItem.line)
    ).all()
    for item, unit in rows:
        found[item.prescription_id].append((item, unit))
    return found


def _rows(session: Session, query: Any, day: date) -> list[PrescriptionRow]:
    """The rows of a (Prescription, Patient, prescriber Cabinet) query, their items read in one more query."""
    found = session.execute(query).all()
    items = _items(session, [prescription.id for prescription, _patient, _cabinet in found])
    rows = []
    for prescription, patient, prescriber in found:
        lines = items.get(prescription.id, [])
        state = state_on(prescription, day)
        rows.append(
            PrescriptionRow(
                id=prescription.id,
                number=prescription.number,
                issued_at=prescription.issued_at,
                valid_until=prescription.valid_until,
                category=PrescriptionCategory(prescription.category),
                state=state,
                icd10_code=prescription.icd10_code,
                confirmation=ConfirmationKind(prescription.confirmation),
                prescriber=prescriber.full_name if prescriber is not None else "",
                patient_id=patient.id,
                patient=patient.full_name,
                encounter_id=prescription.encounter_id,
                items=tuple(_item_text(item, unit) for item, unit in lines),
                left_to_dispense=state in LIVE_STATES and any(item.remaining > 0 for item, _unit in lines),
                cancel_reason=prescription.cancel_reason,
            )
        )
    return rows


def _listing() -> Any:
    prescriber = aliased(Cabinet)
    return (
        select(Prescription, Patient, prescriber)
        .join(Patient, Patient.id == Prescription.patient_id)
        .outerjoin(prescriber, prescriber.id == Prescription.prescriber_id)
        .where(Prescription.status == RecordStatus.ACTIVE)
        .order_by(Prescription.issued_at.desc(), Prescription.id.desc())
    )


def patient_prescriptions(
    session: Session, patient_id: int, *, day: date, limit: int = PATIENT_LIMIT
) -> list[PrescriptionRow]:
    """The patient's prescriptions from any organization, newest first, each in its state as of `day`."""
    query = _listing().where(Prescription.patient_id == patient_id).limit(limit)
    return _rows(session, query, day)


def _in_state(state: str | None, day: date) -> ColumnElement[bool] | None:
    """The condition for prescriptions in `state` as of `day` (a live one past valid-until reads as expired)."""
    if state is None:
        return None
    try:
        wanted = PrescriptionState(state)
    except ValueError:
        raise ValidationError(N_("Choose the state from the list."), field="state") from None
    live_past = and_(Prescription.state.in_(LIVE_STATES), Prescription.valid_until < day)
    if wanted == PrescriptionState.EXPIRED:
        return or_(Prescription.state == PrescriptionState.EXPIRED, live_past)
    if wanted in LIVE_STATES:
        return and_(Prescription.state == wanted, Prescription.valid_until >= day)
    return Prescription.state == wanted


def prescriber_register(
    session: Session,
    actor: Actor,
    *,
    scope: str,
    state: str | None,
    day: date,
    limit: int = REGISTER_LIMIT,
) -> list[PrescriptionRow]:
    """Prescriptions written by the doctor (scope "mine") or anyone of their organization ("organization"), newest
    first, optionally only those in `state` as of `day`."""
    if actor.role != Role.DOCTOR or actor.cabinet_id is None:
        raise ValidationError(NOT_A_DOCTOR)
    if scope not in SCOPES:
        raise ValidationError(N_("Choose whose prescriptions to show."), field="scope")
    query = _listing().where(Prescription.organization_id == actor.organization_id)
    if scope == "mine":
        query = query.where(Prescription.prescriber_id == actor.cabinet_id)
    condition = _in_state(state, day)
    if condition is not None:
        query = query.where(condition)
    return _rows(session, query.limit(max(1, min(limit, REGISTER_LIMIT))), day)


def _is_chronic(condition: Condition, rules: PrescriptionRules) -> bool:
    """True for a disease of the reimbursement programme (all chronic) or one that had lasted 3 months when it was
    recorded; the record has no other mark of a chronic disease."""
    if rules.reimbursable(condition.icd10_code):
        return True
    if condition.onset_date is None:
        return False
    return condition.recorded_at.date() - condition.onset_date >= CHRONIC_AFTER


def _chronic(session: Session, patient_id: int, rules: PrescriptionRules) -> list[Condition]:
    rows = session.execute(
        select(Condition)
        .where(
            Condition.patient_id == patient_id,
            Condition.status == RecordStatus.ACTIVE,
            Condition.kind.in_((ConditionKind.FINAL, ConditionKind.COMORBIDITY)),
        )
        .order_by(Condition.recorded_at.desc(), Condition.id.desc())
        .limit(CONDITIONS_LIMIT)
    ).scalars()
    newest: dict[str, Condition] = {}
    for condition in rows:
        if condition.icd10_code not in newest and _is_chronic(condition, rules):
            newest[condition.icd10_code] = condition
    return list(newest.values())


def encounter_for_prescribing(
    session: Session,
    encounter_id: int,
    actor: Actor,
    *,
    now: datetime | None = None,
    rules: PrescriptionRules = RULES,
) -> PrescribingContext:
    """The visit or stay of the doctor's organization to prescribe from, with its patient, diagnoses, chronic
    conditions and allergies. Raises NotFound for an encounter of another organization (or none), so that an id
    typed in the address tells nothing about other organizations' patients."""
    if actor.role != Role.DOCTOR:
        raise ValidationError(NOT_A_DOCTOR)
    now = now or utcnow()
    encounter = session.get(Encounter, encounter_id)
    if (
        encounter is None
        or encounter.organization_id != actor.organization_id
        or encounter.status != RecordStatus.ACTIVE
        or encounter.state == EncounterState.CANCELLED
    ):
        raise NotFound(NOT_FOUND, field="encounter_id")
    if encounter.state == EncounterState.CLOSED and (
        encounter.ended_at is None or now - encounter.ended_at > timedelta(hours=rules.after_close_hours)
    ):
        raise ValidationError(
            N_("This visit or stay closed more than {hours} hours ago; prescribe from a new one."),
            hours=str(rules.after_close_hours),
        )
    patient = session.get_one(Patient, encounter.patient_id)
    if patient.merged_into_id is not None:
        raise ValidationError(N_("This patient record was merged into another one; prescribe on that record."))
    diagnoses = session.execute(
        select(Condition)
        .where(Condition.encounter_id == encounter.id, Condition.status == RecordStatus.ACTIVE)
        .order_by(Condition.recorded_at, Condition.id)
    ).scalars()
    allergies = session.execute(
        select(Allergy)
        .where(Allergy.patient_id == patient.id, Allergy.status == RecordStatus.ACTIVE)
        .order_by(Allergy.recorded_at.desc(), Allergy.id.desc())
    ).scalars()
    return PrescribingContext(
        encounter,
        patient,
        list(diagnoses),
        _chronic(session, patient.id, rules),
        list(allergies),
        _stay_codes(session, encounter),
    )


def _stay_codes(session: Session, encounter: Encounter) -> list[str]:
    """The admission diagnosis of a stay, then its final diagnosis once discharged."""
    if encounter.kind != EncounterKind.INPATIENT:
        return []
    row = session.execute(
        select(Admission.icd10_code, Discharge.icd10_code)
        .outerjoin(Discharge, and_(Discharge.admission_id == Admission.id, Discharge.status == RecordStatus.ACTIVE))
        .where(Admission.encounter_id == encounter.id, Admission.status == RecordStatus.ACTIVE)
        .order_by(Admission.id.desc())
        .limit(1)
    ).first()
    return [] if row is None else [code for code in row if code]


def correction_source(
    session: Session, prescription_id: int, *, patient_id: int, actor: Actor, day: date
) -> Correction:
    """The live prescription of this patient that the doctor may cancel, to prefill its correction; anything else
    (another patient's, another organization's, nothing left to dispense) is refused alike."""
    prescription = session.get(Prescription, prescription_id)
    if (
        prescription is None
        or prescription.patient_id != patient_id
        or prescription.status != RecordStatus.ACTIVE
        or actor.role != Role.DOCTOR
        or (actor.cabinet_id != prescription.prescriber_id and actor.organization_id != prescription.organization_id)
    ):
        raise NotFound(NO_CORRECTION, field="replaces_id")
    if state_on(prescription, day) not in LIVE_STATES:
        raise ValidationError(
            N_("Prescription {number} cannot be cancelled: nothing is left to dispense on it."),
            number=prescription.number,
        )
    rows = session.execute(
        select(PrescriptionItem, Drug)
        .join(Drug, Drug.id == PrescriptionItem.drug_id)
        .where(PrescriptionItem.prescription_id == prescription.id)
        .order_by(PrescriptionItem.line)
    ).all()
    items = [
        CorrectedItem(
            drug=drug,
            dose=item.dose,
            intakes_per_day=item.intakes_per_day,
            duration_days=item.duration_days,
            route=item.route,
            quantity=item.quantity,
            by_brand=item.brand is not None,
        )
        for item, drug in rows
    ]
    return Correction(prescription, items)


def own_prescription_number(session: Session, actor: Actor, number: str) -> str | None:
    """`number` if it is a prescription the actor wrote (what a page may name back to them), else None."""
    found = session.execute(
        select(Prescription.number).where(
            Prescription.number == number[:20], Prescription.prescriber_id == actor.cabinet_id
        )
    ).scalar_one_or_none()
    return found


__all__ = [
    "CorrectedItem",
    "Correction",
    "PrescribingContext",
    "PrescriptionRow",
    "correction_source",
    "encounter_for_prescribing",
    "own_prescription_number",
    "patient_prescriptions",
    "prescriber_register",
    "search_catalogue",
]
