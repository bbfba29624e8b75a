"""Background report exports: queued by a manager, built by a worker thread, polled, downloaded by that manager only."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from db import utcnow
from ehealth.access.models import Cabinet, CabinetStatus, Role
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import Actor
from ehealth.errors import NotFound, ValidationError
from ehealth.i18n import gettext, language
from ehealth.reference.models import Organization, OrganizationKind
from ehealth.reports import exports
from ehealth.reports.base import REGISTRY, Report, ReportSpec, Scope, scope_of
from ehealth.reports.exports import (
    FAILED,
    MAX_ACTIVE,
    NOT_ACTIVE,
    Exporter,
    export_status,
    request_export,
    run_export,
    take_file,
)
from ehealth.reports.models import ExportFormat, ExportState, ReportExport
from tests import emr_factories, factories, own_database
from tests.unit.test_report_files import CYRILLIC, FAKE_KEY, FAKE_SPEC, UZBEK, fake_report

# This module commits rows (the job runs in its own transactions): its fixtures use a database of its own.
database_url = own_database.database_url
engine = own_database.engine

START, END = date(2026, 3, 1), date(2026, 3, 31)


@dataclass
class Place:
    """A polyclinic with two managers, and the actor of the first."""

    org: Organization
    manager: Cabinet
    other_manager: Cabinet

    @property
    def actor(self) -> Actor:
        """The first manager acting."""
        return emr_factories.actor(self.manager)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions as the portal makes them (the job opens its own)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@pytest.fixture
def place(factory: sessionmaker[Session]) -> Place:
    """A fresh polyclinic and its managers, committed."""
    with factory() as session:
        org = factories.organization(session, OrganizationKind.POLYCLINIC)
        found = Place(org, factories.cabinet(session, org, Role.MANAGER), factories.cabinet(session, org, Role.MANAGER))
        session.commit()
    return found


@pytest.fixture(autouse=True)
def fake_spec(monkeypatch: pytest.MonkeyPatch) -> ReportSpec:
    """The fake polyclinic report, offered for the length of a test."""
    monkeypatch.setitem(REGISTRY, FAKE_KEY, FAKE_SPEC)
    return FAKE_SPEC


def _use_builder(monkeypatch: pytest.MonkeyPatch, build: Callable[[Session, Scope], Report]) -> None:
    spec = ReportSpec(key=FAKE_KEY, title="Fake", kinds=frozenset({OrganizationKind.POLYCLINIC}), build=build)
    monkeypatch.setitem(REGISTRY, FAKE_KEY, spec)


def _request(
    factory: sessionmaker[Session], actor: Actor, fmt: ExportFormat = ExportFormat.XLSX, lang: str = "en"
) -> ReportExport:
    """Ask for an export as a page does: scope, request, commit."""
    with factory() as session:
        scope = scope_of(session, actor, organization_id=None, start=START, end=END)
        export = request_export(session, actor, report_key=FAKE_KEY, scope=scope, fmt=fmt, language=lang)
        session.commit()
    return export


def _state(factory: sessionmaker[Session], export_id: int) -> tuple[ExportState, int]:
    with factory() as session:
        row = session.execute(
            select(ReportExport.state, ReportExport.progress).where(ReportExport.id == export_id)
        ).one()
    return ExportState(row.state), row.progress


def _audited(factory: sessionmaker[Session], action: str, export_id: int) -> list[AuditEvent]:
    with factory() as session:
        return list(
            session.execute(
                select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == str(export_id))
            ).scalars()
        )


@pytest.mark.parametrize("fmt", [ExportFormat.XLSX, ExportFormat.PDF])
def test_an_export_runs_to_a_file_only_its_requester_downloads(
    factory: sessionmaker[Session], place: Place, fmt: ExportFormat
) -> None:
    export = _request(factory, place.actor, fmt)
    assert export.state == ExportState.QUEUED and export.progress == 0
    assert len(export.token) >= 43 and export.cabinet_id == place.manager.id
    assert json.loads(export.params) == {
        "organization_id": place.org.id, "start": "2026-03-01", "end": "2026-03-31",
        "department_id": None, "language": "en",
    }  # fmt: skip
    requested = _audited(factory, "report.export_requested", export.id)
    assert [(event.actor_id, event.organization_id) for event in requested] == [(place.manager.id, place.org.id)]

    run_export(factory, export.id)

    with factory() as session:
        status = export_status(session, place.actor, export.token)
        assert (status.state, status.progress, status.error) == (ExportState.DONE, 100, None)
        assert status.finished_at is not None
        name, mimetype, content = take_file(session, place.actor, export.token)
        session.commit()
    assert name == f"{FAKE_KEY}-{place.org.id}-2026-03-01-2026-03-31.{fmt}"
    expected = fake_report().tables[0]
    if fmt == ExportFormat.XLSX:
        assert mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        sheet = load_workbook(io.BytesIO(content)).worksheets[0]
        cells = [value for row in sheet.iter_rows(values_only=True) for value in row]
        assert place.org.name in cells and "All departments" in cells  # built for this scope, in English
        assert all(row[1] in cells and row[2] in cells for row in expected.rows)
    else:
        assert mimetype == "application/pdf"
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
        assert all(word in text for word in (*UZBEK, *CYRILLIC, place.org.name, "All departments"))
    assert len(_audited(factory, "report.exported", export.id)) == 1

    with factory() as session:
        stranger = emr_factories.actor(place.other_manager)
        with pytest.raises(NotFound):
            export_status(session, stranger, export.token)
        with pytest.raises(NotFound):
            take_file(session, stranger, export.token)
        with pytest.raises(NotFound):
            export_status(session, place.actor, "not-a-token")
    assert len(_audited(factory, "report.exported", export.id)) == 1  # refusals hand out nothing


def test_progress_is_visible_while_the_job_runs_and_a_request_thread_is_not_held(
    factory: sessionmaker[Session], place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    seen: dict[str, object] = {}

    def slow_build(session: Session, scope: Scope) -> Report:
        seen["thread"] = threading.current_thread().name
        seen["while_building"] = _state(factory, export.id)  # from another connection, as a poll reads it
        assert release.wait(60)
        return fake_report(scope)

    real = exports.RENDERERS[ExportFormat.XLSX]

    def spying_render(report: Report) -> bytes:
        seen["while_rendering"] = _state(factory, export.id)
        return real.write(report)

    _use_builder(monkeypatch, slow_build)
    monkeypatch.setitem(exports.RENDERERS, ExportFormat.XLSX, exports._Render(spying_render, real.mimetype))
    export = _request(factory, place.actor)
    runner = Exporter(factory)
    try:
        future = runner.submit(export.id)  # returns at once: the page's request is not held
        for _ in range(600):
            if "while_building" in seen:
                break
            time.sleep(0.05)
        assert not future.done()
        with factory() as session:
            polled = export_status(session, place.actor, export.token)
            assert (polled.state, polled.progress) == (ExportState.RUNNING, 10)
            with pytest.raises(ValidationError):
                take_file(session, place.actor, export.token)  # not ready yet
        release.set()
        future.result(timeout=60)
    finally:
        release.set()
        runner.shutdown()
    assert str(seen["thread"]).startswith("report-export")
    assert seen["while_building"] == (ExportState.RUNNING, 10)
    assert seen["while_rendering"] == (ExportState.RUNNING, 60)
    assert _state(factory, export.id) == (ExportState.DONE, 100)


def test_a_failing_build_marks_the_export_failed_with_a_short_reason(
    factory: sessionmaker[Session], place: Place, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_session: Session, _scope: Scope) -> Report:
        raise RuntimeError("division by zero in secret_internal_function")

    _use_builder(monkeypatch, broken)
    export = _request(factory, place.actor, lang="ru")
    with caplog.at_level(logging.ERROR, logger="ehealth.reports.exports"):
        run_export(factory, export.id)
    with factory() as session:
        status = export_status(session, place.actor, export.token)
        with language("ru"):
            assert status.error == gettext(FAILED)  # in the language asked for, no traceback
        assert status.state == ExportState.FAILED and status.finished_at is not None
        assert "secret_internal_function" not in (status.error or "")
        with pytest.raises(ValidationError):
            take_file(session, place.actor, export.token)
    assert any("secret_internal_function" in (r.exc_text or str(r.exc_info)) for r in caplog.records)  # logged


def test_a_requester_blocked_since_asking_cannot_export(
    factory: sessionmaker[Session], place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Scope] = []

    def counting(session: Session, scope: Scope) -> Report:
        built.append(scope)
        return fake_report(scope)

    _use_builder(monkeypatch, counting)
    export = _request(factory, place.actor)
    with factory() as session:
        session.execute(
            update(Cabinet)
            .where(Cabinet.id == place.manager.id)
            .values(status=CabinetStatus.BLOCKED, blocked_at=utcnow())
        )
        session.commit()
    run_export(factory, export.id)
    with factory() as session:
        row = session.get(ReportExport, export.id)
        assert row is not None
        assert row.state == ExportState.FAILED and row.content is None and row.file_name is None
        with language("en"):
            assert row.error == gettext(NOT_ACTIVE)
    assert built == []  # refused before any figure was read


def test_a_requester_moved_to_another_organization_cannot_export_the_old_one(
    factory: sessionmaker[Session], place: Place
) -> None:
    export = _request(factory, place.actor)
    with factory() as session:
        elsewhere = factories.organization(session, OrganizationKind.POLYCLINIC)
        session.execute(update(Cabinet).where(Cabinet.id == place.manager.id).values(organization_id=elsewhere.id))
        session.commit()
    run_export(factory, export.id)
    assert _state(factory, export.id)[0] == ExportState.FAILED


def test_at_most_three_exports_wait_per_user(factory: sessionmaker[Session], place: Place) -> None:
    first = [_request(factory, place.actor) for _ in range(MAX_ACTIVE)]
    with pytest.raises(ValidationError) as refused:
        _request(factory, place.actor)
    with language("en"):
        assert (
            str(refused.value) == f"You already have {MAX_ACTIVE} exports in progress; wait until one of them is ready."
        )
    _request(factory, emr_factories.actor(place.other_manager))  # another user is not held back
    run_export(factory, first[0].id)  # one is done: there is room again
    fourth = _request(factory, place.actor)
    with pytest.raises(ValidationError):
        _request(factory, place.actor)
    # A job a dead process left behind stops counting once it is stale, and says it was interrupted.
    with factory() as session:
        session.execute(
            update(ReportExport)
            .where(ReportExport.id == fourth.id)
            .values(state=ExportState.RUNNING, created_at=utcnow() - exports.STALE_AFTER - timedelta(minutes=1))
        )
        session.commit()
    _request(factory, place.actor)
    with factory() as session:
        stale = session.get(ReportExport, fourth.id)
        assert stale is not None and stale.state == ExportState.FAILED and stale.error


def test_a_job_runs_once(factory: sessionmaker[Session], place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Scope] = []

    def counting(session: Session, scope: Scope) -> Report:
        built.append(scope)
        return fake_report(scope)

    _use_builder(monkeypatch, counting)
    export = _request(factory, place.actor)
    run_export(factory, export.id)
    run_export(factory, export.id)  # a second worker (or a retry) finds it no longer queued
    assert len(built) == 1 and _state(factory, export.id) == (ExportState.DONE, 100)


def test_only_a_manager_may_ask_and_only_for_a_report_their_organization_has(
    factory: sessionmaker[Session], place: Place
) -> None:
    with factory() as session:
        doctor = factories.cabinet(session, place.org, Role.DOCTOR)
        hospital = factories.organization(session, OrganizationKind.HOSPITAL)
        hospital_manager = factories.cabinet(session, hospital, Role.MANAGER)
        session.commit()
    scope = Scope(place.org.id, place.org.name, OrganizationKind.POLYCLINIC, START, END)
    with factory() as session:
        with pytest.raises(ValidationError):
            request_export(
                session, emr_factories.actor(doctor), report_key=FAKE_KEY, scope=scope,
                fmt=ExportFormat.XLSX, language="uz",
            )  # fmt: skip
        # A scope naming another organization is checked again: a manager gets only their own.
        with pytest.raises(NotFound):
            request_export(
                session, emr_factories.actor(hospital_manager), report_key=FAKE_KEY, scope=scope,
                fmt=ExportFormat.XLSX, language="uz",
            )  # fmt: skip
        own = scope_of(session, emr_factories.actor(hospital_manager), organization_id=None, start=START, end=END)
        with pytest.raises(NotFound):  # the fake report is a polyclinic's
            request_export(
                session, emr_factories.actor(hospital_manager), report_key=FAKE_KEY, scope=own,
                fmt=ExportFormat.XLSX, language="uz",
            )  # fmt: skip
        with pytest.raises(NotFound):
            request_export(
                session, place.actor, report_key="no_such_report", scope=scope, fmt=ExportFormat.PDF, language="uz"
            )
        count = session.execute(select(ReportExport.id).where(ReportExport.cabinet_id == doctor.id)).all()
    assert count == []


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    """Every runner a test starts is shut down by the test."""
    before = {thread.name for thread in threading.enumerate()}
    yield
    leftover = {t.name for t in threading.enumerate() if t.name.startswith("report-export")} - before
    assert not leftover


def test_one_exporter_per_database_in_a_process(factory: sessionmaker[Session], engine: Engine) -> None:
    other = sessionmaker(bind=engine)
    assert exports.exporter(factory) is exports.exporter(factory)
    assert exports.exporter(other) is not exports.exporter(factory)
