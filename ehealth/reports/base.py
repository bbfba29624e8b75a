"""What every report is made of: the scope it covers, its tables and charts, display-ready in one language.

A report builder reads the operational database of one organization over a period (and optionally one department)
and returns counts and rates, never more patient detail than the figure needs. Builders translate as they build
(the caller sets the language), so the page, the Excel file and the PDF show the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from ehealth.access.models import Role
from ehealth.audit.trail import Actor
from ehealth.calendar import day_bounds
from ehealth.errors import NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.reference.models import Department, Organization, OrganizationKind

# The longest period one report covers: a year and a day (a leap year, or 1 January to 1 January).
MAX_PERIOD_DAYS = 367


class Kind(StrEnum):
    """How a column's values are written (and typed in Excel)."""

    INT = "int"
    DECIMAL = "decimal"  # one decimal place
    PERCENT = "percent"  # a fraction 0..1, shown as 12.5 %
    TEXT = "text"
    DATE = "date"


@dataclass(frozen=True)
class Column:
    """A column: its key, its heading (translated) and how its values are written."""

    key: str
    label: str
    kind: Kind = Kind.INT


@dataclass(frozen=True)
class Table:
    """One table of a report; `total` is an optional last row summing or summarizing the rows."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    total: tuple[Any, ...] | None = None
    note: str | None = None

    def column(self, key: str) -> int:
        """The position of the column `key`."""
        return next(index for index, column in enumerate(self.columns) if column.key == key)


class ChartKind(StrEnum):
    """How a table is drawn."""

    BAR = "bar"
    STACKED = "stacked"
    LINE = "line"


@dataclass(frozen=True)
class Chart:
    """A picture of one table: `x` column against the `y` columns."""

    table: str
    kind: ChartKind
    x: str
    y: tuple[str, ...]
    title: str = ""


@dataclass(frozen=True)
class Scope:
    """Whose data and which days a report covers (Tashkent dates, both inclusive)."""

    organization_id: int
    organization_name: str
    organization_kind: OrganizationKind
    start: date
    end: date
    department_id: int | None = None
    department_name: str | None = None

    @property
    def since(self) -> datetime:
        """The first instant of the period (UTC-aware)."""
        return day_bounds(self.start)[0]

    @property
    def until(self) -> datetime:
        """The instant just after the period (exclusive bound)."""
        return day_bounds(self.end)[1]

    @property
    def days(self) -> list[date]:
        """Every day of the period."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class Report:
    """A built report, display-ready."""

    key: str
    title: str
    scope: Scope
    tables: tuple[Table, ...]
    charts: tuple[Chart, ...] = ()
    notes: tuple[str, ...] = ()

    def table(self, key: str) -> Table:
        """The table `key`."""
        return next(table for table in self.tables if table.key == key)


Builder = Callable[[Session, Scope], Report]


@dataclass(frozen=True)
class ReportSpec:
    """A report the portal offers: for which kinds of organization, and how it is built."""

    key: str
    title: str  # msgid
    kinds: frozenset[OrganizationKind]
    build: Builder
    departments: bool = True  # whether the department filter applies


REGISTRY: dict[str, ReportSpec] = {}


def register(spec: ReportSpec) -> ReportSpec:
    """Offer a report (each report module registers its own at import)."""
    REGISTRY[spec.key] = spec
    return spec


def scope_of(
    session: Session,
    actor: Actor,
    *,
    organization_id: int | None,
    start: date,
    end: date,
    department_id: int | None = None,
) -> Scope:
    """The scope a user may see: a manager their own organization, a ministry admin any; refused otherwise."""
    if actor.role == Role.MANAGER:
        wanted = actor.organization_id if organization_id is None else organization_id
        if wanted != actor.organization_id:
            raise NotFound(N_("The organization was not found."))
    elif actor.role == Role.ADMIN:
        wanted = organization_id if organization_id is not None else actor.organization_id
    else:
        raise ValidationError(N_("Reports are for managers of an organization and for the ministry."))
    organization = session.get(Organization, wanted) if wanted is not None else None
    if organization is None:
        raise NotFound(N_("The organization was not found."))
    if end < start:
        raise ValidationError(N_("The period ends before it starts."), field="period")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError(N_("A report covers at most a year; choose a shorter period."), field="period")
    department = None
    if department_id is not None:
        department = session.get(Department, department_id)
        if department is None or department.organization_id != organization.id:
            raise NotFound(N_("The department was not found in this organization."), field="department")
    return Scope(
        organization_id=organization.id,
        organization_name=organization.name,
        organization_kind=OrganizationKind(organization.kind),
        start=start,
        end=end,
        department_id=department.id if department else None,
        department_name=department.name if department else None,
    )


def offered(kind: OrganizationKind) -> list[ReportSpec]:
    """The reports offered to an organization of `kind`, in registry order."""
    return [spec for spec in REGISTRY.values() if kind in spec.kinds]


def build(session: Session, key: str, scope: Scope) -> Report:
    """Build the report `key` for `scope`; refused when it is not offered to the organization's kind."""
    spec = REGISTRY.get(key)
    if spec is None or scope.organization_kind not in spec.kinds:
        raise NotFound(N_("This report is not available for this organization."))
    return spec.build(session, scope)


def share(part: int | float, whole: int | float) -> float | None:
    """part / whole, or None when there is nothing to divide by (shown as a dash, never as 0 %)."""
    return part / whole if whole else None


def ranked(rows: Sequence[tuple[Any, ...]], by: int, limit: int) -> list[tuple[Any, ...]]:
    """The `limit` rows with the largest value in position `by` (ties by the first column), largest first."""
    return sorted(rows, key=lambda row: (-row[by], str(row[0])))[:limit]
