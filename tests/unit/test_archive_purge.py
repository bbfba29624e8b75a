"""Purging the archive (R-10): only cabinets past the date they are kept until lose their owner's identifiers; the
row, the clinical records and the audit events they authored stay, and the owner can never sign in with it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

import ehealth.models  # noqa: F401  (every table, for the sessions on scratch databases)
from app import create_app
from auth.user import PortalUser
from auth.views import NO_CABINET, sign_in_owner
from db import flush, make_engine, utcnow
from ehealth.access.archive import due_for_purge, purge
from ehealth.access.models import (
    Cabinet,
    CabinetStatus,
    EmploymentNotice,
    IdentityKind,
    InstallationRequest,
    LoginIdentity,
    RequestedUser,
    RequestStatus,
    Role,
)
from ehealth.access.notices import block_and_archive, record_notice, update_rights
from ehealth.access.requests import PersonEntry, approve, file_request
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import SYSTEM, Actor, record, verify
from ehealth.emr.models import Condition, Encounter
from ehealth.errors import ConstraintViolation, DomainError
from ehealth.i18n import language
from ehealth.manage import alembic_config, main, migrate, purge_archive
from ehealth.outbox import ClinicalEvent
from settings import Settings
from tests import factories
from tests.signin_checks import assert_refusal_shown

ADMIN = Actor(None, "admin", None, "10.2.2.2")
MANAGER = Actor(None, "manager", None, "10.1.1.1")


def count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def archive(session: Session, cabinet: Cabinet, retention_days: int = 365) -> date:
    """Report the owner's termination and act on it, as R-10 asks; the date the cabinet is kept until."""
    notice = record_notice(
        session,
        cabinet_id=cabinet.id,
        kind="termination",
        event_date=date(2026, 1, 12),
        notified_on=date(2026, 1, 13),
        new_position=None,
        author=MANAGER,
    )
    block_and_archive(session, notice.id, admin=ADMIN, retention_days=retention_days)
    assert cabinet.retain_until is not None
    return cabinet.retain_until


@dataclass(frozen=True)
class Author:
    """A doctor with sign-in identities, a request row, a visit, a diagnosis and audit events of their own."""

    cabinet: Cabinet
    request_row: RequestedUser
    encounter: Encounter
    diagnosis: Condition


def doctor_who_worked(session: Session) -> Author:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    request = InstallationRequest(
        number=f"SR-T-{doctor.id}",
        organization_id=org.id,
        modules=["emr"],
        letter_number="01-12/345",
        received_on=date(2025, 1, 6),
        due_on=date(2025, 1, 27),
        status=RequestStatus.INSTALLED,
        installed_on=date(2025, 1, 20),
        contact_name="Karimov Aziz",
        contact_phone="+998 71 200 00 00",
    )
    session.add(request)
    flush(session)
    row = RequestedUser(
        request_id=request.id,
        organization_id=org.id,
        cabinet_id=doctor.id,
        **{
            name: getattr(doctor, name)
            for name in (
                "surname",
                "given_name",
                "patronymic",
                "position",
                "department_name",
                "document_type",
                "document_series",
                "document_number",
                "pinfl",
                "email",
                "role",
            )
        },
    )
    session.add_all(
        [
            row,
            LoginIdentity(cabinet_id=doctor.id, kind=IdentityKind.ONEID, subject="u-77", pinfl=doctor.pinfl),
            LoginIdentity(cabinet_id=doctor.id, kind=IdentityKind.EIMZO, subject="7A1F", pinfl=doctor.pinfl),
        ]
    )
    flush(session)
    visit = factories.encounter(session, org, doctor, factories.patient(session))
    diagnosis = factories.diagnosis(session, visit)
    record(session, Actor(doctor.id, "doctor", org.id, "10.0.0.7"), "sign_in.oneid")
    record(session, Actor(doctor.id, "doctor", org.id, "10.0.0.7"), "condition.created", object_id=diagnosis.id)
    return Author(doctor, row, visit, diagnosis)


def test_nothing_is_purged_until_the_retention_has_passed(session: Session) -> None:
    author = doctor_who_worked(session)
    kept_until = archive(session, author.cabinet)
    pinfl = author.cabinet.pinfl
    for day in (kept_until - timedelta(days=1), kept_until):  # kept *until* that day, the day itself included
        assert author.cabinet not in due_for_purge(session, day)
        assert author.cabinet.id not in purge(session, day, actor=SYSTEM)
        assert (author.cabinet.status, author.cabinet.pinfl) == (CabinetStatus.ARCHIVED, pinfl)
    assert author.cabinet in due_for_purge(session, kept_until + timedelta(days=1))


def test_a_shorter_retention_setting_cannot_bring_the_purge_before_a_year(session: Session) -> None:
    author = doctor_who_worked(session)
    kept_until = archive(session, author.cabinet, retention_days=1)
    assert author.cabinet.archived_at is not None
    archived_on = author.cabinet.archived_at.date()
    assert kept_until >= archived_on + timedelta(days=365)  # a calendar year: 365 or 366 days
    assert author.cabinet.id not in purge(session, archived_on + timedelta(days=365), actor=SYSTEM)
    assert author.cabinet.status == CabinetStatus.ARCHIVED


def test_purge_erases_identifiers_and_keeps_records_and_audit(session: Session) -> None:
    author = doctor_who_worked(session)
    doctor = author.cabinet
    kept_until = archive(session, doctor)
    kept = {
        name: getattr(doctor, name)
        for name in ("id_number", "organization_id", "role", "position", "department_name", "surname", "given_name")
    }
    clinical = (session.get_one(Encounter, author.encounter.id), session.get_one(Condition, author.diagnosis.id))
    audit_before = count(session, AuditEvent)
    clinical_events_before = count(session, ClinicalEvent)

    assert doctor.id in purge(session, kept_until + timedelta(days=1), actor=SYSTEM)
    session.flush()  # the audit chain's head moves at the next flush
    session.expire_all()  # what follows is read back from the database

    assert doctor.status == CabinetStatus.PURGED and doctor.purged_at is not None
    assert (doctor.pinfl, doctor.document_series, doctor.document_number, doctor.email) == (None, None, None, None)
    assert {name: getattr(doctor, name) for name in kept} == kept
    assert doctor.full_name == "Karimov Aziz Botirovich"  # the author of the records stays named
    assert doctor.archived_at is not None and doctor.retain_until == kept_until
    row = session.get_one(RequestedUser, author.request_row.id)
    assert (row.pinfl, row.document_series, row.document_number, row.email) == (None, None, None, None)
    assert (row.cabinet_id, row.surname) == (doctor.id, "Karimov")
    assert session.scalar(select(func.count()).where(LoginIdentity.cabinet_id == doctor.id)) == 0
    # Clinical records it authored are untouched, still pointing at it; nothing clinical happened.
    assert session.get_one(Encounter, author.encounter.id) is clinical[0]
    assert clinical[0].created_by == doctor.id and clinical[0].status == "active"
    assert clinical[1].created_by == doctor.id and clinical[1].icd10_code == "I10"
    assert count(session, ClinicalEvent) == clinical_events_before
    # The notice stays; every audit event stays, one more says who purged what, and the chain still verifies.
    assert session.scalar(select(func.count()).where(EmploymentNotice.cabinet_id == doctor.id)) == 1
    assert count(session, AuditEvent) == audit_before + 1
    assert session.scalar(select(func.count()).where(AuditEvent.actor_id == doctor.id)) == 2
    event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert (event.action, event.actor_id, event.actor_role, event.object_type, event.object_id) == (
        "cabinet.purged",
        None,
        "system",
        "cabinet",
        str(doctor.id),
    )
    assert event.detail == f"kept until {kept_until.isoformat()}"
    assert list(verify(session)) == []


def test_purging_again_changes_nothing(session: Session) -> None:
    author = doctor_who_worked(session)
    day = archive(session, author.cabinet) + timedelta(days=400)
    assert author.cabinet.id in purge(session, day, actor=SYSTEM)
    purged_at, audit = author.cabinet.purged_at, count(session, AuditEvent)
    assert purge(session, day, actor=SYSTEM) == []
    assert due_for_purge(session, day) == []
    assert author.cabinet.purged_at == purged_at and count(session, AuditEvent) == audit


def test_cabinets_not_archived_are_never_purged_however_old(session: Session) -> None:
    org = factories.organization(session)
    active, blocked = factories.cabinet(session, org), factories.cabinet(session, org, Role.NURSE)
    long_ago = utcnow() - timedelta(days=3650)
    blocked.status, blocked.blocked_at, blocked.retain_until = CabinetStatus.BLOCKED, long_ago, date(2017, 1, 1)
    flush(session)
    purged = purge(session, date(2099, 1, 1), actor=SYSTEM)
    assert active.id not in purged and blocked.id not in purged
    assert (active.status, blocked.status) == (CabinetStatus.ACTIVE, CabinetStatus.BLOCKED)
    assert active.pinfl is not None and blocked.pinfl is not None


def test_a_purged_cabinet_stays_read_only(session: Session) -> None:
    author = doctor_who_worked(session)
    transfer = record_notice(
        session,
        cabinet_id=author.cabinet.id,
        kind="transfer",
        event_date=date(2026, 1, 5),
        notified_on=date(2026, 1, 6),
        new_position="Bosh shifokor",
        author=MANAGER,
    )
    purge(session, archive(session, author.cabinet) + timedelta(days=1), actor=SYSTEM)
    with pytest.raises(DomainError):  # a notice left pending cannot change it afterwards
        update_rights(session, transfer.id, admin=ADMIN, role="manager")
    assert (author.cabinet.position, author.cabinet.role) == ("Terapevt", Role.DOCTOR)


def test_a_purged_cabinet_cannot_sign_in(session: Session) -> None:
    author = doctor_who_worked(session)
    pinfl = author.cabinet.pinfl
    assert PortalUser.of(author.cabinet) is not None
    purge(session, archive(session, author.cabinet) + timedelta(days=1), actor=SYSTEM)
    assert PortalUser.of(author.cabinet) is None  # an open session is dropped at its next request
    # Sign-in finds cabinets by the PINFL OneID or E-IMZO vouches for: the purged one has none left.
    assert session.execute(select(Cabinet).where(Cabinet.pinfl == pinfl)).scalars().all() == []


def test_the_old_owner_can_get_a_new_cabinet_with_the_same_role(session: Session) -> None:
    author = doctor_who_worked(session)
    old = author.cabinet
    entry = PersonEntry(
        surname=old.surname,
        given_name=old.given_name,
        patronymic=old.patronymic or "",
        position=old.position,
        department_name=old.department_name,
        document_type="passport",
        document=f"{old.document_series}{old.document_number}",
        pinfl=old.pinfl or "",
        email=old.email or "",
        role="doctor",
    )
    purge(session, archive(session, old) + timedelta(days=1), actor=SYSTEM)
    request = file_request(
        session,
        organization_id=old.organization_id,
        modules=["emr"],
        people=[entry],
        letter_number="02-03/17",
        contact_name="Karimov Aziz",
        contact_phone="+998 71 200 00 00",
        received_on=date(2027, 3, 1),
        author=MANAGER,
    )
    (new,) = approve(session, request.id, admin=ADMIN, on=date(2027, 3, 2))
    assert (new.pinfl, new.role, new.organization_id, new.status) == (
        entry.pinfl,
        "doctor",
        old.organization_id,
        "active",
    )
    assert new.id != old.id and old.status == CabinetStatus.PURGED


def test_identifiers_are_missing_only_from_purged_cabinets(session: Session) -> None:
    org = factories.organization(session)
    cabinet = factories.cabinet(session, org)
    cabinet.email = None
    with pytest.raises(ConstraintViolation) as refused:
        flush(session)
    with language("en"):
        assert "until it is purged" in str(refused.value)


def test_a_purged_cabinet_keeps_no_identifiers(session: Session) -> None:
    org = factories.organization(session)
    cabinet = factories.cabinet(session, org)
    now = utcnow()
    cabinet.status, cabinet.blocked_at, cabinet.purged_at = CabinetStatus.PURGED, now, now
    with pytest.raises(ConstraintViolation) as refused:
        flush(session)
    with language("en"):
        assert "keeps none of its owner's identifiers" in str(refused.value)


def test_a_request_row_without_a_cabinet_keeps_its_identifiers(session: Session) -> None:
    author = doctor_who_worked(session)
    author.request_row.cabinet_id = None
    author.request_row.pinfl = None
    with pytest.raises(ConstraintViolation) as refused:
        flush(session)
    with language("en"):
        assert "needs the PINFL, identity document and e-mail" in str(refused.value)


# On a scratch database of each backend: the operator's command, sign-in through the portal, the migration.


def seed_archived_author(url: str) -> tuple[int, str, date]:
    """Commit a doctor who worked and was archived: cabinet id, PINFL, kept-until date."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            author = doctor_who_worked(session)
            kept_until = archive(session, author.cabinet)
            session.commit()
            assert author.cabinet.pinfl is not None
            return author.cabinet.id, author.cabinet.pinfl, kept_until
    finally:
        engine.dispose()


def cabinet_row(engine: Engine, cabinet_id: int) -> tuple[str, str | None]:
    with engine.connect() as conn:
        status, pinfl = conn.execute(text("SELECT status, pinfl FROM cabinet WHERE id = :id"), {"id": cabinet_id}).one()
    return status, pinfl


@pytest.mark.parametrize("scratch_url", ["sqlite", "postgresql"], indirect=True)
def test_purge_archive_command(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate(scratch_url)
    cabinet_id, pinfl, kept_until = seed_archived_author(scratch_url)
    monkeypatch.setenv("EHEALTH_DATABASE_URL", scratch_url)
    after = (kept_until + timedelta(days=1)).isoformat()
    engine = make_engine(scratch_url)
    try:
        assert main(["purge-archive", "--today", kept_until.isoformat()]) == 0
        assert "Purged 0 archived cabinet(s)" in capsys.readouterr().out
        assert main(["purge-archive", "--dry-run", "--today", after]) == 0
        out = capsys.readouterr().out
        assert f"would purge cabinet {cabinet_id} " in out and "1 archived cabinet(s)" in out and "dry run" in out
        assert cabinet_row(engine, cabinet_id) == ("archived", pinfl)  # a dry run writes nothing
        assert main(["purge-archive", "--today", after]) == 0
        assert f"Purged 1 archived cabinet(s) past their retention on {after}." in capsys.readouterr().out
        assert cabinet_row(engine, cabinet_id) == ("purged", None)
        assert main(["purge-archive", "--today", after]) == 0
        assert "Purged 0 archived cabinet(s)" in capsys.readouterr().out
        with Session(engine) as session:
            assert list(verify(session)) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("scratch_url", ["sqlite", "postgresql"], indirect=True)
def test_the_former_owner_is_refused_at_sign_in(scratch_url: str) -> None:
    migrate(scratch_url)
    cabinet_id, pinfl, kept_until = seed_archived_author(scratch_url)
    assert purge_archive(scratch_url, kept_until + timedelta(days=1)) == [cabinet_id]
    portal = create_app(Settings(environment="test", database_url=scratch_url, secret_key="x" * 40))
    with portal.server.test_request_context("/login/oneid/callback"):
        refused = sign_in_owner(pinfl, "/", "sign_in.oneid", lambda _db, _cabinet: None)
        assert isinstance(refused, tuple) and refused[1] == 403
        assert_refusal_shown(NO_CABINET, refused[0])
    engine = make_engine(scratch_url)
    try:
        with Session(engine) as session:
            event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
            assert (event.action, event.outcome, event.actor_id) == ("sign_in.oneid", "denied", None)
    finally:
        engine.dispose()


@pytest.mark.parametrize("scratch_url", ["sqlite", "postgresql"], indirect=True)
def test_migration_keeps_data_and_refuses_to_go_down_over_purged_cabinets(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(scratch_url)
    # One audit chain, as before migration 0006, so that the trail may go below 0006 (test_audit_and_outbox.py
    # proves that 0006 refuses to go down over events of other chains).
    monkeypatch.setattr("ehealth.audit.trail.chain_of", lambda _organization_id: 0)
    cabinet_id, pinfl, kept_until = seed_archived_author(scratch_url)
    config = alembic_config(scratch_url)
    # Down and up again with cabinets, clinical rows and audit events referring to them: SQLite rebuilds the
    # cabinet table, and no reference, row or audit trigger may be lost.
    command.downgrade(config, "0003")
    migrate(scratch_url)
    engine = make_engine(scratch_url)
    try:
        assert cabinet_row(engine, cabinet_id) == ("archived", pinfl)
        with Session(engine) as session:
            assert count(session, Encounter) == 1 and count(session, AuditEvent) > 0
            assert list(verify(session)) == []
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
                triggers = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
                assert set(triggers) == {"audit_event_no_update", "audit_event_no_delete"}
        assert purge_archive(scratch_url, kept_until + timedelta(days=1)) == [cabinet_id]
        with pytest.raises(RuntimeError, match="purged cabinets"):
            command.downgrade(config, "0003")
        with engine.connect() as conn:
            # Never below 0004 (PostgreSQL rolls the whole downgrade back; SQLite keeps the later steps it finished).
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() >= "0004"
        assert cabinet_row(engine, cabinet_id) == ("purged", None)
    finally:
        engine.dispose()
