"""The data completeness and timeliness report (R-5), per department and per user.

- Outpatient visits closed in the period: the share closed with a diagnosis in force, and the share with at least one
  medical indicator (Observation) in force recorded in the visit.
- Inpatient stays closed in the period: the share with a discharge in force (a discharge always has its outcome); a
  stay closed without one (its discharge withdrawn) counts as missing.
- Clinical entries whose event time falls in the period: how many were saved more than LATE_HOURS after the moment
  they record.

A visit or stay belongs to its encounter's department and to its practitioner; an entry to its encounter's department
and to the cabinet that saved it. Only rows in force count (record status active), in encounters in force.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session

from ehealth.access.models import Cabinet
from ehealth.clinical import RecordStatus
from ehealth.emr.models import (
    Condition,
    Encounter,
    EncounterKind,
    EncounterState,
    InEncounter,
    InstrumentalResult,
    LabResult,
    Observation,
    Referral,
    TreatmentRecord,
)
from ehealth.hospital.models import Admission, Discharge
from ehealth.i18n import N_, gettext
from ehealth.reference.models import Department, OrganizationKind
from ehealth.reports.base import (
    Chart,
    ChartKind,
    Column,
    Kind,
    Report,
    ReportSpec,
    Scope,
    Table,
    register,
    share,
)
from ehealth.reports.sql import MillisecondsBetween

KEY = "completeness"
TITLE = N_("Data completeness and timeliness")
# An entry saved more than this many hours after the moment it records is late.
LATE_HOURS = 24
_LATE_MS = LATE_HOURS * 3_600_000

# The clinical entries judged for timeliness, each with the moment it records.
ENTRIES: tuple[tuple[type[InEncounter], InstrumentedAttribute[datetime]], ...] = (
    (Condition, Condition.recorded_at),
    (Observation, Observation.effective_at),
    (LabResult, LabResult.resulted_at),
    (InstrumentalResult, InstrumentalResult.performed_at),
    (TreatmentRecord, TreatmentRecord.performed_at),
    (Referral, Referral.issued_at),
    (Admission, Admission.admitted_at),
    (Discharge, Discharge.discharged_at),
)


@dataclass
class Tally:
    """The counts behind one row: visits, stays and entries with how many of them are complete or late."""

    visits: int = 0
    with_diagnosis: int = 0
    with_indicators: int = 0
    stays: int = 0
    with_outcome: int = 0
    entries: int = 0
    late: int = 0

    def add(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        for count in fields(self):
            setattr(self, count.name, getattr(self, count.name) + getattr(other, count.name))

    def cells(self) -> tuple[Any, ...]:
        """The row's figures in column order."""
        return (
            self.visits,
            share(self.with_diagnosis, self.visits),
            share(self.with_indicators, self.visits),
            self.stays,
            share(self.with_outcome, self.stays),
            self.entries,
            self.late,
            share(self.late, self.entries),
        )


# (department id, user id) -> counts
Tallies = dict[tuple[int | None, int], Tally]


def _in_department(scope: Scope) -> list[ColumnElement[bool]]:
    return [] if scope.department_id is None else [Encounter.department_id == scope.department_id]


def _closed(scope: Scope, kind: EncounterKind) -> list[ColumnElement[bool]]:
    return [
        Encounter.organization_id == scope.organization_id,
        Encounter.kind == kind,
        Encounter.status == RecordStatus.ACTIVE,
        Encounter.state == EncounterState.CLOSED,
        Encounter.ended_at >= scope.since,
        Encounter.ended_at < scope.until,
        # A stay or visit ends after it starts: this bound lets the (organization_id, started_at) index narrow.
        Encounter.started_at < scope.until,
        *_in_department(scope),
    ]


def _tally(tallies: Tallies, department_id: int | None, user_id: int) -> Tally:
    return tallies.setdefault((department_id, user_id), Tally())


def _count_visits(session: Session, scope: Scope, tallies: Tallies) -> None:
    diagnosed = exists().where(Condition.encounter_id == Encounter.id, Condition.status == RecordStatus.ACTIVE)
    measured = exists().where(Observation.encounter_id == Encounter.id, Observation.status == RecordStatus.ACTIVE)
    query = (
        select(
            Encounter.department_id,
            Encounter.practitioner_id,
            func.count(),
            func.count(case((diagnosed, 1))),
            func.count(case((measured, 1))),
        )
        .where(*_closed(scope, EncounterKind.OUTPATIENT))
        .group_by(Encounter.department_id, Encounter.practitioner_id)
    )
    for department_id, user_id, visits, with_diagnosis, with_indicators in session.execute(query):
        tally = _tally(tallies, department_id, user_id)
        tally.visits += visits
        tally.with_diagnosis += with_diagnosis
        tally.with_indicators += with_indicators


def _count_stays(session: Session, scope: Scope, tallies: Tallies) -> None:
    discharged = exists().where(Discharge.encounter_id == Encounter.id, Discharge.status == RecordStatus.ACTIVE)
    query = (
        select(Encounter.department_id, Encounter.practitioner_id, func.count(), func.count(case((discharged, 1))))
        .where(*_closed(scope, EncounterKind.INPATIENT))
        .group_by(Encounter.department_id, Encounter.practitioner_id)
    )
    for department_id, user_id, stays, with_outcome in session.execute(query):
        tally = _tally(tallies, department_id, user_id)
        tally.stays += stays
        tally.with_outcome += with_outcome


def _entries_of(
    scope: Scope, model: type[InEncounter], moment: InstrumentedAttribute[datetime]
) -> Select[int, int, int, int]:
    # A correction is saved after the fact by its nature: it is counted as an entry but never as a late one.
    late = and_(model.replaces_id.is_(None), MillisecondsBetween(model.created_at, moment) > _LATE_MS)
    return (
        select(
            model.encounter_id.label("encounter_id"),
            model.created_by.label("user_id"),
            func.count().label("entries"),
            func.count(case((late, 1))).label("late"),
        )
        .where(
            model.organization_id == scope.organization_id,
            model.status == RecordStatus.ACTIVE,
            moment >= scope.since,
            moment < scope.until,
        )
        .group_by(model.encounter_id, model.created_by)
    )


def _count_entries(session: Session, scope: Scope, tallies: Tallies) -> None:
    # Each kind of entry is first counted per encounter and author, then the few resulting rows are joined to the
    # organization's encounters once for the department: about twice as fast as joining every entry row.
    per_encounter = union_all(*(_entries_of(scope, model, moment) for model, moment in ENTRIES)).subquery()
    query = (
        select(
            Encounter.department_id,
            per_encounter.c.user_id,
            func.sum(per_encounter.c.entries),
            func.sum(per_encounter.c.late),
        )
        .join(Encounter, Encounter.id == per_encounter.c.encounter_id)
        .where(
            # The entry's own organization already; repeated so that only this organization's encounters are read.
            Encounter.organization_id == scope.organization_id,
            Encounter.status == RecordStatus.ACTIVE,
            *_in_department(scope),
        )
        .group_by(Encounter.department_id, per_encounter.c.user_id)
    )
    for department_id, user_id, entries, late in session.execute(query):
        tally = _tally(tallies, department_id, user_id)
        tally.entries += int(entries)
        tally.late += int(late)


def tallies(session: Session, scope: Scope) -> Tallies:
    """Every count of the report, per (department, user)."""
    found: Tallies = {}
    _count_visits(session, scope, found)
    _count_stays(session, scope, found)
    _count_entries(session, scope, found)
    return found


def _rolled_up(found: Tallies, position: int) -> dict[Any, Tally]:
    rolled: dict[Any, Tally] = {}
    for key, tally in found.items():
        rolled.setdefault(key[position], Tally()).add(tally)
    return rolled


def _figure_columns() -> tuple[Column, ...]:
    return (
        Column("visits", gettext("Visits closed")),
        Column("with_diagnosis", gettext("With a diagnosis"), Kind.PERCENT),
        Column("with_indicators", gettext("With indicators"), Kind.PERCENT),
        Column("stays", gettext("Stays discharged")),
        Column("with_outcome", gettext("With an outcome"), Kind.PERCENT),
        Column("entries", gettext("Entries")),
        Column("late", gettext("Entered late")),
        Column("late_share", gettext("Entered late, share"), Kind.PERCENT),
    )


def _by_department(session: Session, scope: Scope, found: Tallies, total: Tally) -> Table:
    names = dict(
        session.execute(
            select(Department.id, Department.name).where(Department.organization_id == scope.organization_id)
        ).all()
    )
    per_department = _rolled_up(found, 0)
    # Named departments in name order, then the visits and stays recorded without a department.
    order = sorted(per_department, key=lambda dept: (dept is None, names.get(dept, ""), dept or 0))
    rows = [
        (names.get(dept, "") if dept is not None else gettext("No department"), *per_department[dept].cells())
        for dept in order
    ]
    return Table(
        key="by_department",
        title=gettext("Completeness by department"),
        columns=(Column("department", gettext("Department"), Kind.TEXT), *_figure_columns()),
        rows=rows,
        total=(gettext("Total"), *total.cells()),
    )


def _by_user(session: Session, found: Tallies, total: Tally) -> Table:
    per_user = _rolled_up(found, 1)
    people = {
        cabinet_id: (" ".join(part for part in (surname, given, patronymic) if part), position)
        for cabinet_id, surname, given, patronymic, position in session.execute(
            select(Cabinet.id, Cabinet.surname, Cabinet.given_name, Cabinet.patronymic, Cabinet.position).where(
                Cabinet.id.in_(per_user)
            )
        )
    }
    order = sorted(per_user, key=lambda user: (people[user], user))
    return Table(
        key="by_user",
        title=gettext("Completeness by user"),
        columns=(
            Column("user", gettext("User"), Kind.TEXT),
            Column("position", gettext("Position"), Kind.TEXT),
            *_figure_columns(),
        ),
        rows=[(*people[user], *per_user[user].cells()) for user in order],
        total=(gettext("Total"), "", *total.cells()),
    )


def _summary(total: Tally) -> Table:
    rows: Iterable[tuple[str, int, int]] = (
        (gettext("Outpatient visits closed with a diagnosis"), total.visits, total.with_diagnosis),
        (gettext("Outpatient visits with medical indicators recorded"), total.visits, total.with_indicators),
        (gettext("Inpatient stays discharged with an outcome"), total.stays, total.with_outcome),
        (gettext("Entries saved more than {hours} hours after the event", hours=LATE_HOURS), total.entries, total.late),
    )
    return Table(
        key="summary",
        title=gettext("Summary"),
        columns=(
            Column("indicator", gettext("Indicator"), Kind.TEXT),
            Column("of", gettext("Of")),
            Column("count", gettext("Count")),
            Column("share", gettext("Share"), Kind.PERCENT),
        ),
        rows=[(label, whole, part, share(part, whole)) for label, whole, part in rows],
    )


def build(session: Session, scope: Scope) -> Report:
    """The completeness report of `scope`, display-ready in the current language."""
    found = tallies(session, scope)
    total = Tally()
    for tally in found.values():
        total.add(tally)
    notes = (
        gettext("Visits and stays count in the period they were closed in; entries in the period of their event."),
        gettext(
            "An entry is late when it was saved more than {hours} hours after the moment it records; corrections "
            "are counted as entries, never as late ones.",
            hours=LATE_HOURS,
        ),
    )
    return Report(
        key=KEY,
        title=gettext(TITLE),
        scope=scope,
        tables=(_summary(total), _by_department(session, scope, found, total), _by_user(session, found, total)),
        charts=(
            Chart(
                "by_department",
                ChartKind.BAR,
                "department",
                ("with_diagnosis", "with_indicators", "with_outcome", "late_share"),
                gettext("Completeness by department"),
            ),
        ),
        notes=notes,
    )


SPEC = register(
    ReportSpec(
        key=KEY,
        title=TITLE,
        kinds=frozenset({OrganizationKind.POLYCLINIC, OrganizationKind.HOSPITAL}),
        build=build,
        departments=True,
    )
)
