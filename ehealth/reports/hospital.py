"""Hospital reports: the daily census of each department (the daily bed report), bed figures, admissions by type,
discharges by outcome and the top discharge diagnoses.

Every figure comes from the stays that overlap the period, read once with two narrow queries (the stays with their
discharge, and their moves between beds) and swept day by day in Python: one query per day or department would cost
hundreds of round trips for a year.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, String, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from ehealth.clinical import RecordStatus
from ehealth.emr.icd10_search import describe
from ehealth.hospital.board import bed_days
from ehealth.hospital.models import Admission, AdmissionType, BedAssignment, BedMoveReason, Discharge, DischargeOutcome
from ehealth.i18n import N_, current_language, gettext
from ehealth.identifiers import TASHKENT
from ehealth.reference.models import Bed, Department, DepartmentKind, OrganizationKind, Ward
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

# Tashkent keeps UTC+5 all year, so every day of the period is exactly 24 hours from the period's first instant.
DAY = timedelta(days=1)
TOP_DIAGNOSES = 10

ADMISSION_TYPES: dict[AdmissionType, str] = {
    AdmissionType.EMERGENCY: N_("Emergency"),
    AdmissionType.PLANNED: N_("Planned"),
    AdmissionType.TRANSFER: N_("Transfer from another hospital"),
}
OUTCOMES: dict[DischargeOutcome, str] = {
    DischargeOutcome.RECOVERED: N_("Recovered"),
    DischargeOutcome.IMPROVED: N_("Improved"),
    DischargeOutcome.UNCHANGED: N_("Unchanged"),
    DischargeOutcome.WORSENED: N_("Worsened"),
    DischargeOutcome.DIED: N_("Died"),
    DischargeOutcome.TRANSFERRED: N_("Transferred to another hospital"),
}

# The stored values back to their members (a dictionary look-up is many times faster than the enum's own call).
_TYPE_OF = {str(kind): kind for kind in AdmissionType}
_OUTCOME_OF = {str(outcome): outcome for outcome in DischargeOutcome}

# The five movements of a day, in the order of the daily bed report (positions in a day's counters).
ADMITTED, MOVED_IN, MOVED_OUT, DISCHARGED, DIED = range(5)
CENSUS_COLUMNS = (
    ("start", N_("Patients at the start of the day")),
    ("admitted", N_("Newly admitted")),  # not "Admitted": that msgid is the admission date's label elsewhere
    ("transferred_in", N_("Transferred in from other departments")),
    ("transferred_out", N_("Transferred out to other departments")),
    ("discharged", N_("Discharged")),
    ("died", N_("Died")),
    ("end", N_("Patients at the end of the day")),
)
CensusRow = tuple[int, int, int, int, int, int, int]  # start, the five movements, end


@dataclass(frozen=True, slots=True)
class Stay:
    """One active admission as the reports read it: where the patient was from when, and how the stay ended."""

    admission_type: AdmissionType
    # (from when, department): the admitting department first, then each move to another department, in time order.
    path: tuple[tuple[datetime, int], ...]
    discharged_at: datetime | None
    outcome: DischargeOutcome | None
    icd10_code: str | None

    @property
    def admitted_at(self) -> datetime:
        """When the stay began."""
        return self.path[0][0]

    @property
    def last_department(self) -> int:
        """The department the patient was discharged from (or is in now)."""
        return self.path[-1][1]


# --- reading ----------------------------------------------------------------------------------------------------


def _live_discharge() -> ColumnElement[bool]:
    return and_(Discharge.admission_id == Admission.id, Discharge.status == RecordStatus.ACTIVE)


def stays(session: Session, scope: Scope) -> list[Stay]:
    """The organization's active stays that overlap the period: begun before its end, not ended before its start."""
    since, until = scope.since, scope.until
    overlapping = (
        Admission.organization_id == scope.organization_id,
        Admission.status == RecordStatus.ACTIVE,
        Admission.admitted_at < until,
        # A withdrawn discharge leaves the stay open: the outer join finds only the active one (one at most).
        or_(Discharge.id.is_(None), Discharge.discharged_at >= since),
    )
    # Read through the connection: plain rows, without the ORM's per-row bookkeeping (a year is tens of thousands).
    connection = session.connection()
    heads = connection.execute(
        select(
            Admission.id,
            Admission.admitted_at,
            Admission.department_id,
            # Read as plain strings and looked up below: the enum type's own conversion is slow over a year's rows.
            type_coerce(Admission.admission_type, String),
            Discharge.discharged_at,
            type_coerce(Discharge.outcome, String),
            Discharge.icd10_code,
        )
        .outerjoin(Discharge, _live_discharge())
        .where(*overlapping)
    ).all()
    # Moves after the period change nothing in it; the admission's own bed is the admitting department already.
    moves: defaultdict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for admission_id, started_at, department_id in connection.execute(
        select(BedAssignment.admission_id, BedAssignment.started_at, BedAssignment.department_id)
        .join(Admission, Admission.id == BedAssignment.admission_id)
        .outerjoin(Discharge, _live_discharge())
        .where(
            *overlapping,
            BedAssignment.status == RecordStatus.ACTIVE,
            BedAssignment.reason == BedMoveReason.TRANSFER,
            BedAssignment.started_at < until,
        )
        .order_by(BedAssignment.admission_id, BedAssignment.started_at, BedAssignment.id)
    ):
        moves[admission_id].append((started_at, department_id))
    found = []
    for admission_id, admitted_at, department_id, kind, discharged_at, outcome, code in heads:
        path = [(admitted_at, department_id)]
        for started_at, moved_to in moves.get(admission_id, ()):
            when = max(started_at, path[-1][0])  # the services keep moves in order; a damaged row cannot go back
            if discharged_at is not None and when > discharged_at:
                break
            if moved_to != path[-1][1]:  # a move to another bed of the same department is no transfer
                path.append((when, moved_to))
        found.append(
            Stay(
                admission_type=_TYPE_OF[kind],
                path=tuple(path),
                discharged_at=discharged_at,
                outcome=_OUTCOME_OF[outcome] if outcome is not None else None,
                icd10_code=code,
            )
        )
    return found


def bed_counts(session: Session, organization_id: int) -> dict[int, int]:
    """Beds in service of each department of the organization, by department id."""
    query = (
        select(Ward.department_id, func.count(Bed.id))
        .join(Ward, Ward.id == Bed.ward_id)
        .where(Bed.organization_id == organization_id, Bed.is_active.is_(True))
        .group_by(Ward.department_id)
    )
    return {department_id: count for department_id, count in session.execute(query)}


def _departments(session: Session, scope: Scope, seen: Iterable[int], beds: dict[int, int]) -> list[tuple[int, str]]:
    """The departments a report lists: the chosen one, or the inpatient ones, those with beds and any a stay used."""
    if scope.department_id is not None:
        return [(scope.department_id, scope.department_name or "")]
    wanted = set(seen) | set(beds)
    query = (
        select(Department.id, Department.name)
        .where(
            or_(
                and_(Department.organization_id == scope.organization_id, Department.kind == DepartmentKind.INPATIENT),
                Department.id.in_(wanted),
            )
        )
        .order_by(Department.name, Department.id)
    )
    return [(department_id, name) for department_id, name in session.execute(query)]


# --- the census -------------------------------------------------------------------------------------------------


def census(found: Iterable[Stay], scope: Scope) -> dict[int, list[CensusRow]]:
    """Each department's census for each day of the period, by department id (only departments a stay was in).

    An instant belongs to the day it falls in (a move at 00:00 is the new day's); the patients at the start of a day
    are those whose last movement before it left them in the department. So each day balances (start + admitted +
    in - out - discharged - died = end) and each day's end is the next day's start by construction.
    """
    since, until = scope.since, scope.until
    length = len(scope.days)
    opening: Counter[int] = Counter()
    movements: defaultdict[int, list[list[int]]] = defaultdict(lambda: [[0] * 5 for _ in range(length)])

    def count(when: datetime, department_id: int, movement: int) -> None:
        if since <= when < until:
            movements[department_id][(when - since) // DAY][movement] += 1

    for stay in found:
        for index, (entered, department_id) in enumerate(stay.path):
            last = index == len(stay.path) - 1
            left = stay.discharged_at if last else stay.path[index + 1][0]
            if entered < since and (left is None or left >= since):
                opening[department_id] += 1
            count(entered, department_id, ADMITTED if index == 0 else MOVED_IN)
            if left is not None:
                ending = (DIED if stay.outcome == DischargeOutcome.DIED else DISCHARGED) if last else MOVED_OUT
                count(left, department_id, ending)
    table: dict[int, list[CensusRow]] = {}
    for department_id in set(movements) | set(opening):
        present = opening[department_id]
        rows = []
        for admitted, moved_in, moved_out, discharged, died in movements[department_id]:
            end = present + admitted + moved_in - moved_out - discharged - died
            rows.append((present, admitted, moved_in, moved_out, discharged, died, end))
            present = end
        table[department_id] = rows
    return table


def _quiet(length: int) -> list[CensusRow]:
    return [(0, 0, 0, 0, 0, 0, 0)] * length


def _over_period(rows: list[CensusRow]) -> CensusRow:
    """A department's census over the period: the start of the first day, each movement summed, the end of the last."""
    # Positions 1-5 of a census row are the five movements, between the start (0) and the end (6).
    admitted, moved_in, moved_out, discharged, died = (sum(row[n] for row in rows) for n in range(1, 6))
    return (rows[0][0], admitted, moved_in, moved_out, discharged, died, rows[-1][-1])


def _sums(rows: Iterable[CensusRow]) -> list[int]:
    """The census rows of several departments added up, figure by figure."""
    totals = [0] * 7
    for row in rows:
        totals = [total + value for total, value in zip(totals, row, strict=True)]
    return totals


# --- the tables -------------------------------------------------------------------------------------------------


def _count_columns(start_label: str, end_label: str) -> tuple[Column, ...]:
    labels = [label for _key, label in CENSUS_COLUMNS]
    labels[0], labels[-1] = start_label, end_label
    return tuple(Column(key, gettext(label)) for (key, _label), label in zip(CENSUS_COLUMNS, labels, strict=True))


def _census_tables(
    days: list[date], departments: list[tuple[int, str]], figures: dict[int, list[CensusRow]]
) -> tuple[Table, Table, Table]:
    day = Column("day", gettext(N_("Day")), Kind.DATE)
    department = Column("department", gettext(N_("Department")), Kind.TEXT)
    per_day = _count_columns(CENSUS_COLUMNS[0][1], CENSUS_COLUMNS[-1][1])
    each = [(name, figures.get(department_id) or _quiet(len(days))) for department_id, name in departments]
    daily = Table(
        "census",
        gettext(N_("Daily census by department")),
        (day, department, *per_day),
        [(when, name, *rows[index]) for index, when in enumerate(days) for name, rows in each],
        note=gettext(
            N_(
                "As in the daily bed report: a patient moved to another department is transferred out of one and in "
                "to the other, a move to another bed of the same department is not counted, a transfer to another "
                "hospital is counted as discharged (the outcomes table shows it apart), and a patient admitted and "
                "discharged on the same day is counted in both. Days are Tashkent days. Start + admitted + "
                "transferred in - transferred out - discharged - died = end, and each day's end is the next day's "
                "start."
            )
        ),
    )
    over_period = [(name, _over_period(rows)) for name, rows in each]
    period = Table(
        "census_total",
        gettext(N_("Census over the period by department")),
        (
            department,
            *_count_columns(N_("Patients at the start of the first day"), N_("Patients at the end of the last day")),
        ),
        [(name, *figures) for name, figures in over_period],
        total=(gettext(N_("Total")), *_sums(figures for _name, figures in over_period)),
    )
    overall = Table(
        "census_daily",
        gettext(N_("Daily census, all departments shown")),
        (day, *per_day),
        [(when, *_sums(rows[index] for _name, rows in each)) for index, when in enumerate(days)],
    )
    return daily, period, overall


def _discharged(found: Iterable[Stay], scope: Scope) -> list[Stay]:
    """The stays that ended in the period (from the chosen department, if any), transfers to other hospitals too."""
    since, until, department_id = scope.since, scope.until, scope.department_id
    return [
        stay
        for stay in found
        if stay.discharged_at is not None
        and since <= stay.discharged_at < until
        and department_id in (None, stay.last_department)
    ]


def _beds_table(
    scope: Scope,
    departments: list[tuple[int, str]],
    figures: dict[int, list[CensusRow]],
    beds: dict[int, int],
    ended: list[Stay],
) -> Table:
    days = len(scope.days)
    discharges: Counter[int] = Counter()
    lengths: Counter[int] = Counter()
    for stay in ended:
        assert stay.discharged_at is not None  # _discharged keeps only ended stays
        discharges[stay.last_department] += 1
        lengths[stay.last_department] += bed_days(stay.admitted_at, stay.discharged_at.astimezone(TASHKENT).date())

    def row(label: str, bed_count: int, patient_days: int, out: int, length: int) -> tuple[object, ...]:
        return (
            label,
            bed_count,
            patient_days,
            share(patient_days, bed_count * days),
            out,
            share(length, out),
            share(out, bed_count),
        )

    # Midnight census: a patient is counted for each day at whose end they lie in the department.
    patient_days = {
        department_id: sum(day[6] for day in figures.get(department_id, ())) for department_id, _ in departments
    }
    rows = [row(name, beds.get(key, 0), patient_days[key], discharges[key], lengths[key]) for key, name in departments]
    total = row(
        gettext(N_("Total")),
        sum(beds.get(key, 0) for key, _name in departments),
        sum(patient_days.values()),
        sum(discharges[key] for key, _name in departments),
        sum(lengths[key] for key, _name in departments),
    )
    return Table(
        "beds",
        gettext(N_("Beds: occupancy, length of stay and turnover")),
        (
            Column("department", gettext(N_("Department")), Kind.TEXT),
            Column("beds", gettext(N_("Beds"))),
            Column("patient_days", gettext(N_("Patient-days"))),
            Column("occupancy", gettext(N_("Bed occupancy")), Kind.PERCENT),
            Column("discharges", gettext(N_("Discharged (died included)"))),
            Column("average_stay", gettext(N_("Average length of stay, days")), Kind.DECIMAL),
            Column("turnover", gettext(N_("Bed turnover")), Kind.DECIMAL),
        ),
        rows,
        total=total,
        note=gettext(
            N_(
                "Beds: the beds in service of the department's wards today. Patient-days: the midnight census, the "
                "patients in the department at the end of each day, summed over the period. Bed occupancy = "
                "patient-days / (beds × {days} days). Average length of stay = the days of the stays that ended in "
                "the period (from the admission date to the discharge date, at least 1; the whole stay, counted for "
                "the department that discharged the patient) / their number. Bed turnover = patients discharged "
                "(died and transferred to another hospital included) / beds, over the period."
            ),
            days=days,
        ),
    )


def _admission_types_table(found: Iterable[Stay], scope: Scope) -> Table:
    since, until, department_id = scope.since, scope.until, scope.department_id
    counts = Counter(
        stay.admission_type
        for stay in found
        if since <= stay.admitted_at < until and department_id in (None, stay.path[0][1])
    )
    whole = sum(counts.values())
    return Table(
        "admission_types",
        gettext(N_("Admissions by type")),
        (
            Column("type", gettext(N_("Admission type")), Kind.TEXT),
            Column("admissions", gettext(N_("Admissions"))),
            Column("share", gettext(N_("Share")), Kind.PERCENT),
        ),
        [(gettext(label), counts[kind], share(counts[kind], whole)) for kind, label in ADMISSION_TYPES.items()],
        total=(gettext(N_("Total")), whole, share(whole, whole)),
        note=gettext(N_("Patients admitted in the period, counted for the department that admitted them.")),
    )


def _outcomes_table(ended: list[Stay]) -> Table:
    counts = Counter(stay.outcome for stay in ended)
    whole = len(ended)
    return Table(
        "outcomes",
        gettext(N_("Discharges by outcome")),
        (
            Column("outcome", gettext(N_("Outcome")), Kind.TEXT),
            Column("discharges", gettext(N_("Discharges"))),
            Column("share", gettext(N_("Share")), Kind.PERCENT),
        ),
        [(gettext(label), counts[outcome], share(counts[outcome], whole)) for outcome, label in OUTCOMES.items()],
        total=(gettext(N_("Total")), whole, share(whole, whole)),
        note=gettext(N_("Stays that ended in the period, counted for the department that discharged the patient.")),
    )


def _top_diagnoses_table(ended: list[Stay]) -> Table:
    counts = Counter(stay.icd10_code for stay in ended if stay.icd10_code)
    whole = len(ended)
    language = current_language()
    rows = ranked(
        [(code, describe(code, language), count) for code, count in counts.items()], by=2, limit=TOP_DIAGNOSES
    )
    return Table(
        "top_diagnoses",
        gettext(N_("Top discharge diagnoses")),
        (
            Column("code", gettext(N_("ICD-10 code")), Kind.TEXT),
            Column("name", gettext(N_("Diagnosis")), Kind.TEXT),
            Column("discharges", gettext(N_("Discharges"))),
            Column("share", gettext(N_("Share of discharges")), Kind.PERCENT),
        ),
        [(code, name, count, share(count, whole)) for code, name, count in rows],
        note=gettext(
            N_("The final diagnosis of the stays that ended in the period, the {limit} most frequent."),
            limit=TOP_DIAGNOSES,
        ),
    )


# --- the report -------------------------------------------------------------------------------------------------


def build(session: Session, scope: Scope) -> Report:
    """The hospital report of `scope`: census, beds, admissions by type, outcomes and top discharge diagnoses."""
    found = stays(session, scope)
    figures = census(found, scope)
    beds = bed_counts(session, scope.organization_id)
    departments = _departments(session, scope, figures, beds)
    ended = _discharged(found, scope)
    daily, period, overall = _census_tables(scope.days, departments, figures)
    return Report(
        key=SPEC.key,
        title=gettext(SPEC.title),
        scope=scope,
        tables=(
            daily,
            period,
            overall,
            _beds_table(scope, departments, figures, beds, ended),
            _admission_types_table(found, scope),
            _outcomes_table(ended),
            _top_diagnoses_table(ended),
        ),
        charts=(
            Chart("census_daily", ChartKind.LINE, "day", ("end",), gettext(N_("Patients at the end of each day"))),
            Chart("outcomes", ChartKind.BAR, "outcome", ("discharges",)),
            Chart("admission_types", ChartKind.BAR, "type", ("admissions",)),
        ),
    )


SPEC = register(
    ReportSpec(
        key="hospital",
        title=N_("Hospital: daily census, beds and discharges"),
        kinds=frozenset({OrganizationKind.HOSPITAL}),
        build=build,
        departments=True,
    )
)
