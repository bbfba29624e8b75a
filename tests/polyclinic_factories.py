"""Builders for the doctor's-day tests: a frozen clock, actors of cabinets, rows in a given state, audit reads."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, CabinetStatus
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import Actor
from ehealth.emr import referrals
from ehealth.emr.models import Encounter
from ehealth.identifiers import TASHKENT
from ehealth.polyclinic import queue, visits
from ehealth.polyclinic.models import Appointment, AppointmentKind, AppointmentState
from ehealth.reference.models import Department, DepartmentKind, Organization

# A Tuesday, a working day; the next day is one too; 8 March (Friday) is a holiday and the 9th a Saturday.
DAY = date(2030, 3, 5)
NEXT_DAY = date(2030, 3, 6)
HOLIDAY = date(2030, 3, 8)
SATURDAY = date(2030, 3, 9)
_serial = itertools.count(1)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An aware instant of Tashkent wall-clock time."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=TASHKENT)


class Clock:
    """The services' `utcnow`, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def freeze(monkeypatch: pytest.MonkeyPatch, now: datetime) -> Clock:
    """Make the queue, visit and referral services see `now` as the current time."""
    clock = Clock(now)
    for module in (queue, visits, referrals):
        monkeypatch.setattr(module, "utcnow", clock)
    return clock


def actor(cabinet: Cabinet) -> Actor:
    """The actor a signed-in cabinet acts as."""
    return Actor(cabinet.id, str(cabinet.role), cabinet.organization_id, "10.0.0.1")


def department(session: Session, org: Organization) -> Department:
    """An outpatient department of `org`."""
    row = Department(organization_id=org.id, name=f"Terapiya {next(_serial)}", kind=DepartmentKind.OUTPATIENT)
    session.add(row)
    session.flush()
    return row


def block(session: Session, cabinet: Cabinet) -> None:
    """Block a cabinet directly (the blocking service is tested elsewhere)."""
    cabinet.status, cabinet.blocked_at = CabinetStatus.BLOCKED, utcnow()
    session.flush()


def appointment(
    session: Session,
    doctor: Cabinet,
    patient_id: int,
    scheduled_at: datetime,
    state: AppointmentState = AppointmentState.BOOKED,
    kind: AppointmentKind = AppointmentKind.BOOKED,
    encounter_id: int | None = None,
) -> Appointment:
    """An appointment written directly in any state (a visit's states need `encounter_id`)."""
    row = Appointment(
        patient_id=patient_id,
        organization_id=doctor.organization_id,
        practitioner_id=doctor.id,
        kind=kind,
        state=state,
        scheduled_at=scheduled_at,
        encounter_id=encounter_id,
        created_by=doctor.id,
    )
    session.add(row)
    session.flush()
    return row


def count(session: Session, model: type[Any]) -> int:
    """How many rows a table holds (in this test's transaction)."""
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def audit_actions(session: Session, patient_id: int) -> list[tuple[str, str | None, str | None]]:
    """(action, object type, detail) of a patient's audit events, oldest first."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.object_type, AuditEvent.detail)
        .where(AuditEvent.patient_id == patient_id)
        .order_by(AuditEvent.id)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def last_audit(session: Session) -> AuditEvent:
    """The newest audit event."""
    return session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """Collect the SQL statements the session sends inside the block."""
    seen: list[str] = []
    connection = session.connection()

    def listen(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    event.listen(connection, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", listen)


def encounters_of(session: Session, patient_id: int) -> list[Encounter]:
    """A patient's encounters, oldest first."""
    return list(
        session.execute(select(Encounter).where(Encounter.patient_id == patient_id).order_by(Encounter.id)).scalars()
    )
