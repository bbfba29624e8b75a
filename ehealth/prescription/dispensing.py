"""Dispensing at the pharmacy (PRESCRIPTION.md): find a prescription by number and PINFL, hand medicines over
per item, never more than prescribed, even when two pharmacies dispense the same prescription at once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from db import flush, utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.models import Outcome
from ehealth.audit.trail import API_CLIENT_ROLE, Actor, record
from ehealth.errors import NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.identifiers import TASHKENT, validate_pinfl
from ehealth.patients.models import Patient
from ehealth.prescription import canonical
from ehealth.prescription.confirmation import Confirmer, check
from ehealth.prescription.lifecycle import LIVE_STATES, state_on
from ehealth.prescription.models import (
    Dispense,
    Prescription,
    PrescriptionCategory,
    PrescriptionItem,
    PrescriptionState,
)
from ehealth.prescription.numbers import looks_valid, normalize
from ehealth.reference.models import Drug, DrugCategory, Organization, OrganizationKind

NOT_FOUND = N_("No prescription with this number was issued to the patient with this PINFL.")
BATCH_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z/.\-]{2,39}$")
PACK_LENGTH = 60

_REFUSED_STATE = {
    PrescriptionState.CANCELLED: N_("Prescription {number} was cancelled; nothing can be dispensed on it."),
    PrescriptionState.EXPIRED: N_("Prescription {number} expired on {date}; nothing can be dispensed on it."),
    PrescriptionState.DISPENSED: N_("Prescription {number} has been dispensed in full."),
}


@dataclass(frozen=True)
class DispenseLine:
    """What the pharmacist hands over against one item: how much, which product, its pack and batch."""

    item_id: int
    quantity: int
    drug_id: int
    pack: str
    batch_number: str


@dataclass(frozen=True)
class ItemView:
    """One item as the pharmacist sees it, with what is left and the products that may be given for it."""

    item: PrescriptionItem
    unit: str
    controlled: bool
    products: list[Drug]

    @property
    def remaining(self) -> int:
        """Units still to be dispensed."""
        return self.item.remaining


@dataclass(frozen=True)
class Found:
    """A prescription presented at the pharmacy."""

    prescription: Prescription
    patient: Patient
    state: PrescriptionState
    prescriber: str
    organization: str
    items: list[ItemView]


def _pharmacy(session: Session, actor: Actor, *, system: bool = False) -> Organization:
    """The actor's pharmacy; with `system`, a pharmacy's own system (an API client, no cabinet) may act too."""
    organization = session.get(Organization, actor.organization_id) if actor.organization_id is not None else None
    by_system = system and actor.role == API_CLIENT_ROLE and actor.cabinet_id is None
    allowed = actor.role == Role.PHARMACIST or by_system
    if not allowed or organization is None or organization.kind != OrganizationKind.PHARMACY:
        raise ValidationError(N_("Only a pharmacist of a pharmacy may dispense prescriptions."))
    return organization


def _number_and_pinfl(number: str, pinfl: str) -> tuple[str, str]:
    cleaned = normalize(number or "")
    if not looks_valid(cleaned):
        raise ValidationError(N_("Type the prescription number as printed: RX-2611-XXXX-XXXX."), field="number")
    return cleaned, validate_pinfl(pinfl or "")


def _locate(session: Session, number: str, pinfl: str, *, lock: bool) -> tuple[Prescription, Patient] | None:
    query = (
        select(Prescription, Patient)
        .join(Patient, Patient.id == Prescription.patient_id)
        .where(Prescription.number == number, Patient.pinfl == pinfl)
    )
    if lock:
        # Locked and re-read: the values in this session's identity map may predate the other pharmacy's dispense.
        query = query.with_for_update(of=Prescription).execution_options(populate_existing=True)
    row = session.execute(query).one_or_none()
    return (row[0], row[1]) if row is not None else None


def _products(session: Session, item: PrescriptionItem) -> list[Drug]:
    """Catalogue products that may be given for the item: the same INN, form and strength (any brand)."""
    return list(
        session.execute(
            select(Drug)
            .where(
                Drug.inn == item.inn,
                Drug.form == item.form,
                Drug.strength == item.strength,
                Drug.is_active.is_(True),
            )
            .order_by(Drug.id != item.drug_id, Drug.brand)
        ).scalars()
    )


def _items(session: Session, prescription: Prescription) -> list[PrescriptionItem]:
    """The prescription's items in line order, read afresh (what is dispensed changes under other transactions)."""
    return list(
        session.execute(
            select(PrescriptionItem)
            .where(PrescriptionItem.prescription_id == prescription.id)
            .order_by(PrescriptionItem.line)
            .execution_options(populate_existing=True)
        ).scalars()
    )


def canonical_of(
    session: Session, prescription: Prescription, patient: Patient, items: list[PrescriptionItem] | None = None
) -> bytes:
    """The canonical JSON rebuilt from the stored rows (what the doctor's confirmation must still match)."""
    organization = session.get(Organization, prescription.organization_id)
    assert organization is not None
    fields: dict[str, Any] = {name: getattr(prescription, name) for name in canonical.FIELDS}
    listed = items if items is not None else _items(session, prescription)
    rows = [{name: getattr(item, name) for name in canonical.ITEM_FIELDS} for item in listed]
    return canonical.content(fields, rows, patient_pinfl=patient.pinfl, organization_stir=organization.stir)


def find(session: Session, number: str, pinfl: str, *, actor: Actor, now: datetime | None = None) -> Found:
    """The prescription with this number issued to the patient with this PINFL (both needed); audited."""
    _pharmacy(session, actor, system=True)
    number, pinfl = _number_and_pinfl(number, pinfl)
    located = _locate(session, number, pinfl, lock=False)
    if located is None:
        record(session, actor, "prescription.looked_up", outcome=Outcome.FAILED, detail=number)
        raise NotFound(NOT_FOUND)
    prescription, patient = located
    day = (now or utcnow()).astimezone(TASHKENT).date()
    prescriber = session.get(Cabinet, prescription.prescriber_id)
    organization = session.get(Organization, prescription.organization_id)
    views = []
    for item in _items(session, prescription):
        drug = session.get(Drug, item.drug_id)
        controlled = prescription.category == PrescriptionCategory.CONTROLLED or (
            drug is not None and drug.category == DrugCategory.CONTROLLED
        )
        views.append(ItemView(item, drug.unit if drug else "", controlled, _products(session, item)))
    record(
        session,
        actor,
        "prescription.looked_up",
        patient_id=patient.id,
        object_type="prescription",
        object_id=prescription.id,
        detail=number,
    )
    return Found(
        prescription,
        patient,
        state_on(prescription, day),
        prescriber.full_name if prescriber and prescriber.full_name else "",
        organization.name if organization else "",
        views,
    )


def _refuse_state(prescription: Prescription, day: date, pharmacy: Organization) -> None:
    state = state_on(prescription, day)
    if state not in LIVE_STATES:
        raise ValidationError(
            _REFUSED_STATE[state], number=prescription.number, date=prescription.valid_until.strftime("%d.%m.%Y")
        )
    if prescription.category == PrescriptionCategory.REIMBURSED and not pharmacy.reimbursement_contract:
        raise ValidationError(
            N_(
                "Prescription {number} is reimbursed: only a pharmacy under contract with the State Health "
                "Insurance Fund may dispense it."
            ),
            number=prescription.number,
        )


def _checked_line(
    session: Session,
    line: DispenseLine,
    item: PrescriptionItem,
    *,
    prescription: Prescription,
    actor: Actor,
    seen: set[int],
) -> Drug:
    """The product of a line that passed every rule of dispensing one item."""
    params = {"line": str(item.line), "medicine": item.inn}
    if line.item_id in seen:
        raise ValidationError(N_("Line {line} ({medicine}) is listed twice; enter it once."), **params)
    seen.add(line.item_id)
    prescribed = session.get(Drug, item.drug_id)
    controlled = prescription.category == PrescriptionCategory.CONTROLLED or (
        prescribed is not None and prescribed.category == DrugCategory.CONTROLLED
    )
    if not isinstance(line.quantity, int) or line.quantity < 1:
        raise ValidationError(N_("Line {line} ({medicine}): the quantity must be a whole number from 1."), **params)
    if line.quantity > item.remaining:
        raise ValidationError(
            N_("Line {line} ({medicine}): only {left} are left to dispense."), left=str(item.remaining), **params
        )
    if controlled and (line.quantity != item.remaining or actor.role != Role.PHARMACIST):
        raise ValidationError(
            N_("Line {line} ({medicine}) is a controlled medicine: a pharmacist dispenses it whole ({left})."),
            left=str(item.remaining),
            **params,
        )
    product = session.get(Drug, line.drug_id)
    if (
        product is None
        or not product.is_active
        or (product.inn, product.form, product.strength) != (item.inn, item.form, item.strength)
    ):
        raise ValidationError(
            N_("Line {line}: give {medicine} {strength} in the prescribed form (any brand)."),
            strength=item.strength,
            **params,
        )
    pack = (line.pack or "").strip()
    if not pack or len(pack) > PACK_LENGTH:
        raise ValidationError(N_("Line {line} ({medicine}): describe the pack given."), **params)
    if not BATCH_RE.match((line.batch_number or "").strip()):
        raise ValidationError(
            N_("Line {line} ({medicine}): type the batch (series) number from the pack, 3 to 40 letters or digits."),
            **params,
        )
    return product


def dispense(
    session: Session,
    number: str,
    pinfl: str,
    lines: Sequence[DispenseLine],
    *,
    actor: Actor,
    confirmer: Confirmer,
    now: datetime | None = None,
) -> list[Dispense]:
    """Hand over the `lines` of the prescription found by number and PINFL; its state follows what is left."""
    now = now or utcnow()
    pharmacy = _pharmacy(session, actor)
    number, pinfl = _number_and_pinfl(number, pinfl)
    # The prescription row is locked first: two pharmacies dispensing it queue here, and each then sees what the
    # other left. The guarded UPDATE below is the second fence (and the database CHECK the third).
    located = _locate(session, number, pinfl, lock=True)
    if located is None:
        raise NotFound(NOT_FOUND)
    prescription, patient = located
    _refuse_state(prescription, now.astimezone(TASHKENT).date(), pharmacy)
    rows = _items(session, prescription)
    check(prescription, canonical_of(session, prescription, patient, rows), confirmer)
    if not lines:
        raise ValidationError(N_("Enter a quantity for at least one medicine."))
    items = {item.id: item for item in rows}
    seen: set[int] = set()
    checked: list[tuple[DispenseLine, PrescriptionItem, Drug]] = []
    for line in lines:  # every line is checked before anything is written
        listed = items.get(line.item_id)
        if listed is None:
            raise NotFound(N_("This medicine is not on the prescription."))
        checked.append(
            (line, listed, _checked_line(session, line, listed, prescription=prescription, actor=actor, seen=seen))
        )
    dispenses: list[Dispense] = []
    for line, item, product in checked:
        changed = session.execute(  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
            update(PrescriptionItem)
            .where(
                PrescriptionItem.id == item.id,
                PrescriptionItem.dispensed_quantity + line.quantity
                <= PrescriptionItem.quantity * PrescriptionItem.fills,
            )
            .values(dispensed_quantity=PrescriptionItem.dispensed_quantity + line.quantity)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise ValidationError(
                N_("Line {line} ({medicine}) was dispensed elsewhere meanwhile; find the prescription again."),
                line=str(item.line),
                medicine=item.inn,
            )
        # The row is locked by this transaction: what it holds now is what was read plus this line.
        set_committed_value(item, "dispensed_quantity", item.dispensed_quantity + line.quantity)
        dispenses.append(
            Dispense(
                patient_id=prescription.patient_id,
                organization_id=pharmacy.id,
                created_by=actor.cabinet_id,
                prescription_id=prescription.id,
                item_id=item.id,
                drug_id=product.id,
                quantity=line.quantity,
                brand=product.brand,
                strength=product.strength,
                pack=line.pack.strip(),
                batch_number=line.batch_number.strip().upper(),
                dispensed_at=now,
            )
        )
    session.add_all(dispenses)
    done = all(item.remaining == 0 for item in items.values())
    prescription.state = PrescriptionState.DISPENSED if done else PrescriptionState.PARTIALLY_DISPENSED
    flush(session)
    record(
        session,
        actor,
        "prescription.dispensed",
        patient_id=prescription.patient_id,
        object_type="prescription",
        object_id=prescription.id,
        detail=f"{prescription.number}: " + ", ".join(f"#{d.item_id}x{d.quantity}" for d in dispenses),
    )
    return dispenses
