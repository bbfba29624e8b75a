"""The pharmacy report: what the pharmacy handed over in a period, per day and per INN, and its register of
controlled medicines.

A dispense is one prescription item handed over (ehealth.prescription.models.Dispense); only active records count.
The register follows ehealth/prescription/pharmacy_log.py's rule for what is controlled, but lists the whole period:
that log is a pharmacist's page (capped, for the pharmacist signed in), this is the manager's legal register.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

from ehealth.access.models import Cabinet
from ehealth.clinical import RecordStatus
from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT
from ehealth.prescription.models import Dispense, Prescription, PrescriptionCategory, PrescriptionItem
from ehealth.reference.models import Drug, DrugCategory, OrganizationKind
from ehealth.reports.base import Chart, ChartKind, Column, Kind, Report, ReportSpec, Scope, Table, register

KEY = "pharmacy"


def _scoped(scope: Scope) -> tuple[ColumnElement[bool], ...]:
    """The pharmacy's active dispenses in the period."""
    return (
        Dispense.organization_id == scope.organization_id,
        Dispense.status == RecordStatus.ACTIVE,
        Dispense.dispensed_at >= scope.since,
        Dispense.dispensed_at < scope.until,
    )


def _by_day(session: Session, scope: Scope) -> Table:
    # One pharmacy's dispenses over a year are a few tens of thousands at most: their times are fetched and counted
    # per Tashkent day here, which every backend does alike (SQL would need a dialect's date arithmetic).
    times = session.execute(select(Dispense.dispensed_at).where(*_scoped(scope))).scalars()
    per_day = Counter(moment.astimezone(TASHKENT).date() for moment in times)
    rows = [(day, per_day.get(day, 0)) for day in scope.days]
    return Table(
        key="by_day",
        title=gettext(N_("Items dispensed per day")),
        columns=(
            Column("date", gettext(N_("Date")), Kind.DATE),
            Column("items", gettext(N_("Items dispensed")), Kind.INT),
        ),
        rows=rows,
        total=(gettext(N_("Total")), sum(count for _day, count in rows)),
        note=gettext(N_("An item is one medicine of a prescription handed over once.")),
    )


def _by_inn(session: Session, scope: Scope) -> Table:
    query = (
        select(Drug.inn, Drug.unit, func.count(Dispense.id), func.sum(Dispense.quantity))
        .select_from(Dispense)
        .join(Drug, Drug.id == Dispense.drug_id)
        .where(*_scoped(scope))
        .group_by(Drug.inn, Drug.unit)
    )
    rows = [(inn, unit, int(items), int(quantity or 0)) for inn, unit, items, quantity in session.execute(query)]
    rows.sort(key=lambda row: (-row[2], row[0], row[1]))
    return Table(
        key="by_inn",
        title=gettext(N_("Dispensed by medicine (INN)")),
        columns=(
            Column("inn", gettext(N_("International name (INN)")), Kind.TEXT),
            Column("unit", gettext(N_("Unit")), Kind.TEXT),
            Column("items", gettext(N_("Items dispensed")), Kind.INT),
            Column("quantity", gettext(N_("Quantity")), Kind.INT),
        ),
        rows=rows,
        total=(gettext(N_("Total")), "", sum(row[2] for row in rows), None),
        note=gettext(N_("Quantities are added up per unit of the product given (tablets, vials, inhalers...).")),
    )


def _controlled_log(session: Session, scope: Scope) -> Table:
    given = aliased(Drug)  # the product handed over
    prescribed = aliased(Drug)  # the product the doctor prescribed
    # The rule of pharmacy_log.py: controlled by the prescription's category, the prescribed or the given product.
    controlled: ColumnElement[bool] = or_(
        Prescription.category == PrescriptionCategory.CONTROLLED,
        prescribed.category == DrugCategory.CONTROLLED,
        given.category == DrugCategory.CONTROLLED,
    )
    query = (
        select(
            Dispense.dispensed_at,
            Prescription.number,
            PrescriptionItem.inn,
            Dispense.strength,
            Dispense.quantity,
            given.unit,
            Dispense.batch_number,
            Cabinet.surname,
            Cabinet.given_name,
            Cabinet.patronymic,
        )
        .select_from(Dispense)
        .join(Prescription, Prescription.id == Dispense.prescription_id)
        .join(PrescriptionItem, PrescriptionItem.id == Dispense.item_id)
        .join(given, given.id == Dispense.drug_id)
        .join(prescribed, prescribed.id == PrescriptionItem.drug_id)
        .join(Cabinet, Cabinet.id == Dispense.created_by)
        .where(*_scoped(scope), controlled)
        .order_by(Dispense.dispensed_at, Dispense.id)
    )
    rows = []
    for dispensed_at, number, inn, strength, quantity, unit, batch, *name in session.execute(query):
        moment: datetime = dispensed_at.astimezone(TASHKENT)
        pharmacist = " ".join(part for part in name if part)
        rows.append((moment.date(), moment.strftime("%H:%M"), number, inn, strength, quantity, unit, batch, pharmacist))
    return Table(
        key="controlled",
        title=gettext(N_("Register of controlled medicines")),
        columns=(
            Column("date", gettext(N_("Date")), Kind.DATE),
            Column("time", gettext(N_("Time")), Kind.TEXT),
            Column("number", gettext(N_("Prescription number")), Kind.TEXT),
            Column("inn", gettext(N_("International name (INN)")), Kind.TEXT),
            Column("strength", gettext(N_("Strength")), Kind.TEXT),
            Column("quantity", gettext(N_("Quantity")), Kind.INT),
            Column("unit", gettext(N_("Unit")), Kind.TEXT),
            Column("batch", gettext(N_("Batch")), Kind.TEXT),
            Column("pharmacist", gettext(N_("Pharmacist")), Kind.TEXT),
        ),
        rows=rows,
        note=gettext(
            N_(
                "Every controlled medicine handed over in the period, oldest first, Tashkent time: by the "
                "prescription's category, the medicine prescribed or the product given."
            )
        ),
    )


def build(session: Session, scope: Scope) -> Report:
    """The pharmacy report of `scope`: items per day, by INN, and the controlled-medicine register."""
    return Report(
        key=KEY,
        title=gettext(N_("Pharmacy dispensing")),
        scope=scope,
        tables=(_by_day(session, scope), _by_inn(session, scope), _controlled_log(session, scope)),
        charts=(Chart("by_day", ChartKind.LINE, "date", ("items",), gettext(N_("Items dispensed per day"))),),
        notes=(
            gettext(N_("Medicines handed over at this pharmacy in the period; withdrawn records are not counted.")),
        ),
    )


register(
    ReportSpec(
        key=KEY,
        title=N_("Pharmacy dispensing"),
        kinds=frozenset({OrganizationKind.PHARMACY}),
        build=build,
        departments=False,
    )
)
