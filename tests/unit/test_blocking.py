"""Block and unblock (R-10, R-14): only with a reason, only from the right status, always audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.user import PortalUser
from db import utcnow
from ehealth.access.blocking import block, find_cabinets, unblock
from ehealth.access.models import CabinetStatus, Role
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import Actor, verify
from ehealth.errors import DomainError, ValidationError
from tests import factories

ADMIN = Actor(None, "admin", None, "10.2.2.2")


def test_block_then_unblock_with_reasons(session: Session) -> None:
    cabinet = factories.cabinet(session, factories.organization(session), Role.NURSE)
    block(session, cabinet.id, admin=ADMIN, reason="  Ta'tilda  ")
    assert cabinet.status == CabinetStatus.BLOCKED and cabinet.blocked_at is not None
    assert PortalUser.of(cabinet) is None  # a blocked cabinet cannot sign in
    unblock(session, cabinet.id, admin=ADMIN, reason="Ishga qaytdi")
    assert str(cabinet.status) == "active" and cabinet.blocked_at is None  # str(): mypy keeps the earlier narrowing
    assert PortalUser.of(cabinet) is not None
    events = session.execute(
        select(AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.object_type == "cabinet", AuditEvent.object_id == str(cabinet.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(e) for e in events] == [("cabinet.blocked", "Ta'tilda"), ("cabinet.unblocked", "Ishga qaytdi")]
    assert list(verify(session)) == []


def test_refusals_change_nothing(session: Session) -> None:
    org = factories.organization(session)
    active = factories.cabinet(session, org, Role.DOCTOR)
    archived = factories.cabinet(session, org, Role.DOCTOR)
    archived.status, archived.blocked_at, archived.archived_at = CabinetStatus.ARCHIVED, utcnow(), utcnow()
    archived.retain_until = utcnow().date().replace(year=utcnow().year + 1)
    session.flush()
    with pytest.raises(ValidationError):
        block(session, active.id, admin=ADMIN, reason="   ")
    with pytest.raises(DomainError):
        unblock(session, active.id, admin=ADMIN, reason="no")  # it is not blocked
    with pytest.raises(DomainError):
        unblock(session, archived.id, admin=ADMIN, reason="qaytdi")  # the archive is history
    with pytest.raises(DomainError):
        block(session, archived.id, admin=ADMIN, reason="again")
    assert (active.status, archived.status) == (CabinetStatus.ACTIVE, CabinetStatus.ARCHIVED)


def test_find_by_id_number_pinfl_or_surname(session: Session) -> None:
    cabinet = factories.cabinet(session, factories.organization(session), Role.REGISTRAR)
    assert cabinet.pinfl is not None
    for needle in (cabinet.id_number, cabinet.id_number.lower(), cabinet.pinfl, cabinet.surname[:3].lower()):
        assert cabinet.id in {c.id for c in find_cabinets(session, needle, limit=10_000)}, needle
    assert find_cabinets(session, "%") == [] and find_cabinets(session, "_%_x") == []
