"""The pharmacy's dispensing log (PRESCRIPTION.md): what its pharmacists handed over between two days, and the
register of controlled medicines it keeps. Read-only; each list is one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from ehealth.access.models import Cabinet, Role
from ehealth.audit.trail import Actor
from ehealth.clinical import RecordStatus
from ehealth.errors import ValidationError
from ehealth.i18n import N_
from ehealth.identifiers import TASHKENT
from ehealth.prescription.models import Dispense, Prescription, PrescriptionCategory, PrescriptionItem
from ehealth.reference.models import Drug, DrugCategory, Organization, OrganizationKind

LIMIT = 500
MAX_LIMIT = 5_000
# A year and a day: a register read over a longer span is a report, not a page.
MAX_DAYS = 366


@dataclass(frozen=True)
class LogRow:
    """One dispense as the pharmacy's log lists it."""

    dispense_id: int
    dispensed_at: datetime
    number: str
    inn: str
    brand: str | None
    strength: str
    quantity: int
    unit: str
    pack: str
    batch_number: str
    pharmacist: str
    controlled: bool


def _pharmacy(session: Session, actor: Actor) -> int:
    """The actor's pharmacy; only its pharmacists read its log."""
    organization = session.get(Organization, actor.organization_id) if actor.organization_id is not None else None
    if actor.role != Role.PHARMACIST or organization is None or organization.kind != OrganizationKind.PHARMACY:
        raise ValidationError(N_("Only a pharmacist of a pharmacy may read its dispensing log."))
    return organization.id


def _span(since: date, until: date) -> tuple[datetime, datetime]:
    """[start, end) in time of the Tashkent days `since` to `until`, both included."""
    if until < since:
        raise ValidationError(N_("The first day of the period must not be after the last."), field="since")
    if (until - since).days >= MAX_DAYS:
        raise ValidationError(N_("Choose a period of at most {days} days."), field="since", days=MAX_DAYS)
    start = datetime.combine(since, time.min, TASHKENT)
    return start, datetime.combine(until + timedelta(days=1), time.min, TASHKENT)


def _rows(
    session: Session, actor: Actor, since: date, until: date, limit: int, *, only_controlled: bool
) -> list[LogRow]:
    pharmacy_id = _pharmacy(session, actor)
    start, end = _span(since, until)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(N_("Ask for 1 to {limit} rows."), limit=MAX_LIMIT)
    given = aliased(Drug)  # the product handed over
    prescribed = aliased(Drug)  # the product the doctor prescribed
    # Controlled as dispensing judges it (the prescription or the prescribed medicine), or the product given.
    controlled: ColumnElement[bool] = or_(
        Prescription.category == PrescriptionCategory.CONTROLLED,
        prescribed.category == DrugCategory.CONTROLLED,
        given.category == DrugCategory.CONTROLLED,
    )
    query = (
        select(
            Dispense.id,
            Dispense.dispensed_at,
            Prescription.number,
            PrescriptionItem.inn,
            Dispense.brand,
            Dispense.strength,
            Dispense.quantity,
            given.unit,
            Dispense.pack,
            Dispense.batch_number,
            Cabinet.surname,
            Cabinet.given_name,
            Cabinet.patronymic,
            controlled.label("controlled"),
        )
        .join(Prescription, Prescription.id == Dispense.prescription_id)
        .join(PrescriptionItem, PrescriptionItem.id == Dispense.item_id)
        .join(given, given.id == Dispense.drug_id)
        .join(prescribed, prescribed.id == PrescriptionItem.drug_id)
        .join(Cabinet, Cabinet.id == Dispense.created_by)
        .where(
            Dispense.organization_id == pharmacy_id,
            Dispense.status == RecordStatus.ACTIVE,
            Dispense.dispensed_at >= start,
            Dispense.dispensed_at < end,
        )
        .order_by(Dispense.dispensed_at.desc(), Dispense.id.desc())
        .limit(limit)
    )
    if only_controlled:
        query = query.where(controlled)
    return [
        LogRow(
            dispense_id=row.id,
            dispensed_at=row.dispensed_at,
            number=row.number,
            inn=row.inn,
            brand=row.brand,
            strength=row.strength,
            quantity=row.quantity,
            unit=row.unit,
            pack=row.pack,
            batch_number=row.batch_number,
            pharmacist=" ".join(part for part in (row.surname, row.given_name, row.patronymic) if part),
            controlled=bool(row.controlled),
        )
        for row in session.execute(query)
    ]


def dispensing_log(session: Session, actor: Actor, *, since: date, until: date, limit: int = LIMIT) -> list[LogRow]:
    """The dispenses made at the actor's pharmacy on the Tashkent days `since` to `until`, newest first."""
    return _rows(session, actor, since, until, limit, only_controlled=False)


def controlled_log(session: Session, actor: Actor, *, since: date, until: date, limit: int = LIMIT) -> list[LogRow]:
    """The controlled-medicine register: the dispensing log restricted to controlled medicines."""
    return _rows(session, actor, since, until, limit, only_controlled=True)
