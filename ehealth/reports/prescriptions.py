"""The prescriptions report: what the organization's doctors prescribed in a period and what became of it.

Prescriptions issued in the period (active records; a department through the prescription's visit or stay): their
states, the share with an antibiotic, the time from issue to the first dispense, the most prescribed INNs, and each
prescriber's figures. Four aggregate queries over the (organization, issue time) index; only the issue and
first-dispense times of dispensed prescriptions are fetched, for the median and the 90th percentile.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from ehealth.access.models import Cabinet
from ehealth.calendar import today as local_today
from ehealth.clinical import RecordStatus
from ehealth.emr.models import Encounter
from ehealth.i18n import N_, gettext
from ehealth.prescription.lifecycle import LIVE_STATES
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem, PrescriptionState
from ehealth.reference.models import Drug, OrganizationKind
from ehealth.reports.base import (
    Chart,
    ChartKind,
    Column,
    Kind,
    Report,
    ReportSpec,
    Scope,
    Table,
    ranked,
    register,
    share,
)

KEY = "prescriptions"
# Antibacterials for systemic use (WHO ATC J01): the antibiotic share the ministry watches.
ANTIBIOTIC_ATC = "J01"
TOP_INNS = 10
# The dispense-time thresholds the report gives shares for, in hours.
WITHIN_HOURS = (24, 72)

# The same msgids as components.labels (the domain does not import the web layer), so pages and reports agree.
STATE_LABELS: dict[PrescriptionState, str] = {
    PrescriptionState.ACTIVE: N_("Active"),
    PrescriptionState.PARTIALLY_DISPENSED: N_("Partly dispensed"),
    PrescriptionState.DISPENSED: N_("Dispensed"),
    PrescriptionState.EXPIRED: N_("Expired"),
    PrescriptionState.CANCELLED: N_("Cancelled by the doctor"),
}
STATE_ORDER = tuple(STATE_LABELS)


def _scoped(scope: Scope) -> list[ColumnElement[bool]]:
    """The active prescriptions the organization issued in the period (and department)."""
    conditions = [
        Prescription.organization_id == scope.organization_id,
        Prescription.status == RecordStatus.ACTIVE,
        Prescription.issued_at >= scope.since,
        Prescription.issued_at < scope.until,
    ]
    if scope.department_id is not None:
        # A prescription belongs to the department of the visit or stay it was written in.
        in_department = select(Encounter.id).where(
            Encounter.organization_id == scope.organization_id, Encounter.department_id == scope.department_id
        )
        conditions.append(Prescription.encounter_id.in_(in_department))
    return conditions


def as_of(scope: Scope, today: date | None = None) -> date:
    """The day the states are judged on: the period's last day, or today when the period runs on past it."""
    return min(scope.end, today or local_today())


def _states(session: Session, scope: Scope, day: date) -> dict[int, Counter[PrescriptionState]]:
    """Per prescriber, how many prescriptions are in each state as lifecycle.state_on reads them on `day`."""
    # state_on in SQL: a live prescription whose validity ended before `day` reads as expired, even before the sweep.
    past_validity = Prescription.valid_until < day
    query = (
        select(Prescription.prescriber_id, Prescription.state, func.count(), func.count().filter(past_validity))
        .where(*_scoped(scope))
        .group_by(Prescription.prescriber_id, Prescription.state)
    )
    found: dict[int, Counter[PrescriptionState]] = {}
    for prescriber, recorded, total, lapsed in session.execute(query):
        counts = found.setdefault(prescriber, Counter())
        state = PrescriptionState(recorded)
        if state in LIVE_STATES:
            counts[state] += total - lapsed
            counts[PrescriptionState.EXPIRED] += lapsed
        else:
            counts[state] += total
    return found


def _items(session: Session, scope: Scope) -> dict[int, tuple[int, int]]:
    """Per prescriber: the items of the period's prescriptions, and how many prescriptions hold an antibiotic."""
    antibiotic = case((Drug.atc_code.startswith(ANTIBIOTIC_ATC), Prescription.id))
    query = (
        select(Prescription.prescriber_id, func.count(PrescriptionItem.id), func.count(antibiotic.distinct()))
        .join(PrescriptionItem, PrescriptionItem.prescription_id == Prescription.id)
        .join(Drug, Drug.id == PrescriptionItem.drug_id)
        .where(*_scoped(scope))
        .group_by(Prescription.prescriber_id)
    )
    return {prescriber: (items, with_antibiotic) for prescriber, items, with_antibiotic in session.execute(query)}


def _states_table(counts: Counter[PrescriptionState], day: date) -> Table:
    issued = counts.total()
    return Table(
        key="states",
        title=gettext(N_("Prescriptions by state")),
        columns=(
            Column("state", gettext(N_("State")), Kind.TEXT),
            Column("prescriptions", gettext(N_("Prescriptions")), Kind.INT),
            Column("share", gettext(N_("Share")), Kind.PERCENT),
        ),
        rows=[(gettext(STATE_LABELS[state]), counts[state], share(counts[state], issued)) for state in STATE_ORDER],
        total=(gettext(N_("Issued")), issued, share(issued, issued)),
        note=gettext(
            N_(
                "Each prescription in the state it is in now; one still open whose validity ended before {date} "
                "counts as expired."
            ),
            date=day.strftime("%d.%m.%Y"),
        ),
    )


def percentile(values: list[float], fraction: float) -> float | None:
    """The `fraction` quantile of `values`, interpolated between the closest ranks (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _first_dispenses(session: Session, scope: Scope) -> list[tuple[int, float]]:
    """(prescriber, hours from issue to the first dispense) of each dispensed prescription, whenever dispensed."""
    # One pharmacy-wide join instead of an EXISTS per prescription: it gives the dispensed count per prescriber too.
    # The hours are worked out here, as SQLite and PostgreSQL subtract timestamps differently.
    query = (
        select(Prescription.prescriber_id, Prescription.issued_at, func.min(Dispense.dispensed_at))
        .join(Dispense, Dispense.prescription_id == Prescription.id)
        .where(*_scoped(scope), Dispense.status == RecordStatus.ACTIVE)
        .group_by(Prescription.id, Prescription.prescriber_id, Prescription.issued_at)
    )
    found: list[tuple[int, float]] = []
    for prescriber, issued_at, first in session.execute(query):
        issued: datetime = issued_at
        dispensed: datetime = first
        found.append((prescriber, max((dispensed - issued).total_seconds(), 0.0) / 3600))
    return found


def _timing_table(hours: list[float]) -> Table:
    within = [sum(1 for value in hours if value <= limit) for limit in WITHIN_HOURS]
    return Table(
        key="time_to_dispense",
        title=gettext(N_("Time from issue to the first dispense")),
        columns=(
            Column("dispensed", gettext(N_("Dispensed prescriptions")), Kind.INT),
            Column("median_hours", gettext(N_("Median, hours")), Kind.DECIMAL),
            Column("p90_hours", gettext(N_("90th percentile, hours")), Kind.DECIMAL),
            Column("within_24h", gettext(N_("Within 24 hours")), Kind.PERCENT),
            Column("within_72h", gettext(N_("Within 72 hours")), Kind.PERCENT),
        ),
        rows=[
            (
                len(hours),
                percentile(hours, 0.5),
                percentile(hours, 0.9),
                share(within[0], len(hours)),
                share(within[1], len(hours)),
            )
        ],
        note=gettext(
            N_(
                "Only prescriptions of which something was handed over, at any pharmacy and up to now; the time runs "
                "from the issue to the first dispense."
            )
        ),
    )


def _antibiotic_table(prescriptions: int, with_antibiotic: int) -> Table:
    return Table(
        key="antibiotics",
        title=gettext(N_("Antibiotic prescriptions")),
        columns=(
            Column("prescriptions", gettext(N_("Prescriptions")), Kind.INT),
            Column("with_antibiotic", gettext(N_("With an antibiotic (ATC J01)")), Kind.INT),
            Column("share", gettext(N_("Share")), Kind.PERCENT),
        ),
        rows=[(prescriptions, with_antibiotic, share(with_antibiotic, prescriptions))],
        note=gettext(N_("A prescription counts once if any of its medicines is an antibacterial (ATC group J01).")),
    )


def _inns_table(session: Session, scope: Scope) -> Table:
    query = (
        select(
            PrescriptionItem.inn,
            func.count(PrescriptionItem.id),
            func.count(PrescriptionItem.prescription_id.distinct()),
        )
        .select_from(Prescription)
        .join(PrescriptionItem, PrescriptionItem.prescription_id == Prescription.id)
        .where(*_scoped(scope))
        .group_by(PrescriptionItem.inn)
    )
    rows = [(inn, items, prescriptions) for inn, items, prescriptions in session.execute(query)]
    return Table(
        key="top_inns",
        title=gettext(N_("Most prescribed medicines (INN)")),
        columns=(
            Column("inn", gettext(N_("International name (INN)")), Kind.TEXT),
            Column("items", gettext(N_("Items")), Kind.INT),
            Column("prescriptions", gettext(N_("Prescriptions")), Kind.INT),
        ),
        rows=ranked(rows, 1, TOP_INNS),
        note=gettext(N_("The {n} INNs with the most prescription items."), n=TOP_INNS),
    )


def _prescribers(
    session: Session,
    states: dict[int, Counter[PrescriptionState]],
    items: dict[int, tuple[int, int]],
    dispensed: Counter[int],
) -> list[tuple[str, str, int, int, int, int]]:
    """(name, position, prescriptions, items, with an antibiotic, dispensed) per prescriber, most prescriptions first."""
    people = session.execute(
        select(Cabinet.id, Cabinet.surname, Cabinet.given_name, Cabinet.patronymic, Cabinet.position).where(
            Cabinet.id.in_(sorted(states))
        )
    )
    names = {
        cabinet_id: (" ".join(part for part in (surname, given, patronymic) if part), position)
        for cabinet_id, surname, given, patronymic, position in people
    }
    rows = [
        (
            *names.get(prescriber, ("", "")),
            counts.total(),
            items.get(prescriber, (0, 0))[0],
            items.get(prescriber, (0, 0))[1],
            dispensed[prescriber],
        )
        for prescriber, counts in states.items()
    ]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


def _prescribers_table(rows: list[tuple[str, str, int, int, int, int]]) -> Table:
    prescriptions = sum(row[2] for row in rows)
    items = sum(row[3] for row in rows)
    antibiotic = sum(row[4] for row in rows)
    dispensed = sum(row[5] for row in rows)
    return Table(
        key="by_prescriber",
        title=gettext(N_("Prescriptions per prescriber")),
        columns=(
            Column("prescriber", gettext(N_("Prescriber")), Kind.TEXT),
            Column("position", gettext(N_("Position")), Kind.TEXT),
            Column("prescriptions", gettext(N_("Prescriptions")), Kind.INT),
            Column("items", gettext(N_("Items")), Kind.INT),
            Column("antibiotic_share", gettext(N_("With an antibiotic")), Kind.PERCENT),
            Column("dispensed_share", gettext(N_("Dispensed (in full or in part)")), Kind.PERCENT),
        ),
        rows=[
            (name, position, count, lines, share(with_antibiotic, count), share(handed_over, count))
            for name, position, count, lines, with_antibiotic, handed_over in rows
        ],
        total=(
            gettext(N_("All prescribers")),
            "",
            prescriptions,
            items,
            share(antibiotic, prescriptions),
            share(dispensed, prescriptions),
        ),
        note=gettext(N_("Dispensed: at least one medicine of the prescription was handed over, at any pharmacy.")),
    )


def build(session: Session, scope: Scope, *, today: date | None = None) -> Report:
    """The prescriptions report of `scope` (states judged on the period's last day, or today if earlier)."""
    day = as_of(scope, today)
    states = _states(session, scope, day)
    counts: Counter[PrescriptionState] = Counter()
    for per_prescriber in states.values():
        counts.update(per_prescriber)
    items = _items(session, scope)
    first = _first_dispenses(session, scope)
    prescribers = _prescribers(session, states, items, Counter(prescriber for prescriber, _hours in first))
    return Report(
        key=KEY,
        title=gettext(N_("Prescriptions")),
        scope=scope,
        tables=(
            _states_table(counts, day),
            _antibiotic_table(counts.total(), sum(with_antibiotic for _items, with_antibiotic in items.values())),
            _timing_table([hours for _prescriber, hours in first]),
            _inns_table(session, scope),
            _prescribers_table(prescribers),
        ),
        charts=(
            Chart("states", ChartKind.BAR, "state", ("prescriptions",), gettext(N_("Prescriptions by state"))),
            Chart("top_inns", ChartKind.BAR, "inn", ("items",), gettext(N_("Most prescribed medicines (INN)"))),
        ),
        notes=(
            gettext(
                N_(
                    "Prescriptions issued by the organization in the period; corrected or withdrawn records are not "
                    "counted. With a department chosen, those written in its visits and stays."
                )
            ),
        ),
    )


register(
    ReportSpec(
        key=KEY,
        title=N_("Prescriptions"),
        kinds=frozenset({OrganizationKind.POLYCLINIC, OrganizationKind.HOSPITAL}),
        build=build,
        departments=True,
    )
)
