"""The staff and access report against known data: cabinets in every status, employment notices recorded and acted
on through the services, an inventory campaign with its reviews; every figure checked against a hand-computed
expectation and a recount over plain rows (another organization's staff, the period and purged cabinets left out)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.inventory import open_campaign, review
from ehealth.access.models import (
    Cabinet,
    CabinetStatus,
    EmploymentNotice,
    InventoryCampaign,
    InventoryReview,
    ReviewDecision,
    Role,
)
from ehealth.access.notices import block_and_archive, record_notice
from ehealth.calendar import notice_due
from ehealth.calendar import today as local_today
from ehealth.i18n import gettext, language
from ehealth.identifiers import TASHKENT
from ehealth.reference.models import Organization, OrganizationKind
from ehealth.reports import staff as staff_report
from ehealth.reports.base import Report, Scope, Table, build, offered
from tests import factories
from tests.emr_factories import actor

TODAY = local_today()
START, END = TODAY - timedelta(days=30), TODAY


def scope_of(org: Organization, start: date = START, end: date = END) -> Scope:
    """The report scope of `org` over [start, end]."""
    return Scope(
        organization_id=org.id,
        organization_name=org.name,
        organization_kind=OrganizationKind(org.kind),
        start=start,
        end=end,
    )


def column(table: Table, key: str) -> list[object]:
    """The values of one column of a table's rows."""
    index = table.column(key)
    return [row[index] for row in table.rows]


def purged(session: Session, org: Organization) -> Cabinet:
    """A nurse's cabinet archived long ago and purged after its retention (identifiers erased)."""
    row = factories.cabinet(session, org, Role.NURSE)
    now = utcnow()
    row.status, row.blocked_at, row.archived_at, row.purged_at = CabinetStatus.PURGED, now, now, now
    row.retain_until = TODAY
    row.pinfl = row.document_series = row.document_number = row.email = None
    session.flush()
    return row


@dataclass
class Staff:
    """The known data: the organization, its cabinets by name, the notices and the campaign."""

    org: Organization
    cabinets: dict[str, Cabinet]
    notices: dict[str, EmploymentNotice]
    campaign: InventoryCampaign


@pytest.fixture
def staff(session: Session) -> Staff:
    """A hospital's staff in every status, its notices in and before the period, and this year's inventory."""
    org = factories.organization(session, OrganizationKind.HOSPITAL)
    c = {name: factories.cabinet(session, org, Role.DOCTOR) for name in ("d1", "d2", "d3", "d4")}
    c.update({name: factories.cabinet(session, org, Role.NURSE) for name in ("n1", "n2")})
    c["r1"] = factories.cabinet(session, org, Role.REGISTRAR)
    c["m1"] = factories.cabinet(session, org, Role.MANAGER)
    purged(session, org)
    ministry = factories.organization(session, OrganizationKind.MINISTRY)
    admin = actor(factories.cabinet(session, ministry, Role.ADMIN))
    integrator = actor(
        factories.cabinet(session, factories.organization(session, OrganizationKind.INTEGRATOR), Role.INTEGRATOR)
    )
    manager = actor(c["m1"])
    notices = {
        # Filed in the period on its very deadline (in time), and acted on: d3 is blocked and archived.
        "n_acted": record_notice(
            session,
            cabinet_id=c["d3"].id,
            kind="termination",
            event_date=TODAY - timedelta(days=15),
            notified_on=notice_due(TODAY - timedelta(days=15)),
            new_position=None,
            author=manager,
        ),
        # Filed today, twenty days after the transfer (late), still pending and not yet overdue.
        "n_late": record_notice(
            session,
            cabinet_id=c["n2"].id,
            kind="transfer",
            event_date=TODAY - timedelta(days=20),
            notified_on=TODAY,
            new_position="Katta hamshira",
            author=manager,
        ),
        # Filed two months ago (before the period), still pending: overdue.
        "n_old": record_notice(
            session,
            cabinet_id=c["d1"].id,
            kind="termination",
            event_date=TODAY - timedelta(days=70),
            notified_on=TODAY - timedelta(days=60),
            new_position=None,
            author=manager,
        ),
    }
    block_and_archive(session, notices["n_acted"].id, admin=admin)
    # Another organization's staff, notice and review: counted nowhere.
    other = factories.organization(session, OrganizationKind.HOSPITAL)
    stranger = factories.cabinet(session, other, Role.DOCTOR)
    record_notice(
        session,
        cabinet_id=stranger.id,
        kind="termination",
        event_date=TODAY - timedelta(days=3),
        notified_on=TODAY - timedelta(days=2),
        new_position=None,
        author=actor(factories.cabinet(session, other, Role.MANAGER)),
    )
    campaign = open_campaign(session, year=TODAY.year, today=TODAY, integrator=integrator)
    # Reviewed two days ago; the other organization's cabinet just now (its date is not this organization's).
    for name, decision in (("d2", "confirmed"), ("n1", "confirmed"), ("d4", "blocked")):
        done = review(session, campaign_id=campaign.id, cabinet_id=c[name].id, decision=decision, integrator=integrator)
        done.reviewed_at = datetime.combine(TODAY - timedelta(days=2), time(12), TASHKENT)
    review(session, campaign_id=campaign.id, cabinet_id=stranger.id, decision="confirmed", integrator=integrator)
    # Last year's review of the manager, forty days ago: within twelve months, but neither this campaign nor the period.
    last_year = InventoryCampaign(
        year=TODAY.year - 1, started_on=TODAY - timedelta(days=60), due_on=TODAY - timedelta(days=1)
    )
    session.add(last_year)
    session.flush()
    earlier = review(
        session, campaign_id=last_year.id, cabinet_id=c["m1"].id, decision="confirmed", integrator=integrator
    )
    earlier.reviewed_at = datetime.combine(TODAY - timedelta(days=40), datetime.min.time(), TASHKENT)
    # The registrar's only review is 400 days old, in the campaign before: due for review again.
    two_years_ago = InventoryCampaign(
        year=TODAY.year - 2, started_on=TODAY - timedelta(days=420), due_on=TODAY - timedelta(days=380)
    )
    session.add(two_years_ago)
    session.flush()
    old = review(
        session, campaign_id=two_years_ago.id, cabinet_id=c["r1"].id, decision="confirmed", integrator=integrator
    )
    old.reviewed_at = datetime.combine(TODAY - timedelta(days=400), datetime.min.time(), TASHKENT)
    session.flush()
    return Staff(org, c, notices, campaign)


def test_cabinets_by_role_and_status(session: Session, staff: Staff) -> None:
    table = staff_report.build(session, scope_of(staff.org), today=TODAY).table("cabinets")
    assert table.rows == [
        (gettext("Doctor"), 2, 1, 1, 4),  # d1, d2 active; d4 blocked by the review; d3 archived on the notice
        (gettext("Nurse"), 2, 0, 0, 2),  # the purged nurse is not counted
        (gettext("Registrar"), 1, 0, 0, 1),
        (gettext("Manager"), 1, 0, 0, 1),
    ]
    assert table.total == (gettext("Total"), 6, 1, 1, 8)
    # Recount: the organization's cabinets one by one.
    cabinets = session.execute(select(Cabinet).where(Cabinet.organization_id == staff.org.id)).scalars().all()
    counted: Counter[tuple[Role, CabinetStatus]] = Counter(
        (c.role, c.status) for c in cabinets if c.status != CabinetStatus.PURGED
    )
    for role, label in staff_report.ROLE_LABELS.items():
        rows = [row for row in table.rows if row[0] == gettext(label)]
        statuses = [counted[(role, status)] for status in staff_report.COUNTED_STATUSES]
        assert rows == ([(gettext(label), *statuses, sum(statuses))] if any(statuses) else [])


def test_pending_notices_with_their_deadlines(session: Session, staff: Staff) -> None:
    table = staff_report.build(session, scope_of(staff.org), today=TODAY).table("pending_notices")
    old, late = staff.notices["n_old"], staff.notices["n_late"]
    assert table.rows == [
        (
            gettext("Termination"),
            staff.cabinets["d1"].id_number,
            old.event_date,
            old.notified_on,
            old.action_due_on,
            gettext("Yes"),
        ),
        (
            gettext("Transfer"),
            staff.cabinets["n2"].id_number,
            late.event_date,
            late.notified_on,
            late.action_due_on,
            gettext("No"),
        ),
    ]
    assert old.action_due_on < TODAY <= late.action_due_on
    # On its deadline a notice is not yet overdue.
    on_the_day = staff_report.build(session, scope_of(staff.org), today=late.action_due_on)
    assert column(on_the_day.table("pending_notices"), "overdue") == [gettext("Yes"), gettext("No")]
    # No names: the person is their cabinet's ID number.
    assert all(staff.cabinets["d1"].surname not in str(cell) for row in table.rows for cell in row)
    # On the day after the transfer's deadline both are overdue.
    later = staff_report.build(session, scope_of(staff.org), today=late.action_due_on + timedelta(days=1))
    assert column(later.table("pending_notices"), "overdue") == [gettext("Yes")] * 2
    # Recount: the organization's notices without an action.
    notices = session.execute(
        select(EmploymentNotice).where(EmploymentNotice.organization_id == staff.org.id)
    ).scalars()
    assert sorted(column(table, "due_on")) == sorted(n.action_due_on for n in notices if n.action is None)  # type: ignore[type-var]


def test_notices_filed_in_the_period(session: Session, staff: Staff) -> None:
    table = staff_report.build(session, scope_of(staff.org), today=TODAY).table("notices_in_period")
    # The termination was notified on its very deadline: in time.
    assert staff.notices["n_acted"].notified_on == staff.notices["n_acted"].notice_due_on <= TODAY
    assert table.rows == [(gettext("Termination"), 1, 0, 1, 0), (gettext("Transfer"), 1, 1, 0, 1)]
    assert table.total == (gettext("Total"), 2, 1, 1, 1)
    # The old notice's day alone holds it; the days between it and the period hold none.
    old = staff.notices["n_old"].notified_on
    alone = staff_report.build(session, scope_of(staff.org, old, old), today=TODAY).table("notices_in_period")
    assert alone.total == (gettext("Total"), 1, 1, 0, 1)  # notified 60 days after the event: late
    none = staff_report.build(session, scope_of(staff.org, old + timedelta(days=1), START), today=TODAY)
    assert none.table("notices_in_period").total == (gettext("Total"), 0, 0, 0, 0)
    # Recount over plain rows.
    rows = [
        n
        for n in session.execute(
            select(EmploymentNotice).where(EmploymentNotice.organization_id == staff.org.id)
        ).scalars()
        if START <= n.notified_on <= END
    ]
    assert table.total == (
        gettext("Total"),
        len(rows),
        sum(n.notified_on > n.notice_due_on for n in rows),
        sum(n.action is not None for n in rows),
        sum(n.action is None for n in rows),
    )


def test_inventory_review_status(session: Session, staff: Staff) -> None:
    report = staff_report.build(session, scope_of(staff.org), today=TODAY)
    ((year, due_on, active, reviewed, to_review, share, last, overdue),) = report.table("inventory").rows
    # Active now: d1, d2, n1, n2, r1, m1; reviewed in this campaign: d2 and n1 (d4 was blocked by its review);
    # no review within twelve months: d1, n2, r1 (m1 was reviewed forty days ago in last year's campaign).
    assert (year, due_on, active, reviewed, to_review, share, last, overdue) == (
        str(TODAY.year),
        staff.campaign.due_on,
        6,
        2,
        4,
        2 / 6,
        TODAY - timedelta(days=2),
        3,
    )
    assert report.table("reviews_in_period").rows == [
        (gettext("Confirmed"), 2),
        (gettext("Role changed"), 0),
        (gettext("Blocked"), 1),
    ]
    assert report.table("reviews_in_period").total == (gettext("Total"), 3)
    # Recount over plain rows.
    cabinets = session.execute(select(Cabinet).where(Cabinet.organization_id == staff.org.id)).scalars().all()
    live = {c.id for c in cabinets if c.status == CabinetStatus.ACTIVE}
    reviews = session.execute(select(InventoryReview)).scalars().all()
    ours = [r for r in reviews if r.cabinet_id in {c.id for c in cabinets}]
    year_ago = datetime.combine(TODAY - timedelta(days=365), datetime.min.time(), TASHKENT)
    assert active == len(live)
    assert reviewed == len({r.cabinet_id for r in ours if r.campaign_id == staff.campaign.id} & live)
    assert overdue == len(live - {r.cabinet_id for r in ours if r.reviewed_at >= year_ago})
    assert last == max(r.reviewed_at for r in ours).astimezone(TASHKENT).date()
    in_period = Counter(
        r.decision for r in ours if datetime.combine(START, datetime.min.time(), TASHKENT) <= r.reviewed_at
    )
    assert column(report.table("reviews_in_period"), "reviews") == [in_period[d] for d in ReviewDecision]


def test_a_year_without_a_campaign(session: Session, staff: Staff) -> None:
    report = staff_report.build(session, scope_of(staff.org), today=date(TODAY.year + 1, 1, 5))
    ((year, due_on, active, reviewed, to_review, share, _last, _overdue),) = report.table("inventory").rows
    assert (year, due_on, active, reviewed, to_review, share) == (str(TODAY.year + 1), None, 6, None, None, None)
    assert report.table("inventory").note == gettext("No inventory is open for {year}.", year=TODAY.year + 1)


def test_an_organization_without_staff(session: Session) -> None:
    org = factories.organization(session, OrganizationKind.PHARMACY)
    report = staff_report.build(session, scope_of(org), today=TODAY)
    assert report.table("cabinets").rows == [] and report.table("cabinets").total == (gettext("Total"), 0, 0, 0, 0)
    assert report.table("pending_notices").rows == []
    assert report.table("inventory").rows[0][2:4] == (0, None)


def test_offered_to_every_organization_with_staff_in_the_user_s_language(session: Session, staff: Staff) -> None:
    for kind in (OrganizationKind.POLYCLINIC, OrganizationKind.HOSPITAL, OrganizationKind.PHARMACY):
        assert "staff" in {spec.key for spec in offered(kind)}
    pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
    factories.cabinet(session, pharmacy, Role.PHARMACIST)
    with language("ru"):
        report: Report = build(session, "staff", scope_of(pharmacy))
        assert report.table("cabinets").rows == [(gettext("Pharmacist"), 1, 0, 0, 1)]
        assert gettext("Pharmacist") != "Pharmacist"
