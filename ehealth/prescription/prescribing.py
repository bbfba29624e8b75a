"""Writing an e-prescription (R-12, PRESCRIPTION.md): the checks, the quantity arithmetic, and issuing it once
the doctor has confirmed it with E-IMZO or their live OneID session.

`review` runs every check without writing anything, so the form can show blocking problems and warnings before
the doctor confirms; issuing runs it again inside the saving transaction, so nothing unchecked is ever stored.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.trail import Actor, record
from ehealth.calendar import today as tashkent_today
from ehealth.clinical import RecordStatus
from ehealth.emr.models import Allergy, Encounter, EncounterState
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT, validate_icd10, validate_pinfl
from ehealth.patients.models import Patient
from ehealth.pkcs7 import signed_content
from ehealth.prescription import canonical, safety
from ehealth.prescription.confirmation import Confirmer, OneIdSession, seal, signer_of
from ehealth.prescription.lifecycle import LIVE_STATES, cancel
from ehealth.prescription.models import (
    ConfirmationKind,
    Prescription,
    PrescriptionCategory,
    PrescriptionDraft,
    PrescriptionItem,
    PrescriptionWarning,
)
from ehealth.prescription.notifications import notify_issued
from ehealth.prescription.numbers import new_number
from ehealth.prescription.rules import RULES, PrescriptionRules
from ehealth.reference.models import Drug, DrugCategory, Organization

NOT_A_DOCTOR = N_("Only a doctor may write a prescription.")
UNACKNOWLEDGED = N_("Every warning needs your acknowledgement and the reason before the prescription is issued.")
DRAFT_GONE = N_("This signing request has expired or was already used; check the prescription and sign again.")
CHANGED_WHILE_SIGNING = N_("The prescription changed while it was being signed; check it and sign again.")
WRONG_SIGNER = N_("The signature belongs to someone else; sign with your own E-IMZO key.")


class Rule:
    """Names of the blocking rules, as problems and messages cite them."""

    PINFL = "invalid_pinfl"
    ICD10 = "unknown_icd10"
    MEDICINE = "unknown_medicine"
    DOSE = "dose_out_of_range"
    INTAKES = "intakes_out_of_range"
    DURATION = "duration_out_of_range"
    QUANTITY = "quantity_out_of_range"
    ROUTE = "unknown_route"
    ITEMS = "item_count"
    REPEATED_LINE = "repeated_medicine"
    CONTROLLED = "controlled_rule"
    REIMBURSED = "reimbursed_diagnosis"
    REPEATS = "repeats_rule"
    CATEGORY = "unknown_category"


@dataclass(frozen=True)
class Problem:
    """A blocking problem: the prescription cannot be issued until it is fixed."""

    rule: str
    line: int  # 0: the prescription as a whole
    message: str
    params: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The problem in the current language."""
        return gettext(self.message, **self.params)


@dataclass(frozen=True)
class ItemInput:
    """One medicine as the doctor typed it; quantity None means "as computed"."""

    drug_id: int | None
    dose: float | None
    intakes_per_day: int | None
    duration_days: int | None
    route: str | None = None
    quantity: int | None = None
    by_brand: bool = False


@dataclass(frozen=True)
class Order:
    """What the doctor asks to prescribe; `replaces_id` with `replace_reason` makes it a correction."""

    patient_id: int
    encounter_id: int
    icd10_code: str
    category: str
    items: tuple[ItemInput, ...]
    repeats: int = 0
    replaces_id: int | None = None
    replace_reason: str | None = None

    def to_json(self) -> str:
        """The order as JSON (kept with a draft while the doctor signs)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Order:
        """The order a draft kept."""
        data = json.loads(text)
        data["items"] = tuple(ItemInput(**item) for item in data["items"])
        return cls(**data)


@dataclass(frozen=True)
class Acknowledgement:
    """The doctor read a warning and prescribes anyway, for this reason."""

    rule: str
    line: int
    reason: str


@dataclass(frozen=True)
class PlannedItem:
    """A line that passed its checks, with the quantity arithmetic done."""

    line: int
    drug: Drug
    dose: float
    intakes_per_day: int
    duration_days: int
    route: str
    need: int  # units (Drug.unit) the course takes
    max_quantity: int  # the need rounded up to whole packs (a controlled medicine: exactly the need)
    quantity: int
    by_brand: bool


@dataclass
class Review:
    """Everything the checks found: blocking problems, warnings to acknowledge, and the planned lines."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[safety.Finding] = field(default_factory=list)
    lines: list[PlannedItem] = field(default_factory=list)
    category: PrescriptionCategory | None = None
    icd10_code: str = ""
    valid_until: date | None = None
    safety_version: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing blocks the prescription."""
        return not self.problems


def need_units(drug: Drug, dose: float, intakes_per_day: int, days: int) -> int:
    """Units of the medicine (tablets, inhalers, pens) a course of dose x intakes x days takes."""
    doses = dose * intakes_per_day * days
    return max(1, math.ceil(round(doses / drug.doses_per_unit, 6)))


def max_quantity(drug: Drug, need: int, category: PrescriptionCategory | None) -> int:
    """The most a doctor may prescribe for a course: whole packs, but never beyond the need if controlled."""
    if category == PrescriptionCategory.CONTROLLED or drug.category == DrugCategory.CONTROLLED:
        return need
    return math.ceil(need / drug.pack_size) * drug.pack_size


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _doctor(session: Session, actor: Actor) -> Cabinet:
    cabinet = session.get(Cabinet, actor.cabinet_id) if actor.cabinet_id is not None else None
    if cabinet is None or actor.role != Role.DOCTOR or cabinet.organization_id != actor.organization_id:
        raise ValidationError(NOT_A_DOCTOR)
    return cabinet


def _encounter(session: Session, order: Order, actor: Actor, now: datetime, rules: PrescriptionRules) -> Encounter:
    encounter = session.get(Encounter, order.encounter_id)
    if (
        encounter is None
        or encounter.organization_id != actor.organization_id
        or encounter.patient_id != order.patient_id
        or encounter.status != RecordStatus.ACTIVE
        or encounter.state == EncounterState.CANCELLED
    ):
        raise NotFound(N_("The visit or hospital stay to prescribe from was not found in your organization."))
    if encounter.state == EncounterState.CLOSED and (
        encounter.ended_at is None or now - encounter.ended_at > timedelta(hours=rules.after_close_hours)
    ):
        raise ValidationError(
            N_("This visit or stay closed more than {hours} hours ago; prescribe from a new one."),
            hours=str(rules.after_close_hours),
        )
    return encounter


def _patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(N_("The patient was not found."))
    if patient.merged_into_id is not None:
        raise ValidationError(N_("This patient record was merged into another one; prescribe on that record."))
    return patient


def _category(value: str, review: Review) -> PrescriptionCategory | None:
    try:
        return PrescriptionCategory(value)
    except ValueError:
        review.problems.append(Problem(Rule.CATEGORY, 0, N_("Choose the prescription's category.")))
        return None


def _plan_line(  # noqa: PLR0911  (one return per refusal keeps each rule readable)
    session: Session, line: int, item: ItemInput, category: PrescriptionCategory | None, rules: PrescriptionRules
) -> PlannedItem | Problem:
    """Check one line and do its quantity arithmetic, or the first problem it has."""
    drug = session.get(Drug, item.drug_id) if item.drug_id is not None else None
    if drug is None or not drug.is_active:
        return Problem(
            Rule.MEDICINE, line, N_("Line {line}: choose a medicine from the catalogue."), {"line": str(line)}
        )
    params = {"line": str(line), "medicine": drug.inn}
    if item.dose is None or not math.isfinite(item.dose) or not 0 < item.dose <= rules.max_dose_units:
        params["max"] = f"{rules.max_dose_units:g}"
        return Problem(
            Rule.DOSE, line, N_("Line {line} ({medicine}): the dose must be above 0 and at most {max}."), params
        )
    if item.intakes_per_day is None or not 1 <= item.intakes_per_day <= rules.max_intakes_per_day:
        params["max"] = str(rules.max_intakes_per_day)
        return Problem(
            Rule.INTAKES, line, N_("Line {line} ({medicine}): intakes per day must be from 1 to {max}."), params
        )
    longest = rules.max_course_days[category] if category is not None else max(rules.max_course_days.values())
    if item.duration_days is None or not 1 <= item.duration_days <= longest:
        params["max"] = str(longest)
        return Problem(
            Rule.DURATION,
            line,
            N_("Line {line} ({medicine}): the course must last from 1 to {max} days in this category."),
            params,
        )
    route = (item.route or drug.route or "").strip()
    if route not in rules.routes:
        return Problem(Rule.ROUTE, line, N_("Line {line} ({medicine}): choose how the medicine is given."), params)
    need = need_units(drug, item.dose, item.intakes_per_day, item.duration_days)
    most = max_quantity(drug, need, category)
    quantity = item.quantity if item.quantity is not None else most if most == need else need
    if not 1 <= quantity <= most:
        params.update(max=str(most), unit=drug.unit)
        return Problem(
            Rule.QUANTITY,
            line,
            N_("Line {line} ({medicine}): the quantity must be from 1 to {max} {unit} for this course."),
            params,
        )
    return PlannedItem(
        line, drug, item.dose, item.intakes_per_day, item.duration_days, route, need, most, quantity, item.by_brand
    )


def _category_rules(review: Review, order: Order, category: PrescriptionCategory, rules: PrescriptionRules) -> None:
    """Rules of the controlled, reimbursed and chronic categories."""
    problems = review.problems
    controlled = [planned for planned in review.lines if planned.drug.category == DrugCategory.CONTROLLED]
    if category == PrescriptionCategory.CONTROLLED:
        if len(order.items) > rules.controlled_max_items:
            problems.append(
                Problem(Rule.CONTROLLED, 0, N_("A controlled-category prescription holds one medicine only."))
            )
        for planned in review.lines:
            if planned.drug.category != DrugCategory.CONTROLLED:
                problems.append(
                    Problem(
                        Rule.CONTROLLED,
                        planned.line,
                        N_("{medicine} is not a controlled medicine; prescribe it in another category."),
                        {"medicine": planned.drug.inn},
                    )
                )
    else:
        for planned in controlled:
            problems.append(
                Problem(
                    Rule.CONTROLLED,
                    planned.line,
                    N_("{medicine} is a controlled medicine: it needs a prescription of the controlled category."),
                    {"medicine": planned.drug.inn},
                )
            )
    if category == PrescriptionCategory.REIMBURSED and review.icd10_code and not rules.reimbursable(review.icd10_code):
        problems.append(
            Problem(
                Rule.REIMBURSED,
                0,
                N_("Diagnosis {code} is not in the reimbursement programme; choose another category."),
                {"code": review.icd10_code},
            )
        )
    if order.repeats and category == PrescriptionCategory.CHRONIC:
        valid = rules.validity_days[category]
        for planned in review.lines:
            if planned.duration_days * (1 + order.repeats) > valid:
                problems.append(
                    Problem(
                        Rule.REPEATS,
                        planned.line,
                        N_(
                            "Line {line}: {fills} courses of {days} days do not fit in the {valid} days the prescription is valid."
                        ),
                        {
                            "line": str(planned.line),
                            "fills": str(1 + order.repeats),
                            "days": str(planned.duration_days),
                            "valid": str(valid),
                        },
                    )
                )
    if order.repeats and category != PrescriptionCategory.CHRONIC:
        problems.append(Problem(Rule.REPEATS, 0, N_("Only a chronic prescription may be marked repeat.")))
    elif not 0 <= order.repeats <= rules.max_repeats:
        problems.append(
            Problem(
                Rule.REPEATS,
                0,
                N_("A repeat prescription may be dispensed at most {max} more times."),
                {"max": str(rules.max_repeats)},
            )
        )


def _active_medicines(session: Session, patient_id: int, on: date, replaces_id: int | None) -> list[safety.Medicine]:
    """The medicines of the patient's other prescriptions still to be taken (for duplicate therapy, interactions)."""
    rows = session.execute(
        select(Prescription.number, Prescription.id, PrescriptionItem, Drug.atc_code)
        .join(PrescriptionItem, PrescriptionItem.prescription_id == Prescription.id)
        .join(Drug, Drug.id == PrescriptionItem.drug_id)
        .where(
            Prescription.patient_id == patient_id,
            Prescription.state.in_(LIVE_STATES),
            Prescription.valid_until >= on,
            Prescription.status == RecordStatus.ACTIVE,
        )
    ).all()
    return [
        safety.Medicine(0, item.inn, atc, item.strength, item.dose, item.intakes_per_day, number)
        for number, prescription_id, item, atc in rows
        if prescription_id != replaces_id
    ]


def _allergies(session: Session, patient_id: int) -> list[safety.KnownAllergy]:
    rows = session.execute(
        select(Allergy.substance, Allergy.inn, Allergy.atc_code).where(
            Allergy.patient_id == patient_id, Allergy.status == RecordStatus.ACTIVE
        )
    ).all()
    return [safety.KnownAllergy(substance, inn, atc) for substance, inn, atc in rows]


def review(
    session: Session,
    order: Order,
    *,
    actor: Actor,
    now: datetime | None = None,
    rules: PrescriptionRules = RULES,
) -> Review:
    """Every check of PRESCRIPTION.md on `order`, writing nothing. Raises only when the doctor, the patient or the
    encounter is wrong (there is nothing to review then); everything else comes back as problems and warnings."""
    now = now or utcnow()
    on = now.astimezone(TASHKENT).date()
    _doctor(session, actor)
    patient = _patient(session, order.patient_id)
    _encounter(session, order, actor, now, rules)
    result = Review(safety_version=safety.load().version)
    try:
        validate_pinfl(patient.pinfl)
    except ValidationError:
        result.problems.append(
            Problem(Rule.PINFL, 0, N_("The patient's PINFL is not valid; correct the patient record first."))
        )
    try:
        result.icd10_code = validate_icd10(order.icd10_code)
    except ValidationError:
        result.problems.append(
            Problem(Rule.ICD10, 0, N_("Choose a valid ICD-10 diagnosis code."), {"code": order.icd10_code})
        )
    category = result.category = _category(order.category, result)
    if not 1 <= len(order.items) <= rules.max_items:
        result.problems.append(
            Problem(Rule.ITEMS, 0, N_("A prescription holds from 1 to {max} medicines."), {"max": str(rules.max_items)})
        )
    seen: set[int] = set()
    for line, item in enumerate(order.items, start=1):
        planned = _plan_line(session, line, item, category, rules)
        if isinstance(planned, Problem):
            result.problems.append(planned)
            continue
        if planned.drug.id in seen:
            result.problems.append(
                Problem(
                    Rule.REPEATED_LINE,
                    line,
                    N_("Line {line} repeats {medicine}; change the quantity of the first line instead."),
                    {"line": str(line), "medicine": planned.drug.inn},
                )
            )
            continue
        seen.add(planned.drug.id)
        result.lines.append(planned)
    if category is not None:
        _category_rules(result, order, category, rules)
        result.valid_until = on + timedelta(days=rules.validity_days[category])
    new = [
        safety.Medicine(p.line, p.drug.inn, p.drug.atc_code, p.drug.strength, p.dose, p.intakes_per_day)
        for p in result.lines
    ]
    result.warnings = safety.review(
        safety.load(),
        new,
        age_years=_age(patient.birth_date, on),
        allergies=_allergies(session, patient.id),
        active=_active_medicines(session, patient.id, on, order.replaces_id),
    )
    return result


def _require_acknowledged(found: Review, acknowledgements: Sequence[Acknowledgement]) -> dict[tuple[str, int], str]:
    given = {(ack.rule, ack.line): ack.reason.strip()[:500] for ack in acknowledgements if ack.reason.strip()}
    for warning in found.warnings:
        if (str(warning.rule), warning.line) not in given:
            raise ValidationError(UNACKNOWLEDGED)
    return given


def _refuse_problems(found: Review) -> None:
    if found.problems:
        first = found.problems[0]
        raise ValidationError(first.message, field=first.rule, **first.params)


@dataclass
class _Built:
    prescription: Prescription
    items: list[PrescriptionItem]
    canonical: bytes


def _build(session: Session, order: Order, found: Review, *, actor: Actor, number: str, issued_at: datetime) -> _Built:
    """The prescription and its items as they will be stored, and their canonical JSON."""
    assert found.category is not None and found.valid_until is not None
    patient = session.get(Patient, order.patient_id)
    organization = session.get(Organization, actor.organization_id)
    assert patient is not None and organization is not None
    fills = 1 + order.repeats if found.category == PrescriptionCategory.CHRONIC else 1
    # The canonical JSON is rebuilt at the pharmacy from the stored (UTC) time: hash it in UTC here too.
    issued_at = issued_at.astimezone(UTC)
    prescription = Prescription(
        number=number,
        patient_id=order.patient_id,
        organization_id=organization.id,
        created_by=actor.cabinet_id,
        encounter_id=order.encounter_id,
        prescriber_id=actor.cabinet_id,
        icd10_code=found.icd10_code,
        category=found.category,
        state="active",
        issued_at=issued_at,
        valid_until=found.valid_until,
        repeats_allowed=order.repeats,
        confirmation=ConfirmationKind.ONEID,
        content_hash="",
        safety_version=found.safety_version,
        replaces_id=order.replaces_id,
    )
    items = [
        PrescriptionItem(
            patient_id=order.patient_id,
            line=planned.line,
            drug_id=planned.drug.id,
            inn=planned.drug.inn,
            brand=planned.drug.brand if planned.by_brand else None,
            form=planned.drug.form,
            strength=planned.drug.strength,
            dose=float(planned.dose),
            dose_unit=planned.drug.dose_unit or planned.drug.unit,
            intakes_per_day=planned.intakes_per_day,
            route=planned.route,
            duration_days=planned.duration_days,
            quantity=planned.quantity,
            fills=fills,
            dispensed_quantity=0,
        )
        for planned in found.lines
    ]
    fields: dict[str, Any] = {name: getattr(prescription, name) for name in canonical.FIELDS}
    rows = [{name: getattr(item, name) for name in canonical.ITEM_FIELDS} for item in items]
    body = canonical.content(fields, rows, patient_pinfl=patient.pinfl, organization_stir=organization.stir)
    prescription.content_hash = canonical.content_hash(body)
    return _Built(prescription, items, body)


def _checked(
    session: Session, order: Order, acknowledgements: Sequence[Acknowledgement], actor: Actor, now: datetime
) -> tuple[Review, dict[tuple[str, int], str]]:
    found = review(session, order, actor=actor, now=now)
    _refuse_problems(found)
    return found, _require_acknowledged(found, acknowledgements)


def _save(
    session: Session,
    built: _Built,
    order: Order,
    found: Review,
    *,
    reasons: dict[tuple[str, int], str],
    actor: Actor,
    now: datetime,
) -> Prescription:
    """Store the prescription, its items and acknowledged warnings; cancel what it replaces; tell the patient."""
    if order.replaces_id is not None:
        cancel(
            session,
            order.replaces_id,
            reason=order.replace_reason or "",
            actor=actor,
            now=now,
            patient_id=order.patient_id,
        )
    prescription = built.prescription
    session.add(prescription)
    try:
        with session.begin_nested():
            flush(session)
    except DomainError as error:
        raise ValidationError(N_("The prescription number was taken at the same moment; confirm again.")) from error
    for item in built.items:
        item.prescription_id = prescription.id
        session.add(item)
    for warning in found.warnings:
        detail = json.dumps({"message": warning.message, "params": warning.params}, ensure_ascii=False, sort_keys=True)
        session.add(
            PrescriptionWarning(
                prescription_id=prescription.id,
                line=warning.line,
                rule=str(warning.rule),
                severity=warning.severity,
                detail=detail,
                reason=reasons[(str(warning.rule), warning.line)],
                acknowledged_by=actor.cabinet_id,
                acknowledged_at=now,
            )
        )
    flush(session)
    notify_issued(session, prescription)
    record(
        session,
        actor,
        "prescription.issued",
        patient_id=prescription.patient_id,
        object_type="prescription",
        object_id=prescription.id,
        detail=f"{prescription.number} {prescription.category} {prescription.confirmation}",
    )
    return prescription


def issue_with_session(
    session: Session,
    order: Order,
    acknowledgements: Sequence[Acknowledgement],
    *,
    actor: Actor,
    oneid: OneIdSession,
    confirmer: Confirmer,
    now: datetime | None = None,
) -> Prescription:
    """Issue a prescription confirmed by the doctor's live OneID session (sealed with the portal's key)."""
    now = now or utcnow()
    if oneid.cabinet_id != actor.cabinet_id:
        raise ValidationError(WRONG_SIGNER)
    found, reasons = _checked(session, order, acknowledgements, actor, now)
    built = _build(session, order, found, actor=actor, number=new_number(tashkent_today()), issued_at=now)
    built.prescription.signature, built.prescription.signer = seal(confirmer.seal_key, built.canonical, oneid)
    built.prescription.confirmation = ConfirmationKind.ONEID
    return _save(session, built, order, found, reasons=reasons, actor=actor, now=now)


def prepare_signature(
    session: Session,
    order: Order,
    acknowledgements: Sequence[Acknowledgement],
    *,
    actor: Actor,
    now: datetime | None = None,
    rules: PrescriptionRules = RULES,
) -> PrescriptionDraft:
    """Check the order and keep it as a draft whose canonical JSON the doctor signs with E-IMZO."""
    now = now or utcnow()
    found, _reasons = _checked(session, order, acknowledgements, actor, now)
    built = _build(session, order, found, actor=actor, number=new_number(tashkent_today()), issued_at=now)
    draft = PrescriptionDraft(
        token=secrets.token_urlsafe(32),
        cabinet_id=actor.cabinet_id,
        patient_id=order.patient_id,
        content=built.canonical.decode(),
        acknowledgements=json.dumps(
            {"order": order.to_json(), "acks": [asdict(ack) for ack in acknowledgements]}, ensure_ascii=False
        ),
        created_at=now,
        expires_at=now + timedelta(minutes=rules.draft_minutes),
    )
    session.add(draft)
    flush(session)
    return draft


def issue_signed(
    session: Session,
    token: str,
    pkcs7_b64: str,
    *,
    actor: Actor,
    confirmer: Confirmer,
    now: datetime | None = None,
) -> Prescription:
    """Issue the drafted prescription the doctor signed: the signed text must be the draft's canonical JSON,
    E-IMZO-SERVER must verify the signature, and the certificate must be the prescriber's own."""
    now = now or utcnow()
    draft = session.execute(
        select(PrescriptionDraft).where(PrescriptionDraft.token == token).with_for_update()
    ).scalar_one_or_none()
    if (
        draft is None
        or draft.cabinet_id != actor.cabinet_id
        or draft.prescription_id is not None
        or draft.expires_at < now
    ):
        raise ValidationError(DRAFT_GONE)
    signed = signed_content(pkcs7_b64)
    if signed is None or signed != draft.content.encode():
        raise ValidationError(CHANGED_WHILE_SIGNING)
    if confirmer.verify_pkcs7 is None:
        raise ValidationError(N_("E-IMZO is not configured on this portal; confirm with your OneID session."))
    identity = confirmer.verify_pkcs7(pkcs7_b64)
    doctor = _doctor(session, actor)
    if identity.pinfl != doctor.pinfl:
        raise ValidationError(WRONG_SIGNER)
    kept = json.loads(draft.acknowledgements)
    order = Order.from_json(kept["order"])
    acknowledgements = [Acknowledgement(**ack) for ack in kept["acks"]]
    signed_body = json.loads(draft.content)
    found, reasons = _checked(session, order, acknowledgements, actor, now)
    issued_at = datetime.fromisoformat(signed_body["issued_at"])
    built = _build(session, order, found, actor=actor, number=signed_body["number"], issued_at=issued_at)
    if built.canonical != signed:
        raise ValidationError(CHANGED_WHILE_SIGNING)
    built.prescription.confirmation = ConfirmationKind.EIMZO
    built.prescription.signature = pkcs7_b64
    built.prescription.signer = signer_of(identity)
    prescription = _save(session, built, order, found, reasons=reasons, actor=actor, now=now)
    draft.prescription_id = prescription.id
    return prescription


__all__ = [
    "Acknowledgement",
    "ItemInput",
    "Order",
    "PlannedItem",
    "Problem",
    "Review",
    "issue_signed",
    "issue_with_session",
    "max_quantity",
    "need_units",
    "prepare_signature",
    "review",
]
