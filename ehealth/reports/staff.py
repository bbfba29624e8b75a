"""The staff and access report: the organization's personal cabinets by role and status, its employment notices
still awaiting the ministry (R-10) and how far the annual inventory of users has got (R-14).

Cabinets, pending notices and the current inventory campaign are figures of today, whatever the period; notices
filed and reviews made are counted in the period. A person appears by their cabinet's ID number, never by name.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ehealth.access.inventory import campaign_of
from ehealth.access.models import (
    Cabinet,
    CabinetStatus,
    EmploymentNotice,
    InventoryReview,
    NoticeKind,
    ReviewDecision,
    Role,
)
from ehealth.calendar import day_bounds
from ehealth.calendar import today as local_today
from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT
from ehealth.reference.models import OrganizationKind
from ehealth.reports.base import Column, Kind, Report, ReportSpec, Scope, Table, register, share

KEY = "staff"
# every active cabinet is reviewed at least once in twelve months.
REVIEW_INTERVAL_DAYS = 365

# The same msgids as components.labels (the domain does not import the web layer), so pages and reports agree.
ROLE_LABELS: dict[Role, str] = {
    Role.DOCTOR: N_("Doctor"),
    Role.NURSE: N_("Nurse"),
    Role.REGISTRAR: N_("Registrar"),
    Role.PHARMACIST: N_("Pharmacist"),
    Role.MANAGER: N_("Manager"),
    Role.ANALYST: N_("Ministry analyst"),
    Role.ADMIN: N_("Ministry administrator"),
    Role.INTEGRATOR: N_("Integrator (UZINFOCOM)"),
}
NOTICE_LABELS: dict[NoticeKind, str] = {
    NoticeKind.TERMINATION: N_("Termination"),
    NoticeKind.TRANSFER: N_("Transfer"),
}
DECISION_LABELS: dict[ReviewDecision, str] = {
    ReviewDecision.CONFIRMED: N_("Confirmed"),
    ReviewDecision.RIGHTS_CHANGED: N_("Role changed"),
    ReviewDecision.BLOCKED: N_("Blocked"),
}
# The statuses the cabinet table has a column for; purged cabinets (erased after their retention) are history only.
COUNTED_STATUSES = (CabinetStatus.ACTIVE, CabinetStatus.BLOCKED, CabinetStatus.ARCHIVED)


def _column_sums(rows: list[list[int]], width: int) -> list[int]:
    """The sum of each of the `width` columns of `rows` (zeros when there are no rows)."""
    return [sum(row[index] for row in rows) for index in range(width)]


def _cabinets(session: Session, scope: Scope) -> Table:
    query = (
        select(Cabinet.role, Cabinet.status, func.count())
        .where(Cabinet.organization_id == scope.organization_id, Cabinet.status.in_(COUNTED_STATUSES))
        .group_by(Cabinet.role, Cabinet.status)
    )
    counts: dict[tuple[Role, CabinetStatus], int] = {
        (Role(role), CabinetStatus(status)): count for role, status, count in session.execute(query)
    }
    roles = [role for role in Role if any((role, status) in counts for status in COUNTED_STATUSES)]
    figures = {role: [counts.get((role, status), 0) for status in COUNTED_STATUSES] for role in roles}
    for numbers in figures.values():
        numbers.append(sum(numbers))
    rows = [(gettext(ROLE_LABELS[role]), *numbers) for role, numbers in figures.items()]
    total = (gettext(N_("Total")), *_column_sums(list(figures.values()), 4))
    return Table(
        key="cabinets",
        title=gettext(N_("Personal cabinets by role and status")),
        columns=(
            Column("role", gettext(N_("Role")), Kind.TEXT),
            Column("active", gettext(N_("Active")), Kind.INT),
            Column("blocked", gettext(N_("Blocked")), Kind.INT),
            Column("archived", gettext(N_("Archived")), Kind.INT),
            Column("total", gettext(N_("Total")), Kind.INT),
        ),
        rows=rows,
        total=total,
        note=gettext(N_("As of now, whatever the period; cabinets purged after their retention are not counted.")),
    )


def _pending_notices(session: Session, scope: Scope, today: date) -> Table:
    query = (
        select(
            EmploymentNotice.kind,
            Cabinet.id_number,
            EmploymentNotice.event_date,
            EmploymentNotice.notified_on,
            EmploymentNotice.action_due_on,
        )
        .join(Cabinet, Cabinet.id == EmploymentNotice.cabinet_id)
        .where(EmploymentNotice.organization_id == scope.organization_id, EmploymentNotice.action.is_(None))
        .order_by(EmploymentNotice.action_due_on, EmploymentNotice.id)
    )
    yes, no = gettext(N_("Yes")), gettext(N_("No"))
    rows = [
        # Overdue as ehealth/access/notices.py judges it: still pending after the ministry's deadline.
        (
            gettext(NOTICE_LABELS[NoticeKind(kind)]),
            id_number,
            event_date,
            notified_on,
            due_on,
            yes if due_on < today else no,
        )
        for kind, id_number, event_date, notified_on, due_on in session.execute(query)
    ]
    return Table(
        key="pending_notices",
        title=gettext(N_("Employment notices awaiting the ministry")),
        columns=(
            Column("kind", gettext(N_("Event")), Kind.TEXT),
            Column("cabinet", gettext(N_("ID number")), Kind.TEXT),
            Column("event_date", gettext(N_("Date of the event")), Kind.DATE),
            Column("notified_on", gettext(N_("Notified on")), Kind.DATE),
            Column("due_on", gettext(N_("Action due")), Kind.DATE),
            Column("overdue", gettext(N_("Overdue")), Kind.TEXT),
        ),
        rows=rows,
        note=gettext(
            N_("Every notice not yet acted on, as of {date}, whatever the period; the earliest deadline first."),
            date=today.strftime("%d.%m.%Y"),
        ),
    )


def _notices_in_period(session: Session, scope: Scope) -> Table:
    query = (
        select(
            EmploymentNotice.kind,
            func.count(),
            func.count().filter(EmploymentNotice.notified_on > EmploymentNotice.notice_due_on),
            func.count().filter(EmploymentNotice.action.is_(None)),
        )
        .where(
            EmploymentNotice.organization_id == scope.organization_id,
            EmploymentNotice.notified_on >= scope.start,
            EmploymentNotice.notified_on <= scope.end,
        )
        .group_by(EmploymentNotice.kind)
    )
    found = {NoticeKind(kind): (filed, late, pending) for kind, filed, late, pending in session.execute(query)}
    figures = {kind: found.get(kind, (0, 0, 0)) for kind in NoticeKind}
    numbers = [[filed, late, filed - pending, pending] for filed, late, pending in figures.values()]
    rows = [(gettext(NOTICE_LABELS[kind]), *values) for kind, values in zip(figures, numbers, strict=True)]
    return Table(
        key="notices_in_period",
        title=gettext(N_("Employment notices filed in the period")),
        columns=(
            Column("kind", gettext(N_("Event")), Kind.TEXT),
            Column("filed", gettext(N_("Filed")), Kind.INT),
            Column("late", gettext(N_("Late")), Kind.INT),
            Column("acted_on", gettext(N_("Acted on")), Kind.INT),
            Column("pending", gettext(N_("Pending")), Kind.INT),
        ),
        rows=rows,
        total=(gettext(N_("Total")), *_column_sums(numbers, 4)),
        note=gettext(N_("Late: notified more than 3 working days after the event (R-10).")),
    )


def _inventory(session: Session, scope: Scope, today: date) -> Table:
    campaign = campaign_of(session, today.year)
    active = (Cabinet.organization_id == scope.organization_id, Cabinet.status == CabinetStatus.ACTIVE)
    cabinets = session.execute(select(func.count()).select_from(Cabinet).where(*active)).scalar_one()
    reviewed: int | None = None
    if campaign is not None:
        in_campaign = exists().where(
            InventoryReview.cabinet_id == Cabinet.id, InventoryReview.campaign_id == campaign.id
        )
        reviewed = session.execute(select(func.count()).select_from(Cabinet).where(*active, in_campaign)).scalar_one()
    # R-14 as ehealth/access/inventory.py reads it: active, and no review since the same day a year ago.
    since, _ = day_bounds(today - timedelta(days=REVIEW_INTERVAL_DAYS))
    # Correlated per cabinet, so the (cabinet, time) index answers it without reading the whole country's reviews.
    recent = exists().where(InventoryReview.cabinet_id == Cabinet.id, InventoryReview.reviewed_at >= since)
    overdue = session.execute(select(func.count()).select_from(Cabinet).where(*active, ~recent)).scalar_one()
    last = session.execute(
        select(func.max(InventoryReview.reviewed_at))
        .join(Cabinet, Cabinet.id == InventoryReview.cabinet_id)
        .where(Cabinet.organization_id == scope.organization_id)
    ).scalar_one_or_none()
    row = (
        str(today.year),
        campaign.due_on if campaign is not None else None,
        cabinets,
        reviewed,
        cabinets - reviewed if reviewed is not None else None,
        share(reviewed, cabinets) if reviewed is not None else None,
        last.astimezone(TASHKENT).date() if last is not None else None,
        overdue,
    )
    note = (
        gettext(N_("Active cabinets as of now, and the reviews of this year's inventory campaign."))
        if campaign is not None
        else gettext(N_("No inventory is open for {year}."), year=today.year)
    )
    return Table(
        key="inventory",
        title=gettext(N_("Annual inventory of users")),
        columns=(
            Column("year", gettext(N_("Year")), Kind.TEXT),
            Column("due_on", gettext(N_("Campaign due on")), Kind.DATE),
            Column("active", gettext(N_("Active cabinets")), Kind.INT),
            Column("reviewed", gettext(N_("Reviewed")), Kind.INT),
            Column("to_review", gettext(N_("To review")), Kind.INT),
            Column("reviewed_share", gettext(N_("Share reviewed")), Kind.PERCENT),
            Column("last_review", gettext(N_("Last review")), Kind.DATE),
            Column("not_reviewed_year", gettext(N_("Not reviewed for 12 months")), Kind.INT),
        ),
        rows=[row],
        note=note,
    )


def _reviews_in_period(session: Session, scope: Scope) -> Table:
    query = (
        select(InventoryReview.decision, func.count())
        .join(Cabinet, Cabinet.id == InventoryReview.cabinet_id)
        .where(
            Cabinet.organization_id == scope.organization_id,
            InventoryReview.reviewed_at >= scope.since,
            InventoryReview.reviewed_at < scope.until,
        )
        .group_by(InventoryReview.decision)
    )
    found = {ReviewDecision(decision): count for decision, count in session.execute(query)}
    rows = [(gettext(DECISION_LABELS[decision]), found.get(decision, 0)) for decision in ReviewDecision]
    return Table(
        key="reviews_in_period",
        title=gettext(N_("Inventory reviews in the period")),
        columns=(
            Column("decision", gettext(N_("Decision")), Kind.TEXT),
            Column("reviews", gettext(N_("Reviews")), Kind.INT),
        ),
        rows=rows,
        total=(gettext(N_("Total")), sum(count for _label, count in rows)),
    )


def build(session: Session, scope: Scope, *, today: date | None = None) -> Report:
    """The staff and access report of `scope`: cabinets and pending notices now, notices and reviews in the period."""
    day = today or local_today()
    return Report(
        key=KEY,
        title=gettext(N_("Staff and access")),
        scope=scope,
        tables=(
            _cabinets(session, scope),
            _pending_notices(session, scope, day),
            _notices_in_period(session, scope),
            _inventory(session, scope, day),
            _reviews_in_period(session, scope),
        ),
        notes=(gettext(N_("People appear by their personal cabinet's ID number, not by name.")),),
    )


register(
    ReportSpec(
        key=KEY,
        title=N_("Staff and access"),
        kinds=frozenset({OrganizationKind.POLYCLINIC, OrganizationKind.HOSPITAL, OrganizationKind.PHARMACY}),
        build=build,
        departments=False,
    )
)
