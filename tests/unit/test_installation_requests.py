"""Installation requests (R-2, R-3): every field checked, nothing saved half, due in 15 working days,
approved into cabinets or rejected with a reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ehealth.access.models import Cabinet, InstallationRequest, RequestedUser, RequestStatus, Role
from ehealth.access.requests import PersonEntry, RequestInvalid, approve, file_request, queue, reject
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import Actor
from ehealth.errors import ConstraintViolation, DomainError, ValidationError
from ehealth.i18n import language
from ehealth.identifiers import make_pinfl
from ehealth.reference.models import OrganizationKind, OrganizationModule
from tests import factories

MANAGER = Actor(None, "manager", None, "10.1.1.1")
ADMIN = Actor(None, "admin", None, "10.2.2.2")


def person(n: int, role: str = "doctor") -> PersonEntry:
    """A correct row of the request."""
    return PersonEntry(
        surname="Qodirov",
        given_name="Sherzod",
        patronymic="Anvarovich",
        position="Terapevt shifokor",
        department_name="Terapiya bo'limi",
        document_type="passport",
        document=f"AB{1000000 + n}",
        pinfl=make_pinfl(date(1985, 4, 2), "male", 500, n),
        email=f"sherzod{n}@example.uz",
        role=role,
    )


def file(
    session: Session, org_id: int, people: list[PersonEntry], received: date = date(2025, 12, 25)
) -> InstallationRequest:
    return file_request(
        session,
        organization_id=org_id,
        modules=["polyclinic", "emr", "prescription"],
        people=people,
        letter_number="01-12/345",
        contact_name="Karimov Aziz",
        contact_phone="+998 71 200 00 00",
        received_on=received,
        author=MANAGER,
    )


def count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_correct_request_is_due_in_15_working_days(session: Session) -> None:
    org = factories.organization(session)
    request = file(session, org.id, [person(1), person(2, "nurse")])
    # 2025-12-25 + 15 working days, over the New Year holidays.
    assert request.due_on == date(2026, 1, 20)
    assert request.number == f"IR-2025-{request.id:06d}"
    assert request.status == RequestStatus.RECEIVED
    people = session.execute(select(RequestedUser).where(RequestedUser.request_id == request.id)).scalars().all()
    assert [(p.document_series, p.document_number, p.role) for p in people] == [
        ("AB", "1000001", "doctor"),
        ("AB", "1000002", "nurse"),
    ]


def test_every_wrong_field_is_reported_and_nothing_is_saved(session: Session) -> None:
    org = factories.organization(session)
    before = (count(session, InstallationRequest), count(session, RequestedUser))
    bad = [
        replace(person(1), email="sherzod@"),
        replace(person(2), surname="", email="not-an-email", document="A1234567"),
        replace(person(3), pinfl=person(1).pinfl),  # a PINFL already in row 1
        replace(person(4), role="analyst", pinfl="30101901234568"),  # a ministry role; a wrong check digit
    ]
    with pytest.raises(RequestInvalid) as refused:
        file(session, org.id, bad)
    errors = refused.value.errors
    assert set(errors) == {0, 1, 2, 3}
    assert set(errors[0]) == {"email"} and set(errors[1]) == {"surname", "email", "document"}
    assert set(errors[2]) == {"pinfl"} and errors[2]["pinfl"].params == {"row": 1}
    assert set(errors[3]) == {"role", "pinfl"}
    with language("en"):
        assert str(refused.value) == "The request has 7 errors and was not saved; correct them and send it again."
        assert str(errors[3]["pinfl"]) == "PINFL check digit should be 9, not 8"
    assert (count(session, InstallationRequest), count(session, RequestedUser)) == before


def test_request_level_fields_are_checked(session: Session) -> None:
    pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
    with pytest.raises(RequestInvalid) as refused:
        file_request(
            session,
            organization_id=pharmacy.id,
            modules=["hospital"],
            people=[],
            letter_number=" ",
            contact_name="X",
            contact_phone="1",
            received_on=date(2026, 3, 2),
            author=MANAGER,
        )
    assert {error.field for error in refused.value.general} == {"modules", "people", "letter_number"}


def test_approval_opens_a_cabinet_per_person_and_installs_the_modules(session: Session) -> None:
    org = factories.organization(session)
    request = file(session, org.id, [person(1), person(2, "registrar")])
    cabinets = approve(session, request.id, admin=ADMIN, on=date(2026, 1, 12))
    assert [(c.role, c.status, c.id_number) for c in cabinets] == [
        ("doctor", "active", f"U{cabinets[0].id:08d}"),
        ("registrar", "active", f"U{cabinets[1].id:08d}"),
    ]
    assert request.status == RequestStatus.INSTALLED and request.installed_on == date(2026, 1, 12)
    modules = session.execute(select(OrganizationModule.module).where(OrganizationModule.organization_id == org.id))
    assert sorted(modules.scalars()) == ["emr", "polyclinic", "prescription"]
    actions = session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(3)).scalars().all()
    assert actions == ["installation_request.approved", "cabinet.created", "cabinet.created"]
    with pytest.raises(DomainError):
        approve(session, request.id, admin=ADMIN, on=date(2026, 1, 13))  # decided already


def test_approval_refuses_a_second_live_cabinet_for_the_same_person_and_role(session: Session) -> None:
    org = factories.organization(session)
    approve(session, file(session, org.id, [person(7)]).id, admin=ADMIN, on=date(2026, 1, 5))
    cabinets_before = count(session, Cabinet)
    again = file(session, org.id, [person(7)])
    savepoint = session.begin_nested()
    with pytest.raises(ConstraintViolation):
        approve(session, again.id, admin=ADMIN, on=date(2026, 1, 6))
    savepoint.rollback()
    assert count(session, Cabinet) == cabinets_before


def test_rejection_needs_a_reason(session: Session) -> None:
    org = factories.organization(session)
    request = file(session, org.id, [person(1)])
    with pytest.raises(ValidationError):
        reject(session, request.id, admin=ADMIN, reason="  ")
    reject(session, request.id, admin=ADMIN, reason="Xat imzolanmagan")
    assert request.status == RequestStatus.REJECTED and request.rejection_reason == "Xat imzolanmagan"


def test_queue_shows_overdue_first_with_working_days_left(session: Session) -> None:
    org = factories.organization(session)
    late = file(session, org.id, [person(1)], received=date(2025, 12, 1))  # due 2025-12-22
    soon = file(session, org.id, [person(2)], received=date(2026, 1, 5))  # due 2026-01-26
    today = date(2026, 1, 12)
    entries = {entry.request.id: entry for entry in queue(session, today)}
    assert entries[late.id].overdue and entries[late.id].working_days_left < 0
    assert not entries[soon.id].overdue and entries[soon.id].working_days_left == 10
    order = [entry.request.id for entry in queue(session, today) if entry.request.id in (late.id, soon.id)]
    assert order == [late.id, soon.id]
    reject(session, late.id, admin=ADMIN, reason="Takroriy so'rov")
    assert late.id not in {entry.request.id for entry in queue(session, today)}


def test_a_pharmacy_asks_only_for_pharmacists_and_its_manager(session: Session) -> None:
    pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
    with pytest.raises(RequestInvalid) as refused:
        file_request(
            session,
            organization_id=pharmacy.id,
            modules=["prescription"],
            people=[person(1, "pharmacist"), person(2, "doctor"), person(3, Role.MANAGER.value)],
            letter_number="7",
            contact_name="Sobirov Jasur",
            contact_phone="+998 90 000 00 00",
            received_on=date(2026, 3, 2),
            author=MANAGER,
        )
    assert set(refused.value.errors) == {1} and set(refused.value.errors[1]) == {"role"}
