"""Employment notices (R-10): the organization reports a termination or transfer within 3 working days; the ministry
updates the rights, or blocks the cabinet and archives it, within 3 more; an archived cabinet is kept a year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet, CabinetStatus, EmploymentNotice, NoticeAction, NoticeKind, Role
from ehealth.audit.trail import Actor, record
from ehealth.calendar import access_update_due, notice_due
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.reference.models import Organization


def retain_until(archived_at: datetime, retention_days: int) -> date:
    """Until when an archived cabinet is kept: at least one calendar year (R-10); a longer setting wins."""
    day = archived_at.date()
    try:
        year_later = day.replace(year=day.year + 1)
    except ValueError:  # archived on 29 February: a year later is 1 March
        year_later = date(day.year + 1, 3, 1)
    return max(year_later, day + timedelta(days=retention_days))


def record_notice(
    session: Session,
    *,
    cabinet_id: int,
    kind: str,
    event_date: date,
    notified_on: date,
    new_position: str | None,
    author: Actor,
    week_days: int = 5,
) -> EmploymentNotice:
    """Register the organization's written notice with both R-10 deadlines."""
    cabinet = session.get(Cabinet, cabinet_id)
    if cabinet is None:
        raise NotFound(N_("The personal cabinet does not exist."))
    if author.organization_id is not None and author.organization_id != cabinet.organization_id:
        raise DomainError(N_("You can report only your own organization's staff."))
    try:
        notice_kind = NoticeKind(kind)
    except ValueError:
        raise ValidationError(N_("Choose termination or transfer"), field="kind") from None
    if notified_on < event_date:
        raise ValidationError(N_("The notice cannot come before the event it reports"), field="notified_on")
    position = " ".join((new_position or "").split()) or None
    if notice_kind == NoticeKind.TRANSFER and position is None:
        raise ValidationError(N_("Give the new position for a transfer"), field="new_position")
    notice = EmploymentNotice(
        cabinet_id=cabinet.id,
        organization_id=cabinet.organization_id,
        kind=notice_kind,
        event_date=event_date,
        notice_due_on=notice_due(event_date, week_days=week_days),
        notified_on=notified_on,
        action_due_on=access_update_due(notified_on, week_days=week_days),
        new_position=position,
        created_by=author.cabinet_id,
    )
    session.add(notice)
    flush(session)
    record(session, author, "employment_notice.recorded", object_type="employment_notice", object_id=notice.id)
    return notice


def _pending(session: Session, notice_id: int) -> tuple[EmploymentNotice, Cabinet]:
    notice = session.get(EmploymentNotice, notice_id, with_for_update=True)
    if notice is None:
        raise NotFound(N_("The employment notice does not exist."))
    if notice.action is not None:
        raise DomainError(N_("This notice has already been acted on."))
    cabinet = session.get(Cabinet, notice.cabinet_id, with_for_update=True)
    assert cabinet is not None  # foreign key
    if cabinet.status in (CabinetStatus.ARCHIVED, CabinetStatus.PURGED):
        raise DomainError(N_("An archived cabinet cannot be changed."))
    return notice, cabinet


def update_rights(
    session: Session, notice_id: int, *, admin: Actor, role: str | None = None, position: str | None = None
) -> Cabinet:
    """Act on a transfer: give the cabinet its new position (and role, if it changes)."""
    notice, cabinet = _pending(session, notice_id)
    new_position = " ".join((position or notice.new_position or "").split())
    if not new_position:
        raise ValidationError(N_("Give the new position for a transfer"), field="new_position")
    cabinet.position = new_position
    if role is not None and role != cabinet.role:
        cabinet.role = Role(role)
        record(session, admin, "cabinet.role_changed", object_type="cabinet", object_id=cabinet.id, detail=role)
    notice.action, notice.action_at, notice.action_by = NoticeAction.RIGHTS_UPDATED, utcnow(), admin.cabinet_id
    flush(session)
    record(session, admin, "employment_notice.rights_updated", object_type="employment_notice", object_id=notice.id)
    return cabinet


def block_and_archive(session: Session, notice_id: int, *, admin: Actor, retention_days: int = 365) -> Cabinet:
    """Act on a termination: block the cabinet and move it to the archive, kept at least a year (R-10)."""
    notice, cabinet = _pending(session, notice_id)
    now = utcnow()
    cabinet.status = CabinetStatus.ARCHIVED
    cabinet.blocked_at = cabinet.blocked_at or now
    cabinet.archived_at = now
    cabinet.retain_until = retain_until(now, retention_days)
    notice.action, notice.action_at, notice.action_by = NoticeAction.BLOCKED_ARCHIVED, now, admin.cabinet_id
    flush(session)
    record(session, admin, "cabinet.blocked", object_type="cabinet", object_id=cabinet.id)
    record(session, admin, "cabinet.archived", object_type="cabinet", object_id=cabinet.id)
    record(session, admin, "employment_notice.blocked_archived", object_type="employment_notice", object_id=notice.id)
    return cabinet


@dataclass(frozen=True)
class NoticeStatus:
    """One notice with its two R-10 deadlines judged on `today`."""

    notice: EmploymentNotice
    notified_late: bool  # the organization notified after its 3 working days
    action_overdue: bool  # still pending past the ministry's 3 working days


def pending_notices(session: Session, today: date) -> list[NoticeStatus]:
    """Notices awaiting the ministry, overdue first, then by their action deadline."""
    notices = session.execute(
        select(EmploymentNotice)
        .where(EmploymentNotice.action.is_(None))
        .order_by(EmploymentNotice.action_due_on, EmploymentNotice.id)
    ).scalars()
    return [_status(notice, today) for notice in notices]


def _status(notice: EmploymentNotice, today: date) -> NoticeStatus:
    return NoticeStatus(
        notice, notice.notified_on > notice.notice_due_on, notice.action is None and notice.action_due_on < today
    )


@dataclass(frozen=True)
class NoticeLine:
    """A notice as the lists show it: both deadlines judged on a day, with the person and the organization."""

    status: NoticeStatus
    full_name: str
    id_number: str
    position: str
    role: Role
    organization: str


def _lines(session: Session, statuses: list[NoticeStatus]) -> list[NoticeLine]:
    """Attach the cabinet's owner and the organization's name to each notice (two queries, whatever the count)."""
    cabinet_ids = {status.notice.cabinet_id for status in statuses}
    organization_ids = {status.notice.organization_id for status in statuses}
    cabinets = {c.id: c for c in session.execute(select(Cabinet).where(Cabinet.id.in_(sorted(cabinet_ids)))).scalars()}
    query = select(Organization.id, Organization.name).where(Organization.id.in_(sorted(organization_ids)))
    names = {organization_id: name for organization_id, name in session.execute(query)}
    lines = []
    for status in statuses:
        cabinet = cabinets[status.notice.cabinet_id]
        lines.append(
            NoticeLine(
                status,
                cabinet.full_name,
                cabinet.id_number,
                cabinet.position,
                Role(cabinet.role),
                names.get(status.notice.organization_id, ""),
            )
        )
    return lines


def pending_notice_lines(session: Session, today: date) -> list[NoticeLine]:
    """The notices awaiting the ministry from every organization, overdue first, with who and where."""
    return _lines(session, pending_notices(session, today))


def pending_notice_line(session: Session, notice_id: int, today: date) -> NoticeLine | None:
    """One notice still awaiting the ministry, or None if it does not exist or has been acted on."""
    notice = session.execute(
        select(EmploymentNotice).where(EmploymentNotice.id == notice_id, EmploymentNotice.action.is_(None))
    ).scalar_one_or_none()
    return _lines(session, [_status(notice, today)])[0] if notice is not None else None


def notices_of(session: Session, organization_id: int, today: date, *, limit: int = 200) -> list[NoticeLine]:
    """The organization's own notices, newest first, with both deadlines and what the ministry did."""
    notices = session.execute(
        select(EmploymentNotice)
        .where(EmploymentNotice.organization_id == organization_id)
        .order_by(EmploymentNotice.notified_on.desc(), EmploymentNotice.id.desc())
        .limit(limit)
    ).scalars()
    return _lines(session, [_status(notice, today) for notice in notices])
