"""Employment notices (R-10): both 3-working-day deadlines, rights updated or cabinet blocked and archived."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ehealth.access.models import CabinetStatus, Role
from ehealth.access.notices import block_and_archive, pending_notices, record_notice, retain_until, update_rights
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import Actor
from ehealth.errors import DomainError, ValidationError
from tests import factories

ADMIN = Actor(None, "admin", None, "10.2.2.2")


def manager_of(org_id: int) -> Actor:
    return Actor(None, "manager", org_id, "10.1.1.1")


def test_deadlines_follow_the_working_day_calendar(session: Session) -> None:
    org = factories.organization(session)
    nurse = factories.cabinet(session, org, Role.NURSE)
    # Left on Friday 2026-03-20 (Eid al-Fitr) before Navruz: the weekend and the holidays do not count.
    notice = record_notice(
        session,
        cabinet_id=nurse.id,
        kind="termination",
        event_date=date(2026, 3, 19),
        notified_on=date(2026, 3, 27),
        new_position=None,
        author=manager_of(org.id),
    )
    assert notice.notice_due_on == date(2026, 3, 26)  # 20 Eid, 21-22 weekend, 23 Navruz observed: 24, 25, 26
    assert notice.action_due_on == date(2026, 4, 1)  # 27 Fri + 30, 31 March, 1 April
    statuses = {s.notice.id: s for s in pending_notices(session, date(2026, 4, 2))}
    assert statuses[notice.id].notified_late and statuses[notice.id].action_overdue


def test_termination_blocks_and_archives_for_at_least_a_year(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    notice = record_notice(
        session,
        cabinet_id=doctor.id,
        kind="termination",
        event_date=date(2026, 1, 12),
        notified_on=date(2026, 1, 13),
        new_position=None,
        author=manager_of(org.id),
    )
    cabinet = block_and_archive(session, notice.id, admin=ADMIN)
    assert cabinet.status == CabinetStatus.ARCHIVED and cabinet.blocked_at and cabinet.archived_at
    assert cabinet.retain_until == retain_until(cabinet.archived_at, 365)
    actions = session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(3)).scalars().all()
    assert actions == ["employment_notice.blocked_archived", "cabinet.archived", "cabinet.blocked"]
    with pytest.raises(DomainError):
        block_and_archive(session, notice.id, admin=ADMIN)  # acted on already


@pytest.mark.parametrize(
    ("archived", "days", "kept_until"),
    [
        (datetime(2026, 5, 4, 10, tzinfo=UTC), 365, date(2027, 5, 4)),
        (datetime(2028, 2, 29, 10, tzinfo=UTC), 365, date(2029, 3, 1)),  # never less than a calendar year
        (datetime(2026, 5, 4, 10, tzinfo=UTC), 30, date(2027, 5, 4)),  # a shorter setting cannot shorten it
        (datetime(2026, 5, 4, 10, tzinfo=UTC), 730, date(2028, 5, 3)),
    ],
)
def test_retention_is_at_least_one_year(archived: datetime, days: int, kept_until: date) -> None:
    assert retain_until(archived, days) == kept_until


def test_transfer_updates_position_and_role(session: Session) -> None:
    org = factories.organization(session)
    nurse = factories.cabinet(session, org, Role.NURSE)
    notice = record_notice(
        session,
        cabinet_id=nurse.id,
        kind="transfer",
        event_date=date(2026, 2, 2),
        notified_on=date(2026, 2, 3),
        new_position="Katta hamshira",
        author=manager_of(org.id),
    )
    cabinet = update_rights(session, notice.id, admin=ADMIN, role="registrar")
    assert (cabinet.position, cabinet.role, cabinet.status) == ("Katta hamshira", "registrar", "active")
    assert notice.action == "rights_updated"


def test_bad_notices_are_refused(session: Session) -> None:
    org, other = factories.organization(session), factories.organization(session)
    doctor = factories.cabinet(session, org)
    base: dict[str, Any] = {"cabinet_id": doctor.id, "event_date": date(2026, 2, 2), "notified_on": date(2026, 2, 3)}
    with pytest.raises(ValidationError):
        record_notice(session, kind="transfer", new_position=" ", author=manager_of(org.id), **base)
    with pytest.raises(ValidationError):
        record_notice(session, kind="retired", new_position=None, author=manager_of(org.id), **base)
    with pytest.raises(ValidationError):
        record_notice(
            session,
            cabinet_id=doctor.id,
            kind="termination",
            event_date=date(2026, 2, 5),
            notified_on=date(2026, 2, 3),
            new_position=None,
            author=manager_of(org.id),
        )
    with pytest.raises(DomainError):  # another organization's manager
        record_notice(session, kind="termination", new_position=None, author=manager_of(other.id), **base)
